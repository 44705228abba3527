#!/usr/bin/env bash
# `make bench`: builds the Worker once and bundles it as `wrangler deploy` would (a snapshot,
# so concurrent edits or rebuilds do not change what is measured), builds the load generator
# in bench/, then runs the service and the JS baseline, each straight on workerd
# (bench/serve.mjs), and the Django Channels incumbent (bench/django/: one Daphne process,
# channels_redis on a redis-server it starts, ORM on SQLite), alternately, under a hard
# overall bound. Writes bench/results/<date>.json and regenerates the table in BENCHMARKS.md.
# The Django target's venv and Debian's redis-server are installed first (bench/django/setup.sh,
# cached under $TOOLS).
#
#   BENCH_TIMEOUT_SECS  overall bound (default 2700; the default plan took 26 min on 2 cores)
#   BENCH_DJANGO=0      leave the Django target out (service and baseline only)
#   extra arguments     passed to `edge-realtime-bench all` (e.g. --rounds 1 --subs 10,100)
#
# `scripts/bench.sh sessions [options]`: the session-vs-room cost (issue 11) instead: the
# service only, S = 100 subscribers as session sockets (SPEC §9) and as room sockets, at
# 20 and 100 msg/s, 2 rounds (about 4 min). Writes bench/results/<date>-sessions.json and
# the sessions table of BENCHMARKS.md. Options: --rounds, --n, --messages, --rates 20,100.
set -euo pipefail
MODE=all
if [ "${1:-}" = sessions ]; then MODE=sessions; shift; fi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/setup.sh"
tools_path
cd "$ROOT"

BOUND="${BENCH_TIMEOUT_SECS:-2700}"
SNAP="$ROOT/bench/target/service"
STATE="$ROOT/bench/target/state"

# `wrangler deploy --dry-run` runs the [build] command (scripts/build-worker.sh) first.
log "building and bundling the Worker into $SNAP (wrangler deploy --dry-run)"
rm -rf "$SNAP" "$STATE"
mkdir -p "$SNAP" "$STATE"
wrangler deploy --dry-run --outdir "$SNAP" > "$STATE/bundle.log" 2>&1 || { cat "$STATE/bundle.log"; exit 1; }

if [ "$MODE" = all ]; then
date_of() { sed -n 's/^compatibility_date = "\(.*\)"/\1/p' "$1"; }
if [ "$(date_of wrangler.toml)" != "$(date_of bench/baseline/wrangler.toml)" ]; then
  echo "bench/baseline/wrangler.toml must use the compatibility_date of wrangler.toml" >&2
  exit 1
fi
fi

DJANGO_ARGS=()
if [ "$MODE" = all ] && [ "${BENCH_DJANGO:-1}" != 0 ]; then
  . "$ROOT/bench/django/setup.sh"
  ensure_django_bench
  DJANGO_ARGS=(--django-python "$DJANGO_BENCH_PYTHON" --redis-server "$REDIS_SERVER_BIN")
fi

log "building the load generator (bench/)"
cargo build --release --quiet --manifest-path bench/Cargo.toml

mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%dT%H%M%SZ).json"
[ "$MODE" = sessions ] && OUT="${OUT%.json}-sessions.json"
CPUS="$(nproc)"
GEN_CPU=0
SERVER_CPU=1
[ "$CPUS" -lt 2 ] && SERVER_CPU=none
log "running (bound ${BOUND}s): generator on CPU $GEN_CPU, workerd (Daphne + redis) on CPU $SERVER_CPU"

# Own process group, so that the bound and Ctrl-C also end the node/workerd it started.
BIN="${CARGO_TARGET_DIR:-bench/target}/release/edge-realtime-bench"
if [ "$MODE" = sessions ]; then
  setsid taskset -c "$GEN_CPU" "$BIN" sessions \
    --root "$ROOT" --service-config "$ROOT/wrangler.toml" --service-script "$SNAP/shim.js" \
    --state "$STATE" --server-cpus "$SERVER_CPU" --out "$OUT" --md BENCHMARKS.md "$@" &
else
  setsid taskset -c "$GEN_CPU" "$BIN" all \
    --root "$ROOT" --service-config "$ROOT/wrangler.toml" --service-script "$SNAP/shim.js" \
    --baseline-config "$ROOT/bench/baseline/wrangler.toml" \
    --baseline-script "$ROOT/bench/baseline/worker.js" --state "$STATE" \
    --server-cpus "$SERVER_CPU" --out "$OUT" --md BENCHMARKS.md "${DJANGO_ARGS[@]}" "$@" &
fi
PID=$!
trap 'kill -TERM -- "-$PID" 2>/dev/null || true' INT TERM EXIT
( sleep "$BOUND"; echo "bench: ${BOUND}s bound hit, stopping" >&2
  kill -TERM -- "-$PID" 2>/dev/null; sleep 15; kill -KILL -- "-$PID" 2>/dev/null ) &
WATCHDOG=$!
RC=0
wait "$PID" || RC=$?
kill "$WATCHDOG" 2>/dev/null || true
trap - INT TERM EXIT
if [ "$RC" != 0 ]; then
  # The generator checkpoints after every target: keep what finished.
  if [ -s "$OUT" ]; then
    echo "bench stopped early ($RC); the table is from the finished part (\"partial\": true in $OUT)" >&2
    "$BIN" report --in "$OUT" --md BENCHMARKS.md
  fi
  echo "bench failed ($RC)" >&2
  exit "$RC"
fi
log "results: $OUT; table: BENCHMARKS.md"
