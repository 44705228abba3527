"""The app config: on startup, makes the package's default client come from the settings."""

from __future__ import annotations

from django.apps import AppConfig


class EdgeRealtimeConfig(AppConfig):
    name = "edge_realtime.django"
    label = "edge_realtime"
    verbose_name = "edge-realtime"

    def ready(self) -> None:
        from . import conf

        conf.install()
