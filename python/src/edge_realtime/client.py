"""The sync :class:`Client` and the async :class:`AsyncClient` of the server API (SPEC §5).

Both send the calls built by ``_api`` with the API key as ``Authorization: Bearer``, retry
network errors, 429 and 5xx per their :class:`RetryPolicy` (each retry of a POST carries the
same ``Idempotency-Key`` and the same body bytes, so the server does the work once), and
turn error answers into the typed errors of :mod:`edge_realtime.errors`. Their methods are
the same, with the same arguments; the async ones are awaited.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Iterable, Mapping, cast

import httpx

from . import _api
from ._call import Call, finish, network_error, network_wait, retry_wait
from ._retry import RetryPolicy
from .types import (
    ConversationMembers,
    ConversationMembership,
    ConversationRemoval,
    Health,
    Id,
    MessagePage,
    MessageResult,
    NotificationIn,
    NotificationList,
    NotificationsResult,
    OrgEventResult,
    OrgMembership,
    Presence,
    SenderIn,
)

__all__ = ["Client", "AsyncClient", "DEFAULT_TIMEOUT", "__version__"]

__version__ = "0.1.0"

#: Seconds for connecting, reading and writing, each.
DEFAULT_TIMEOUT = 10.0

URL_ENV = "EDGE_REALTIME_URL"
API_KEY_ENV = "EDGE_REALTIME_API_KEY"

SenderLike = Id | SenderIn | Mapping[str, Any]


def _headers(api_key: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    if not api_key:
        raise ValueError("api_key is required")
    return {
        "Authorization": f"Bearer {api_key}",
        "Accept": "application/json",
        "User-Agent": f"edge-realtime-python/{__version__}",
        **(extra or {}),
    }


def _base(base_url: str) -> str:
    if not base_url.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
    return base_url.rstrip("/")


def _from_env(url: str | None, api_key: str | None) -> tuple[str, str]:
    url = url or os.environ.get(URL_ENV, "")
    api_key = api_key or os.environ.get(API_KEY_ENV, "")
    if not url or not api_key:
        raise ValueError(f"give url and api_key, or set {URL_ENV} and {API_KEY_ENV}")
    return url, api_key


class Client:
    """Sync client. ``Client("https://rt.example.com", "key")``; ``timeout`` in seconds or an
    ``httpx.Timeout``; ``retry=RetryPolicy(attempts=1)`` turns retries off; ``headers`` are
    added to every request. ``transport`` or a ready ``http_client`` replace the default
    connection pool (the key and URL still come from here, its own timeout applies)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.base_url = _base(base_url)
        self._headers = _headers(api_key, headers)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, transport=transport)

    @classmethod
    def from_env(cls, url: str | None = None, api_key: str | None = None, **kwargs: Any) -> Client:
        """A client from ``EDGE_REALTIME_URL`` and ``EDGE_REALTIME_API_KEY``."""
        return cls(*_from_env(url, api_key), **kwargs)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection pool (not one passed in as ``http_client``)."""
        if self._owns_http:
            self._http.close()

    def send(self, call: Call) -> Any:
        """Sends one logical call, retrying per the policy; its parsed JSON answer."""
        for attempt in range(self.retry.attempts):
            try:
                response = self._http.request(**call.request_args(self.base_url, self._headers))
            except httpx.TransportError as exc:
                wait = network_wait(self.retry, attempt)
                if wait is None:
                    raise network_error(exc, attempt + 1) from exc
                time.sleep(wait)
                continue
            wait = retry_wait(self.retry, attempt, response.status_code, response.headers, response.text, call)
            if wait is None:
                return finish(response.status_code, response.text, attempt + 1)
            time.sleep(wait)
        raise AssertionError("unreachable: the last attempt always finishes")

    def health(self) -> Health:
        """``GET /healthz``."""
        return cast(Health, self.send(_api.health()))

    def post_notifications(
        self,
        users: Id | Iterable[Id],
        notification: NotificationIn | Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> NotificationsResult:
        """Stores and pushes ``notification`` to one user (an id) or many (an iterable)."""
        return cast(NotificationsResult, self.send(_api.post_notifications(users, notification, idempotency_key)))

    def list_notifications(self, user_id: Id, *, unread: bool = False, limit: int | None = None) -> NotificationList:
        """A user's notifications, newest first (``unread=True``: unread only)."""
        return cast(NotificationList, self.send(_api.list_notifications(user_id, unread, limit)))

    def post_org_event(
        self, org_id: Id, event_type: str, data: Any = None, *, idempotency_key: str | None = None
    ) -> OrgEventResult:
        """Stores an event in the org's log and broadcasts it to the org's sockets."""
        return cast(OrgEventResult, self.send(_api.post_org_event(org_id, event_type, data, idempotency_key)))

    def add_org_member(self, org_id: Id, user_id: Id) -> OrgMembership:
        """Org membership in addition to the token's ``orgs`` claim."""
        return cast(OrgMembership, self.send(_api.add_org_member(org_id, user_id)))

    def remove_org_member(self, org_id: Id, user_id: Id) -> OrgMembership:
        """Ends API membership; closes the user's org sockets the claim does not admit."""
        return cast(OrgMembership, self.send(_api.remove_org_member(org_id, user_id)))

    def org_presence(self, org_id: Id) -> Presence:
        """Who is online in the org now (``"_online"``: the whole app)."""
        return cast(Presence, self.send(_api.org_presence(org_id)))

    def post_message(
        self,
        conversation_id: Id,
        sender: SenderLike,
        content: str,
        *,
        parent_message_id: str | None = None,
        client_msg_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> MessageResult:
        """Posts a message as ``sender`` (an id or ``{"id", "name", ...}``; a member)."""
        call = _api.post_message(conversation_id, sender, content, parent_message_id, client_msg_id, idempotency_key)
        return cast(MessageResult, self.send(call))

    def list_messages(
        self,
        conversation_id: Id,
        *,
        before_seq: int | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> MessagePage:
        """A history page, oldest first; cursors are exclusive; no cursor: the newest."""
        return cast(MessagePage, self.send(_api.list_messages(conversation_id, before_seq, after_seq, limit)))

    def add_member(self, conversation_id: Id, user_id: Id) -> ConversationMembership:
        """Makes a user a member of the conversation (no-op if already)."""
        return cast(ConversationMembership, self.send(_api.add_member(conversation_id, user_id)))

    def remove_member(self, conversation_id: Id, user_id: Id) -> ConversationRemoval:
        """Removes a member; their open sockets in the room are closed with 4003."""
        return cast(ConversationRemoval, self.send(_api.remove_member(conversation_id, user_id)))

    def list_members(self, conversation_id: Id) -> ConversationMembers:
        """The conversation's members, sorted."""
        return cast(ConversationMembers, self.send(_api.list_members(conversation_id)))

    def conversation_presence(self, conversation_id: Id) -> Presence:
        """Who is online in the conversation now."""
        return cast(Presence, self.send(_api.conversation_presence(conversation_id)))


class AsyncClient:
    """Async client, the same as :class:`Client` with awaited methods."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.base_url = _base(base_url)
        self._headers = _headers(api_key, headers)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout, transport=transport)

    @classmethod
    def from_env(cls, url: str | None = None, api_key: str | None = None, **kwargs: Any) -> AsyncClient:
        """A client from ``EDGE_REALTIME_URL`` and ``EDGE_REALTIME_API_KEY``."""
        return cls(*_from_env(url, api_key), **kwargs)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connection pool (not one passed in as ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def send(self, call: Call) -> Any:
        """Sends one logical call, retrying per the policy; its parsed JSON answer."""
        for attempt in range(self.retry.attempts):
            try:
                response = await self._http.request(**call.request_args(self.base_url, self._headers))
            except httpx.TransportError as exc:
                wait = network_wait(self.retry, attempt)
                if wait is None:
                    raise network_error(exc, attempt + 1) from exc
                await asyncio.sleep(wait)
                continue
            wait = retry_wait(self.retry, attempt, response.status_code, response.headers, response.text, call)
            if wait is None:
                return finish(response.status_code, response.text, attempt + 1)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt always finishes")

    async def health(self) -> Health:
        return cast(Health, await self.send(_api.health()))

    async def post_notifications(
        self,
        users: Id | Iterable[Id],
        notification: NotificationIn | Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> NotificationsResult:
        call = _api.post_notifications(users, notification, idempotency_key)
        return cast(NotificationsResult, await self.send(call))

    async def list_notifications(
        self, user_id: Id, *, unread: bool = False, limit: int | None = None
    ) -> NotificationList:
        return cast(NotificationList, await self.send(_api.list_notifications(user_id, unread, limit)))

    async def post_org_event(
        self, org_id: Id, event_type: str, data: Any = None, *, idempotency_key: str | None = None
    ) -> OrgEventResult:
        call = _api.post_org_event(org_id, event_type, data, idempotency_key)
        return cast(OrgEventResult, await self.send(call))

    async def add_org_member(self, org_id: Id, user_id: Id) -> OrgMembership:
        return cast(OrgMembership, await self.send(_api.add_org_member(org_id, user_id)))

    async def remove_org_member(self, org_id: Id, user_id: Id) -> OrgMembership:
        return cast(OrgMembership, await self.send(_api.remove_org_member(org_id, user_id)))

    async def org_presence(self, org_id: Id) -> Presence:
        return cast(Presence, await self.send(_api.org_presence(org_id)))

    async def post_message(
        self,
        conversation_id: Id,
        sender: SenderLike,
        content: str,
        *,
        parent_message_id: str | None = None,
        client_msg_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> MessageResult:
        call = _api.post_message(conversation_id, sender, content, parent_message_id, client_msg_id, idempotency_key)
        return cast(MessageResult, await self.send(call))

    async def list_messages(
        self,
        conversation_id: Id,
        *,
        before_seq: int | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> MessagePage:
        call = _api.list_messages(conversation_id, before_seq, after_seq, limit)
        return cast(MessagePage, await self.send(call))

    async def add_member(self, conversation_id: Id, user_id: Id) -> ConversationMembership:
        return cast(ConversationMembership, await self.send(_api.add_member(conversation_id, user_id)))

    async def remove_member(self, conversation_id: Id, user_id: Id) -> ConversationRemoval:
        return cast(ConversationRemoval, await self.send(_api.remove_member(conversation_id, user_id)))

    async def list_members(self, conversation_id: Id) -> ConversationMembers:
        return cast(ConversationMembers, await self.send(_api.list_members(conversation_id)))

    async def conversation_presence(self, conversation_id: Id) -> Presence:
        return cast(Presence, await self.send(_api.conversation_presence(conversation_id)))
