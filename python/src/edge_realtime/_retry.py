"""Retry policy: which outcomes are retried and how long to wait before the next attempt.

Network errors, 429 and 5xx are retried with capped exponential backoff and full jitter
(a uniformly random wait between 0 and the exponential step), honouring a ``Retry-After``
of a 429/503 within the cap. So is a 409 whose ``Idempotency-Key`` is still in progress on
the server (the usual sequel of a timeout): its retry returns the first request's answer.
The policy is pure; the clients do the sleeping.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["RetryPolicy"]

@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (1 = no retry); waits grow ``base_delay * 2**n`` up to
    ``max_delay`` seconds, each drawn uniformly below that step. ``statuses`` are retried
    besides every 5xx (when ``server_errors``)."""

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    statuses: frozenset[int] = field(default=frozenset({429}))
    server_errors: bool = True

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def retries_status(self, status: int) -> bool:
        """True for a status worth another attempt (429 and 5xx by default)."""
        return status in self.statuses or (self.server_errors and status >= 500)

    def delay(self, retry: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        step = min(self.max_delay, self.base_delay * (2**retry))
        wait = (rng or random).uniform(0, step)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header in its delta-seconds form; ``None`` otherwise."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


NO_RETRY = RetryPolicy(attempts=1)
