"""What ``EDGE_REALTIME["MEMBERSHIP"]`` and ``["ORGS"]`` name in the tests: the desired
membership (set by each test in ``DESIRED``) and a user's org ids (their teams)."""

from __future__ import annotations

from typing import Any

DESIRED: dict[str, Any] = {}


def desired() -> dict[str, Any]:
    return DESIRED


def orgs_of(user: Any) -> list[str]:
    return [t.slug for t in user.teams.all()]
