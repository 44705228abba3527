"""Typed errors from real Worker answers: each status the client maps, with the code and
message the Worker sends, and none of them retried."""

from __future__ import annotations

import pytest

import edge_realtime as er
from edge_realtime import Client
from support.worker import Worker


def raised(call) -> er.EdgeRealtimeError:  # type: ignore[no-untyped-def]
    with pytest.raises(er.EdgeRealtimeError) as caught:
        call()
    return caught.value


def test_a_wrong_api_key_is_unauthorized(worker: Worker) -> None:
    with Client(worker.url, "not-the-key") as wrong:
        err = raised(lambda: wrong.list_members("general"))
    assert type(err) is er.Unauthorized
    assert (err.status, err.code, err.message, err.attempts) == (401, "unauthorized", "missing or invalid credentials", 1)


def test_a_user_token_does_not_open_the_server_api(worker: Worker, uid: str) -> None:
    token = er.mint_token(uid, worker.jwt_secret)
    with Client(worker.url, token) as as_user:
        assert type(raised(lambda: as_user.post_org_event(uid, "x"))) is er.Unauthorized
        assert as_user.list_notifications(uid)["notifications"] == []
        other = raised(lambda: as_user.list_notifications(f"{uid}-other"))
    assert type(other) is er.Forbidden
    assert (other.code, other.message) == ("forbidden", "a user may read only their own notifications")


def test_a_bad_body_is_unprocessable(rt: Client, uid: str) -> None:
    err = raised(lambda: rt.post_org_event(uid, "", {"v": 1}))
    assert type(err) is er.Unprocessable
    assert (err.status, err.code, err.message) == (422, "unprocessable", "event_type must be 1-64 characters")
    unknown = raised(lambda: rt.post_notifications(uid, {"titel": "typo"}))
    assert type(unknown) is er.Unprocessable
    assert unknown.message.startswith("notification: unknown field `titel`")


def test_a_non_member_sender_is_forbidden(rt: Client, uid: str) -> None:
    err = raised(lambda: rt.post_message(f"{uid}-c", "stranger", "hi"))
    assert type(err) is er.Forbidden
    assert (err.status, err.code, err.message) == (403, "forbidden", "the sender is not a member of this conversation")


def test_an_unknown_parent_is_not_found(rt: Client, uid: str) -> None:
    conv = f"{uid}-c"
    rt.add_member(conv, "al")
    err = raised(lambda: rt.post_message(conv, "al", "re", parent_message_id="no-such-message"))
    assert type(err) is er.NotFound
    assert (err.status, err.code) == (404, "not_found")


def test_a_bad_query_or_id_is_a_bad_request(rt: Client, uid: str) -> None:
    err = raised(lambda: rt.list_messages(uid, limit=500))
    assert type(err) is er.BadRequest
    assert (err.status, err.code, err.message) == (400, "bad_request", "limit must be 1-200")
    bad_id = raised(lambda: rt.list_members("not an id"))
    assert (type(bad_id), bad_id.code) == (er.BadRequest, "bad_request")


def test_a_direct_conversation_has_fixed_members(rt: Client) -> None:
    err = raised(lambda: rt.add_member("dm:ann:bob", "cat"))
    assert type(err) is er.Conflict
    assert err.message == "a direct conversation has exactly its two users as members"
    assert rt.list_members("dm:ann:bob")["members"] == ["ann", "bob"]
