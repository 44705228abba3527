"""Access tokens for apps that have no JWTs of their own: an HS256 JWT signed with the
Worker's ``JWT_SECRET``, made with the standard library only (SPEC §2 claims).

The page that opens a socket gets the token from the app, e.g. ``?token=`` or the
``bearer.<jwt>`` subprotocol. ``sub`` is the user id; the profile claims are carried into
events (sender, presence); ``orgs`` grants org membership.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Iterable, Mapping

__all__ = ["mint_token", "DEFAULT_TTL"]

#: Seconds a token is valid by default.
DEFAULT_TTL = 3600

_PROFILE = ("name", "username", "email", "first_name", "last_name", "avatar")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: Mapping[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def claims_for(
    user_id: str | int,
    *,
    ttl: int,
    now: int,
    profile: Mapping[str, str | None],
    orgs: Iterable[str | int] | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The claim set: ``sub``, ``iat``, ``exp``, the non-empty profile claims, ``orgs``."""
    claims: dict[str, Any] = {"sub": str(user_id), "iat": now, "exp": now + int(ttl)}
    claims.update({k: v for k, v in profile.items() if v is not None})
    if orgs is not None:
        claims["orgs"] = [str(o) for o in orgs]
    claims.update(extra or {})
    return claims


def sign_hs256(claims: Mapping[str, Any], secret: str | bytes) -> str:
    """A compact JWS of ``claims`` with HS256."""
    key = secret.encode() if isinstance(secret, str) else secret
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims)}"
    mac = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(mac)}"


def mint_token(
    user_id: str | int,
    secret: str | bytes,
    *,
    name: str | None = None,
    username: str | None = None,
    email: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    avatar: str | None = None,
    orgs: Iterable[str | int] | None = None,
    ttl: int = DEFAULT_TTL,
    extra: Mapping[str, Any] | None = None,
    now: int | None = None,
) -> str:
    """An HS256 access token for ``user_id``, valid ``ttl`` seconds from ``now`` (default
    the current time). ``extra`` adds claims (``iss``/``aud`` when the Worker checks them)."""
    if not secret:
        raise ValueError("secret is required (the Worker's JWT_SECRET)")
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    profile = dict(zip(_PROFILE, (name, username, email, first_name, last_name, avatar)))
    issued = int(time.time()) if now is None else int(now)
    claims = claims_for(user_id, ttl=ttl, now=issued, profile=profile, orgs=orgs, extra=extra)
    return sign_hs256(claims, secret)
