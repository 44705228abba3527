"""Tokens minted by the libraries apps already have (SPEC §8), taken by the real Worker as
they are: a Django REST Framework SimpleJWT access token for a real Django user (the
throwaway settings' ``SIMPLE_JWT`` signs HS256 with the Worker's ``JWT_SECRET``) opens every
kind of socket as ``str(user.pk)``, while the same user's SimpleJWT refresh token is closed
4001 and refused 401 by the API; and a PyJWT-minted token shaped like an OIDC provider's
(Keycloak) carries its profile names into ``connection.established``."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework_simplejwt.tokens import RefreshToken
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from edge_realtime import Client, RetryPolicy, Unauthorized
from support.worker import Worker


def established(worker: Worker, path: str, token: str) -> dict:
    """The first frame on ``path``, which must be ``connection.established``."""
    with connect(f"{worker.ws_url}{path}?token={token}", open_timeout=30) as ws:
        frame = json.loads(ws.recv(timeout=30))
    assert frame["type"] == "connection.established", (path, frame)
    return frame


def close_code(worker: Worker, path: str, token: str) -> int | None:
    """The code the server closes ``path`` with, before sending any frame."""
    with pytest.raises(ConnectionClosed) as closed:
        with connect(f"{worker.ws_url}{path}?token={token}", open_timeout=30) as ws:
            ws.recv(timeout=30)
    return closed.value.rcvd.code if closed.value.rcvd else None


def unverified(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_simple_jwt_signs_with_the_workers_secret(worker: Worker) -> None:
    assert settings.SIMPLE_JWT == {"ALGORITHM": "HS256", "SIGNING_KEY": worker.jwt_secret}


def test_a_simplejwt_access_token_opens_every_socket_kind(worker: Worker, rt: Client, uid: str) -> None:
    user = User.objects.create_user(f"{uid}-sj", first_name="Sam", last_name="Jones")
    access = str(RefreshToken.for_user(user).access_token)
    claims = unverified(access)
    assert claims["token_type"] == "access" and "sub" not in claims, claims
    assert {"exp", "iat", "jti", "user_id"} <= claims.keys(), claims
    me = str(user.pk)
    room, org, peer = f"{uid}-room", f"{uid}-org", f"{uid}-peer"
    rt.add_member(room, user.pk)
    rt.add_org_member(org, user.pk)
    paths = {
        f"/ws/chat/{room}/": {"conversation_id": room},
        f"/ws/dm/{peer}/": {"conversation_id": f"dm:{min(me, peer)}:{max(me, peer)}"},
        "/ws/notifications/": {"unread_count": 0},
        f"/ws/events/{org}/": {"org_id": org},
        "/ws/online/": {},
    }
    for path, fields in paths.items():
        frame = established(worker, path, access)
        assert frame["user_id"] == me, (path, frame)
        assert {k: frame[k] for k in fields} == fields, (path, frame)


def test_a_simplejwt_refresh_token_is_refused(worker: Worker, uid: str) -> None:
    user = User.objects.create_user(f"{uid}-rf")
    refresh = RefreshToken.for_user(user)
    assert unverified(str(refresh))["token_type"] == "refresh"
    assert close_code(worker, "/ws/notifications/", str(refresh)) == 4001
    once = RetryPolicy(attempts=1)
    with Client(worker.url, str(refresh), retry=once) as as_refresh:
        with pytest.raises(Unauthorized) as refused:
            as_refresh.list_notifications(user.pk)
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
    with Client(worker.url, str(refresh.access_token), retry=once) as as_access:
        assert as_access.list_notifications(user.pk)["notifications"] == []


def test_a_pyjwt_oidc_token_carries_its_profile_names(worker: Worker) -> None:
    sub = str(uuid.uuid4())
    now = int(time.time())
    claims = {
        "iss": "https://sso.example.com/realms/acme",
        "aud": "account",
        "azp": "web",
        "typ": "Bearer",
        "sub": sub,
        "preferred_username": "ann.lee",
        "given_name": "Ann",
        "family_name": "Lee",
        "email": "ann@example.com",
        "scope": "openid profile email",
        "iat": now,
        "exp": now + 300,
    }
    token = jwt.encode(claims, worker.jwt_secret, algorithm="HS256")
    frame = established(worker, "/ws/notifications/", token)
    assert (frame["user_id"], frame["user_name"]) == (sub, "Ann Lee")
