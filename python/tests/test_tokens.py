"""``mint_token``: the JWT's three parts, its claims and its HS256 signature (checked here
with hmac; the integration tests check that the Worker accepts it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from edge_realtime import mint_token


def part(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_header_claims_and_signature() -> None:
    token = mint_token(42, "s3cret", name="Ann Lee", username="ann", orgs=[7, "acme"], ttl=600, now=1_700_000_000)
    header, claims, signature = token.split(".")
    assert part(header) == {"alg": "HS256", "typ": "JWT"}
    assert part(claims) == {
        "sub": "42",
        "iat": 1_700_000_000,
        "exp": 1_700_000_600,
        "name": "Ann Lee",
        "username": "ann",
        "orgs": ["7", "acme"],
    }
    mac = hmac.new(b"s3cret", f"{header}.{claims}".encode(), hashlib.sha256).digest()
    assert signature == base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert "=" not in token


def test_unset_claims_are_left_out_and_extra_claims_added() -> None:
    token = mint_token("bob", "k", extra={"aud": "realtime"}, now=0)
    assert part(token.split(".")[1]) == {"sub": "bob", "iat": 0, "exp": 3600, "aud": "realtime"}


def test_a_secret_and_a_positive_ttl_are_required() -> None:
    with pytest.raises(ValueError):
        mint_token("bob", "")
    with pytest.raises(ValueError):
        mint_token("bob", "k", ttl=0)
