//! `POST /api/notifications`: the request checks, the fan-out to each recipient's inbox, and
//! the path of a keyed request to its key ledger (`platform::inbox::ledger`), which makes it
//! run at most once whatever its recipients.
//!
//! The `Idempotency-Key` of this endpoint names the request, not a recipient, so it is
//! recorded in one place: the ledger shard the key hashes to (a `UserInbox` instance under a
//! name no user can have, see `domain::inbox::ledger_name`). Requests without a key skip the
//! ledger and go straight to the inboxes.

use serde_json::{json, Value};
use worker::{Env, Method, Response};

use crate::domain::decode::{object, Fields};
use crate::domain::errors::{ApiError, FrameError};
use crate::domain::ids::{Id, ObjectClass, StreamKey};
use crate::domain::inbox::{ledger_name, validate, NotificationIn, MAX_RECIPIENTS};
use crate::domain::push::Policy;
use crate::platform::http;
use crate::platform::inbox::PUSH_POLICY_QUERY as POLICY_QUERY;
use crate::platform::internal::{self, Command};

/// Internal path of the ledger command on a ledger instance.
pub const LEDGER_PATH: &str = "/ledger";
/// Internal path of one inbox's publish.
pub const NOTIFY_PATH: &str = "/notify";

/// A request that passed every check: its recipients and the notification for their inboxes.
pub struct Checked {
    recipients: Vec<Id>,
    notification: String,
    push: Policy,
}

/// The Worker's handler. The whole request is checked first, so a bad one reaches no inbox.
pub async fn publish(env: &Env, body: String, key: Option<&str>) -> worker::Result<Response> {
    let checked = match check(&body) {
        Ok(c) => c,
        Err(e) => return http::error(&e),
    };
    let Some(key) = key else {
        return match fan_out(env, &checked, None, "").await {
            Ok((status, value)) => http::json(status, &value),
            Err(e) => http::error(&e),
        };
    };
    let cmd = Command {
        method: Method::Post,
        path: LEDGER_PATH.into(),
        body: Some(body),
        user: None,
        idempotency_key: Some(key),
        fingerprint: None,
    };
    internal::command_named(env, ObjectClass::UserInbox, &ledger_name(key), cmd).await
}

/// Stores and pushes in each recipient's inbox, in order. With a key, each inbox also
/// remembers it (with the whole request's fingerprint), so a retry after a partial failure
/// completes the rest without writing anyone's notification twice.
pub async fn fan_out(
    env: &Env,
    checked: &Checked,
    key: Option<&str>,
    print: &str,
) -> Result<(u16, Value), ApiError> {
    let mut results = Vec::with_capacity(checked.recipients.len());
    for user in &checked.recipients {
        let cmd = Command {
            method: Method::Post,
            path: format!("{NOTIFY_PATH}?{POLICY_QUERY}={}", checked.push.as_str()),
            body: Some(checked.notification.clone()),
            user: None,
            idempotency_key: key,
            fingerprint: key.map(|_| print),
        };
        let mut resp = internal::command(env, &StreamKey::User(user.clone()), cmd)
            .await
            .map_err(ApiError::from)?;
        let value: Value = resp.json().await?;
        if resp.status_code() != 201 {
            return Err(relayed(resp.status_code(), &value));
        }
        results.push(value);
    }
    Ok((201, json!({ "notifications": results })))
}

/// An inbox's error answer as the API error it was, so the caller sees it unchanged.
fn relayed(status: u16, body: &Value) -> ApiError {
    let message = body["error"]["message"].as_str().unwrap_or_default().into();
    match status {
        409 => ApiError::Conflict(message),
        422 => ApiError::Unprocessable(message),
        503 => ApiError::Unavailable,
        _ => ApiError::Internal,
    }
}

/// Checks the body: `user_id` or `user_ids`, `notification` (an object) and `push`, the
/// Web Push policy (SPEC §11: `offline`, the default, `always` or `never`); nothing else.
pub fn check(body: &str) -> Result<Checked, ApiError> {
    let unprocessable = |e: FrameError| ApiError::Unprocessable(e.message);
    let map = object(body).map_err(unprocessable)?;
    let p = Fields(&map);
    p.only(&["user_id", "user_ids", "notification", "push"])
        .map_err(unprocessable)?;
    let notification = p.object("notification").map_err(unprocessable)?;
    let n = NotificationIn::read(&notification)
        .map_err(|e| ApiError::Unprocessable(format!("notification: {}", e.message)))?;
    validate(&n).map_err(unprocessable)?;
    let (user_id, user_ids) = (p.opt_string("user_id"), p.opt_strings("user_ids"));
    let recipients = recipients(
        user_id.map_err(unprocessable)?,
        user_ids.map_err(unprocessable)?,
    )
    .map_err(ApiError::Unprocessable)?;
    let push = p.opt_string("push").map_err(unprocessable)?;
    let push = match push.as_deref() {
        None => Policy::default(),
        Some(s) => Policy::parse(s).ok_or_else(|| {
            ApiError::Unprocessable("push must be \"offline\", \"always\" or \"never\"".into())
        })?,
    };
    Ok(Checked {
        recipients,
        notification: Value::Object(notification.0.clone()).to_string(),
        push,
    })
}

fn recipients(user_id: Option<String>, user_ids: Option<Vec<String>>) -> Result<Vec<Id>, String> {
    let raw: Vec<String> = match (user_id, user_ids) {
        (Some(one), None) => vec![one],
        (None, Some(many)) if !many.is_empty() => many,
        _ => return Err("give exactly one of user_id or a non-empty user_ids".into()),
    };
    if raw.len() > MAX_RECIPIENTS {
        return Err(format!("at most {MAX_RECIPIENTS} recipients per request"));
    }
    let mut ids: Vec<Id> = Vec::with_capacity(raw.len());
    for r in raw {
        let id = Id::parse(&r).map_err(|e| format!("user id {r:?}: {e}"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}
