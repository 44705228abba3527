"""The chat tables of the Django target: conversations (with the last `seq` handed out),
memberships, and messages stored before they are broadcast."""
from django.db import models


class Conversation(models.Model):
    id = models.CharField(primary_key=True, max_length=128)
    last_seq = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)


class Membership(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="members")
    user_id = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user_id"], name="one_membership"),
        ]


class Message(models.Model):
    id = models.CharField(primary_key=True, max_length=32)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField()
    sender_id = models.CharField(max_length=128)
    # The sender's profile as shown in frames: id, username, name, email, first_name,
    # last_name, avatar (null when unknown).
    sender = models.JSONField()
    content = models.TextField()
    parent_message_id = models.CharField(max_length=32, null=True)
    client_msg_id = models.CharField(max_length=128, null=True)
    created_at = models.DateTimeField()
    is_edited = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="one_seq"),
        ]
