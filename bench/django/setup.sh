# shellcheck shell=bash
# Sourced by scripts/bench.sh: `ensure_django_bench` makes what the Django Channels target
# (bench/django/) runs on, and sets DJANGO_BENCH_PYTHON and REDIS_SERVER_BIN:
#   * redis-server from Debian's package (apt-get, as scripts/setup.sh installs packages);
#   * a venv under $TOOLS (survives fresh clones) with bench/django/requirements.txt, all
#     pinned. A stamp (hash of the requirements and the Python version) makes a second run a
#     check only; a changed requirements file rebuilds the venv from scratch.
DJ_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$DJ_HERE/../../python/venv.sh"   # pick_python (and lib.sh: TOOLS, log)
DJ_VENV="${EDGE_RT_DJANGO_VENV:-$TOOLS/bench-django-venv}"

ensure_redis_server() {
  if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "apt-get install redis-server (the Django target's channel layer)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  fi
  REDIS_SERVER_BIN="$(command -v redis-server || echo /usr/bin/redis-server)"
  export REDIS_SERVER_BIN
}

ensure_django_venv() {
  local py stamp
  py="$(pick_python)"
  stamp="$(sha256sum "$DJ_HERE/requirements.txt" | cut -c1-16) $("$py" --version 2>&1)"
  if [ -x "$DJ_VENV/bin/python" ] && [ "$(cat "$DJ_VENV/.bench-stamp" 2>/dev/null)" = "$stamp" ]; then
    log "django bench venv $DJ_VENV (cached)"
  else
    log "django bench venv at $DJ_VENV ($("$py" --version)): pip install -r bench/django/requirements.txt"
    rm -rf "$DJ_VENV"
    "$py" -m venv "$DJ_VENV"
    "$DJ_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$DJ_HERE/requirements.txt"
    echo "$stamp" > "$DJ_VENV/.bench-stamp"
  fi
  DJANGO_BENCH_PYTHON="$DJ_VENV/bin/python"
  export DJANGO_BENCH_PYTHON
}

ensure_django_bench() {
  ensure_redis_server
  ensure_django_venv
}
