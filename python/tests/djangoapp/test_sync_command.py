"""``manage.py edge_realtime_sync_members`` against the real Worker: dry run, adds and
removals, ``--no-prune``, a second run with nothing to do, and a failure that is reported
while the rest is still synced."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from websockets.sync.client import connect

from edge_realtime import mint_token
from edge_realtime.django import get_client
from edge_rt_testapp import membership
from support.worker import Worker


def run(*args: str) -> tuple[list[str], str]:
    out, err = StringIO(), StringIO()
    call_command("edge_realtime_sync_members", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue()


def test_sync_adds_removes_and_is_idempotent(on_worker: Worker, uid: str) -> None:
    a, b, org = f"{uid}-a", f"{uid}-b", f"{uid}-org"
    client = get_client()
    client.add_member(a, "zed")
    membership.DESIRED.clear()
    membership.DESIRED.update({"conversations": {a: [1, "ann"], b: ["ann"]}, "orgs": {org: ["ann"]}})

    lines, _ = run("--dry-run")
    assert lines == [
        f"+ conversation {a}: 1",
        f"+ conversation {a}: ann",
        f"- conversation {a}: zed",
        f"+ conversation {b}: ann",
        f"+ org {org}: ann",
        "5 changes due, 0 already in step",
    ]
    assert client.list_members(a)["members"] == ["zed"]

    lines, _ = run()
    assert lines[-1] == "5 changes made, 0 already in step"
    assert client.list_members(a)["members"] == ["1", "ann"]
    assert client.list_members(b)["members"] == ["ann"]
    token = mint_token("ann", on_worker.jwt_secret)
    with connect(f"{on_worker.ws_url}/ws/events/{org}/?token={token}", open_timeout=30) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "connection.established"

    client.add_member(b, "extra")
    lines, _ = run("--no-prune")
    assert lines == [f"+ org {org}: ann", "1 changes made, 2 already in step"]
    assert client.list_members(b)["members"] == ["ann", "extra"]


def test_a_failing_conversation_is_reported_and_the_rest_synced(on_worker: Worker, uid: str) -> None:
    good = f"{uid}-good"
    membership.DESIRED.clear()
    membership.DESIRED.update({"conversations": {"dm:ann:bob": ["cat"], good: ["cat"]}})
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 could not be synced"):
        call_command("edge_realtime_sync_members", stdout=out, stderr=err)
    assert err.getvalue().strip() == (
        "conversation dm:ann:bob: 409 conflict: a direct conversation has exactly its two users as members"
    )
    assert out.getvalue().splitlines() == [f"+ conversation {good}: cat", "1 changes made, 0 already in step"]
    assert get_client().list_members(good)["members"] == ["cat"]
