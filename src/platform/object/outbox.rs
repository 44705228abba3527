//! The outbox: D1 statements queued in an object's own SQLite in the same write as the
//! event they copy, and drained to D1 in order by the object's alarm. A failing D1 only
//! delays the copy (retried with backoff); it never blocks or loses an event.

use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{Env, SqlStorage, State};

use crate::domain::replica::{backoff_ms, Statement};

/// Rows sent to D1 per batch (one D1 transaction).
const BATCH: usize = 50;
/// Longest wait between retries while D1 fails.
const MAX_BACKOFF_MS: i64 = 10_000;
/// How long a new row may wait for others to join its D1 batch: under load one batch
/// carries many events instead of one D1 round trip per event.
pub const COALESCE_MS: i64 = 100;

pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, stmt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_state (k TEXT PRIMARY KEY, failures INTEGER NOT NULL);";

pub fn enqueue(sql: &SqlStorage, statements: &[Statement]) -> worker::Result<()> {
    for s in statements {
        let text = serde_json::to_string(s)?;
        sql.exec(
            "INSERT INTO outbox (stmt) VALUES (?)",
            Some(vec![text.into()]),
        )?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct Row {
    id: i64,
    stmt: String,
}

#[derive(Deserialize)]
struct Failures {
    failures: i64,
}

/// The result of one drain: when to run again, if at all.
pub enum Drained {
    Empty,
    /// More rows wait, or D1 failed: run again at this time.
    Again(i64),
}

fn arg(v: &serde_json::Value) -> JsValue {
    match v {
        serde_json::Value::Null => JsValue::NULL,
        serde_json::Value::Bool(b) => JsValue::from_bool(*b),
        serde_json::Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => JsValue::from_str(s),
        other => JsValue::from_str(&other.to_string()),
    }
}

/// Copies the next batch to D1. On failure the rows stay and the backoff grows.
pub async fn drain(sql: &SqlStorage, env: &Env, now_ms: i64) -> worker::Result<Drained> {
    let rows: Vec<Row> = sql
        .exec(
            &format!("SELECT id, stmt FROM outbox ORDER BY id LIMIT {BATCH}"),
            None,
        )?
        .to_array()?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(Drained::Empty);
    };
    let db = env.d1("DB")?;
    let mut batch = Vec::with_capacity(rows.len());
    for row in &rows {
        let s: Statement = serde_json::from_str(&row.stmt)?;
        let args: Vec<JsValue> = s.args.iter().map(arg).collect();
        batch.push(db.prepare(&s.sql).bind(&args)?);
    }
    match db.batch(batch).await {
        Ok(_) => {
            sql.exec("DELETE FROM outbox WHERE id <= ?", Some(vec![last.into()]))?;
            sql.exec("DELETE FROM outbox_state WHERE k = 'd1'", None)?;
            let more = rows.len() == BATCH;
            Ok(if more {
                Drained::Again(now_ms)
            } else {
                Drained::Empty
            })
        }
        Err(e) => {
            let failures: Vec<Failures> = sql
                .exec("SELECT failures FROM outbox_state WHERE k = 'd1'", None)?
                .to_array()?;
            let n = failures.first().map_or(0, |f| f.failures) + 1;
            sql.exec(
                "INSERT INTO outbox_state (k, failures) VALUES ('d1', ?) ON CONFLICT(k) DO UPDATE SET failures = excluded.failures",
                Some(vec![n.into()]),
            )?;
            worker::console_warn!("D1 copy failed ({n} in a row), will retry: {e}");
            Ok(Drained::Again(
                now_ms + backoff_ms(n as u32, MAX_BACKOFF_MS),
            ))
        }
    }
}

/// Makes sure the alarm fires no later than `at_ms`; returns when it is set for.
pub async fn wake_by(state: &State, at_ms: i64) -> worker::Result<i64> {
    let storage = state.storage();
    match storage.get_alarm().await? {
        Some(current) if current <= at_ms => Ok(current),
        // An i64 would be an offset from now; the absolute time is a DateTime.
        _ => {
            storage
                .set_alarm(chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default())
                .await?;
            Ok(at_ms)
        }
    }
}
