"""Server-side Python client of edge-realtime: publish notifications and org events, post
messages, manage members, read presence and history (the HTTP API of SPEC §5).

    from edge_realtime import Client
    rt = Client("https://rt.example.com", "api-key")
    rt.post_notifications("42", {"title": "You were mentioned"})

This package root re-exports the public names; each lives in its own module: ``client``
(the sync and async clients), ``errors`` (typed errors), ``tokens`` (``mint_token``),
``helpers`` (Channels-style drop-ins on a default client), ``types`` (body shapes) and
``edge_realtime.django`` (the Django app).
"""

from ._call import Call, new_idempotency_key
from ._retry import RetryPolicy
from .client import DEFAULT_TIMEOUT, AsyncClient, Client, __version__
from .errors import (
    RETRYABLE_ERRORS,
    BadRequest,
    Conflict,
    EdgeRealtimeError,
    Forbidden,
    MethodNotAllowed,
    NetworkError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from .helpers import (
    broadcast_notification,
    broadcast_org_event,
    configure,
    default_client,
    reset_default_client,
    send_message,
)
from .tokens import mint_token

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "RetryPolicy",
    "Call",
    "new_idempotency_key",
    "DEFAULT_TIMEOUT",
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
    "broadcast_notification",
    "broadcast_org_event",
    "send_message",
    "configure",
    "default_client",
    "reset_default_client",
    "mint_token",
]
