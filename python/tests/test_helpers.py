"""The Channels-style helpers: the body each sends (to a recording local server) and the
mapping of Channels-shaped notification dicts and user objects."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import edge_realtime as rt
from edge_realtime.helpers import notification_body, sender_of
from support.recorder import Answer, Recorder


@dataclass
class FakeUser:
    pk: int
    username: str
    first_name: str
    last_name: str
    email: str = ""

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def test_channels_notification_dicts_map_onto_the_api_fields() -> None:
    assert notification_body({"type": "mention", "title": "Hi", "message": "m", "id": 9, "link": "/c/1"}) == {
        "notification_type": "mention",
        "title": "Hi",
        "message": "m",
        "data": {"id": 9, "link": "/c/1"},
    }
    assert notification_body({"title": "x", "url": "/u", "data": {"k": 1, "url": "/data"}}) == {
        "title": "x",
        "data": {"url": "/data", "k": 1},
    }
    assert notification_body({"title": "x", "urgent": True, "data": [1]}) == {
        "title": "x",
        "data": {"urgent": True, "data": [1]},
    }
    assert notification_body({"notification_type": "a", "type": "b"}) == {"notification_type": "a"}


def test_senders_from_ids_mappings_and_user_objects() -> None:
    assert sender_of(7) == {"id": "7"}
    assert sender_of({"id": 7, "name": "Ann", "avatar": None}) == {"id": "7", "name": "Ann"}
    user = FakeUser(3, "ann", "Ann", "Lee")
    assert sender_of(user) == {"id": "3", "name": "Ann Lee", "username": "ann", "first_name": "Ann", "last_name": "Lee"}
    with pytest.raises(ValueError):
        sender_of({"name": "no id"})


def test_helpers_send_what_the_api_takes() -> None:
    ok = Answer(201, {"ok": True})
    with Recorder(ok) as server:
        client = rt.configure(server.url, "k", retry=rt.RetryPolicy(attempts=1))
        try:
            rt.broadcast_notification(5, {"type": "mention", "title": "Hi"})
            rt.broadcast_notification([5, "6"], {"title": "All"}, idempotency_key="n-1")
            rt.broadcast_org_event("acme", "deploy.finished", {"v": 2})
            rt.send_message("general", FakeUser(3, "ann", "Ann", ""), "hello", client_msg_id="c-1")
        finally:
            rt.reset_default_client()
    assert client is not None
    sent = [(r.path, r.json()) for r in server.requests]
    assert sent == [
        ("/api/notifications", {"user_id": "5", "notification": {"notification_type": "mention", "title": "Hi"}}),
        ("/api/notifications", {"user_ids": ["5", "6"], "notification": {"title": "All"}}),
        ("/api/orgs/acme/events", {"event_type": "deploy.finished", "data": {"v": 2}}),
        (
            "/api/conversations/general/messages",
            {
                "sender": {"id": "3", "name": "Ann", "username": "ann", "first_name": "Ann"},
                "content": "hello",
                "client_msg_id": "c-1",
            },
        ),
    ]
    assert server.requests[1].headers["idempotency-key"] == "n-1"


def test_ids_that_are_not_valid_are_encoded_not_rerouted() -> None:
    with Recorder(Answer(200, {"users": []})) as server, rt.Client(server.url, "k") as client:
        client.conversation_presence("a/b c")
        client.org_presence("dm:1:2")
    assert [r.path for r in server.requests] == [
        "/api/conversations/a%2Fb%20c/presence",
        "/api/orgs/dm:1:2/presence",
    ]
