//! The inbox's SQLite behind [`InboxStore`]: the event log, notification read state with the
//! unread counter kept in the same transaction, and the inbox's schema versions.

use serde_json::{json, Value};
use worker::{console_error, Result, SqlStorage, Storage};

use crate::domain::inbox::{InboxChange, InboxStore};
use crate::domain::replica;
use crate::domain::room::StoreError;
use crate::domain::stream::EventLog;
use crate::domain::webhook::{Kind, WebhookSettings};
use crate::platform::object::event_log::{self, SqlLog};
use crate::platform::object::outbox::{self, counter};
use crate::platform::object::rows::{row, Rows};
use crate::platform::object::schema::Schema;
use crate::platform::object::transaction::atomically;
use crate::platform::object::{hub, idempotency, timers, webhooks};

/// The inbox's schema versions (see `object::schema`); never edit an entry, append one.
pub static SCHEMA: Schema = Schema {
    name: "inbox",
    migrations: &[
        &[
            event_log::SCHEMA_V1,
            NOTIFICATIONS_V1,
            outbox::SCHEMA_V1,
            idempotency::SCHEMA,
        ],
        &[
            event_log::COLUMNS_V2,
            outbox::SCHEMA_V2,
            timers::SCHEMA_V2,
            hub::SCHEMA,
            UNREAD_V2,
        ],
        &[super::joins::SCHEMA_V3],
        &[webhooks::SCHEMA],
        // v5: Web Push subscriptions and queue (SPEC §11).
        &[super::push::SCHEMA_V5],
    ],
};

const NOTIFICATIONS_V1: &str = "CREATE TABLE IF NOT EXISTS notifications (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, read INTEGER NOT NULL DEFAULT 0)";

/// v2: the unread counter, seeded from the rows; unread rows found by index.
const UNREAD_V2: &str =
    "INSERT INTO counters (k, n) SELECT 'unread', count(*) FROM notifications WHERE read = 0;
CREATE INDEX notifications_unread ON notifications (read, seq)";

pub struct SqliteInbox<'a> {
    pub storage: Storage,
    pub sql: &'a SqlStorage,
    pub user: &'a str,
    /// Which webhook events to store with the changes (SPEC §10).
    pub hooks: &'a WebhookSettings,
    /// The user's sockets open here at the time of the change (`live_devices`).
    pub live_devices: usize,
}

row! {
    struct ReadRow {
        read: i64,
    }
}

impl EventLog for SqliteInbox<'_> {
    fn last_seq(&self) -> u64 {
        SqlLog(self.sql).last_seq()
    }
    fn first_seq(&self) -> u64 {
        SqlLog(self.sql).first_seq()
    }
    fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
        SqlLog(self.sql).events_after(since, limit)
    }
}

impl InboxStore for SqliteInbox<'_> {
    fn unread_count(&self) -> u64 {
        counter(self.sql, "unread").max(0) as u64
    }
    fn read_state(&self, id: &str) -> Option<bool> {
        let rows = self.sql.rows::<ReadRow>(
            "SELECT read FROM notifications WHERE id = ?",
            Some(vec![id.into()]),
        );
        rows.ok()?.first().map(|r| r.read != 0)
    }
    fn commit(&mut self, seq: u64, frame: &str, change: &InboxChange) -> Result<(), StoreError> {
        atomically(&self.storage, || self.apply(seq, frame, change)).map_err(|e| {
            console_error!("inbox commit failed: {e}");
            StoreError
        })
    }
}

impl SqliteInbox<'_> {
    fn apply(&self, seq: u64, frame: &str, change: &InboxChange) -> Result<()> {
        let (kind, ref_id) = match change {
            InboxChange::Notify(n) => ("notification", n.id.as_str()),
            _ => ("notification_read", ""),
        };
        SqlLog(self.sql).append(seq, kind, ref_id, frame)?;
        let rows = match change {
            InboxChange::Notify(n) => {
                let args = vec![n.id.as_str().into(), (seq as i64).into()];
                self.sql.exec(
                    "INSERT INTO notifications (id, seq) VALUES (?, ?)",
                    Some(args),
                )?;
                self.count_unread(1)?;
                vec![replica::notification(self.user, seq, n)]
            }
            InboxChange::Read(ids) => {
                // The state machine passes only ids it found unread (rows_written would
                // also count index rows, so it cannot tell).
                for id in ids {
                    self.sql.exec(
                        "UPDATE notifications SET read = 1 WHERE id = ?",
                        Some(vec![id.as_str().into()]),
                    )?;
                }
                self.count_unread(-(ids.len() as i64))?;
                replica::notifications_read(self.user, ids)
            }
            InboxChange::ReadAll { up_to_seq } => {
                let up_to = *up_to_seq as i64;
                self.sql.exec(
                    "UPDATE notifications SET read = 1 WHERE read = 0 AND seq <= ?",
                    Some(vec![up_to.into()]),
                )?;
                // What stays unread is newer than the marker: a short index range.
                self.sql.exec(
                    "UPDATE counters SET n = (SELECT count(*) FROM notifications WHERE read = 0 AND seq > ?) \
                     WHERE k = 'unread'",
                    Some(vec![up_to.into()]),
                )?;
                vec![replica::notifications_read_all(self.user, *up_to_seq)]
            }
        };
        outbox::enqueue(self.sql, &rows, Some(seq))?;
        self.record_webhooks(frame, change)
    }

    /// `notification.created` (with `live_devices`) and, when no device was live,
    /// `notification.undelivered`; `notification.read` with the ids the frame names.
    fn record_webhooks(&self, frame: &str, change: &InboxChange) -> Result<()> {
        let now = crate::platform::runtime::now_ms();
        let user = self.user;
        let record = |kind, data| webhooks::record(self.sql, self.hooks, kind, data, now);
        match change {
            InboxChange::Notify(n) => {
                let live = self.live_devices;
                let data = json!({"user_id": user, "notification": n, "live_devices": live});
                record(Kind::NotificationCreated, data)?;
                if live == 0 {
                    let data = json!({"user_id": user, "notification": n});
                    record(Kind::NotificationUndelivered, data)?;
                }
            }
            _ => {
                let ids = serde_json::from_str::<Value>(frame)
                    .ok()
                    .and_then(|f| f.get("notification_ids").cloned())
                    .unwrap_or_else(|| json!([]));
                let data = json!({"user_id": user, "notification_ids": ids});
                record(Kind::NotificationRead, data)?;
            }
        }
        Ok(())
    }

    fn count_unread(&self, delta: i64) -> Result<()> {
        self.sql.exec(
            "INSERT INTO counters (k, n) VALUES ('unread', ?) \
             ON CONFLICT(k) DO UPDATE SET n = max(n + ?, 0)",
            Some(vec![delta.max(0).into(), delta.into()]),
        )?;
        Ok(())
    }

    /// Keeps the newest `keep` events (older ones are past any resume window) and the read
    /// notifications among them; unread ones always stay, so the count stays true.
    pub fn trim(&self, keep: u64) -> Result<()> {
        let log = SqlLog(self.sql);
        let cutoff = log.last_seq().saturating_sub(keep.max(1)) as i64;
        if cutoff > 0 {
            log.trim(keep)?;
            self.sql.exec(
                "DELETE FROM notifications WHERE read = 1 AND seq <= ?",
                Some(vec![cutoff.into()]),
            )?;
        }
        Ok(())
    }
}
