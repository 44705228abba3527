"""Credentials of the Django target: the user's HS256 JWT on sockets (PyJWT, the same secret
and claims as the service: `sub` is the user id, profile claims are optional) and the server
key on the API (`Authorization: Bearer <API_KEY>`)."""
import hmac
from urllib.parse import parse_qs

import jwt
from django.conf import settings

LEEWAY_S = 60


def claims_from_query(query_string: bytes):
    """The verified claims of `?token=...`, or None."""
    token = parse_qs(query_string.decode("latin-1")).get("token", [None])[0]
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=["HS256"],
            leeway=LEEWAY_S,
            options={"require": ["sub", "exp"]},
        )
    except jwt.InvalidTokenError:
        return None
    return claims if isinstance(claims.get("sub"), str) and claims["sub"] else None


def api_key_ok(request) -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    given = header[len("Bearer "):].strip().encode()
    return any(hmac.compare_digest(given, k.encode()) for k in settings.API_KEYS)
