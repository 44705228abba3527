-- D1: the queryable copy of what the Durable Objects store. Objects write their own SQLite
-- first and copy rows here through an outbox; every write is an idempotent upsert keyed by
-- stream and seq (or by natural key), so a retried batch never duplicates a row.

CREATE TABLE IF NOT EXISTS messages (
  conversation_id   TEXT    NOT NULL,
  seq               INTEGER NOT NULL,
  id                TEXT    NOT NULL,
  sender_id         TEXT    NOT NULL,
  sender            TEXT    NOT NULL,          -- JSON: {id, username, name, ...}
  content           TEXT,                      -- NULL once deleted
  parent_message_id TEXT,
  client_msg_id     TEXT,
  created_at        TEXT    NOT NULL,
  edited_at         TEXT,
  is_deleted        INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_id ON messages (conversation_id, id);

CREATE TABLE IF NOT EXISTS reactions (
  conversation_id TEXT NOT NULL,
  message_id      TEXT NOT NULL,
  user_id         TEXT NOT NULL,
  emoji           TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  PRIMARY KEY (conversation_id, message_id, user_id, emoji)
);

CREATE TABLE IF NOT EXISTS read_receipts (
  conversation_id TEXT NOT NULL,
  message_id      TEXT NOT NULL,
  user_id         TEXT NOT NULL,
  seq             INTEGER NOT NULL,
  read_at         TEXT NOT NULL,
  PRIMARY KEY (conversation_id, message_id, user_id)
);

CREATE TABLE IF NOT EXISTS conversation_members (
  conversation_id TEXT NOT NULL,
  user_id         TEXT NOT NULL,
  added_at        TEXT NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);

CREATE TABLE IF NOT EXISTS notifications (
  user_id           TEXT    NOT NULL,
  seq               INTEGER NOT NULL,
  id                TEXT    NOT NULL,
  notification_type TEXT    NOT NULL,
  title             TEXT,
  body              TEXT,
  message           TEXT,
  actor             TEXT,                      -- JSON
  data              TEXT,                      -- JSON
  is_read           INTEGER NOT NULL DEFAULT 0,
  created_at        TEXT    NOT NULL,
  PRIMARY KEY (user_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS notifications_by_id ON notifications (user_id, id);
CREATE INDEX IF NOT EXISTS notifications_unread ON notifications (user_id, is_read, seq);

CREATE TABLE IF NOT EXISTS org_members (
  org_id   TEXT NOT NULL,
  user_id  TEXT NOT NULL,
  added_at TEXT NOT NULL,
  PRIMARY KEY (org_id, user_id)
);

CREATE TABLE IF NOT EXISTS org_events (
  org_id     TEXT    NOT NULL,
  seq        INTEGER NOT NULL,
  id         TEXT    NOT NULL,
  event_type TEXT    NOT NULL,
  data       TEXT    NOT NULL,                 -- JSON
  created_at TEXT    NOT NULL,
  PRIMARY KEY (org_id, seq)
);
