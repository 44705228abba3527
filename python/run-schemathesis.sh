#!/usr/bin/env bash
# Property-based test of the HTTP API: schemathesis (pinned in python/pyproject.toml's `test`
# extra) against a real `wrangler dev` of this checkout's Worker, reading docs/openapi.yaml,
# with the API key, checking no 5xx, documented statuses and documented bodies. Bounded
# (a few hundred to a couple of thousand requests, well under 2 minutes on 2 cores). The
# knobs and what it checks: python/tests/support/fuzz.py. Arguments go to `st run`.
# Run `bash scripts/setup.sh` once before (node, wrangler, the Worker's build tools).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/venv.sh"
tools_path
ensure_venv

if [ -z "${EDGE_REALTIME_TEST_URL:-}" ]; then
  bash "$ROOT/scripts/build-worker.sh"
fi

cd "$HERE/tests"
exec "$VENV/bin/python" -m support.fuzz "$@"
