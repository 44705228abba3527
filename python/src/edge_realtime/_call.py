"""One logical API call, and the decisions both clients share about its attempts.

A :class:`Call` is built once per logical call: its body is serialised once (so every
attempt sends the same bytes, which the server's idempotency fingerprint compares) and a
POST gets its ``Idempotency-Key`` once (so every retry is recognised as a repeat). The
clients only loop: send, ask :func:`retry_wait`, sleep or :func:`finish`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import quote

from ._retry import RetryPolicy, parse_retry_after
from .errors import Conflict, EdgeRealtimeError, NetworkError, error_from_response

__all__ = ["Call", "new_idempotency_key", "segment", "retry_wait", "finish", "network_error"]


def new_idempotency_key() -> str:
    """A fresh random key (32 hex digits)."""
    return uuid.uuid4().hex


def segment(value: str | int) -> str:
    """An id as a path segment. Valid ids (``[A-Za-z0-9_.:-]``) pass unchanged; anything
    else is percent-encoded, which the Worker refuses with 400 rather than misrouting."""
    return quote(str(value), safe=":")


def encode_json(body: Any) -> bytes:
    """The JSON bytes of a body: compact, UTF-8."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Call:
    """Method, path, query, body bytes and headers of one logical call."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def get(cls, path: str, **params: Any) -> Call:
        """A GET; ``None`` parameters are left out, booleans become ``true``/``false``."""
        query = {k: _param(v) for k, v in params.items() if v is not None}
        return cls("GET", path, params=query)

    @classmethod
    def post(cls, path: str, body: Any, idempotency_key: str | None = None) -> Call:
        """A JSON POST with its ``Idempotency-Key`` (generated here unless given)."""
        key = idempotency_key if idempotency_key is not None else new_idempotency_key()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        return cls("POST", path, body=encode_json(body), headers=headers)

    @classmethod
    def put(cls, path: str) -> Call:
        """A PUT without body (the membership routes take none)."""
        return cls("PUT", path)

    @classmethod
    def delete(cls, path: str) -> Call:
        return cls("DELETE", path)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")

    def request_args(self, base_url: str, headers: Mapping[str, str]) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client.request`` / ``AsyncClient.request``, with
        the client's ``base_url`` and ``headers`` (the call's own headers win)."""
        args: dict[str, Any] = {
            "method": self.method,
            "url": base_url + self.path,
            "headers": {**headers, **self.headers},
        }
        if self.params:
            args["params"] = dict(self.params)
        if self.body is not None:
            args["content"] = self.body
        return args


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def retry_wait(policy: RetryPolicy, attempt: int, status: int, headers: Mapping[str, str], text: str, call: Call) -> float | None:
    """Seconds to wait before another attempt after answer ``status`` to attempt number
    ``attempt`` (0-based), or ``None`` when the answer is final."""
    if attempt + 1 >= policy.attempts:
        return None
    if policy.retries_status(status) or _key_in_progress(status, text, call):
        return policy.delay(attempt, parse_retry_after(headers.get("retry-after")))
    return None


def _key_in_progress(status: int, text: str, call: Call) -> bool:
    """A 409 saying the key's first request is still running: it answers a retry later."""
    if status != 409 or call.idempotency_key is None:
        return False
    error = error_from_response(status, text)
    return isinstance(error, Conflict) and error.in_progress


def network_wait(policy: RetryPolicy, attempt: int) -> float | None:
    """Seconds to wait after a network failure of attempt ``attempt``, ``None`` if final."""
    if attempt + 1 >= policy.attempts:
        return None
    return policy.delay(attempt)


def network_error(exc: Exception, attempts: int) -> NetworkError:
    """The error raised when the last attempt got no answer."""
    return NetworkError(f"{type(exc).__name__}: {exc}", code="network", attempts=attempts)


def finish(status: int, text: str, attempts: int) -> Any:
    """The parsed JSON of a success, or the typed error of a failure (raised)."""
    if status >= 400:
        raise error_from_response(status, text, attempts=attempts)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise EdgeRealtimeError(
            "the answer is not JSON", status=status, code="invalid_response", body=text, attempts=attempts
        ) from exc
