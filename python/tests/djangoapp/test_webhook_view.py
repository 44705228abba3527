"""``edge_realtime.django.webhooks.webhook_view``: a request signed by the reference
``standardwebhooks`` package reaches the handlers registered for its type (and ``"*"``);
a bad signature is 400 and reaches none."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from django.test import RequestFactory, override_settings
from standardwebhooks.webhooks import Webhook

from edge_realtime.django.webhooks import handlers, receiver, webhook_view

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture(autouse=True)
def clean_handlers():
    handlers.clear()
    yield
    handlers.clear()


def signed_request(body: str, event_id: str = "msg_abc", secret: str = SECRET):
    now = datetime.now(tz=timezone.utc)
    sig = Webhook(secret).sign(event_id, now, body)
    return RequestFactory().post(
        "/hooks/",
        data=body,
        content_type="application/json",
        headers={"webhook-id": event_id, "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": sig},
    )


@override_settings(EDGE_REALTIME={"WEBHOOK_SECRET": SECRET})
def test_dispatches_by_type() -> None:
    got: list[tuple[str, str, dict]] = []

    @receiver("user.offline")
    def offline(event):
        got.append(("offline", event.event_id, event.data))

    @receiver()
    def every(event):
        got.append(("any", event.type, event.data))

    body = json.dumps({"type": "user.offline", "timestamp": "2026-12-02T00:00:00.000Z", "data": {"user_id": "ann"}})
    resp = webhook_view(signed_request(body))
    assert resp.status_code == 204
    assert got == [("offline", "msg_abc", {"user_id": "ann"}), ("any", "user.offline", {"user_id": "ann"})]


@override_settings(EDGE_REALTIME={"WEBHOOK_SECRET": SECRET})
def test_a_bad_signature_is_refused() -> None:
    called = []
    receiver("user.online")(called.append)
    body = json.dumps({"type": "user.online", "timestamp": "t", "data": {}})
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    resp = webhook_view(signed_request(body, secret=other))
    assert resp.status_code == 400
    assert json.loads(resp.content)["error"]["code"] == "invalid_signature"
    assert called == []
