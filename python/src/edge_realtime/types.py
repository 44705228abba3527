"""Typed shapes of the request and response bodies of the server API (SPEC §5), as
``TypedDict``s: at run time they are the plain dicts decoded from JSON."""

from __future__ import annotations

from typing import Any, List, Optional, TypedDict, Union

__all__ = [
    "Id",
    "SenderIn",
    "Sender",
    "Message",
    "MessageResult",
    "MessagePage",
    "NotificationIn",
    "Notification",
    "PublishedNotification",
    "NotificationsResult",
    "NotificationList",
    "OrgEventResult",
    "ConversationMembership",
    "ConversationRemoval",
    "ConversationMembers",
    "OrgMembership",
    "PresenceUser",
    "Presence",
    "Health",
]

#: Ids are strings of 1-128 ``[A-Za-z0-9_.:-]``; integers (Django primary keys) are sent as
#: their decimal text.
Id = Union[str, int]


class SenderIn(TypedDict, total=False):
    """``sender`` of a posted message: ``id`` is required, the profile keys are optional."""

    id: str
    name: str
    username: str
    email: str
    first_name: str
    last_name: str
    avatar: str


class Sender(TypedDict):
    """The sender as the service shows it: every key present, ``None`` when unknown."""

    id: str
    username: Optional[str]
    name: Optional[str]
    email: Optional[str]
    first_name: Optional[str]
    last_name: Optional[str]
    avatar: Optional[str]


class _MessageFields(TypedDict):
    id: str
    seq: int
    conversation_id: str
    content: Optional[str]
    sender: Sender
    parent_message_id: Optional[str]
    client_msg_id: Optional[str]
    created_at: str
    is_edited: bool


class Message(_MessageFields, total=False):
    """A message; ``is_deleted`` is present (and true) only on deleted ones."""

    is_deleted: bool


class MessageResult(TypedDict):
    """``201`` of ``POST /api/conversations/{id}/messages``."""

    message: Message


class MessagePage(TypedDict):
    """A history page, oldest first; ``last_seq`` is the room's current seq."""

    messages: List[Message]
    last_seq: int
    has_more: bool


class NotificationIn(TypedDict, total=False):
    """``notification`` of ``POST /api/notifications`` (unknown keys are refused)."""

    notification_type: str
    title: str
    body: str
    message: str
    actor: Any
    data: Any


class Notification(TypedDict):
    id: str
    notification_type: str
    title: Optional[str]
    body: Optional[str]
    message: Optional[str]
    actor: Any
    data: Any
    read: bool
    created_at: str


class PublishedNotification(TypedDict):
    """One recipient's result: ``live_devices`` is how many of their sockets got it."""

    id: str
    user_id: str
    seq: int
    live_devices: int


class NotificationsResult(TypedDict):
    notifications: List[PublishedNotification]


class NotificationList(TypedDict):
    """A user's notifications, newest first, with the live unread count and seq."""

    notifications: List[Notification]
    unread_count: int
    last_seq: int


class OrgEventResult(TypedDict):
    """``delivered`` is how many sockets the event was sent to."""

    id: str
    seq: int
    delivered: int


class ConversationMembership(TypedDict):
    conversation_id: str
    user_id: str
    member: bool


class ConversationRemoval(ConversationMembership):
    """``removed`` is false when the user was not a member."""

    removed: bool


class ConversationMembers(TypedDict):
    conversation_id: str
    members: List[str]


class OrgMembership(TypedDict):
    org_id: str
    user_id: str
    member: bool


class PresenceUser(TypedDict):
    """``devices`` is 0 for a user inside the reconnect grace window."""

    user_id: str
    user_name: str
    devices: int


class Presence(TypedDict):
    users: List[PresenceUser]


class Health(TypedDict):
    ok: bool
