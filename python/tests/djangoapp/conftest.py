"""Django for these tests: a throwaway settings module (``settings.configure``) with an
in-memory SQLite database, ``edge_realtime.django`` and the test app installed,
``SIMPLE_JWT`` signing with the Worker's ``JWT_SECRET``, and ``EDGE_REALTIME`` pointed at the
Worker under test (or a recording server) per test."""

from __future__ import annotations

from typing import Iterator

import django
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings

from support.djangosettings import edge_settings, simple_jwt
from support.worker import Worker, jwt_secret

if not settings.configured:
    settings.configure(
        SECRET_KEY="edge-realtime-tests",
        USE_TZ=True,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "edge_realtime.django",
            "edge_rt_testapp",
        ],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        EDGE_REALTIME={},
        SIMPLE_JWT=simple_jwt(jwt_secret()),
    )
    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture
def on_worker(worker: Worker) -> Iterator[Worker]:
    """``EDGE_REALTIME`` pointed at the real Worker for the test."""
    with override_settings(EDGE_REALTIME=edge_settings(worker.url, worker.api_key, worker.jwt_secret)):
        yield worker
