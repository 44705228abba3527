#!/usr/bin/env bash
# Quick-start command 2: every test. Formatting and lints, native unit tests, end-to-end
# tests against the real Worker in wrangler dev (fresh local D1 and Durable Objects per run),
# an offline `wrangler deploy --dry-run` of the bundle, and the Wasm size report.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/setup.sh"
tools_path
cd "$ROOT"

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (native, all targets)"
cargo clippy --all-targets -q -- -D warnings

log "unit tests (native)"
cargo test --lib

log "build the Worker (wasm)"
# Built here so that wrangler dev's own build in the e2e harness is an up-to-date check.
bash "$ROOT/scripts/build-worker.sh" > "$ROOT/target/worker-build.log" 2>&1 || { tail -n 40 "$ROOT/target/worker-build.log"; exit 1; }

log "end-to-end tests (wrangler dev, real D1 and Durable Objects)"
cargo test --test e2e

log "client unit tests"
node --test 'client/test/*.test.mjs'
log "browser tests (chromium + wrangler dev)"
node --test --test-concurrency=1 'tests/browser/*.test.mjs'

log "wrangler deploy --dry-run (offline bundle check)"
out="$(mktemp -d)"
wrangler deploy --dry-run --outdir "$out" > "$out.log" 2>&1 || { cat "$out.log"; exit 1; }
tail -n 5 "$out.log"
rm -rf "$out" "$out.log"

bash "$ROOT/scripts/wasm-size.sh"
