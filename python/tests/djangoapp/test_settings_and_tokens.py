"""``edge_realtime.django`` settings, the client built from them, tokens for Django users
(opening real sockets on the Worker) and the token view."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.test.utils import override_settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

import edge_realtime
from edge_realtime.django import get_client, token_for
from edge_realtime.django.views import token as token_view
from edge_rt_testapp.models import Team
from support.djangosettings import edge_settings
from support.poll import until
from support.worker import Worker


def first_frame(worker: Worker, path: str, token: str) -> dict:
    with connect(f"{worker.ws_url}{path}?token={token}", open_timeout=30) as ws:
        return json.loads(ws.recv(timeout=30))


def test_importing_the_app_package_does_not_import_django() -> None:
    code = "import sys, edge_realtime, edge_realtime.django; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_client_comes_from_the_settings_and_follows_them(on_worker: Worker, uid: str) -> None:
    client = get_client()
    assert client.base_url == on_worker.url
    assert client is edge_realtime.default_client()
    result = edge_realtime.broadcast_notification(f"{uid}-u", {"type": "mention", "title": "Hi", "link": "/x"})
    assert result["notifications"][0]["user_id"] == f"{uid}-u"
    listed = until(lambda: client.list_notifications(f"{uid}-u"), lambda r: len(r["notifications"]) == 1)
    (note,) = listed["notifications"]
    assert (note["notification_type"], note["title"], note["data"]) == ("mention", "Hi", {"link": "/x"})
    with override_settings(EDGE_REALTIME=edge_settings("http://127.0.0.1:9", "other")):
        assert get_client().base_url == "http://127.0.0.1:9"
    assert get_client().base_url == on_worker.url


def test_missing_settings_are_improperly_configured() -> None:
    with override_settings(EDGE_REALTIME={"API_KEY": "k"}):
        with pytest.raises(ImproperlyConfigured, match="URL"):
            get_client()
    with override_settings(EDGE_REALTIME={"URL": "http://x"}):
        with pytest.raises(ImproperlyConfigured, match="JWT_SECRET"):
            token_for(User(pk=1, username="x"))


def test_token_for_a_user_opens_their_inbox_and_their_teams(on_worker: Worker, uid: str) -> None:
    user = User.objects.create_user(f"{uid}-ann", email="ann@example.com", first_name="Ann", last_name="Lee")
    team = Team.objects.create(slug=f"{uid}-team")
    team.members.add(user)
    token = token_for(user)
    inbox = first_frame(on_worker, "/ws/notifications/", token)
    assert (inbox["type"], inbox["user_id"], inbox["user_name"]) == ("connection.established", str(user.pk), "Ann Lee")
    events = first_frame(on_worker, f"/ws/events/{team.slug}/", token_for(user))
    assert (events["type"], events["org_id"]) == ("connection.established", team.slug)


def test_a_token_without_the_team_is_refused_by_the_org_socket(on_worker: Worker, uid: str) -> None:
    user = User.objects.create_user(f"{uid}-bo")
    with pytest.raises(ConnectionClosed) as closed:
        first_frame(on_worker, f"/ws/events/{uid}-elsewhere/", token_for(user))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003


def test_the_token_view_serves_signed_in_users_only(on_worker: Worker, uid: str) -> None:
    user = User.objects.create_user(f"{uid}-cy")
    request = RequestFactory().get("/realtime/token")
    request.user = user
    response = token_view(request)
    body = json.loads(response.content)
    assert (response.status_code, body["user_id"]) == (200, str(user.pk))
    assert first_frame(on_worker, "/ws/notifications/", body["token"])["user_id"] == str(user.pk)
    request.user = AnonymousUser()
    refused = token_view(request)
    assert (refused.status_code, json.loads(refused.content)["error"]["code"]) == (401, "unauthorized")
