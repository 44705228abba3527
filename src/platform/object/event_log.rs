//! The one event log of every object: stored frames under their `seq` in the `events` table,
//! with the event's kind and the id it is about (a message, a notification) so that a stream
//! can find and rewrite its own events (a deleted message's content is erased).

use worker::{SqlStorage, SqlStorageValue};

use crate::domain::stream::EventLog;
use crate::platform::object::rows::{row, Rows};

/// The events table of the first schema version (v1), as inboxes and org hubs created it;
/// the room's had `kind` and `message_id` (now `ref_id`) from the start.
pub const SCHEMA_V1: &str =
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)";

/// v2 for inboxes and org hubs: the columns the room's log always had.
pub const COLUMNS_V2: &str = "ALTER TABLE events ADD COLUMN kind TEXT;
ALTER TABLE events ADD COLUMN ref_id TEXT";

/// An object's event log on its SQLite.
pub struct SqlLog<'a>(pub &'a SqlStorage);

row! {
    struct Seq {
        seq: Option<i64>,
    }
}
row! {
    struct Frame {
        frame: String,
    }
}

fn text(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_string())
}

impl SqlLog<'_> {
    /// Stores `frame` under `seq`; `kind` and `ref_id` say what it is about.
    pub fn append(&self, seq: u64, kind: &str, ref_id: &str, frame: &str) -> worker::Result<()> {
        self.0.exec(
            "INSERT INTO events (seq, kind, ref_id, frame) VALUES (?, ?, ?, ?)",
            Some(vec![
                (seq as i64).into(),
                text(kind),
                text(ref_id),
                text(frame),
            ]),
        )?;
        Ok(())
    }

    /// Keeps only the newest `keep` events (the seq counter goes on from the newest).
    pub fn trim(&self, keep: u64) -> worker::Result<()> {
        let cutoff = self.last_seq().saturating_sub(keep.max(1)) as i64;
        self.0.exec(
            "DELETE FROM events WHERE seq <= ?",
            Some(vec![cutoff.into()]),
        )?;
        Ok(())
    }

    /// The stored frame of event `seq`.
    pub fn frame_at(&self, seq: u64) -> Option<String> {
        self.0
            .rows::<Frame>(
                "SELECT frame FROM events WHERE seq = ?",
                Some(vec![(seq as i64).into()]),
            )
            .ok()?
            .into_iter()
            .next()
            .map(|f| f.frame)
    }

    fn one_seq(&self, query: &str) -> Option<u64> {
        let rows: Vec<Seq> = self.0.rows(query, None).unwrap_or_default();
        rows.first().and_then(|r| r.seq).map(|s| s as u64)
    }
}

impl EventLog for SqlLog<'_> {
    fn last_seq(&self) -> u64 {
        // Trimming keeps the newest rows, so max(seq) is still the last seq ever used.
        self.one_seq("SELECT max(seq) AS seq FROM events")
            .unwrap_or(0)
    }

    fn first_seq(&self) -> u64 {
        self.one_seq("SELECT min(seq) AS seq FROM events")
            .unwrap_or(1)
    }

    fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
        self.0
            .rows::<Frame>(
                "SELECT frame FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                Some(vec![(since as i64).into(), (limit as i64).into()]),
            )
            .map(|rows| rows.into_iter().map(|f| f.frame).collect())
            .unwrap_or_default()
    }
}
