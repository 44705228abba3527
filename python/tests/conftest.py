"""Shared fixtures: the Worker under test (one ``wrangler dev`` per session, see
``support.worker``), clients pointed at it whose every answer is checked against
``docs/openapi.yaml`` (``support.openapi``), and unique ids so tests never share a stream.
Tests that use the Worker are marked ``worker`` (``-m "not worker"`` runs the rest)."""

from __future__ import annotations

import uuid
from typing import Iterator

import httpx
import pytest

from edge_realtime import Client, RetryPolicy
from support.openapi import Spec
from support.worker import Worker, WranglerDev, external

#: Against the real Worker every answer is the one under test: no retries hide a 5xx.
ONCE = RetryPolicy(attempts=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "worker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.worker)


@pytest.fixture(scope="session")
def worker(request: pytest.FixtureRequest) -> Iterator[Worker]:
    ready = external()
    if ready is not None:
        yield ready
        return
    dev = WranglerDev()
    started = dev.start()
    try:
        yield started
    finally:
        dev.stop(keep_log=request.session.testsfailed > 0)


@pytest.fixture(scope="session")
def spec() -> Spec:
    return Spec.load()


def _checked(spec: Spec, response: httpx.Response) -> None:
    body = response.json() if response.content else None
    spec.check(response.request.method, response.request.url.path, response.status_code, body)


@pytest.fixture
def rt(worker: Worker, spec: Spec) -> Iterator[Client]:
    """A sync client on the Worker; every answer is checked against the OpenAPI document."""

    def check(response: httpx.Response) -> None:
        response.read()
        _checked(spec, response)

    http = httpx.Client(timeout=30, event_hooks={"response": [check]})
    with http, Client(worker.url, worker.api_key, retry=ONCE, http_client=http) as client:
        yield client


@pytest.fixture
def async_hooks(spec: Spec) -> dict:
    """``event_hooks`` for an ``httpx.AsyncClient`` that checks answers the same way (the
    async client must be made inside the test's event loop)."""

    async def check(response: httpx.Response) -> None:
        await response.aread()
        _checked(spec, response)

    return {"response": [check]}


@pytest.fixture
def uid() -> str:
    """A fresh id prefix, so each test has its own conversations, users and orgs."""
    return "t" + uuid.uuid4().hex[:12]
