//! One webhook delivery attempt over HTTP (SPEC §10), shared by the objects' queues and the
//! Worker's retry endpoint: `POST` of the exact body with `webhook-id`, `webhook-timestamp`
//! and `webhook-signature`, within a timeout.

use worker::wasm_bindgen::JsValue;
use worker::{AbortSignal, Fetch, Headers, Method};

use crate::domain::webhook::Target;
use crate::platform::http;

/// How long one attempt may take before it counts as a network error.
pub const TIMEOUT_MS: u32 = 10_000;

/// One attempt: the status (`None` when nothing answered in time) and, for logs and the
/// failed list, what went wrong.
pub async fn send(target: &Target, id: &str, body: &str, now: i64) -> (Option<u16>, String) {
    match post(target, id, body, now).await {
        Ok(status) => (Some(status), format!("HTTP {status}")),
        Err(e) => (None, format!("no answer: {e}")),
    }
}

async fn post(target: &Target, id: &str, body: &str, now: i64) -> worker::Result<u16> {
    let timestamp = now / 1000;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("user-agent", "edge-realtime-webhooks/1")?;
    headers.set("webhook-id", id)?;
    headers.set("webhook-timestamp", &timestamp.to_string())?;
    headers.set("webhook-signature", &target.sign(id, timestamp, body))?;
    let body = JsValue::from(body);
    let request = http::request(Method::Post, &target.url, &headers, Some(&body), false)?;
    let timeout = worker::web_sys::AbortSignal::timeout_with_u32(TIMEOUT_MS);
    let mut response = Fetch::Request(request)
        .send_with_signal(&AbortSignal::from(timeout))
        .await?;
    let status = response.status_code();
    let _ = response.text().await; // read to the end, so the connection is released
    Ok(status)
}
