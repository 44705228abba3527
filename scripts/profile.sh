#!/usr/bin/env bash
# CPU profile of the service under one benchmark scenario: builds a profiling Wasm (function
# names kept) into build-prof/, bundles it, serves it straight on workerd with the V8
# inspector open (bench/serve.mjs), runs the scenario from bench/ and samples the isolate
# meanwhile (bench/profile.mjs). Prints the functions with the most self time and writes
# target/profile-<scenario>.cpuprofile (open it in Chrome DevTools).
#
#   scripts/profile.sh fanout --n 500 --messages 300 --rate 100
#   scripts/profile.sh connect --connect 500
#   PROFILE_SECS=20 scripts/profile.sh publish
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tools_path
cd "$ROOT"
scenario="${1:?usage: scripts/profile.sh fanout|publish|connect [bench options]}"
shift
work="$ROOT/target/profile"
rm -rf "$work" && mkdir -p "$work"

log "profiling build (scripts/worker-build.mjs --profiling into build-prof/)"
(wasm_path && node scripts/worker-build.mjs --profiling --out-dir build-prof) > "$work/build.log" 2>&1 ||
  { tail -n 30 "$work/build.log"; exit 1; }
# The same configuration with the profiling build as `main` and no [build] step.
awk '/^\[/{skip = ($0 == "[build]")} !skip' wrangler.toml |
  sed -e "s|^main = .*|main = \"$ROOT/build-prof/worker/shim.mjs\"|" \
      -e "s|^directory = \"public\"|directory = \"$ROOT/public\"|" \
      -e "s|^migrations_dir = \"migrations\"|migrations_dir = \"$ROOT/migrations\"|" > "$work/wrangler.toml"
wrangler deploy --dry-run -c "$work/wrangler.toml" --outdir "$work/bundle" > "$work/bundle.log" 2>&1 ||
  { cat "$work/bundle.log"; exit 1; }
cargo build --release --quiet --manifest-path bench/Cargo.toml

port=8797 inspector=9237
taskset -c 1 node bench/serve.mjs --config wrangler.toml --script "$work/bundle/shim.js" \
  --port "$port" --state "$work/state" --dev-vars .dev.vars --migrations migrations \
  --inspector-port "$inspector" --var RATE_PER_SEC:100000 --var RATE_BURST:100000 > "$work/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do grep -q "ready on" "$work/serve.log" && break; sleep 0.5; done
grep -q "ready on" "$work/serve.log" || { cat "$work/serve.log"; exit 1; }

node bench/profile.mjs --inspector-port "$inspector" --seconds "${PROFILE_SECS:-15}" \
  --source "$work/bundle/shim.js" --out "target/profile-$scenario.cpuprofile" > "$work/profile.txt" &
profiler=$!
taskset -c 0 bench/target/release/edge-realtime-bench "$scenario" --port "$port" --root "$ROOT" "$@" > "$work/result.json"
wait "$profiler"
cat "$work/profile.txt"
log "scenario result: $work/result.json; profile: target/profile-$scenario.cpuprofile"
