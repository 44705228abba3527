#!/usr/bin/env bash
# The wrangler [build] command: compiles the crate to Wasm and generates the JS shim
# (scripts/worker-build.mjs, what workers-rs's worker-build does), using the machine's wasm32
# target when it has one and the rustc-web toolchain from setup otherwise.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tools_path
wasm_path
cd "$ROOT"
# wrangler runs this on every start (each e2e server, `make dev`): skip when the output is
# newer than every input, since wasm-bindgen and wasm-opt alone take ~15-60 s.
out=build/index_bg.wasm
if [ $# -eq 0 ] && [ -f "$out" ] && [ -f build/worker/shim.mjs ] &&
  [ -z "$(find src Cargo.toml Cargo.lock scripts/build-worker.sh scripts/worker-build.mjs \
    scripts/worker-shim.js -newer "$out" -print -quit)" ]; then
  echo "build/ is up to date"
  exit 0
fi
node scripts/worker-build.mjs "$@"
