#!/usr/bin/env bash
# The wrangler [build] command: compiles the crate to Wasm with worker-build, using the
# machine's wasm32 target when it has one and the rustc-web toolchain from setup otherwise.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tools_path
wasm_path
cd "$ROOT"
# wrangler runs this on every start (each e2e server, `make dev`): skip when the output is
# newer than every input, since wasm-bindgen and wasm-opt alone take ~15-60 s.
out=build/index_bg.wasm
if [ $# -eq 0 ] && [ -f "$out" ] && [ -f build/worker/shim.mjs ] &&
  [ -z "$(find src Cargo.toml Cargo.lock scripts/build-worker.sh -newer "$out" -print -quit)" ]; then
  echo "build/ is up to date"
  exit 0
fi
worker-build --release "$@"
# worker-build's own wasm-opt pass is -O; a size pass over the final module takes it from
# about 1.2 MB to under 1 MB (imports and exports are kept, so the JS glue is unchanged).
if [ -n "${WASM_OPT_BIN:-}" ] && [ -x "$WASM_OPT_BIN" ]; then
  "$WASM_OPT_BIN" build/index_bg.wasm -Oz -o build/index_bg.wasm.tmp && mv build/index_bg.wasm.tmp build/index_bg.wasm
fi
