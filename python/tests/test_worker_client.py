"""Every client method once against the real Worker (``wrangler dev``), with real answers:
members, messages and history, notifications, org events and members, presence, the async
client, idempotent replays, and a retry after a lost answer doing the work once. Each
answer of the ``rt`` client is also checked against docs/openapi.yaml."""

from __future__ import annotations

import asyncio
import json

import httpx

from edge_realtime import AsyncClient, Client, Conflict, RetryPolicy, mint_token
from support.poll import until
from support.recorder import RELAY, RELAY_DROP, Recorder
from support.worker import Worker

from websockets.sync.client import connect


def open_socket(worker: Worker, path: str, token: str):  # type: ignore[no-untyped-def]
    return connect(f"{worker.ws_url}{path}?token={token}", open_timeout=30)


def recv(ws, kind: str) -> dict:  # type: ignore[no-untyped-def]
    """The next frame of type ``kind`` (frames of other types are skipped)."""
    while True:
        frame = json.loads(ws.recv(timeout=30))
        if frame["type"] == kind:
            return frame


def test_health(rt: Client) -> None:
    assert rt.health() == {"ok": True}


def test_members_are_added_listed_and_removed(rt: Client, uid: str) -> None:
    conv = f"{uid}-room"
    assert rt.add_member(conv, "alice") == {"conversation_id": conv, "user_id": "alice", "member": True}
    assert rt.add_member(conv, "alice") == {"conversation_id": conv, "user_id": "alice", "member": True}
    rt.add_member(conv, "bob")
    assert rt.list_members(conv) == {"conversation_id": conv, "members": ["alice", "bob"]}
    assert rt.remove_member(conv, "bob") == {
        "conversation_id": conv,
        "user_id": "bob",
        "member": False,
        "removed": True,
    }
    assert rt.remove_member(conv, "bob")["removed"] is False
    assert rt.list_members(conv)["members"] == ["alice"]


def test_messages_are_posted_and_paged_from_history(rt: Client, uid: str) -> None:
    conv = f"{uid}-chat"
    rt.add_member(conv, "alice")
    first = rt.post_message(conv, {"id": "alice", "name": "Alice", "username": "al"}, "hello", client_msg_id="c-1")
    message = first["message"]
    assert (message["content"], message["seq"], message["conversation_id"]) == ("hello", 1, conv)
    assert message["sender"] == {
        "id": "alice",
        "username": "al",
        "name": "Alice",
        "email": None,
        "first_name": None,
        "last_name": None,
        "avatar": None,
    }
    assert (message["client_msg_id"], message["parent_message_id"], message["is_edited"]) == ("c-1", None, False)
    reply = rt.post_message(conv, "alice", "a reply", parent_message_id=message["id"])["message"]
    assert (reply["seq"], reply["parent_message_id"]) == (2, message["id"])

    page = until(lambda: rt.list_messages(conv), lambda p: len(p["messages"]) == 2)
    assert [m["content"] for m in page["messages"]] == ["hello", "a reply"]
    assert (page["last_seq"], page["has_more"]) == (2, False)
    newest = rt.list_messages(conv, limit=1)
    assert ([m["seq"] for m in newest["messages"]], newest["has_more"]) == ([2], True)
    assert [m["seq"] for m in rt.list_messages(conv, before_seq=2)["messages"]] == [1]
    assert [m["seq"] for m in rt.list_messages(conv, after_seq=1)["messages"]] == [2]


def test_a_repeated_idempotency_key_replays_and_another_body_conflicts(rt: Client, uid: str) -> None:
    conv = f"{uid}-idem"
    rt.add_member(conv, "alice")
    one = rt.post_message(conv, "alice", "once", idempotency_key=f"{uid}-k")
    again = rt.post_message(conv, "alice", "once", idempotency_key=f"{uid}-k")
    assert again == one
    try:
        rt.post_message(conv, "alice", "something else", idempotency_key=f"{uid}-k")
    except Conflict as e:
        assert (e.status, e.code, e.message) == (409, "conflict", "Idempotency-Key was used with another body")
    else:
        raise AssertionError("a reused key with another body must be 409")
    history = until(lambda: rt.list_messages(conv), lambda p: len(p["messages"]) >= 1)
    assert [m["content"] for m in history["messages"]] == ["once"]


def test_notifications_are_published_and_listed(rt: Client, uid: str) -> None:
    ann, ben, cat = f"{uid}-ann", f"{uid}-ben", f"{uid}-cat"
    one = rt.post_notifications(ann, {"notification_type": "mention", "title": "You were mentioned", "data": {"c": 1}})
    (published,) = one["notifications"]
    assert (published["user_id"], published["seq"], published["live_devices"]) == (ann, 1, 0)
    many = rt.post_notifications([ben, cat, ben], {"title": "Hello all"})
    assert [(n["user_id"], n["seq"]) for n in many["notifications"]] == [(ben, 1), (cat, 1)]

    listed = until(lambda: rt.list_notifications(ann), lambda r: len(r["notifications"]) == 1)
    (note,) = listed["notifications"]
    assert (note["id"], note["notification_type"], note["title"], note["data"], note["read"]) == (
        published["id"],
        "mention",
        "You were mentioned",
        {"c": 1},
        False,
    )
    assert (note["body"], note["message"], note["actor"]) == (None, None, None)
    assert (listed["unread_count"], listed["last_seq"]) == (1, 1)
    rt.post_notifications(ann, {"title": "second"})
    both = until(lambda: rt.list_notifications(ann), lambda r: len(r["notifications"]) == 2)
    assert [n["title"] for n in both["notifications"]] == ["second", "You were mentioned"]
    assert [n["title"] for n in rt.list_notifications(ann, limit=1)["notifications"]] == ["second"]
    assert len(rt.list_notifications(ann, unread=True)["notifications"]) == 2


def test_org_events_members_and_presence(rt: Client, worker: Worker, uid: str) -> None:
    org, bob = f"{uid}-org", f"{uid}-bob"
    assert rt.add_org_member(org, bob) == {"org_id": org, "user_id": bob, "member": True}
    first = rt.post_org_event(org, "deploy.finished", {"version": "1.4.2"})
    assert (first["seq"], first["delivered"]) == (1, 0)
    assert rt.org_presence(org) == {"users": []}
    token = mint_token(bob, worker.jwt_secret, name="Bob")
    with open_socket(worker, f"/ws/events/{org}/", token) as ws:
        established = recv(ws, "connection.established")
        assert (established["user_id"], established["org_id"], established["last_seq"]) == (bob, org, 1)
        assert rt.org_presence(org) == {"users": [{"user_id": bob, "user_name": "Bob", "devices": 1}]}
        second = rt.post_org_event(org, "deploy.started", {"version": "1.5.0"})
        assert (second["seq"], second["delivered"]) == (2, 1)
        event = recv(ws, "event")
        assert (event["id"], event["seq"], event["event_type"], event["data"]) == (
            second["id"],
            2,
            "deploy.started",
            {"version": "1.5.0"},
        )
    assert rt.remove_org_member(org, bob) == {"org_id": org, "user_id": bob, "member": False}


def test_conversation_presence_shows_a_connected_member(rt: Client, worker: Worker, uid: str) -> None:
    conv, eve = f"{uid}-live", f"{uid}-eve"
    rt.add_member(conv, eve)
    assert rt.conversation_presence(conv) == {"users": []}
    with open_socket(worker, f"/ws/chat/{conv}/", mint_token(eve, worker.jwt_secret, name="Eve")) as ws:
        assert recv(ws, "connection.established")["conversation_id"] == conv
        assert rt.conversation_presence(conv) == {"users": [{"user_id": eve, "user_name": "Eve", "devices": 1}]}
        posted = rt.post_message(conv, {"id": eve, "name": "Eve"}, "from the backend")
        frame = recv(ws, "chat_message")
        assert frame["message"] == posted["message"]


def test_mint_token_opens_the_notification_socket(rt: Client, worker: Worker, uid: str) -> None:
    user = f"{uid}-ivy"
    token = mint_token(user, worker.jwt_secret, name="Ivy", username="ivy", ttl=600)
    with open_socket(worker, "/ws/notifications/", token) as ws:
        established = recv(ws, "connection.established")
        assert (established["user_id"], established["user_name"]) == (user, "Ivy")
        assert (established["unread_count"], established["last_seq"]) == (0, 0)
        result = rt.post_notifications(user, {"title": "live one"})
        assert result["notifications"][0]["live_devices"] == 1
        pushed = recv(ws, "notification")
        assert (pushed["seq"], pushed["notification"]["title"]) == (1, "live one")
        assert recv(ws, "unread_count")["count"] == 1


def test_the_async_client_covers_the_same_calls(worker: Worker, async_hooks: dict, uid: str) -> None:
    conv, org, kim = f"{uid}-a", f"{uid}-o", f"{uid}-kim"

    async def run() -> dict:
        async with httpx.AsyncClient(timeout=30, event_hooks=async_hooks) as http:
            rt = AsyncClient(worker.url, worker.api_key, http_client=http)
            out: dict = {"health": await rt.health()}
            out["add"] = await rt.add_member(conv, kim)
            out["post"] = await rt.post_message(conv, kim, "async hello")
            out["members"] = await rt.list_members(conv)
            out["presence"] = await rt.conversation_presence(conv)
            out["notify"] = await rt.post_notifications(kim, {"title": "t"})
            out["event"] = await rt.post_org_event(org, "e", None)
            out["org_add"] = await rt.add_org_member(org, kim)
            out["org_presence"] = await rt.org_presence(org)
            out["org_remove"] = await rt.remove_org_member(org, kim)
            out["history"] = await rt.list_messages(conv)
            out["inbox"] = await rt.list_notifications(kim)
            out["remove"] = await rt.remove_member(conv, kim)
            return out

    out = asyncio.run(run())
    assert out["health"] == {"ok": True}
    assert out["add"]["member"] is True and out["remove"]["removed"] is True
    assert (out["post"]["message"]["content"], out["members"]["members"]) == ("async hello", [kim])
    assert out["presence"] == {"users": []} and out["org_presence"] == {"users": []}
    assert (out["notify"]["notifications"][0]["user_id"], out["event"]["seq"]) == (kim, 1)
    assert (out["org_add"]["member"], out["org_remove"]["member"]) == (True, False)
    # Pages stop at the seq D1 is complete up to (SPEC §12), which may still lag by the
    # outbox delay: whatever it is, the page holds exactly the events up to it.
    for page, rows in ((out["history"], "messages"), (out["inbox"], "notifications")):
        assert page["last_seq"] in (0, 1) and len(page[rows]) == page["last_seq"], page


def test_a_lost_answer_is_retried_and_the_work_is_done_once(worker: Worker, rt: Client, uid: str) -> None:
    conv = f"{uid}-lost"
    rt.add_member(conv, "alice")
    fast = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
    with Recorder(RELAY_DROP, RELAY, upstream=worker.url) as proxy, Client(proxy.url, worker.api_key, retry=fast) as via:
        posted = via.post_message(conv, "alice", "exactly once")
        event = via.post_org_event(f"{uid}-org", "e", {"n": 1})
    assert len(proxy.requests) == 3 and proxy.keys()[0] == proxy.keys()[1] != proxy.keys()[2]
    assert posted["message"]["seq"] == 1 and event["seq"] == 1
    history = until(lambda: rt.list_messages(conv), lambda p: len(p["messages"]) >= 1)
    assert [(m["id"], m["content"]) for m in history["messages"]] == [(posted["message"]["id"], "exactly once")]
    assert history["last_seq"] == 1
