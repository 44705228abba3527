#!/usr/bin/env bash
# The wrangler [build] command: compiles the crate to Wasm with worker-build, using the
# machine's wasm32 target when it has one and the rustc-web toolchain from setup otherwise.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tools_path
wasm_path
cd "$ROOT"
exec worker-build --release "$@"
