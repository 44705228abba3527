"""Waiting for D1: the history and inbox reads come from D1, which the objects' outbox fills
a moment after the live event. Tests poll the read until it holds what they expect, then
assert on its content (never on how long it took)."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")

D1_WAIT = 60.0


def until(read: Callable[[], T], ready: Callable[[T], bool], wait: float = D1_WAIT) -> T:
    """Calls ``read`` until ``ready`` holds for its result (or ``wait`` seconds pass);
    returns the last result either way, for the caller to assert on."""
    deadline = time.monotonic() + wait
    while True:
        value = read()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)
