-- Webhook events given up on (SPEC §10): copied here by the object that produced them, through
-- its outbox, when their retry window ends or the backend refuses them. Listed by
-- GET /api/webhooks/failed; POST /api/webhooks/failed/{id}/retry sends one again and deletes
-- it once delivered. Rows older than 30 days are trimmed as new ones arrive.

CREATE TABLE IF NOT EXISTS webhook_failures (
  id         TEXT    PRIMARY KEY,   -- the webhook-id, the same on every attempt
  type       TEXT    NOT NULL,
  body       TEXT    NOT NULL,      -- the exact JSON body that was signed
  source     TEXT    NOT NULL,      -- the object that produced it
  attempts   INTEGER NOT NULL,
  error      TEXT    NOT NULL,      -- the last attempt's outcome
  created_at TEXT    NOT NULL,
  failed_at  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_failures_by_time ON webhook_failures (failed_at);
