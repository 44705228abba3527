//! `GET /api/webhooks/failed` and `POST /api/webhooks/failed/{id}/retry` (SPEC §10). Objects
//! copy the events they gave up on to D1's `webhook_failures` through their outbox, so the
//! list spans every object and is one bounded D1 read (`?limit=`, 1-200, oldest first; rows
//! older than 30 days are trimmed). A retry is sent by the Worker itself, at once, with the
//! event's own `webhook-id` and body (a fresh timestamp and signature); once the backend
//! answers 2xx the row is deleted, otherwise it stays failed and the answer says why.

use serde_json::{json, Value};
use worker::wasm_bindgen::JsValue;
use worker::{Env, Request, Response, Result};

use crate::domain::errors::ApiError;
use crate::domain::webhook::{verdict, Verdict};
use crate::platform::config::config;
use crate::platform::http;
use crate::platform::object::d1::query;
use crate::platform::object::rows::row;
use crate::platform::runtime::now_ms;
use crate::platform::webhook_http::send;

row! {
    struct Failed {
        id: String,
        kind: String,
        body: String,
        source: String,
        attempts: i64,
        error: String,
        created_at: String,
        failed_at: String,
    }
}

impl Failed {
    fn view(&self) -> Value {
        let payload: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        json!({
            "id": self.id, "type": self.kind, "source": self.source, "attempts": self.attempts,
            "error": self.error, "created_at": self.created_at, "failed_at": self.failed_at,
            "payload": payload,
        })
    }
}

const COLUMNS: &str = "id, type AS kind, body, source, attempts, error, created_at, failed_at";

fn limit(req: &Request) -> std::result::Result<i64, ApiError> {
    match http::query(req).get("limit") {
        None => Ok(50),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=200).contains(l))
            .ok_or_else(|| ApiError::BadRequest("limit must be 1-200".into())),
    }
}

/// The failed events, oldest first.
pub async fn list(req: &Request, env: &Env) -> Result<Response> {
    let answer = async {
        let limit = limit(req)?;
        let sql = format!("SELECT {COLUMNS} FROM webhook_failures ORDER BY failed_at, id LIMIT ?");
        let rows: Vec<Failed> = query(env, sql, &[JsValue::from_f64(limit as f64)]).await?;
        let list: Vec<Value> = rows.iter().map(Failed::view).collect();
        Ok::<_, ApiError>(json!({ "webhooks": list }))
    };
    match answer.await {
        Ok(body) => http::json(200, &body),
        Err(e) => http::error(&e),
    }
}

/// Sends one failed event again; deletes it once delivered.
pub async fn retry(env: &Env, id: &str) -> Result<Response> {
    match retried(env, id).await {
        Ok((status, body)) => http::json(status, &body),
        Err(e) => http::error(&e),
    }
}

async fn retried(env: &Env, id: &str) -> std::result::Result<(u16, Value), ApiError> {
    let cfg = config(env);
    let Some(target) = cfg.settings.webhooks.target.as_ref() else {
        return Err(ApiError::Conflict("webhooks are not configured".into()));
    };
    let sql = format!("SELECT {COLUMNS} FROM webhook_failures WHERE id = ?");
    let rows: Vec<Failed> = query(env, sql, &[JsValue::from_str(id)]).await?;
    let Some(row) = rows.first() else {
        return Err(ApiError::NotFound(
            "no failed webhook event with this id".into(),
        ));
    };
    let (status, error) = send(target, &row.id, &row.body, now_ms()).await;
    if verdict(status) != Verdict::Delivered {
        let body = json!({"id": row.id, "delivered": false, "status": status, "error": error});
        return Ok((502, body));
    }
    let sql = "DELETE FROM webhook_failures WHERE id = ?".to_string();
    query::<Value>(env, sql, &[JsValue::from_str(id)]).await?;
    Ok((
        200,
        json!({"id": row.id, "delivered": true, "status": status}),
    ))
}
