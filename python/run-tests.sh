#!/usr/bin/env bash
# Runs the Python package's tests: makes a venv (python/.venv, or $EDGE_RT_PY_VENV), installs
# ./python[django,test] from PyPI into it (pytest, websockets, django, pyyaml, jsonschema,
# djangorestframework-simplejwt, PyJWT),
# and runs pytest. The integration tests start their own `wrangler dev` (fresh local D1 and
# Durable Objects, free port) from the Worker this script builds first, so run
# `bash scripts/setup.sh` once before; or point them at a running Worker with
# EDGE_REALTIME_TEST_URL. Arguments go to pytest (e.g. -k retry, -m "not worker").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/../scripts/lib.sh"
tools_path

VENV="${EDGE_RT_PY_VENV:-$HERE/.venv}"

python_ok() { # a Python >= 3.10 that can make venvs?
  "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' 2>/dev/null
}

pick_python() {
  local p
  for p in "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python3.10 /usr/bin/python3; do
    [ -n "$p" ] && command -v "$p" >/dev/null 2>&1 && python_ok "$p" && { command -v "$p"; return; }
  done
  # Debian ships venv support separately; install it the way setup.sh installs packages.
  if command -v apt-get >/dev/null 2>&1 && command -v /usr/bin/python3 >/dev/null 2>&1; then
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "apt-get install python3-venv"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
    python_ok /usr/bin/python3 && { echo /usr/bin/python3; return; }
  fi
  echo "no Python >= 3.10 with venv support found (set PYTHON=...)" >&2
  exit 1
}

if [ ! -x "$VENV/bin/python" ]; then
  py="$(pick_python)"
  log "python venv at $VENV ($("$py" --version))"
  "$py" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
log "pip install ./python[django,test]"
"${PIP[@]}" "$HERE[django,test]"
# The package itself is rebuilt every run, so the tests see this checkout's code.
"${PIP[@]}" --no-deps --force-reinstall "$HERE"

# The Worker is built here rather than by the first `wrangler dev` of the tests, so a fresh
# clone's build (minutes) is not counted against their startup wait; a no-op when up to date.
if [ -z "${EDGE_REALTIME_TEST_URL:-}" ]; then
  bash "$ROOT/scripts/build-worker.sh"
fi

cd "$HERE"
exec "$VENV/bin/python" -m pytest "$@"
