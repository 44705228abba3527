//! The outbox: D1 statements queued in an object's own SQLite in the same transaction as the
//! event they copy, and drained to D1 in order by the object's outbox timer. A failing D1
//! only delays the copy (retried with backoff and jitter); it never blocks or loses an event.
//!
//! A statement that D1 keeps refusing while D1 itself answers (a poison row) would block every
//! row behind it. After [`ISOLATE_AFTER`] failed batches the drain sends the head row alone;
//! when that fails while a probe of D1 succeeds, the row is charged an attempt, and after
//! [`MAX_ATTEMPTS`] it moves to `dead_letters` (logged with its kind and D1's error) so the
//! rows behind it proceed. A D1 that does not answer charges no row.
//!
//! Each row copying a stream event carries its `seq`; the highest seq whose copy is done (or
//! given up on) is the stream's D1 watermark, the `last_seq` that D1-backed pages are
//! complete up to (SPEC §12).

use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env, SqlStorage};

use crate::domain::replica::{backoff_ms, jittered, Statement};
use crate::platform::object::rows::{row, Rows};
use crate::platform::runtime::random_u64;

/// Rows sent to D1 per batch (one D1 transaction).
const BATCH: usize = 50;
/// Longest wait between retries while D1 fails.
const MAX_BACKOFF_MS: i64 = 10_000;
/// Failed batches in a row after which the head row is tried alone.
pub const ISOLATE_AFTER: i64 = 3;
/// Failed lone attempts (with D1 answering) after which a row becomes a dead letter.
pub const MAX_ATTEMPTS: i64 = 5;
/// How long a new row may wait for others to join its D1 batch: under load one batch
/// carries many events instead of one D1 round trip per event.
pub const COALESCE_MS: i64 = 100;
/// How long a dead letter is kept (it is also logged when it is made).
pub const DEAD_LETTER_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// The outbox of the first schema version (v1).
pub const SCHEMA_V1: &str =
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, stmt TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox_state (k TEXT PRIMARY KEY, failures INTEGER NOT NULL);";

/// v2: per-row seq and attempts, dead letters, and the D1 watermark (0 while rows written
/// before v2 are still queued, since their seqs are unknown; it moves to the last event once
/// the outbox is empty, and the object schedules that drain as it starts).
pub const SCHEMA_V2: &str = "ALTER TABLE outbox ADD COLUMN seq INTEGER;
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, stmt TEXT NOT NULL, kind TEXT NOT NULL,
  error TEXT NOT NULL, seq INTEGER, at INTEGER NOT NULL);
CREATE TABLE counters (k TEXT PRIMARY KEY, n INTEGER NOT NULL);
INSERT INTO counters (k, n) SELECT 'd1_seq', CASE WHEN (SELECT count(*) FROM outbox) = 0
  THEN coalesce((SELECT max(seq) FROM events), 0) ELSE 0 END";

/// Queues `statements`; `seq` names the stream event they copy, if they copy one.
pub fn enqueue(sql: &SqlStorage, statements: &[Statement], seq: Option<u64>) -> worker::Result<()> {
    let seq = seq.map(|s| s as i64);
    for s in statements {
        let text = serde_json::to_string(s)?;
        sql.exec(
            "INSERT INTO outbox (stmt, seq) VALUES (?, ?)",
            Some(vec![text.into(), seq.into()]),
        )?;
    }
    Ok(())
}

/// The seq up to which this object's events have reached D1 (or been given up on).
pub fn watermark(sql: &SqlStorage) -> u64 {
    counter(sql, "d1_seq").max(0) as u64
}

row! {
    struct N {
        n: i64,
    }
}

pub fn counter(sql: &SqlStorage, k: &str) -> i64 {
    sql.rows::<N>("SELECT n FROM counters WHERE k = ?", Some(vec![k.into()]))
        .ok()
        .and_then(|rows| rows.first().map(|r| r.n))
        .unwrap_or(0)
}

row! {
    struct Row {
        id: i64,
        stmt: String,
        seq: Option<i64>,
        attempts: i64,
    }
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

fn prepare(db: &D1Database, row: &Row) -> worker::Result<worker::D1PreparedStatement> {
    let s: Statement = serde_json::from_str(&row.stmt)?;
    let args: Vec<JsValue> = s.args.iter().map(arg).collect();
    db.prepare(&s.sql).bind(&args)
}

/// Copies the next rows to D1; returns when to run again (`None`: the outbox is empty).
pub async fn drain(sql: &SqlStorage, env: &Env, now: i64) -> worker::Result<Option<i64>> {
    let rows: Vec<Row> = sql.rows(
        &format!("SELECT id, stmt, seq, attempts FROM outbox ORDER BY id LIMIT {BATCH}"),
        None,
    )?;
    if rows.is_empty() {
        return Ok(None);
    }
    let db = env.d1("DB")?;
    let failures = failures(sql);
    if failures >= ISOLATE_AFTER {
        return isolate(sql, &db, &rows, failures, now).await;
    }
    let mut batch = Vec::with_capacity(rows.len());
    for row in &rows {
        batch.push(prepare(&db, row)?);
    }
    match db.batch(batch).await {
        Ok(_) => {
            done(sql, &rows)?;
            Ok((rows.len() == BATCH).then_some(now))
        }
        Err(e) => {
            let n = failed(sql, failures)?;
            worker::console_warn!("D1 copy failed ({n} in a row), will retry: {e}");
            Ok(Some(now + retry_in(n)))
        }
    }
}

/// The head row alone, after batches kept failing. A row is charged an attempt only when
/// D1 proves it works for others: the row behind it goes through alone, or an earlier
/// attempt already proved so. A whole table or D1 being down charges nothing (every row
/// fails), and a failing row with nothing behind it blocks nobody.
async fn isolate(
    sql: &SqlStorage,
    db: &D1Database,
    rows: &[Row],
    failures: i64,
    now: i64,
) -> worker::Result<Option<i64>> {
    let head = &rows[0];
    let error = match prepare(db, head)?.run().await {
        Ok(_) => {
            done(sql, std::slice::from_ref(head))?;
            return Ok(Some(now));
        }
        Err(e) => e.to_string(),
    };
    let n = failed(sql, failures)?;
    let neighbour_passed = match rows.get(1) {
        Some(next) if prepare(db, next)?.run().await.is_ok() => {
            done(sql, std::slice::from_ref(next))?;
            true
        }
        _ => false,
    };
    if !neighbour_passed && head.attempts == 0 {
        worker::console_warn!("D1 copy failed ({n} in a row), will retry: {error}");
        return Ok(Some(now + retry_in(n)));
    }
    let attempts = head.attempts + 1;
    if attempts < MAX_ATTEMPTS {
        sql.exec(
            "UPDATE outbox SET attempts = ? WHERE id = ?",
            Some(vec![attempts.into(), head.id.into()]),
        )?;
        worker::console_warn!(
            "D1 refused a {} ({attempts} of {MAX_ATTEMPTS}): {error}",
            kind(head)
        );
        return Ok(Some(now + retry_in(n)));
    }
    bury(sql, head, &error, now)?;
    Ok(Some(now))
}

/// Moves `row` to the dead letters, so the rows behind it go on.
fn bury(sql: &SqlStorage, row: &Row, error: &str, now: i64) -> worker::Result<()> {
    let kind = kind(row);
    worker::console_error!(
        "D1 copy given up after {MAX_ATTEMPTS} attempts, kept as a dead letter: {kind}: {error}"
    );
    sql.exec(
        "INSERT INTO dead_letters (stmt, kind, error, seq, at) VALUES (?, ?, ?, ?, ?)",
        Some(vec![
            row.stmt.as_str().into(),
            kind.as_str().into(),
            error.into(),
            row.seq.into(),
            now.into(),
        ]),
    )?;
    done(sql, std::slice::from_ref(row))
}

/// What a statement does, for logs ("INSERT INTO messages").
fn kind(row: &Row) -> String {
    let sql = serde_json::from_str::<Statement>(&row.stmt)
        .map(|s| s.sql)
        .unwrap_or_default();
    sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// Rows whose copy is finished: removed, and the watermark moves up to the highest seq below
/// which every copy is done (a row copied ahead of a stuck one does not move it past that
/// one; an empty outbox means every event is copied).
fn done(sql: &SqlStorage, rows: &[Row]) -> worker::Result<()> {
    for r in rows {
        sql.exec("DELETE FROM outbox WHERE id = ?", Some(vec![r.id.into()]))?;
    }
    sql.exec(
        "INSERT INTO counters (k, n) SELECT 'd1_seq', CASE \
           WHEN NOT EXISTS (SELECT 1 FROM outbox) THEN coalesce((SELECT max(seq) FROM events), 0) \
           WHEN (SELECT min(seq) FROM outbox) IS NULL THEN ? \
           ELSE min(?, (SELECT min(seq) FROM outbox) - 1) END \
         WHERE true ON CONFLICT(k) DO UPDATE SET n = max(n, excluded.n)",
        Some(vec![done_upto(rows).into(), done_upto(rows).into()]),
    )?;
    sql.exec("DELETE FROM outbox_state WHERE k = 'd1'", None)?;
    Ok(())
}

/// The highest seq among finished rows (0 when none copies an event).
fn done_upto(rows: &[Row]) -> i64 {
    rows.iter().filter_map(|r| r.seq).max().unwrap_or(0)
}

/// Whether rows wait (checked as an object starts, so a drain that an upgrade or a lost
/// alarm left unscheduled runs again).
pub fn pending(sql: &SqlStorage) -> bool {
    row! {
        struct Id {
            #[allow(dead_code)]
            id: i64,
        }
    }
    sql.rows::<Id>("SELECT id FROM outbox LIMIT 1", None)
        .is_ok_and(|r| !r.is_empty())
}

row! {
    struct Failures {
        failures: i64,
    }
}

fn failures(sql: &SqlStorage) -> i64 {
    sql.rows::<Failures>("SELECT failures FROM outbox_state WHERE k = 'd1'", None)
        .ok()
        .and_then(|r| r.first().map(|f| f.failures))
        .unwrap_or(0)
}

fn failed(sql: &SqlStorage, before: i64) -> worker::Result<i64> {
    let n = before + 1;
    sql.exec(
        "INSERT INTO outbox_state (k, failures) VALUES ('d1', ?) \
         ON CONFLICT(k) DO UPDATE SET failures = excluded.failures",
        Some(vec![n.into()]),
    )?;
    Ok(n)
}

fn retry_in(failures: i64) -> i64 {
    jittered(backoff_ms(failures as u32, MAX_BACKOFF_MS), random_u64())
}

/// Dead letters past their retention are dropped; returns when the next one expires.
pub fn trim_dead_letters(sql: &SqlStorage, now: i64) -> worker::Result<Option<i64>> {
    sql.exec(
        "DELETE FROM dead_letters WHERE at < ?",
        Some(vec![(now - DEAD_LETTER_TTL_MS).into()]),
    )?;
    row! {
        struct Oldest {
            at: Option<i64>,
        }
    }
    let oldest: Vec<Oldest> = sql.rows("SELECT min(at) AS at FROM dead_letters", None)?;
    Ok(oldest
        .first()
        .and_then(|o| o.at)
        .map(|at| at + DEAD_LETTER_TTL_MS))
}
