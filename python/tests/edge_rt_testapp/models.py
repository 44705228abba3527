"""Conversations (M2M members), participants (one row per membership, soft-deleted with
``left_at``), and teams (orgs, M2M members)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    slug = models.CharField(max_length=128, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="conversations")


class Room(models.Model):
    """A conversation whose membership is kept as ``Participant`` rows."""

    slug = models.CharField(max_length=128, unique=True)


class Participant(models.Model):
    conversation = models.ForeignKey(Room, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    left_at = models.DateTimeField(null=True, blank=True)


class Team(models.Model):
    slug = models.CharField(max_length=128, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams")
