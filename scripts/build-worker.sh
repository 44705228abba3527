#!/usr/bin/env bash
# The wrangler [build] command: compiles the crate to Wasm with worker-build, using the
# machine's wasm32 target when it has one and the rustc-web toolchain from setup otherwise.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tools_path
wasm_path
cd "$ROOT"
worker-build --release "$@"
# worker-build's own wasm-opt pass is -O; a size pass over the final module takes it from
# about 1.2 MB to under 1 MB (imports and exports are kept, so the JS glue is unchanged).
if [ -n "${WASM_OPT_BIN:-}" ] && [ -x "$WASM_OPT_BIN" ]; then
  "$WASM_OPT_BIN" build/index_bg.wasm -Oz -o build/index_bg.wasm.tmp && mv build/index_bg.wasm.tmp build/index_bg.wasm
fi
