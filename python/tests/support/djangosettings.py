"""``EDGE_REALTIME`` for the Django tests: the Worker's (or a recording server's) URL and
key, one attempt per call, and the test app's membership and org sources."""

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
