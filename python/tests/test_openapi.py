"""docs/openapi.yaml stays true: it is valid OpenAPI 3.1, it has every route of the
Worker's routing table (``src/domain/routes.rs``, read from its route tests) and nothing
else but the static assets it names (``x-static-asset``: ``GET /api/openapi.json``), and the
real Worker answers each documented operation, called well and badly, with a status and
body the document lists."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from support.openapi import Spec
from support.worker import ROOT, Worker, dev_vars

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


def static_assets(spec: Spec) -> dict[tuple[str, str], str]:
    """``(METHOD, template)`` -> file under the repository of each operation served from
    ``public/`` (``[assets]`` in wrangler.toml) rather than by the Worker's routing table."""
    out = {}
    for method, template in spec.operations():
        asset = spec.doc["paths"][template][method.lower()].get("x-static-asset")
        if asset:
            out[(method, template)] = asset
    return out


def test_every_documented_operation_is_routed(spec: Spec) -> None:
    covered = {spec.template_for(m, p) and (m, spec.template_for(m, p)) for m, p in routed()}
    served = static_assets(spec)
    extra = sorted(f"{m} {t}" for m, t in spec.operations() if (m, t) not in covered and (m, t) not in served)
    assert not extra, f"documented but not routed: {extra}"


def test_static_operations_are_files_under_public(spec: Spec) -> None:
    served = static_assets(spec)
    assert served == {("GET", "/api/openapi.json"): "public/api/openapi.json"}
    for (_, template), asset in served.items():
        assert asset == "public" + template, f"{template} would not be served from {asset}"
        assert (ROOT / asset).is_file(), f"{asset} is missing: run python/.venv/bin/python scripts/openapi-json.py"
    assert all(not template.startswith(("/ws/", "/healthz", "/dev/")) for _, template in served)


def test_openapi_json_is_served_before_the_worker_and_the_rest_of_api_reaches_it(spec: Spec, worker: Worker) -> None:
    served = httpx.get(f"{worker.url}/api/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("application/json")
    assert served.json() == json.loads((ROOT / "public/api/openapi.json").read_text())
    assert served.json()["paths"].keys() == spec.doc["paths"].keys()
    # Static: no key needed, and a browser Origin the Worker refuses is not asked about.
    foreign = httpx.get(f"{worker.url}/api/openapi.json", headers={"Origin": "https://evil.example"}, timeout=30)
    assert foreign.status_code == 200 and foreign.json()["openapi"] == served.json()["openapi"]
    # Every other /api/ path, and other methods on this one, still reach the Worker.
    worker_says = {
        ("GET", "/api/openapi.yaml"): (404, "not_found"),
        ("GET", "/api/openapi.json/x"): (404, "not_found"),
        ("GET", "/api/notifications"): (405, "method_not_allowed"),
        ("POST", "/api/notifications"): (401, "unauthorized"),
    }
    for (method, path), (status, code) in worker_says.items():
        r = httpx.request(method, f"{worker.url}{path}", timeout=30)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), f"{method} {path}: {r.text}"
    origin = httpx.get(f"{worker.url}/api/notifications", headers={"Origin": "https://evil.example"}, timeout=30)
    assert (origin.status_code, origin.json()["error"]["code"]) == (403, "origin_not_allowed")
    # Other methods on the asset's own path are the asset server's 405, as documented.
    posted = httpx.post(f"{worker.url}/api/openapi.json", json={}, timeout=30)
    assert (posted.status_code, posted.content) == (405, b"")


def concrete(template: str, uid: str) -> str:
    return (
        template.replace("{conversation_id}", f"{uid}-c")
        .replace("{user_id}", f"{uid}-u")
        .replace("{org_id}", f"{uid}-o")
        .replace("{webhook_id}", f"msg_{uid}")
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
    assert statuses["GET /api/openapi.json"] == 200
    assert statuses["GET /healthz"] == 200
    assert statuses["POST /api/notifications"] == 201
    assert statuses["PUT /api/conversations/{conversation_id}/members/{user_id}"] == 201
    assert statuses["POST /api/conversations/{conversation_id}/messages"] == 403


def test_each_api_operation_refuses_bad_calls_as_documented(spec: Spec, http: httpx.Client, worker: Worker, uid: str) -> None:
    key = {"Authorization": f"Bearer {worker.api_key}"}
    served = static_assets(spec)
    for method, template in spec.operations():
        if not template.startswith("/api/") or (method, template) in served:
            continue
        if spec.doc["paths"][template][method.lower()].get("security") == []:
            continue  # public (GET /api/push/vapid-public-key): no credentials to refuse
        path = concrete(template, uid)
        assert answered(spec, http, method, path) == 401, f"{method} {template} without a key"
        long_key = {**key, "Idempotency-Key": "k" * 256}
        assert answered(spec, http, method, path, headers=long_key) == 400, f"{method} {template} long key"
        if "{" in template:
            bad = template
            for name in ("{conversation_id}", "{user_id}", "{org_id}", "{webhook_id}"):
                bad = bad.replace(name, "a%20b")
            assert answered(spec, http, method, bad, headers=key) == 400, f"{method} {template} bad id"
        if method in ("POST", "PUT"):
            text = {**key, "Content-Type": "text/plain"}
            assert answered(spec, http, method, path, headers=text, content=b"hi") == 415, f"{method} {template}"
            assert answered(spec, http, method, path, headers=key, json="x" * 70_000) == 413, f"{method} {template}"


def test_deep_health_answers_as_documented(spec: Spec, http: httpx.Client) -> None:
    deep = http.get("/healthz", params={"deep": "1"})
    spec.check("GET", "/healthz", deep.status_code, deep.json())
    assert deep.status_code == 200
    body = deep.json()
    assert (body["ok"], body["d1"]) == (True, "ok")
    # .dev.vars (from .dev.vars.example) turns DEV_TOKENS on, which the report names by
    # variable and kind only.
    dev_tokens = {"var": "DEV_TOKENS", "kind": "development_only"}
    assert (dev_tokens in body["problems"]) == (dev_vars().get("DEV_TOKENS") in ("1", "true"))
    plain = http.get("/healthz", params={"deep": "0"})
    assert (plain.status_code, plain.json()) == (200, {"ok": True})
