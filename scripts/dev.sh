#!/usr/bin/env bash
# Quick-start command 1: set up whatever is missing, apply the D1 migrations to the local
# database, and run the Worker with local D1 and Durable Objects on http://127.0.0.1:8787.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/setup.sh"
tools_path
cd "$ROOT"
log "applying D1 migrations (local)"
CI=true wrangler d1 migrations apply DB --local
log "wrangler dev on http://127.0.0.1:${PORT:-8787} (mint a token: node scripts/token.mjs alice)"
exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --show-interactive-dev-session=false "$@"
