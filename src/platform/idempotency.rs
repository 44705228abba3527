//! `Idempotency-Key` for POSTs, kept in the object that does the work (its single writer
//! makes check-then-store race free): a repeat within 24 h gets the first response back,
//! the same key with another body gets 409. Stored responses can be rewritten, so content
//! erased elsewhere (a deleted message) is not handed out again by a replay.

use std::future::Future;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use worker::{Response, SqlStorage, SqlStorageValue};

use super::http::json;
use crate::domain::errors::ApiError;

pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL)";

const TTL_MS: i64 = 24 * 60 * 60 * 1000;

pub enum Seen {
    New,
    Replay { status: u16, body: String },
    Conflict,
}

#[derive(Deserialize)]
struct Row {
    fingerprint: String,
    status: i64,
    body: String,
}

pub fn fingerprint(body: &str) -> String {
    Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn check(sql: &SqlStorage, key: &str, fingerprint: &str, now_ms: i64) -> worker::Result<Seen> {
    sql.exec(
        "DELETE FROM idempotency WHERE at < ?",
        Some(vec![(now_ms - TTL_MS).into()]),
    )?;
    let rows: Vec<Row> = sql
        .exec(
            "SELECT fingerprint, status, body FROM idempotency WHERE key = ?",
            Some(vec![SqlStorageValue::String(key.into())]),
        )?
        .to_array()?;
    Ok(match rows.into_iter().next() {
        None => Seen::New,
        Some(r) if r.fingerprint == fingerprint => Seen::Replay {
            status: r.status as u16,
            body: r.body,
        },
        Some(_) => Seen::Conflict,
    })
}

pub fn remember(
    sql: &SqlStorage,
    key: &str,
    fingerprint: &str,
    status: u16,
    body: &str,
    now_ms: i64,
) -> worker::Result<()> {
    sql.exec(
        "INSERT OR REPLACE INTO idempotency (key, fingerprint, status, body, at) VALUES (?, ?, ?, ?, ?)",
        Some(vec![key.into(), fingerprint.into(), (status as i64).into(), body.into(), now_ms.into()]),
    )?;
    Ok(())
}

/// Rewrites every stored response whose body contains `needle` to what `rewrite` returns
/// (`None` leaves a body as it is). The status and fingerprint stay, so a repeat still
/// replays, and still conflicts with another body.
pub fn rewrite_bodies(
    sql: &SqlStorage,
    needle: &str,
    rewrite: impl Fn(&str) -> Option<String>,
) -> worker::Result<()> {
    #[derive(Deserialize)]
    struct Stored {
        key: String,
        body: String,
    }
    let rows: Vec<Stored> = sql
        .exec(
            "SELECT key, body FROM idempotency WHERE instr(body, ?) > 0",
            Some(vec![needle.into()]),
        )?
        .to_array()?;
    for row in rows {
        if let Some(body) = rewrite(&row.body) {
            sql.exec(
                "UPDATE idempotency SET body = ? WHERE key = ?",
                Some(vec![body.into(), row.key.into()]),
            )?;
        }
    }
    Ok(())
}

/// Runs `work` at most once per key: a repeat within 24 h gets the first response back,
/// the same key with another request body gets 409. Without a key, `work` just runs.
pub async fn once<F, Fut>(
    sql: &SqlStorage,
    key: Option<&str>,
    print: &str,
    now_ms: i64,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(u16, Value), ApiError>>,
{
    if let Some(key) = key {
        match check(sql, key, print, now_ms).map_err(|_| ApiError::Unavailable)? {
            Seen::New => {}
            Seen::Replay { status, body } => {
                return json(
                    status,
                    &serde_json::from_str::<Value>(&body).unwrap_or_default(),
                )
                .map_err(|_| ApiError::Internal)
            }
            Seen::Conflict => {
                return Err(ApiError::Conflict(
                    "Idempotency-Key was used with another body".into(),
                ))
            }
        }
    }
    let (status, value) = work().await?;
    if let Some(key) = key {
        // The work is done and stored; failing to remember the key only loses the dedupe.
        let _ = remember(sql, key, print, status, &value.to_string(), now_ms);
    }
    json(status, &value).map_err(|_| ApiError::Internal)
}
