"""Wires the test models' membership to edge-realtime, as a project's ``ready()`` would."""

from __future__ import annotations

from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "edge_rt_testapp"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from edge_realtime.django import connect_m2m_membership, connect_membership

        from .models import Conversation, Participant, Team

        connect_m2m_membership(
            Conversation.members, conversation_id_of=lambda c: c.slug, user_id_of=lambda u: u.pk
        )
        connect_m2m_membership(Team.members, kind="org", conversation_id_of=lambda t: t.slug, user_id_of=lambda u: u.pk)
        connect_membership(
            Participant,
            conversation_id_of=lambda p: p.conversation.slug,
            user_id_of=lambda p: p.user_id,
            active_if=lambda p: p.left_at is None,
        )
