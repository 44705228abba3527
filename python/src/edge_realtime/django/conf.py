"""``settings.EDGE_REALTIME``: reading it, and the client built from it on first use.

Keys: ``URL`` and ``API_KEY`` (required for API calls), ``JWT_SECRET`` (for tokens),
``TIMEOUT`` (seconds, default 10), ``RETRIES`` (attempts in all, default 4), ``TOKEN_TTL``
(seconds, default 3600), ``ORGS`` (dotted path of ``f(user) -> org ids`` for tokens),
``MEMBERSHIP`` (dotted path of the callable ``edge_realtime_sync_members`` syncs from) and
``ON_COMMIT`` (send membership changes after the transaction commits, default True).
The client is rebuilt when a test changes the setting (``override_settings``).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from .. import helpers
from .._retry import RetryPolicy
from ..client import DEFAULT_TIMEOUT, Client

__all__ = ["settings_value", "build_client", "get_client", "install"]

SETTING = "EDGE_REALTIME"
DEFAULTS: dict[str, Any] = {
    "URL": None,
    "API_KEY": None,
    "JWT_SECRET": None,
    "TIMEOUT": DEFAULT_TIMEOUT,
    "RETRIES": RetryPolicy().attempts,
    "TOKEN_TTL": 3600,
    "ORGS": None,
    "MEMBERSHIP": None,
    "ON_COMMIT": True,
}

_installed = threading.Event()


def settings_value(key: str, *, required: bool = False) -> Any:
    """One key of ``settings.EDGE_REALTIME`` (or its default)."""
    if key not in DEFAULTS:
        raise KeyError(f"{SETTING} has no key {key!r}")
    value = getattr(settings, SETTING, {}).get(key, DEFAULTS[key])
    if required and not value:
        raise ImproperlyConfigured(f"settings.{SETTING}[{key!r}] is required")
    return value


def build_client() -> Client:
    """A client from the settings."""
    return Client(
        settings_value("URL", required=True),
        settings_value("API_KEY", required=True),
        timeout=float(settings_value("TIMEOUT")),
        retry=RetryPolicy(attempts=int(settings_value("RETRIES"))),
    )


def install() -> None:
    """Makes the package's default client (used by the helpers) come from the settings."""
    if _installed.is_set():
        return
    helpers.set_client_factory(build_client)
    setting_changed.connect(_setting_changed, dispatch_uid="edge_realtime.setting_changed")
    _installed.set()


def get_client() -> Client:
    """The client built from the settings, shared by the whole process."""
    install()
    return helpers.default_client()


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING:
        helpers.reset_default_client()
