"""docs/openapi.yaml stays true: it is valid OpenAPI 3.1, it has every route of the
Worker's routing table (``src/domain/routes.rs``, read from its route tests) and nothing
else, and the real Worker answers each documented operation, called well and badly, with
a status and body the document lists."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from support.openapi import Spec
from support.worker import ROOT, Worker

ROUTES_RS = ROOT / "src" / "domain" / "routes.rs"


def test_the_document_is_valid_openapi_3_1(spec: Spec) -> None:
    assert spec.doc["openapi"].startswith("3.1")
    validate(spec.doc)


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def routed() -> set[tuple[str, str]]:
    """``(METHOD, concrete path)`` of every route in the routing unit tests."""
    text = ROUTES_RS.read_text()
    api = _between(text, "fn api_routes_by_method", "fn wrong_methods_are_refused")
    sockets = _between(text, "fn socket_paths_and_aliases", "fn unknown_socket_paths")
    other = _between(text, "fn other_paths", "fn api_streams")
    found = {(m, p) for m, p in re.findall(r'\(\s*"(GET|POST|PUT|DELETE|PATCH)",\s*"(/api/[^"]+)",', api)}
    found |= {("GET", p) for p in re.findall(r'\("(/ws/[^"]+)", SocketRoute::', sockets)}
    found |= {("GET", p) for p in re.findall(r'route\("GET", "(/[a-z/]+)"\), Ok\(', other)}
    return found


def test_every_routed_endpoint_is_documented(spec: Spec) -> None:
    routes = routed()
    assert len([r for r in routes if r[1].startswith("/api/")]) >= 12, routes  # the parse found the table
    missing = sorted(f"{m} {p}" for m, p in routes if spec.template_for(m, p) is None)
    assert not missing, f"routes missing from docs/openapi.yaml: {missing}"


def test_every_documented_operation_is_routed(spec: Spec) -> None:
    covered = {spec.template_for(m, p) and (m, spec.template_for(m, p)) for m, p in routed()}
    extra = sorted(f"{m} {t}" for m, t in spec.operations() if (m, t) not in covered)
    assert not extra, f"documented but not routed: {extra}"


def concrete(template: str, uid: str) -> str:
    return (
        template.replace("{conversation_id}", f"{uid}-c")
        .replace("{user_id}", f"{uid}-u")
        .replace("{org_id}", f"{uid}-o")
    )


def example_body(operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if "example" in content:
        return content["example"]
    examples = content.get("examples", {})
    return next(iter(examples.values()))["value"] if examples else None


def answered(spec: Spec, http: httpx.Client, method: str, path: str, **kw: Any) -> int:
    response = http.request(method, path, **kw)
    body = response.json() if response.content else None
    spec.check(method, path, response.status_code, body)
    return response.status_code


@pytest.fixture
def http(worker: Worker) -> httpx.Client:
    with httpx.Client(base_url=worker.url, timeout=30) as client:
        yield client  # type: ignore[misc]


def test_each_operation_answers_as_documented(spec: Spec, http: httpx.Client, worker: Worker, uid: str) -> None:
    key = {"Authorization": f"Bearer {worker.api_key}"}
    statuses: dict[str, int] = {}
    for method, template in spec.operations():
        op = spec.doc["paths"][template][method.lower()]
        path = concrete(template, uid)
        params = {"user": f"{uid}-dev"} if template == "/dev/token" else None
        body = example_body(op)
        kw: dict[str, Any] = {"headers": key, "params": params}
        if body is not None:
            kw["json"] = body
        statuses[f"{method} {template}"] = answered(spec, http, method, path, **kw)
    assert all(s < 500 for s in statuses.values()), statuses
    assert statuses["GET /ws/chat/{conversation_id}/"] == 426
    assert statuses["POST /api/notifications"] == 201
    assert statuses["PUT /api/conversations/{conversation_id}/members/{user_id}"] == 201
    assert statuses["POST /api/conversations/{conversation_id}/messages"] == 403


def test_each_api_operation_refuses_bad_calls_as_documented(spec: Spec, http: httpx.Client, worker: Worker, uid: str) -> None:
    key = {"Authorization": f"Bearer {worker.api_key}"}
    for method, template in spec.operations():
        if not template.startswith("/api/"):
            continue
        path = concrete(template, uid)
        assert answered(spec, http, method, path) == 401, f"{method} {template} without a key"
        long_key = {**key, "Idempotency-Key": "k" * 256}
        assert answered(spec, http, method, path, headers=long_key) == 400, f"{method} {template} long key"
        if "{" in template:
            bad = template.replace("{conversation_id}", "a%20b").replace("{user_id}", "a%20b").replace("{org_id}", "a%20b")
            assert answered(spec, http, method, bad, headers=key) == 400, f"{method} {template} bad id"
        if method in ("POST", "PUT"):
            text = {**key, "Content-Type": "text/plain"}
            assert answered(spec, http, method, path, headers=text, content=b"hi") == 415, f"{method} {template}"
            assert answered(spec, http, method, path, headers=key, json="x" * 70_000) == 413, f"{method} {template}"
