//! Sends the inbox's queued Web Pushes ([`Timer::Push`](crate::platform::object::timers::Timer)):
//! each is encrypted for its subscription (RFC 8291, a fresh ephemeral key and salt per
//! push), signed with VAPID, and POSTed with `TTL`, `Urgency` and
//! `Content-Encoding: aes128gcm`. What the push service answers decides the rest
//! (`domain::push::delivery`): delivered rows go, 404/410 delete the subscription, 429/5xx
//! and network errors are retried with backoff, and a push that keeps failing is given up
//! with a log line. One slow push service costs at most [`SEND_TIMEOUT_MS`] per push.

use worker::wasm_bindgen::JsValue;
use worker::SqlStorage;
use worker::{console_error, console_warn, AbortSignal, Env, Fetch, Headers, Method};

use super::push::remove;
use crate::domain::push::delivery::{outcome, retry_at, ttl_left, Outcome};
use crate::domain::push::ece::{encrypt, Ephemeral};
use crate::domain::push::vapid::Vapid;
use crate::domain::push::{b64url_decode, PushError};
use crate::platform::config::var;
use crate::platform::http;
use crate::platform::object::core::NextRun;
use crate::platform::object::rows::{row, Rows};
use crate::platform::runtime::random_u64;

/// Pushes sent per timer run (the rest run right after, in a fresh alarm).
const BATCH: usize = 20;
/// How long one push service may take to answer.
pub const SEND_TIMEOUT_MS: u32 = 10_000;

row! {
    struct Row {
        id: i64,
        endpoint: String,
        payload: String,
        attempts: i64,
        queued_at: i64,
        p256dh: Option<String>,
        auth: Option<String>,
    }
}

/// Sends what is due; returns when the earliest waiting push is due.
pub async fn drain(sql: &SqlStorage, env: &Env, now: i64) -> NextRun {
    let rows: Vec<Row> = sql.rows(
        &format!(
            "SELECT q.id, q.endpoint, q.payload, q.attempts, q.queued_at, s.p256dh, s.auth \
                 FROM push_queue q LEFT JOIN push_subscriptions s ON s.endpoint = q.endpoint \
                 WHERE q.due <= ? ORDER BY q.id LIMIT {BATCH}"
        ),
        Some(vec![now.into()]),
    )?;
    if rows.is_empty() {
        return next_due(sql);
    }
    let Some(vapid) = vapid(env) else {
        console_warn!("Web Push: VAPID_* not configured, dropping queued pushes");
        sql.exec("DELETE FROM push_queue", None)?;
        return Ok(None);
    };
    for row in &rows {
        let result = match (&row.p256dh, &row.auth) {
            (Some(key), Some(auth)) => send(&vapid, row, key, auth, now).await,
            _ => Outcome::Delivered, // unsubscribed since: nothing to send
        };
        settle(sql, row, result, now)?;
    }
    next_due(sql)
}

fn vapid(env: &Env) -> Option<Vapid> {
    let get = |k: &str| var(env, k);
    crate::domain::config::vapid(get).0
}

/// One push; the outcome of its answer.
async fn send(vapid: &Vapid, row: &Row, key: &str, auth: &str, now: i64) -> Outcome {
    match attempt(vapid, row, key, auth, now).await {
        Ok(out) => out,
        Err(e) => {
            console_warn!("Web Push to {} failed: {e}", host(&row.endpoint));
            outcome(None, None)
        }
    }
}

async fn attempt(
    vapid: &Vapid,
    row: &Row,
    key: &str,
    auth: &str,
    now: i64,
) -> Result<Outcome, worker::Error> {
    let body = sealed(row.payload.as_bytes(), key, auth)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    let headers = Headers::new();
    let authorization = vapid
        .authorization(&row.endpoint, now / 1000)
        .map_err(|e| worker::Error::RustError(e.to_string()))?;
    headers.set("Authorization", &authorization)?;
    headers.set("TTL", &ttl_left(row.queued_at, now).to_string())?;
    headers.set("Urgency", "normal")?;
    headers.set("Content-Encoding", "aes128gcm")?;
    headers.set("Content-Type", "application/octet-stream")?;
    let bytes = JsValue::from(worker::js_sys::Uint8Array::from(body.as_slice()));
    let request = http::request(Method::Post, &row.endpoint, &headers, Some(&bytes), false)?;
    let timeout = worker::web_sys::AbortSignal::timeout_with_u32(SEND_TIMEOUT_MS);
    let response = Fetch::Request(request)
        .send_with_signal(&AbortSignal::from(timeout))
        .await?;
    let retry_after = response.headers().get("Retry-After")?;
    let out = outcome(Some(response.status_code()), retry_after.as_deref());
    if matches!(out, Outcome::Refused | Outcome::Retry(_)) {
        let status = response.status_code();
        console_warn!("Web Push to {}: HTTP {status}", host(&row.endpoint));
    }
    Ok(out)
}

/// The encrypted body, with fresh randomness (a random scalar is out of range with
/// probability ~2^-32: drawn again then).
fn sealed(payload: &[u8], key: &str, auth: &str) -> Result<Vec<u8>, PushError> {
    let ua = b64url_decode(key).ok_or(PushError::BadKey("p256dh"))?;
    let auth = b64url_decode(auth).ok_or(PushError::BadKey("auth"))?;
    for _ in 0..4 {
        let mut eph = Ephemeral {
            secret: [0; 32],
            salt: [0; 16],
        };
        fill(&mut eph.secret);
        fill(&mut eph.salt);
        match encrypt(payload, &ua, &auth, &eph) {
            Err(PushError::BadKey("ephemeral key")) => continue,
            other => return other,
        }
    }
    Err(PushError::BadKey("ephemeral key"))
}

/// Bytes from the runtime's CSPRNG (`crypto.getRandomValues`).
fn fill(buf: &mut [u8]) {
    for chunk in buf.chunks_mut(8) {
        let r = random_u64().to_le_bytes();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
}

/// What an attempt leaves in storage.
fn settle(sql: &SqlStorage, row: &Row, result: Outcome, now: i64) -> worker::Result<()> {
    let delete = |sql: &SqlStorage| {
        sql.exec(
            "DELETE FROM push_queue WHERE id = ?",
            Some(vec![row.id.into()]),
        )
        .map(|_| ())
    };
    match result {
        Outcome::Delivered => delete(sql),
        Outcome::Gone => {
            console_warn!(
                "Web Push: {} says the subscription is gone; deleted",
                host(&row.endpoint)
            );
            remove(sql, &row.endpoint).map(|_| ())
        }
        Outcome::Refused => {
            console_error!("Web Push to {} refused; given up", host(&row.endpoint));
            delete(sql)
        }
        Outcome::Retry(after) => {
            let attempts = row.attempts + 1;
            match retry_at(attempts as u32, row.queued_at, now, after, random_u64()) {
                Some(at) => sql
                    .exec(
                        "UPDATE push_queue SET attempts = ?, due = ? WHERE id = ?",
                        Some(vec![attempts.into(), at.into(), row.id.into()]),
                    )
                    .map(|_| ()),
                None => {
                    console_error!(
                        "Web Push to {} given up after {attempts} attempts",
                        host(&row.endpoint)
                    );
                    delete(sql)
                }
            }
        }
    }
}

/// When the earliest queued push is due (`None`: the queue is empty).
fn next_due(sql: &SqlStorage) -> NextRun {
    row! {
        struct Due {
            due: Option<i64>,
        }
    }
    let rows: Vec<Due> = sql.rows("SELECT min(due) AS due FROM push_queue", None)?;
    Ok(rows.first().and_then(|d| d.due))
}

/// The endpoint's origin for log lines: the path is a capability and stays out of logs.
fn host(endpoint: &str) -> String {
    crate::domain::push::origin(endpoint).unwrap_or_default()
}
