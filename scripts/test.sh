#!/usr/bin/env bash
# Quick-start command 2: every test. Formatting and lints, native unit tests, end-to-end
# tests against the real Worker in wrangler dev (fresh local D1 and Durable Objects per run),
# the browser and Python package tests, the OpenAPI JSON freshness check, a schemathesis run
# against the real Worker, an offline `wrangler deploy --dry-run` of the bundle, and the Wasm
# size report.
#
# `scripts/test.sh --quick` (`make check`) is the fast inner loop: the purity check of
# src/domain, formatting, lints, native unit tests and the client's unit tests; no setup,
# no Wasm build, no wrangler.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
quick=false
[ "${1:-}" = "--quick" ] && quick=true
$quick || bash "$ROOT/scripts/setup.sh" --browser
tools_path
cd "$ROOT"

# src/domain is pure Rust, unit-tested natively: it must never import the Workers runtime.
log "src/domain does not import worker"
if hits="$(grep -rnE '(^|[^A-Za-z0-9_])worker::|use[[:space:]]+(::)?worker\b|extern[[:space:]]+crate[[:space:]]+worker\b' src/domain)"; then
  printf '%s\n' "$hits" >&2
  echo "error: src/domain must stay pure Rust: the lines above import \`worker\`; move that code to src/platform" >&2
  exit 1
fi

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (native, all targets)"
cargo clippy --all-targets -q -- -D warnings

log "unit tests (native)"
cargo test --lib

if $quick; then
  log "client unit tests"
  node --test 'client/test/*.test.mjs'
  exit 0
fi

log "build the Worker (wasm)"
# Built here so that wrangler dev's own build in the e2e harness is an up-to-date check.
bash "$ROOT/scripts/build-worker.sh" > "$ROOT/target/worker-build.log" 2>&1 || { tail -n 40 "$ROOT/target/worker-build.log"; exit 1; }

# The push trials decrypt with PyPI's http_ece from the Python venv.
log "python venv (the push e2e trials use http_ece)"
(. "$ROOT/python/venv.sh" && ensure_venv)
log "end-to-end tests (wrangler dev, real D1 and Durable Objects)"
cargo test --test e2e

log "client unit tests"
node --test 'client/test/*.test.mjs'
log "browser tests (chromium + wrangler dev)"
node --test --test-concurrency=1 'tests/browser/*.test.mjs'

# GET /api/openapi.json is the committed public/api/openapi.json (a static asset); it must be
# what docs/openapi.yaml converts to (PyYAML, from the Python tests' venv).
log "public/api/openapi.json is docs/openapi.yaml converted"
(. "$ROOT/python/venv.sh" && ensure_venv && "$VENV/bin/python" "$ROOT/scripts/openapi-json.py" --check)

log "Python package tests (pytest against the real Worker)"
bash "$ROOT/python/run-tests.sh" -q

log "schemathesis against the real Worker (docs/openapi.yaml, bounded)"
bash "$ROOT/python/run-schemathesis.sh"

log "wrangler deploy --dry-run (offline bundle check)"
out="$(mktemp -d)"
wrangler deploy --dry-run --outdir "$out" > "$out.log" 2>&1 || { cat "$out.log"; exit 1; }
tail -n 5 "$out.log"
rm -rf "$out" "$out.log"

bash "$ROOT/scripts/wasm-size.sh"
