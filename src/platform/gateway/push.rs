//! The Web Push API of the Worker (SPEC §11): the VAPID public key for browsers, and a
//! user's subscriptions, checked here (endpoint, key lengths, base64url; loopback `http:`
//! endpoints only with `DEV_TOKENS`) before the user's inbox stores them.

use serde_json::json;
use worker::{Env, Method, Request, Response};

use crate::domain::errors::ApiError;
use crate::domain::ids::{Id, StreamKey};
use crate::domain::push::{parse_endpoint, parse_subscription};
use crate::platform::config::Config;
use crate::platform::http;
use crate::platform::inbox::PUSH_SUBSCRIPTIONS_PATH;
use crate::platform::internal::{self, Command};

fn not_configured() -> ApiError {
    ApiError::NotFound("Web Push is not configured here (VAPID_* are not set)".into())
}

/// `GET /api/push/vapid-public-key`: `{"public_key"}`, the browser's `applicationServerKey`.
pub fn public_key(cfg: &Config) -> worker::Result<Response> {
    match &cfg.vapid {
        Some(v) => http::json(200, &json!({"public_key": v.public_key()})),
        None => http::error(&not_configured()),
    }
}

/// `POST` / `DELETE` / `GET` of a user's subscriptions. `jwt_user` is the caller when it
/// came with a user JWT; `target` the user a server-key call names.
pub async fn subscriptions(
    req: &Request,
    env: &Env,
    cfg: &Config,
    jwt_user: Option<&str>,
    target: Option<&Id>,
    body: Option<String>,
) -> worker::Result<Response> {
    match checked(req.method(), cfg, jwt_user, target, body.as_deref()) {
        Err(e) => http::error(&e),
        Ok((user, body)) => {
            let cmd = Command {
                method: req.method(),
                path: PUSH_SUBSCRIPTIONS_PATH.into(),
                body,
                user: None,
                idempotency_key: None,
                fingerprint: None,
            };
            internal::command(env, &StreamKey::User(user), cmd).await
        }
    }
}

/// Whose subscriptions, and the body the inbox gets.
fn checked(
    method: Method,
    cfg: &Config,
    jwt_user: Option<&str>,
    target: Option<&Id>,
    body: Option<&str>,
) -> Result<(Id, Option<String>), ApiError> {
    let user = match (target, jwt_user) {
        (Some(u), _) => u.clone(),
        (None, Some(u)) => Id::parse(u).map_err(|e| ApiError::BadRequest(e.to_string()))?,
        (None, None) => {
            return Err(ApiError::BadRequest(
                "with the server key, use /api/users/{user_id}/push-subscriptions".into(),
            ))
        }
    };
    let unprocessable = |e: crate::domain::push::PushError| ApiError::Unprocessable(e.to_string());
    let body = match method {
        Method::Get => None,
        Method::Post => {
            cfg.vapid.as_ref().ok_or_else(not_configured)?;
            let sub = parse_subscription(body.unwrap_or_default(), cfg.dev_tokens)
                .map_err(unprocessable)?;
            Some(serde_json::to_string(&sub).map_err(|_| ApiError::Internal)?)
        }
        Method::Delete => {
            let endpoint = parse_endpoint(body.unwrap_or_default()).map_err(unprocessable)?;
            Some(json!({ "endpoint": endpoint }).to_string())
        }
        _ => return Err(ApiError::MethodNotAllowed),
    };
    Ok((user, body))
}
