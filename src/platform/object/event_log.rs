//! The `events` table of inboxes and org hubs: stored frames under their `seq`, and the
//! small `meta` table where an object remembers which stream it is.

use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue};

use crate::domain::stream::EventLog;

pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)";

/// Runs every `;`-separated statement of each schema.
pub fn create(sql: &SqlStorage, schemas: &[&str]) -> worker::Result<()> {
    for stmt in schemas
        .iter()
        .flat_map(|s| s.split(';'))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        sql.exec(stmt, None)?;
    }
    Ok(())
}

pub struct SqlLog<'a>(pub &'a SqlStorage);

#[derive(Deserialize)]
struct Seq {
    seq: Option<i64>,
}
#[derive(Deserialize)]
struct Frame {
    frame: String,
}

impl SqlLog<'_> {
    pub fn append(&self, seq: u64, frame: &str) -> worker::Result<()> {
        self.0.exec(
            "INSERT INTO events (seq, frame) VALUES (?, ?)",
            Some(vec![
                (seq as i64).into(),
                SqlStorageValue::String(frame.into()),
            ]),
        )?;
        Ok(())
    }

    /// Keeps only the newest `keep` events.
    pub fn trim(&self, keep: u64) -> worker::Result<()> {
        let cutoff = self.last_seq().saturating_sub(keep.max(1)) as i64;
        self.0.exec(
            "DELETE FROM events WHERE seq <= ?",
            Some(vec![cutoff.into()]),
        )?;
        Ok(())
    }
}

impl EventLog for SqlLog<'_> {
    fn last_seq(&self) -> u64 {
        // Trimming keeps the newest rows, so max(seq) is still the last seq ever used.
        let rows: Vec<Seq> = self
            .0
            .exec("SELECT max(seq) AS seq FROM events", None)
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        rows.first().and_then(|r| r.seq).unwrap_or(0) as u64
    }

    fn first_seq(&self) -> u64 {
        let rows: Vec<Seq> = self
            .0
            .exec("SELECT min(seq) AS seq FROM events", None)
            .and_then(|c| c.to_array())
            .unwrap_or_default();
        rows.first().and_then(|r| r.seq).map_or(1, |s| s as u64)
    }

    fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
        self.0
            .exec(
                "SELECT frame FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                Some(vec![(since as i64).into(), (limit as i64).into()]),
            )
            .and_then(|c| c.to_array::<Frame>())
            .map(|rows| rows.into_iter().map(|f| f.frame).collect())
            .unwrap_or_default()
    }
}

/// The stream id an object serves, remembered from the Worker's first request.
pub fn stream_id(sql: &SqlStorage, incoming: Option<&str>) -> worker::Result<String> {
    #[derive(Deserialize)]
    struct V {
        v: String,
    }
    if let Some(id) = incoming {
        sql.exec(
            "INSERT OR IGNORE INTO meta (k, v) VALUES ('stream', ?)",
            Some(vec![SqlStorageValue::String(id.into())]),
        )?;
        return Ok(id.to_string());
    }
    let rows: Vec<V> = sql
        .exec("SELECT v FROM meta WHERE k = 'stream'", None)?
        .to_array()?;
    Ok(rows.into_iter().next().map(|r| r.v).unwrap_or_default())
}
