#!/usr/bin/env bash
# Prints the raw and gzip size of the built Worker module and fails when the gzip size is
# over the budget in wasm-budget.txt (bundles much over 1 MB start slower).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wasm="$ROOT/build/index_bg.wasm"
[ -f "$wasm" ] || { echo "no $wasm: build first" >&2; exit 1; }
raw=$(wc -c < "$wasm"); gz=$(gzip -9 -c "$wasm" | wc -c)
budget=$(grep -v '^#' "$ROOT/wasm-budget.txt" | tr -d '[:space:]')
log "wasm size: raw $raw bytes ($((raw / 1024)) KiB), gzip $gz bytes ($((gz / 1024)) KiB), budget $budget"
if [ "$gz" -gt "$budget" ]; then
  echo "wasm gzip size $gz exceeds the budget $budget (wasm-budget.txt)" >&2
  exit 1
fi
