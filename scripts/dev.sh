#!/usr/bin/env bash
# Quick-start command 1: set up whatever is missing, apply the D1 migrations to the local
# database, and run the Worker with local D1 and Durable Objects on http://127.0.0.1:8787.
# WEBHOOKS=1: also start the local webhook receiver (see below).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bash "$ROOT/scripts/setup.sh"
tools_path
cd "$ROOT"
log "applying D1 migrations (local)"
CI=true wrangler d1 migrations apply DB --local
log "wrangler dev on http://127.0.0.1:${PORT:-8787} (mint a token: node scripts/token.mjs alice)"
DEV=(wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --show-interactive-dev-session=false)
if [ "${WEBHOOKS:-}" != 1 ]; then
  exec "${DEV[@]}" "$@"
fi

# WEBHOOKS=1 make dev: also run scripts/webhook-receiver.mjs on 127.0.0.1:$WEBHOOK_RECEIVER_PORT
# (default 8788) and point the Worker's webhooks at it; the demo page's "Webhook log" panel
# shows what it received. The dev secret is made once and kept in .wrangler/ (git-ignored).
RECEIVER_PORT="${WEBHOOK_RECEIVER_PORT:-8788}"
SECRET_FILE="$ROOT/.wrangler/dev-webhook-secret"
if [ ! -s "$SECRET_FILE" ]; then
  mkdir -p "$(dirname "$SECRET_FILE")"
  node -e 'console.log("whsec_" + require("node:crypto").randomBytes(32).toString("base64"))' >"$SECRET_FILE"
fi
SECRET="$(cat "$SECRET_FILE")"
log "webhook receiver on http://127.0.0.1:$RECEIVER_PORT/ (the demo's Webhook log panel polls /events)"
WEBHOOK_SECRET="$SECRET" WEBHOOK_RECEIVER_PORT="$RECEIVER_PORT" node "$ROOT/scripts/webhook-receiver.mjs" &
RECEIVER_PID=$!
trap 'kill "$RECEIVER_PID" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"${DEV[@]}" --var "WEBHOOK_URL:http://127.0.0.1:$RECEIVER_PORT/" --var "WEBHOOK_SECRET:$SECRET" "$@"
