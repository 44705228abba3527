"""The error types of the client, and the one mapping from an HTTP answer to them.

The Worker answers every failure as ``{"error": {"code": ..., "message": ...}}`` with a
fitting status (SPEC §5). Each status has its own exception class so callers can catch
exactly what they handle; all of them derive from :class:`EdgeRealtimeError`, which carries
``status`` (``None`` for network failures) and ``code`` (the body's ``error.code``).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "EdgeRealtimeError",
    "NetworkError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "Conflict",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "Unprocessable",
    "RateLimited",
    "ServerError",
    "Unavailable",
    "RETRYABLE_ERRORS",
    "error_from_response",
]


class EdgeRealtimeError(Exception):
    """Any failure of a call: ``status`` is the HTTP status (``None`` when no answer came),
    ``code`` the error code of the body (e.g. ``"forbidden"``), ``message`` its text."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        body: Any = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body
        self.attempts = attempts

    def __str__(self) -> str:
        where = f"{self.status} {self.code}" if self.status is not None else self.code
        return f"{where}: {self.message}" if where else self.message


class NetworkError(EdgeRealtimeError):
    """No answer: connection refused or reset, timeout, broken response (after retries)."""

    retryable = True


class BadRequest(EdgeRealtimeError):
    """400: a malformed id, invalid JSON, a bad query parameter or ``Idempotency-Key``."""


class Unauthorized(EdgeRealtimeError):
    """401: missing or wrong API key (or a user JWT on a server-only route)."""


class Forbidden(EdgeRealtimeError):
    """403: e.g. the sender is not a member of the conversation, or the Origin is refused."""


class NotFound(EdgeRealtimeError):
    """404: no such endpoint, or an unknown referenced message."""


class MethodNotAllowed(EdgeRealtimeError):
    """405: the path exists but not with this method."""


class Conflict(EdgeRealtimeError):
    """409: an ``Idempotency-Key`` reused with another body, its first request still
    running (``in_progress``), or a membership change on a direct conversation."""

    @property
    def in_progress(self) -> bool:
        """True when the key's first request has not finished yet (retrying later helps)."""
        return "in progress" in self.message


class PayloadTooLarge(EdgeRealtimeError):
    """413: the body is over 64 KiB."""


class UnsupportedMediaType(EdgeRealtimeError):
    """415: the body is not ``application/json``."""


class Unprocessable(EdgeRealtimeError):
    """422: a missing, unknown or invalid field."""


class RateLimited(EdgeRealtimeError):
    """429: too many requests (after retries)."""

    retryable = True


class ServerError(EdgeRealtimeError):
    """5xx: the service failed (after retries)."""

    retryable = True


class Unavailable(ServerError):
    """503: storage or a D1 read failed for the moment; retrying later is safe."""


#: What is worth retrying later, e.g. ``@shared_task(autoretry_for=RETRYABLE_ERRORS)``.
RETRYABLE_ERRORS: tuple[type[EdgeRealtimeError], ...] = (NetworkError, RateLimited, ServerError)

_BY_STATUS: dict[int, type[EdgeRealtimeError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: Unprocessable,
    429: RateLimited,
    503: Unavailable,
}


def error_class(status: int) -> type[EdgeRealtimeError]:
    """The exception class for an error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else EdgeRealtimeError


def parse_error_body(text: str) -> tuple[str | None, str | None, Any]:
    """``(code, message, parsed body)`` of an error answer; ``None``s when it has not the
    contract's shape (a proxy's HTML page, say)."""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        return None, None, text
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None, body
    code, message = error.get("code"), error.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
        body,
    )


def error_from_response(status: int, text: str, *, attempts: int = 1) -> EdgeRealtimeError:
    """The typed error for an HTTP answer with an error ``status`` and body ``text``."""
    code, message, body = parse_error_body(text)
    if message is None:
        message = f"HTTP {status}" + (f": {text[:200]}" if text else "")
    return error_class(status)(message, status=status, code=code, body=body, attempts=attempts)
