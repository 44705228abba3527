"""The server API of SPEC §5 as :class:`Call` builders, one per route, shared by the sync
and the async client (which only send them). Arguments are checked here only where the
client must choose a body shape; everything else is the Worker's to validate."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ._call import Call, segment
from .types import Id, NotificationIn, SenderIn

__all__ = [
    "health",
    "post_notifications",
    "list_notifications",
    "post_org_event",
    "add_org_member",
    "remove_org_member",
    "org_presence",
    "post_message",
    "list_messages",
    "add_member",
    "remove_member",
    "list_members",
    "conversation_presence",
    "sender_body",
    "recipients_body",
]


def health() -> Call:
    return Call.get("/healthz")


def recipients_body(users: Id | Iterable[Id]) -> dict[str, Any]:
    """``{"user_id": ...}`` for one user, ``{"user_ids": [...]}`` for an iterable."""
    if isinstance(users, (str, int)):
        return {"user_id": str(users)}
    return {"user_ids": [str(u) for u in users]}


def post_notifications(
    users: Id | Iterable[Id], notification: NotificationIn | Mapping[str, Any], idempotency_key: str | None
) -> Call:
    body = {**recipients_body(users), "notification": dict(notification)}
    return Call.post("/api/notifications", body, idempotency_key)


def list_notifications(user_id: Id, unread: bool, limit: int | None) -> Call:
    return Call.get(f"/api/users/{segment(user_id)}/notifications", unread=unread or None, limit=limit)


def post_org_event(org_id: Id, event_type: str, data: Any, idempotency_key: str | None) -> Call:
    body = {"event_type": event_type, "data": data}
    return Call.post(f"/api/orgs/{segment(org_id)}/events", body, idempotency_key)


def add_org_member(org_id: Id, user_id: Id) -> Call:
    return Call.put(f"/api/orgs/{segment(org_id)}/members/{segment(user_id)}")


def remove_org_member(org_id: Id, user_id: Id) -> Call:
    return Call.delete(f"/api/orgs/{segment(org_id)}/members/{segment(user_id)}")


def org_presence(org_id: Id) -> Call:
    return Call.get(f"/api/orgs/{segment(org_id)}/presence")


def sender_body(sender: Id | SenderIn | Mapping[str, Any]) -> dict[str, Any]:
    """A sender given as an id or a mapping with ``id``, as the body's ``sender`` object
    (``id`` as text; profile keys whose value is ``None`` are left out)."""
    if isinstance(sender, (str, int)):
        return {"id": str(sender)}
    if "id" not in sender:
        raise ValueError("sender needs an 'id'")
    body = {k: v for k, v in sender.items() if v is not None}
    body["id"] = str(body["id"])
    return body


def post_message(
    conversation_id: Id,
    sender: Id | SenderIn | Mapping[str, Any],
    content: str,
    parent_message_id: str | None,
    client_msg_id: str | None,
    idempotency_key: str | None,
) -> Call:
    body: dict[str, Any] = {"sender": sender_body(sender), "content": content}
    if parent_message_id is not None:
        body["parent_message_id"] = parent_message_id
    if client_msg_id is not None:
        body["client_msg_id"] = client_msg_id
    return Call.post(f"/api/conversations/{segment(conversation_id)}/messages", body, idempotency_key)


def list_messages(conversation_id: Id, before_seq: int | None, after_seq: int | None, limit: int | None) -> Call:
    return Call.get(
        f"/api/conversations/{segment(conversation_id)}/messages",
        before_seq=before_seq,
        after_seq=after_seq,
        limit=limit,
    )


def add_member(conversation_id: Id, user_id: Id) -> Call:
    return Call.put(f"/api/conversations/{segment(conversation_id)}/members/{segment(user_id)}")


def remove_member(conversation_id: Id, user_id: Id) -> Call:
    return Call.delete(f"/api/conversations/{segment(conversation_id)}/members/{segment(user_id)}")


def list_members(conversation_id: Id) -> Call:
    return Call.get(f"/api/conversations/{segment(conversation_id)}/members")


def conversation_presence(conversation_id: Id) -> Call:
    return Call.get(f"/api/conversations/{segment(conversation_id)}/presence")
