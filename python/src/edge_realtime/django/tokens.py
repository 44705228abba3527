"""Access tokens for Django users, signed with ``EDGE_REALTIME["JWT_SECRET"]``: the user's
primary key as ``sub``, their names and e-mail as profile claims, and their org ids from
the ``ORGS`` callable (or the ``orgs`` argument)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from django.utils.module_loading import import_string

from ..tokens import mint_token
from .conf import settings_value

__all__ = ["token_for", "profile_claims", "orgs_of"]


def profile_claims(user: Any) -> dict[str, str]:
    """``name``, ``username``, ``email``, ``first_name``, ``last_name`` of a user, when set."""
    full = user.get_full_name() if callable(getattr(user, "get_full_name", None)) else ""
    username = user.get_username() if callable(getattr(user, "get_username", None)) else ""
    claims = {
        "name": full or username,
        "username": username,
        "email": getattr(user, "email", ""),
        "first_name": getattr(user, "first_name", ""),
        "last_name": getattr(user, "last_name", ""),
    }
    return {k: str(v) for k, v in claims.items() if v}


def orgs_of(user: Any) -> list[str] | None:
    """The user's org ids from the ``ORGS`` callable; ``None`` when it is not set."""
    path = settings_value("ORGS")
    if not path:
        return None
    return [str(o) for o in import_string(path)(user)]


def token_for(
    user: Any,
    *,
    orgs: Iterable[str | int] | None = None,
    ttl: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """An HS256 access token for ``user`` (valid ``TOKEN_TTL`` seconds by default)."""
    profile = profile_claims(user)
    return mint_token(
        user.pk,
        settings_value("JWT_SECRET", required=True),
        name=profile.get("name"),
        username=profile.get("username"),
        email=profile.get("email"),
        first_name=profile.get("first_name"),
        last_name=profile.get("last_name"),
        orgs=orgs if orgs is not None else orgs_of(user),
        ttl=int(ttl if ttl is not None else settings_value("TOKEN_TTL")),
        extra=extra,
    )
