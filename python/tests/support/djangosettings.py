"""``EDGE_REALTIME`` for the Django tests: the Worker's (or a recording server's) URL and
key, one attempt per call, and the test app's membership and org sources; and the
``SIMPLE_JWT`` of a Django REST Framework project whose tokens the Worker takes as they are
(SPEC §8): HS256 with the Worker's ``JWT_SECRET`` as the signing key."""

from __future__ import annotations


def edge_settings(url: str, api_key: str, jwt_secret: str = "", **more: object) -> dict:
    return {
        "URL": url,
        "API_KEY": api_key,
        "JWT_SECRET": jwt_secret,
        "RETRIES": 1,
        "MEMBERSHIP": "edge_rt_testapp.membership.desired",
        "ORGS": "edge_rt_testapp.membership.orgs_of",
        **more,
    }


def simple_jwt(signing_key: str) -> dict:
    """``SIMPLE_JWT`` as a project switching to the Worker has it: everything default
    (``user_id`` claim, ``token_type``, ``jti``) but the key, shared with the Worker."""
    return {"ALGORITHM": "HS256", "SIGNING_KEY": signing_key}
