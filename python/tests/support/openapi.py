"""``docs/openapi.yaml`` as a checker: finds the operation for a method and concrete path,
and checks that an answer's status is documented for it and its JSON body matches the
documented schema (JSON Schema 2020-12, as OpenAPI 3.1 uses). The integration clients run
every answer of the real Worker through it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .worker import ROOT

SPEC_PATH = ROOT / "docs" / "openapi.yaml"
BASE = "urn:edge-realtime:openapi"
METHODS = ("get", "put", "post", "delete", "patch")


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class Spec:
    doc: dict[str, Any]
    seen: set[tuple[str, str, int]] = field(default_factory=set)

    @classmethod
    def load(cls) -> Spec:
        return cls(yaml.safe_load(SPEC_PATH.read_text()))

    @cached_property
    def registry(self) -> Registry:
        return Registry().with_resource(BASE, Resource(contents=self.doc, specification=DRAFT202012))

    @cached_property
    def templates(self) -> list[tuple[re.Pattern[str], str]]:
        """Each path template as a regex over concrete paths (trailing slash optional)."""
        out = []
        for template in self.doc["paths"]:
            body = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template.rstrip("/")))
            out.append((re.compile(f"^{body}/?$"), template))
        return out

    def operations(self) -> list[tuple[str, str]]:
        """Every documented ``(METHOD, template)``."""
        return [(m.upper(), t) for t, item in self.doc["paths"].items() for m in METHODS if m in item]

    def template_for(self, method: str, path: str) -> str | None:
        for regex, template in self.templates:
            if regex.match(path) and method.lower() in self.doc["paths"][template]:
                return template
        return None

    def _response(self, template: str, method: str, status: int) -> tuple[dict[str, Any], str] | None:
        responses = self.doc["paths"][template][method.lower()]["responses"]
        key = str(status) if str(status) in responses else "default" if "default" in responses else None
        if key is None:
            return None
        response = responses[key]
        where = _pointer("paths", template, method.lower(), "responses", key)
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[1]
            response, where = self.doc["components"]["responses"][name], _pointer("components", "responses", name)
        return response, where

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        """Raises ``AssertionError`` unless the answer is what the document says."""
        template = self.template_for(method, path)
        assert template, f"{method} {path} is not in docs/openapi.yaml"
        found = self._response(template, method, status)
        assert found, f"{method} {template} answered {status}, which docs/openapi.yaml does not list"
        response, where = found
        self.seen.add((method.upper(), template, status))
        if "content" not in response:
            return
        schema_at = f"{BASE}#/{where}/content/{_pointer('application/json')}/schema"
        validator = Draft202012Validator({"$ref": schema_at}, registry=self.registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
        assert not errors, f"{method} {path} {status}: body does not match docs/openapi.yaml: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5]
        )
