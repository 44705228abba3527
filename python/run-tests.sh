#!/usr/bin/env bash
# Runs the Python package's tests: makes a venv (python/.venv, or $EDGE_RT_PY_VENV), installs
# ./python[django,test] from PyPI into it (python/venv.sh: pytest, websockets, django, pyyaml,
# jsonschema, schemathesis,
# djangorestframework-simplejwt, PyJWT), and runs pytest. The integration tests start their own
# `wrangler dev` (fresh local D1 and Durable Objects, free port) from the Worker this script
# builds first, so run `bash scripts/setup.sh` once before; or point them at a running Worker
# with EDGE_REALTIME_TEST_URL. Arguments go to pytest (e.g. -k retry, -m "not worker").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/venv.sh"
tools_path
ensure_venv

# The Worker is built here rather than by the first `wrangler dev` of the tests, so a fresh
# clone's build (minutes) is not counted against their startup wait; a no-op when up to date.
if [ -z "${EDGE_REALTIME_TEST_URL:-}" ]; then
  bash "$ROOT/scripts/build-worker.sh"
fi

cd "$HERE"
exec "$VENV/bin/python" -m pytest "$@"
