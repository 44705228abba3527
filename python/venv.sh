# shellcheck shell=bash
# Sourced by python/run-tests.sh, python/run-schemathesis.sh and scripts/test.sh:
# `ensure_venv` makes the venv (python/.venv, or $EDGE_RT_PY_VENV) when missing and installs
# ./python[django,test] from PyPI into it (pytest, websockets, django, pyyaml, jsonschema,
# openapi-spec-validator, schemathesis; pinned where pyproject.toml pins them), then this
# checkout's package itself.
# Idempotent: a second run only checks that everything is there.
PY_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$PY_HERE/../scripts/lib.sh"
VENV="${EDGE_RT_PY_VENV:-$PY_HERE/.venv}"

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

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    local py
    py="$(pick_python)"
    log "python venv at $VENV ($("$py" --version))"
    "$py" -m venv "$VENV"
  fi
  local pip=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)
  log "pip install ./python[django,test]"
  "${pip[@]}" "$PY_HERE[django,test]"
  # The package itself is rebuilt every run, so the tests see this checkout's code.
  "${pip[@]}" --no-deps --force-reinstall "$PY_HERE"
}
