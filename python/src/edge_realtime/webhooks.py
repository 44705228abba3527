"""Receiving the Worker's webhooks (SPEC §10, the Standard Webhooks format): ``verify``
checks ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` against the
``whsec_`` secret the Worker signs with (``WEBHOOK_SECRET``) and returns the event
``{"type", "timestamp", "data"}``. No dependencies: the standard library's ``hmac``.

Deliveries are at least once: the same event may arrive again, always with the same
``webhook-id``, so a handler that must run once keys on ``event_id``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Event", "WebhookVerificationError", "verify", "sign", "TOLERANCE_SECONDS"]

#: How far ``webhook-timestamp`` may be from now (the specification's replay window).
TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(ValueError):
    """The request is not a webhook signed with this secret (or is too old)."""


@dataclass(frozen=True)
class Event:
    """One verified webhook: its id (stable across retries), type, ISO timestamp and data."""

    event_id: str
    type: str
    timestamp: str
    data: dict[str, Any]


def _key(secret: str) -> bytes:
    raw = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError as e:
        raise WebhookVerificationError("the secret is not whsec_ + base64") from e


def sign(secret: str, event_id: str, timestamp: int, body: bytes | str) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    payload = body.encode() if isinstance(body, str) else body
    mac = hmac.new(_key(secret), f"{event_id}.{timestamp}.".encode() + payload, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    for k, v in headers.items():
        if k.lower() == name:
            return v
    raise WebhookVerificationError(f"missing {name} header")


def verify(secret: str, headers: Mapping[str, str], body: bytes | str, *, now: float | None = None) -> Event:
    """The event, once its signature and timestamp check out; else ``WebhookVerificationError``."""
    event_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(stamp)
    except ValueError as e:
        raise WebhookVerificationError("webhook-timestamp is not a number") from e
    current = time.time() if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, event_id, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, s.encode()) for s in signatures.split(" ")):
        raise WebhookVerificationError("no matching signature")
    try:
        payload = json.loads(body)
    except ValueError as e:
        raise WebhookVerificationError("the body is not JSON") from e
    return Event(event_id, payload.get("type", ""), payload.get("timestamp", ""), payload.get("data") or {})
