"""Retries and the Idempotency-Key, against a real local HTTP server that answers from a
script (503, 503, 201...) and records the headers and bodies it received."""

from __future__ import annotations

import asyncio
import socket

import pytest

from edge_realtime import (
    AsyncClient,
    Client,
    Conflict,
    NetworkError,
    RetryPolicy,
    Unavailable,
    Unprocessable,
)
from support.recorder import DROP, Answer, Recorder

FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.01)
UNAVAILABLE = Answer(503, {"error": {"code": "unavailable", "message": "temporarily unavailable, retry"}})
CREATED = Answer(201, {"id": "e1", "seq": 7, "delivered": 2})


def client(url: str, retry: RetryPolicy = FAST) -> Client:
    return Client(url, "test-key", retry=retry, timeout=5)


def test_503_twice_then_201_is_one_logical_call_with_one_key() -> None:
    with Recorder(UNAVAILABLE, UNAVAILABLE, CREATED) as server, client(server.url) as rt:
        result = rt.post_org_event("acme", "deploy.finished", {"version": "1.4.2"})
    assert result == {"id": "e1", "seq": 7, "delivered": 2}
    assert len(server.requests) == 3
    keys = server.keys()
    assert keys[0] and len(keys[0]) == 32
    assert keys == [keys[0]] * 3
    assert {r.body for r in server.requests} == {b'{"event_type":"deploy.finished","data":{"version":"1.4.2"}}'}
    first = server.requests[0]
    assert (first.method, first.path) == ("POST", "/api/orgs/acme/events")
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.headers["content-type"] == "application/json"


def test_a_key_given_by_the_caller_is_sent_on_every_attempt() -> None:
    task_key = "celery-deploy_finished-5f0c1a9e"
    with Recorder(UNAVAILABLE, UNAVAILABLE, CREATED) as server, client(server.url) as rt:
        rt.post_org_event("acme", "deploy.finished", None, idempotency_key=task_key)
    assert server.keys() == [task_key] * 3


def test_each_logical_call_gets_its_own_key() -> None:
    with Recorder(CREATED) as server, client(server.url) as rt:
        rt.post_org_event("acme", "a")
        rt.post_org_event("acme", "a")
    first, second = server.keys()
    assert first and second and first != second


def test_a_dropped_connection_is_retried_with_the_same_key() -> None:
    with Recorder(DROP, CREATED) as server, client(server.url) as rt:
        assert rt.post_org_event("acme", "x")["seq"] == 7
    assert len(server.requests) == 2
    assert server.keys()[0] == server.keys()[1]


def test_429_is_retried_honouring_retry_after() -> None:
    limited = Answer(429, {"error": {"code": "rate_limited", "message": "slow down"}}, {"Retry-After": "0"})
    with Recorder(limited, CREATED) as server, client(server.url) as rt:
        assert rt.post_org_event("acme", "x")["id"] == "e1"
    assert len(server.requests) == 2


def test_a_4xx_is_final_and_typed() -> None:
    bad = Answer(422, {"error": {"code": "unprocessable", "message": "event_type must be 1-64 characters"}})
    with Recorder(bad, CREATED) as server, client(server.url) as rt:
        with pytest.raises(Unprocessable) as caught:
            rt.post_org_event("acme", "")
    assert len(server.requests) == 1
    err = caught.value
    assert (err.status, err.code, err.message, err.attempts) == (
        422,
        "unprocessable",
        "event_type must be 1-64 characters",
        1,
    )


def test_retries_give_up_after_the_policy_with_the_last_error() -> None:
    with Recorder(UNAVAILABLE) as server, client(server.url, RetryPolicy(3, 0.001, 0.01)) as rt:
        with pytest.raises(Unavailable) as caught:
            rt.post_notifications("42", {"title": "hi"})
    assert len(server.requests) == 3
    assert len(set(server.keys())) == 1
    assert (caught.value.status, caught.value.code, caught.value.attempts) == (503, "unavailable", 3)


def test_a_key_still_in_progress_is_retried_and_a_reused_key_is_not() -> None:
    running = Answer(
        409,
        {"error": {"code": "conflict", "message": "a request with this Idempotency-Key is still in progress; retry later"}},
    )
    reused = Answer(409, {"error": {"code": "conflict", "message": "Idempotency-Key was used with another body"}})
    with Recorder(running, CREATED) as server, client(server.url) as rt:
        assert rt.post_org_event("acme", "x")["seq"] == 7
    assert len(server.requests) == 2
    with Recorder(reused, CREATED) as server, client(server.url) as rt:
        with pytest.raises(Conflict) as caught:
            rt.post_org_event("acme", "x")
    assert len(server.requests) == 1
    assert caught.value.in_progress is False


def test_gets_are_retried_without_a_key_and_puts_carry_no_body() -> None:
    members = Answer(200, {"conversation_id": "c1", "members": ["a"]})
    with Recorder(UNAVAILABLE, members) as server, client(server.url) as rt:
        assert rt.list_members("c1")["members"] == ["a"]
        rt.add_member("c1", 7)
    get1, get2, put = server.requests
    assert (get1.path, get2.path) == ("/api/conversations/c1/members", "/api/conversations/c1/members")
    assert server.keys() == [None, None, None]
    assert (put.method, put.path, put.body) == ("PUT", "/api/conversations/c1/members/7", b"")
    assert "content-type" not in put.headers


def test_query_parameters_are_sent_only_when_given() -> None:
    page = Answer(200, {"messages": [], "last_seq": 0, "has_more": False})
    with Recorder(page) as server, client(server.url) as rt:
        rt.list_messages("c1", before_seq=10, limit=20)
        rt.list_notifications("u1", unread=True)
        rt.list_notifications("u1")
    assert [r.path for r in server.requests] == [
        "/api/conversations/c1/messages?before_seq=10&limit=20",
        "/api/users/u1/notifications?unread=true",
        "/api/users/u1/notifications",
    ]


def test_no_answer_at_all_is_a_network_error_after_the_retries() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with client(f"http://127.0.0.1:{port}", RetryPolicy(2, 0.001, 0.01)) as rt:
        with pytest.raises(NetworkError) as caught:
            rt.health()
    assert (caught.value.status, caught.value.code, caught.value.attempts) == (None, "network", 2)


def test_async_client_retries_with_one_key() -> None:
    async def run(url: str) -> dict:
        async with AsyncClient(url, "test-key", retry=FAST) as rt:
            return dict(await rt.post_message("c1", {"id": 5, "name": "Ann"}, "hi", client_msg_id="m-1"))

    ok = Answer(201, {"message": {"id": "m1", "content": "hi"}})
    with Recorder(UNAVAILABLE, DROP, ok) as server:
        result = asyncio.run(run(server.url))
    assert result == {"message": {"id": "m1", "content": "hi"}}
    assert len(server.requests) == 3
    assert len(set(server.keys())) == 1 and server.keys()[0]
    assert server.requests[0].json() == {
        "sender": {"id": "5", "name": "Ann"},
        "content": "hi",
        "client_msg_id": "m-1",
    }
