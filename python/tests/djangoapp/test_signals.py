"""Membership kept in step by signals: a membership-row model (to a recording server, to
see each request), changes held back until commit, and M2M relations from both sides (on
the real Worker, read back through its API and its org socket)."""

from __future__ import annotations

import json
from typing import Iterator

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from edge_realtime.django import get_client, token_for
from edge_rt_testapp.models import Conversation, Participant, Room, Team
from support.djangosettings import edge_settings
from support.recorder import Answer, Recorder
from support.worker import Worker


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    ok = Answer(200, {"member": True})
    with Recorder(ok) as server, override_settings(EDGE_REALTIME=edge_settings(server.url, "k")):
        yield server


def sent(server: Recorder) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.requests]


def test_membership_rows_add_soft_delete_and_delete(recorder: Recorder, uid: str) -> None:
    user = User.objects.create_user(f"{uid}-u")
    room = Room.objects.create(slug=f"{uid}-room")
    seat = Participant.objects.create(conversation=room, user=user)
    seat.left_at = timezone.now()
    seat.save()
    seat.delete()
    path = f"/api/conversations/{room.slug}/members/{user.pk}"
    assert sent(recorder) == [("PUT", path), ("DELETE", path), ("DELETE", path)]
    assert recorder.requests[0].headers["authorization"] == "Bearer k"


def test_changes_are_sent_after_commit_and_never_after_rollback(recorder: Recorder, uid: str) -> None:
    user = User.objects.create_user(f"{uid}-u")
    room = Room.objects.create(slug=f"{uid}-room")
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Participant.objects.create(conversation=room, user=user)
            raise RuntimeError("rolled back")
    assert sent(recorder) == []
    with transaction.atomic():
        Participant.objects.create(conversation=room, user=user)
        assert sent(recorder) == []
    assert sent(recorder) == [("PUT", f"/api/conversations/{room.slug}/members/{user.pk}")]


def test_a_failed_call_is_logged_not_raised(uid: str, caplog: pytest.LogCaptureFixture) -> None:
    down = Answer(503, {"error": {"code": "unavailable", "message": "temporarily unavailable, retry"}})
    with Recorder(down) as server, override_settings(EDGE_REALTIME=edge_settings(server.url, "k")):
        user = User.objects.create_user(f"{uid}-u")
        Participant.objects.create(conversation=Room.objects.create(slug=f"{uid}-r"), user=user)
    assert len(server.requests) == 1
    assert "membership change ('conversation'" in caplog.text and "503 unavailable" in caplog.text


def test_m2m_changes_from_either_side_reach_the_worker(on_worker: Worker, uid: str) -> None:
    a, b, c = (User.objects.create_user(f"{uid}-{n}") for n in "abc")
    conv = Conversation.objects.create(slug=f"{uid}-m2m")
    members = lambda: get_client().list_members(conv.slug)["members"]  # noqa: E731
    conv.members.add(a, b)
    assert members() == sorted([str(a.pk), str(b.pk)])
    conv.members.remove(a)
    assert members() == [str(b.pk)]
    c.conversations.add(conv)
    assert members() == sorted([str(b.pk), str(c.pk)])
    c.conversations.remove(conv)
    assert members() == [str(b.pk)]
    conv.members.clear()
    assert members() == []


def test_org_m2m_membership_opens_and_closes_the_org_socket(on_worker: Worker, uid: str) -> None:
    user = User.objects.create_user(f"{uid}-d")
    team = Team.objects.create(slug=f"{uid}-team")
    team.members.add(user)
    token = token_for(user, orgs=[])  # access through API membership only, not the claim
    with connect(f"{on_worker.ws_url}/ws/events/{team.slug}/?token={token}", open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "connection.established"
        team.members.remove(user)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
