#!/usr/bin/env python3
"""Writes public/api/openapi.json from docs/openapi.yaml (the document a reader edits), so
that `GET /api/openapi.json` is served as a static asset, before the Worker runs and at no
Wasm cost. `--check` writes nothing and fails, saying how to regenerate, when the committed
file is not what a fresh conversion gives.

Needs PyYAML (in the Python test venv that python/run-tests.sh makes):

    python/.venv/bin/python scripts/openapi-json.py           # regenerate
    python/.venv/bin/python scripts/openapi-json.py --check   # what make test runs

The YAML is read with `yaml.safe_load`, as the Python tests read it, so the served JSON is
the document they check the Worker against. The output is stable: keys in the document's
order, two-space indent, UTF-8, one trailing newline.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "docs" / "openapi.yaml"
TARGET = ROOT / "public" / "api" / "openapi.json"
REGENERATE = "python/.venv/bin/python scripts/openapi-json.py"


def _plain(value: object, where: str = "$") -> object:
    """The document as JSON values; YAML-only types (dates, binary, sets) are refused so a
    stray unquoted date cannot turn into something the YAML readers disagree on."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SystemExit(f"docs/openapi.yaml: key {k!r} at {where} is not a string: quote it")
            out[k] = _plain(v, f"{where}.{k}")
        return out
    if isinstance(value, list):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (datetime.date, datetime.datetime)):
        raise SystemExit(f"docs/openapi.yaml: {where} is a YAML date ({value}): quote it")
    raise SystemExit(f"docs/openapi.yaml: {where} has a {type(value).__name__}, not a JSON value")


def render() -> str:
    try:
        loaded = yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise SystemExit(f"docs/openapi.yaml is not valid YAML: {e}") from None
    doc = _plain(loaded)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    fresh = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else None
        if current == fresh:
            print(f"{TARGET.relative_to(ROOT)} is docs/openapi.yaml converted")
            return 0
        what = "is missing" if current is None else "differs from a fresh conversion of docs/openapi.yaml"
        print(
            f"error: {TARGET.relative_to(ROOT)} {what}.\n"
            f"Regenerate it and commit both files:\n    {REGENERATE}",
            file=sys.stderr,
        )
        return 1
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != fresh:
        TARGET.write_text(fresh, encoding="utf-8")
        print(f"wrote {TARGET.relative_to(ROOT)}")
    else:
        print(f"{TARGET.relative_to(ROOT)} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
