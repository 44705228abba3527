//! `Idempotency-Key` for POSTs, kept in the object that does the work (its single writer
//! makes check-then-store race free): a repeat within 24 h gets the first response back,
//! the same key with another body gets 409. A key is marked in progress before the work
//! runs, so work that awaits other objects (the notification ledger) cannot run twice.
//! Stored responses can be rewritten, so content erased elsewhere (a deleted message) is
//! not handed out again by a replay.

use std::future::Future;

use serde_json::Value;
use sha2::{Digest, Sha256};
use worker::{Response, SqlStorage, SqlStorageValue};

use crate::domain::errors::ApiError;
use crate::platform::http::json;
use crate::platform::object::rows::{row, Rows};

pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL)";

/// How long a key is remembered (SPEC §5: 24 h).
pub const TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// `status` of a key whose request has not finished.
const IN_PROGRESS: u16 = 0;
/// After this long an unfinished key counts as abandoned (its object was reset mid-request)
/// and may run again; work that spans objects must therefore be idempotent downstream.
const ABANDONED_AFTER_MS: i64 = 60_000;

pub enum Seen {
    New,
    Replay { status: u16, body: String },
    Conflict,
    InProgress,
}

row! {
    struct Row {
        fingerprint: String,
        status: i64,
        body: String,
        at: i64,
    }
}

pub fn fingerprint(body: &str) -> String {
    Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn check(sql: &SqlStorage, key: &str, fingerprint: &str, now_ms: i64) -> worker::Result<Seen> {
    let rows: Vec<Row> = sql.rows(
        "SELECT fingerprint, status, body, at FROM idempotency WHERE key = ?",
        Some(vec![SqlStorageValue::String(key.into())]),
    )?;
    let in_progress = |r: &Row| r.status == i64::from(IN_PROGRESS);
    Ok(match rows.into_iter().next() {
        None => Seen::New,
        Some(r) if in_progress(&r) && r.at < now_ms - ABANDONED_AFTER_MS => Seen::New,
        Some(r) if r.fingerprint != fingerprint => Seen::Conflict,
        Some(r) if in_progress(&r) => Seen::InProgress,
        Some(r) => Seen::Replay {
            status: r.status as u16,
            body: r.body,
        },
    })
}

/// The retention timer of every object: drops keys older than [`TTL_MS`] and dead letters
/// past theirs; returns when the oldest remaining one expires.
pub fn trim(sql: &SqlStorage, now_ms: i64) -> worker::Result<Option<i64>> {
    row! {
        struct Oldest {
            at: Option<i64>,
        }
    }
    sql.exec(
        "DELETE FROM idempotency WHERE at < ?",
        Some(vec![(now_ms - TTL_MS).into()]),
    )?;
    let oldest: Vec<Oldest> = sql.rows("SELECT min(at) AS at FROM idempotency", None)?;
    let keys = oldest.first().and_then(|o| o.at).map(|at| at + TTL_MS + 1);
    let letters = super::outbox::trim_dead_letters(sql, now_ms)?;
    Ok(match (keys, letters) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
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
    row! {
        struct Stored {
            key: String,
            body: String,
        }
    }
    let rows: Vec<Stored> = sql.rows(
        "SELECT key, body FROM idempotency WHERE instr(body, ?) > 0",
        Some(vec![needle.into()]),
    )?;
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

fn forget(sql: &SqlStorage, key: &str) -> worker::Result<()> {
    sql.exec(
        "DELETE FROM idempotency WHERE key = ?",
        Some(vec![key.into()]),
    )?;
    Ok(())
}

/// What a request with a key already seen gets instead of running (`None`: run it).
fn answer(seen: Seen) -> Option<Result<Response, ApiError>> {
    match seen {
        Seen::New => None,
        Seen::Replay { status, body } => Some(
            json(
                status,
                &serde_json::from_str::<Value>(&body).unwrap_or_default(),
            )
            .map_err(|_| ApiError::Internal),
        ),
        Seen::Conflict => Some(Err(ApiError::Conflict(
            "Idempotency-Key was used with another body".into(),
        ))),
        Seen::InProgress => Some(Err(ApiError::Conflict(
            "a request with this Idempotency-Key is still in progress; retry later".into(),
        ))),
    }
}

/// Runs `work` at most once per key: a repeat within 24 h gets the first response back,
/// the same key with another request body gets 409, and so does a repeat that arrives
/// while the first is still running. Without a key, `work` just runs.
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
        let seen = check(sql, key, print, now_ms)?;
        if let Some(answer) = answer(seen) {
            return answer;
        }
        remember(sql, key, print, IN_PROGRESS, "", now_ms)?;
    }
    let result = work().await;
    if let Some(key) = key {
        // Only successes are kept, so a failed request may be retried with its key. Once the
        // work is done, failing to remember the key only loses the dedupe.
        let _ = match &result {
            Ok((status, value)) => remember(sql, key, print, *status, &value.to_string(), now_ms),
            Err(_) => forget(sql, key),
        };
    }
    let (status, value) = result?;
    json(status, &value).map_err(ApiError::from)
}
