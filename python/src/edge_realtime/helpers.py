"""Drop-in helpers named after what Django Channels projects call today, on a process-wide
default client, plus that client's configuration.

``broadcast_notification(user_id, {...})``, ``broadcast_org_event(org_id, event_type,
data)`` and ``send_message(conversation_id, sender, content)`` replace the
``async_to_sync(channel_layer.group_send)(...)`` wrappers such projects keep in a
``utils.py``. The default client comes from :func:`configure`, else from the Django
settings (when ``edge_realtime.django`` is installed), else from the environment
(``EDGE_REALTIME_URL``, ``EDGE_REALTIME_API_KEY``).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Mapping

from ._api import sender_body
from .client import Client
from .types import Id, MessageResult, NotificationsResult, OrgEventResult

__all__ = [
    "configure",
    "set_client_factory",
    "default_client",
    "reset_default_client",
    "broadcast_notification",
    "broadcast_org_event",
    "send_message",
    "notification_body",
    "sender_of",
]

_lock = threading.Lock()
_client: Client | None = None
_factory: Callable[[], Client] = Client.from_env

#: Keys ``POST /api/notifications`` takes in ``notification``.
NOTIFICATION_KEYS = frozenset({"notification_type", "title", "body", "message", "actor", "data"})


def configure(url: str | None = None, api_key: str | None = None, **kwargs: Any) -> Client:
    """Sets the default client (``Client`` keyword arguments pass through) and returns it."""
    global _client
    client = Client.from_env(url, api_key, **kwargs)
    with _lock:
        old, _client = _client, client
    if old is not None:
        old.close()
    return client


def set_client_factory(factory: Callable[[], Client]) -> None:
    """Where the default client comes from when none is configured (the Django app sets
    one that reads ``settings.EDGE_REALTIME``); drops the current default."""
    global _factory
    with _lock:
        _factory = factory
    reset_default_client()


def default_client() -> Client:
    """The process-wide client, built on first use."""
    global _client
    with _lock:
        if _client is None:
            _client = _factory()
        return _client


def reset_default_client() -> None:
    """Closes and forgets the default client; the next call builds it anew."""
    global _client
    with _lock:
        old, _client = _client, None
    if old is not None:
        old.close()


def notification_body(notification: Mapping[str, Any]) -> dict[str, Any]:
    """A Channels-style notification dict as the API's ``notification``: the API's keys
    pass; ``type`` becomes ``notification_type``; every other key (``id``, ``link``,
    ``created_at``...) moves into ``data``, so nothing the old consumer sent is lost."""
    body = {k: v for k, v in notification.items() if k in NOTIFICATION_KEYS}
    if "type" in notification and "notification_type" not in body:
        body["notification_type"] = str(notification["type"])
    rest = {k: v for k, v in notification.items() if k not in NOTIFICATION_KEYS and k != "type"}
    if rest:
        body["data"] = _merged_data(body.get("data"), rest)
    return body


def _merged_data(data: Any, rest: dict[str, Any]) -> Any:
    """``data`` with the keys the API has no field for; ``data``'s own keys win."""
    if isinstance(data, Mapping):
        return {**rest, **data}
    return rest if data is None else {**rest, "data": data}


def sender_of(sender: Any) -> dict[str, Any]:
    """A sender as the API's ``sender``: an id, a mapping with ``id``, or a user object
    (Django's ``User``: ``pk``, ``username``, ``get_full_name()``, ``email``...)."""
    if isinstance(sender, (str, int, Mapping)):
        return sender_body(sender)
    pk = getattr(sender, "pk", None)
    if pk is None:
        pk = getattr(sender, "id", None)
    if pk is None:
        raise ValueError("sender must be an id, a mapping with 'id' or an object with 'pk'")
    return sender_body({"id": pk, **_profile_of(sender)})


def _profile_of(user: Any) -> dict[str, Any]:
    full = user.get_full_name() if callable(getattr(user, "get_full_name", None)) else None
    profile = {
        "name": full or getattr(user, "name", None) or None,
        "username": getattr(user, "username", None),
        "email": getattr(user, "email", None),
        "first_name": getattr(user, "first_name", None),
        "last_name": getattr(user, "last_name", None),
    }
    return {k: str(v) for k, v in profile.items() if v}


def broadcast_notification(
    user_id: Id | Iterable[Id],
    notification: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
    client: Client | None = None,
) -> NotificationsResult:
    """Stores and pushes a notification to a user (or each of several users); returns
    ``{"notifications": [{id, user_id, seq, live_devices}]}``. See
    :func:`notification_body` for how the dict is mapped."""
    c = client or default_client()
    return c.post_notifications(user_id, notification_body(notification), idempotency_key=idempotency_key)


def broadcast_org_event(
    org_id: Id,
    event_type: str,
    data: Any = None,
    *,
    idempotency_key: str | None = None,
    client: Client | None = None,
) -> OrgEventResult:
    """Stores an org event and broadcasts it to the org's sockets: ``{id, seq, delivered}``."""
    c = client or default_client()
    return c.post_org_event(org_id, event_type, data, idempotency_key=idempotency_key)


def send_message(
    conversation_id: Id,
    sender: Any,
    content: str,
    *,
    parent_message_id: str | None = None,
    client_msg_id: str | None = None,
    idempotency_key: str | None = None,
    client: Client | None = None,
) -> MessageResult:
    """Posts a chat message as ``sender`` (see :func:`sender_of`), who must be a member."""
    c = client or default_client()
    return c.post_message(
        conversation_id,
        sender_of(sender),
        content,
        parent_message_id=parent_message_id,
        client_msg_id=client_msg_id,
        idempotency_key=idempotency_key,
    )
