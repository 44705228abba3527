//! Web Push in the user's inbox (SPEC §11): the user's subscriptions (a SQLite table, at
//! most [`MAX_SUBSCRIPTIONS`], the oldest dropped to make room), and the push queue a
//! publish fills when its policy says so. Sending is `push_send.rs`, run by the inbox's
//! [`Timer::Push`]; a publish never waits for a push service.

use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Method, Request, Response, SqlStorage};

use crate::domain::errors::ApiError;
use crate::domain::push::{Policy, Subscription, MAX_SUBSCRIPTIONS};
use crate::platform::http::{self, json as reply};
use crate::platform::object::core::Core;
use crate::platform::object::rows::{row, Rows};
use crate::platform::object::timers::{self, Timer};
use crate::platform::runtime::now_ms;

/// Internal path of the subscription commands (the Worker has checked the body).
pub const SUBSCRIPTIONS_PATH: &str = "/push/subscriptions";
/// Query parameter of the internal publish that carries the policy.
pub const POLICY_QUERY: &str = "push";

/// Inbox schema v5: subscriptions, and the queue of pushes waiting to be sent.
pub const SCHEMA_V5: &str = "CREATE TABLE push_subscriptions (endpoint TEXT PRIMARY KEY,
  p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE push_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, endpoint TEXT NOT NULL,
  payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due INTEGER NOT NULL,
  queued_at INTEGER NOT NULL);
CREATE INDEX push_queue_due ON push_queue (due)";

/// The policy of an internal publish (`?push=`; absent: the default). The Worker has
/// already refused any other value.
pub fn policy_of(req: &Request) -> Policy {
    http::query(req)
        .get(POLICY_QUERY)
        .and_then(Policy::parse)
        .unwrap_or_default()
}

/// The subscription commands: `POST` (add or refresh), `DELETE`, `GET` (list).
pub async fn handle(core: &Core, req: &mut Request) -> Result<Response, ApiError> {
    let sql = core.sql();
    match req.method() {
        Method::Get => reply(200, &json!({"subscriptions": list(&sql)})),
        Method::Post => {
            let sub: Subscription = http::body(req).await?;
            core.ensure_written()?;
            let created = subscribe(&sql, &sub, now_ms())?;
            let body = json!({"endpoint": sub.endpoint, "subscriptions": list(&sql).len()});
            reply(if created { 201 } else { 200 }, &body)
        }
        Method::Delete => {
            #[derive(Deserialize)]
            struct Endpoint {
                endpoint: String,
            }
            let e: Endpoint = http::body(req).await?;
            let deleted = core.ensure_written().is_ok() && remove(&sql, &e.endpoint)?;
            reply(200, &json!({"deleted": deleted}))
        }
        _ => return Err(ApiError::MethodNotAllowed),
    }
    .map_err(ApiError::from)
}

/// Adds `sub` (or refreshes its keys: a browser may rotate them); true when it is new.
fn subscribe(sql: &SqlStorage, sub: &Subscription, now: i64) -> worker::Result<bool> {
    let known = list(sql)
        .iter()
        .any(|s| s["endpoint"] == sub.endpoint.as_str());
    sql.exec(
        "INSERT INTO push_subscriptions (endpoint, p256dh, auth, created_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT(endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth",
        Some(vec![
            sub.endpoint.as_str().into(),
            sub.p256dh.as_str().into(),
            sub.auth.as_str().into(),
            now.into(),
        ]),
    )?;
    // Over the cap, the oldest goes: most likely a browser that cleared its data.
    sql.exec(
        "DELETE FROM push_subscriptions WHERE endpoint NOT IN \
         (SELECT endpoint FROM push_subscriptions ORDER BY created_at DESC, rowid DESC LIMIT ?)",
        Some(vec![(MAX_SUBSCRIPTIONS as i64).into()]),
    )?;
    Ok(!known)
}

/// Deletes a subscription and whatever waits to be pushed to it; true when it existed.
pub fn remove(sql: &SqlStorage, endpoint: &str) -> worker::Result<bool> {
    let cursor = sql.exec(
        "DELETE FROM push_subscriptions WHERE endpoint = ?",
        Some(vec![endpoint.into()]),
    )?;
    let existed = cursor.rows_written() > 0;
    sql.exec(
        "DELETE FROM push_queue WHERE endpoint = ?",
        Some(vec![endpoint.into()]),
    )?;
    Ok(existed)
}

/// Endpoints and when they were added (keys are not shown back). Empty before the first
/// write, when the tables do not exist yet.
fn list(sql: &SqlStorage) -> Vec<Value> {
    row! {
        struct Row {
            endpoint: String,
            created_at: i64,
        }
    }
    let rows = sql
        .rows::<Row>(
            "SELECT endpoint, created_at FROM push_subscriptions ORDER BY created_at, rowid",
            None,
        )
        .unwrap_or_default();
    rows.into_iter()
        .map(|r| json!({"endpoint": r.endpoint, "created_at": r.created_at}))
        .collect()
}

/// After a publish that reached `live_devices` sockets: queues one push per subscription
/// when `policy` wants it, and the push timer. Called right after the commit and fan-out
/// with no `await` in between, so the runtime writes these rows in the same atomic batch as
/// the notification (a Durable Object coalesces every write up to the next `await`, and the
/// output gate holds the answer until it is durable). True when any push was queued.
pub fn queue(
    sql: &SqlStorage,
    policy: Policy,
    live_devices: usize,
    notification: &Value,
    now: i64,
) -> worker::Result<bool> {
    if !policy.wants_push(live_devices) {
        return Ok(false);
    }
    let payload = crate::domain::push::payload(notification);
    let cursor = sql.exec(
        "INSERT INTO push_queue (endpoint, payload, due, queued_at) \
         SELECT endpoint, ?, ?, ? FROM push_subscriptions",
        Some(vec![payload.into(), now.into(), now.into()]),
    )?;
    // rows_written also counts index rows: only "any" is meaningful.
    let queued = cursor.rows_written() > 0;
    if queued {
        timers::queue(sql, Timer::Push, now)?;
    }
    Ok(queued)
}
