"""The Django app of edge-realtime: add ``"edge_realtime.django"`` to ``INSTALLED_APPS`` and
set ``EDGE_REALTIME = {"URL": ..., "API_KEY": ..., "JWT_SECRET": ...}``.

It gives a client built lazily from those settings (:func:`get_client`, also behind the
package's ``broadcast_notification`` / ``broadcast_org_event`` / ``send_message``), tokens
for your users (:func:`token_for`, the view ``edge_realtime.django.views.token``),
membership kept in step with your models (:func:`connect_membership`,
:func:`connect_m2m_membership`) and the management command
``edge_realtime_sync_members``. Importing this package does not import Django; the names
below load their module on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["get_client", "settings_value", "token_for", "connect_membership", "connect_m2m_membership", "sync_memberships"]

_WHERE = {
    "get_client": "conf",
    "settings_value": "conf",
    "token_for": "tokens",
    "connect_membership": "signals",
    "connect_m2m_membership": "signals",
    "sync_memberships": "sync",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
