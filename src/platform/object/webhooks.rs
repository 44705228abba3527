//! The webhook queue of an object (SPEC §10): events stored in the object's own `webhooks`
//! table in the same transaction as the change they report ([`record`]), and delivered by
//! the object's `webhooks` timer ([`deliver`]): oldest first, one in flight, the same
//! `webhook-id` on every attempt, retried with backoff and jitter on network errors, 408,
//! 429 and 5xx for the retry window (24 h), then moved to D1's `webhook_failures` through the
//! outbox (as is an event the backend refuses with another status). Delivery runs only from
//! the alarm, with a fetch timeout, so a slow backend never delays a chat frame.

use serde_json::Value;
use worker::{SqlStorage, Storage};

use super::outbox;
use super::transaction::atomically;
use crate::domain::time::iso;
use crate::domain::webhook::{self, Kind, Verdict, WebhookSettings};
use crate::platform::object::rows::{row, Rows};
use crate::platform::runtime::{new_id, random_u64};
use crate::platform::webhook_http::send;

/// The queue's table (a schema version appended by each object).
pub const SCHEMA: &str = "CREATE TABLE webhooks (n INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, created INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, error TEXT)";

/// Events sent one after the other in one alarm run (then the timer runs again at once).
const PER_RUN: usize = 10;

/// Stores an event of `kind` if the settings want it; call inside the change's transaction.
/// Returns whether one was stored (the caller schedules the timer after the commit).
pub fn record(
    sql: &SqlStorage,
    hooks: &WebhookSettings,
    kind: Kind,
    data: Value,
    now: i64,
) -> worker::Result<bool> {
    if !hooks.wants(kind) {
        return Ok(false);
    }
    let id = format!("msg_{}", new_id());
    let body = webhook::body(kind, &iso(now), data);
    sql.exec(
        "INSERT INTO webhooks (id, type, body, created, next_at) VALUES (?, ?, ?, ?, ?)",
        Some(vec![
            id.into(),
            kind.name().into(),
            body.into(),
            now.into(),
            now.into(),
        ]),
    )?;
    Ok(true)
}

row! {
    #[derive(Clone)]
    struct Row {
        n: i64,
        id: String,
        kind: String,
        body: String,
        created: i64,
        attempts: i64,
        next_at: i64,
    }
}

/// Whether events wait (an object checks as it starts, and after a commit).
pub fn pending(sql: &SqlStorage) -> bool {
    sql.rows::<Value>("SELECT n FROM webhooks LIMIT 1", None)
        .is_ok_and(|r| !r.is_empty())
}

fn head(sql: &SqlStorage) -> worker::Result<Option<Row>> {
    let rows: Vec<Row> = sql.rows(
        "SELECT n, id, type AS kind, body, created, attempts, next_at FROM webhooks ORDER BY n LIMIT 1",
        None,
    )?;
    Ok(rows.into_iter().next())
}

/// The timer: sends the oldest events in order; returns when to run again.
pub async fn deliver(
    storage: &Storage,
    hooks: &WebhookSettings,
    source: &str,
    now: i64,
) -> worker::Result<Option<i64>> {
    let sql = storage.sql();
    let Some(target) = hooks.target.as_ref() else {
        return Ok(None); // switched off: what is queued waits for a configuration
    };
    for _ in 0..PER_RUN {
        let Some(row) = head(&sql)? else {
            return Ok(None);
        };
        if row.next_at > now {
            return Ok(Some(row.next_at));
        }
        let (status, error) = send(target, &row.id, &row.body, now).await;
        match webhook::verdict(status) {
            Verdict::Delivered => {
                sql.exec("DELETE FROM webhooks WHERE n = ?", Some(vec![row.n.into()]))?;
            }
            Verdict::Retry => return retry(storage, hooks, source, &row, &error, now),
            Verdict::Refused => fail(storage, source, &row, &error, now)?,
        }
    }
    Ok(Some(now))
}

/// A failed attempt: the next one after a backoff, or kept as failed past the window.
fn retry(
    storage: &Storage,
    hooks: &WebhookSettings,
    source: &str,
    row: &Row,
    error: &str,
    now: i64,
) -> worker::Result<Option<i64>> {
    let attempts = row.attempts + 1;
    let next = now + webhook::retry_in_ms(attempts as u32, random_u64());
    if webhook::gives_up(row.created, next, hooks.max_age_ms) {
        let failed = Row {
            attempts,
            ..row.clone()
        };
        fail(storage, source, &failed, error, now)?;
        return Ok(Some(now));
    }
    worker::console_warn!(
        "webhook {} {} failed ({attempts} attempts), will retry: {error}",
        row.kind,
        row.id
    );
    storage.sql().exec(
        "UPDATE webhooks SET attempts = ?, next_at = ?, error = ? WHERE n = ?",
        Some(vec![
            attempts.into(),
            next.into(),
            error.into(),
            row.n.into(),
        ]),
    )?;
    Ok(Some(next))
}

/// Gives up on `row`: it leaves the queue and is copied to D1's failed list (in one
/// transaction with its outbox row), so the events behind it go on.
fn fail(storage: &Storage, source: &str, row: &Row, error: &str, now: i64) -> worker::Result<()> {
    worker::console_error!(
        "webhook {} {} given up after {} attempts, kept as failed: {error}",
        row.kind,
        row.id,
        row.attempts.max(1)
    );
    let (created, failed, cutoff) = (
        iso(row.created),
        iso(now),
        iso(now - webhook::FAILED_TTL_MS),
    );
    let failure = webhook::Failure {
        id: &row.id,
        kind: &row.kind,
        body: &row.body,
        source,
        attempts: row.attempts.max(1),
        error,
        created_at: &created,
        failed_at: &failed,
    };
    let sql = storage.sql();
    atomically(storage, || {
        sql.exec("DELETE FROM webhooks WHERE n = ?", Some(vec![row.n.into()]))?;
        outbox::enqueue(&sql, &webhook::failure_rows(&failure, &cutoff), None)?;
        super::timers::queue(&sql, super::timers::Timer::Outbox, now)
    })
}
