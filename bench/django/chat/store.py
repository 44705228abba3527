"""What the consumer and the views do with the database (synchronous Django ORM, called
through Channels' `database_sync_to_async`), and the wire shape of the frames: the same
`chat_message`, `ack` and `connection.established` as the service (docs/protocol.md),
compact JSON, field for field."""
import hashlib
import json
import secrets
from datetime import datetime, timezone

from django.db import transaction
from django.db.models import F

from .models import Conversation, Membership, Message

PROFILE = ("username", "name", "email", "first_name", "last_name", "avatar")
MAX_CONTENT = 10_000


def dumps(obj) -> str:
    """Compact JSON like the service's (no spaces), UTF-8 rather than \\u escapes."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def sender_of(user_id: str, profile: dict) -> dict:
    """The sender object: every key present, null when unknown."""
    out = {"id": user_id}
    for key in PROFILE:
        value = profile.get(key)
        out[key] = value if isinstance(value, str) else None
    return out


def add_member(room: str, user: str) -> bool:
    """Makes `user` a member of `room` (creating the conversation); True when new."""
    conversation, _ = Conversation.objects.get_or_create(pk=room)
    _, created = Membership.objects.get_or_create(conversation=conversation, user_id=user)
    return created


def member_last_seq(room: str, user: str):
    """The conversation's last seq when `user` is a member of `room`, else None."""
    row = (
        Membership.objects.filter(conversation_id=room, user_id=user)
        .values_list("conversation__last_seq", flat=True)
        .first()
    )
    return row


def is_member(room: str, user: str) -> bool:
    return Membership.objects.filter(conversation_id=room, user_id=user).exists()


@transaction.atomic
def store_message(room: str, sender: dict, content: str, client_msg_id=None, parent=None) -> Message:
    """Takes the next seq of `room` and saves the message, in one transaction."""
    Conversation.objects.filter(pk=room).update(last_seq=F("last_seq") + 1)
    seq = Conversation.objects.values_list("last_seq", flat=True).get(pk=room)
    return Message.objects.create(
        id=secrets.token_hex(10),
        conversation_id=room,
        seq=seq,
        sender_id=sender["id"],
        sender=sender,
        content=content,
        parent_message_id=parent,
        client_msg_id=client_msg_id,
        created_at=datetime.now(timezone.utc),
    )


def post_as_member(room: str, sender: dict, content: str, client_msg_id=None):
    """`store_message` for a sender who is a member of `room`; None otherwise."""
    if not is_member(room, sender["id"]):
        return None
    return store_message(room, sender, content, client_msg_id)


def iso(t: datetime) -> str:
    """`2026-11-22T10:00:00.000Z`, the service's timestamp form."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def message_view(m: Message) -> dict:
    return {
        "id": m.id,
        "seq": m.seq,
        "conversation_id": m.conversation_id,
        "content": m.content,
        "sender": m.sender,
        "parent_message_id": m.parent_message_id,
        "client_msg_id": m.client_msg_id,
        "created_at": iso(m.created_at),
        "is_edited": m.is_edited,
    }


def chat_frame(m: Message) -> str:
    """The broadcast every socket of the room gets, serialized once."""
    return dumps({"type": "chat_message", "seq": m.seq, "message": message_view(m)})


def group_name(room: str) -> str:
    """A Channels group name for `room` (ASCII letters, digits, `-_.`, under 100 characters)."""
    ok = all(c.isascii() and (c.isalnum() or c in "-_.") for c in room)
    if ok and len(room) <= 90:
        return f"chat.{room}"
    return "chat.h" + hashlib.sha256(room.encode()).hexdigest()[:40]


def content_error(content) -> str | None:
    if not isinstance(content, str) or not content.strip():
        return "content must be a non-empty string"
    if len(content) > MAX_CONTENT:
        return f"content is longer than {MAX_CONTENT} characters"
    return None
