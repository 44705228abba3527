#!/usr/bin/env bash
# `make bench`: builds the Worker once, snapshots it (so concurrent edits or rebuilds do not
# change what is measured), builds the load generator in bench/, then runs the service and
# the JS baseline alternately under a hard overall bound. Writes bench/results/<date>.json
# and regenerates the table in BENCHMARKS.md.
#
#   BENCH_TIMEOUT_SECS  overall bound (default 1200)
#   BENCH_SKIP_BUILD=1  use the existing build/ instead of rebuilding the Worker
#   extra arguments     passed to `edge-realtime-bench all` (e.g. --rounds 1 --subs 10,100)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tools_path
cd "$ROOT"

BOUND="${BENCH_TIMEOUT_SECS:-1200}"
SNAP="$ROOT/bench/target/service"
STATE="$ROOT/bench/target/state"

if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
  log "building the Worker (scripts/build-worker.sh)"
  bash scripts/build-worker.sh
fi

log "snapshotting build/ into $SNAP"
rm -rf "$SNAP" "$STATE"
mkdir -p "$SNAP" "$STATE"
cp -r build "$SNAP/build"
if [ -f .dev.vars ]; then cp .dev.vars "$SNAP/.dev.vars"; else cp .dev.vars.example "$SNAP/.dev.vars"; fi
# The same configuration without the [build] step, with paths made absolute.
awk '/^\[/{skip = ($0 == "[build]")} !skip' wrangler.toml |
  sed -e "s|^directory = \"public\"|directory = \"$ROOT/public\"|" \
      -e "s|^migrations_dir = \"migrations\"|migrations_dir = \"$ROOT/migrations\"|" >"$SNAP/wrangler.toml"

date_of() { sed -n 's/^compatibility_date = "\(.*\)"/\1/p' "$1"; }
if [ "$(date_of wrangler.toml)" != "$(date_of bench/baseline/wrangler.toml)" ]; then
  echo "bench/baseline/wrangler.toml must use the compatibility_date of wrangler.toml" >&2
  exit 1
fi

log "building the load generator (bench/)"
cargo build --release --quiet --manifest-path bench/Cargo.toml

mkdir -p bench/results
OUT="bench/results/$(date -u +%Y-%m-%dT%H%M%SZ).json"
CPUS="$(nproc)"
GEN_CPU=0
SERVER_CPU=1
[ "$CPUS" -lt 2 ] && SERVER_CPU=none
log "running (bound ${BOUND}s): generator on CPU $GEN_CPU, workerd on CPU $SERVER_CPU"

# Own process group, so that the bound and Ctrl-C also end the wrangler/workerd it started.
setsid taskset -c "$GEN_CPU" bench/target/release/edge-realtime-bench all \
  --root "$ROOT" --service-config "$SNAP/wrangler.toml" \
  --baseline-config "$ROOT/bench/baseline/wrangler.toml" --state "$STATE" \
  --server-cpus "$SERVER_CPU" --out "$OUT" --md BENCHMARKS.md "$@" &
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
    bench/target/release/edge-realtime-bench report --in "$OUT" --md BENCHMARKS.md
  fi
  echo "bench failed ($RC)" >&2
  exit "$RC"
fi
log "results: $OUT; table: BENCHMARKS.md"
