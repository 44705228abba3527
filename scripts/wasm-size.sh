#!/usr/bin/env bash
# Prints the raw and gzip size of the built Worker module.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wasm="$ROOT/build/index_bg.wasm"
[ -f "$wasm" ] || { echo "no $wasm: build first" >&2; exit 1; }
raw=$(wc -c < "$wasm"); gz=$(gzip -9 -c "$wasm" | wc -c)
log "wasm size: raw $raw bytes ($((raw / 1024)) KiB), gzip $gz bytes ($((gz / 1024)) KiB)"
