//! The server HTTP API (`/api/*`): checks the caller (server key, or a user JWT where the
//! contract allows it), the body (JSON, size), then forwards to the object that owns the
//! stream. Objects answer in the API's own error shape.

use worker::*;

use super::config::Config;
use super::http;
use super::internal::{self, Command};
use super::socket::now_ms;
use crate::domain::auth::{api_key_matches, bearer_token};
use crate::domain::errors::{json_error, ApiError};
use crate::domain::identity::Identity;
use crate::domain::ids::{Id, StreamKey};
use crate::domain::inbox::{validate, NotificationIn, MAX_RECIPIENTS};
use crate::domain::routes::ApiRoute;

/// Largest accepted request body.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Who is calling the API.
enum Caller {
    Server,
    User(Identity),
}

/// The server key opens every route; a user JWT only the routes readable by users.
fn caller(req: &Request, cfg: &Config, route: &ApiRoute) -> Result<Option<Caller>> {
    let header = req.headers().get("Authorization")?;
    let Some(bearer) = header.as_deref().and_then(bearer_token) else {
        return Ok(None);
    };
    if api_key_matches(bearer, &cfg.api_keys) {
        return Ok(Some(Caller::Server));
    }
    if !route.user_readable() {
        return Ok(None);
    }
    Ok(cfg.verifier.verify(bearer, now_ms()).ok().map(Caller::User))
}

pub async fn handle(
    mut req: Request,
    env: &Env,
    cfg: &Config,
    route: ApiRoute,
) -> Result<Response> {
    let Some(caller) = caller(&req, cfg, &route)? else {
        return http::error(&ApiError::Unauthorized);
    };
    match checked(&mut req, &caller, &route).await? {
        Err(e) => http::error(&e),
        Ok((body, key)) => forward(&req, env, &caller, route, body, key.as_deref()).await,
    }
}

type Checked = std::result::Result<(Option<String>, Option<String>), ApiError>;

/// Body and header checks shared by every route.
async fn checked(req: &mut Request, caller: &Caller, route: &ApiRoute) -> Result<Checked> {
    if let (Caller::User(who), ApiRoute::ListNotifications(user)) = (caller, route) {
        if who.user_id != user.as_str() {
            return Ok(Err(ApiError::Forbidden(
                "a user may read only their own notifications".into(),
            )));
        }
    }
    let key = req.headers().get("Idempotency-Key")?;
    if key
        .as_ref()
        .is_some_and(|k| k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY)
    {
        return Ok(Err(ApiError::BadRequest(format!(
            "Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters"
        ))));
    }
    if !matches!(req.method(), Method::Post | Method::Put) {
        return Ok(Ok((None, key)));
    }
    let json_type = req
        .headers()
        .get("Content-Type")?
        .is_some_and(|t| t.trim().starts_with("application/json"));
    let body = req.text().await?;
    if body.len() > MAX_BODY_BYTES {
        return Ok(Err(ApiError::PayloadTooLarge));
    }
    if body.is_empty() && req.method() == Method::Put {
        return Ok(Ok((None, key)));
    }
    if !json_type {
        return Ok(Err(ApiError::UnsupportedMediaType));
    }
    if serde_json::from_str::<serde_json::Value>(&body).is_err() {
        return Ok(Err(ApiError::BadRequest("body is not valid JSON".into())));
    }
    Ok(Ok((Some(body), key)))
}

async fn forward(
    req: &Request,
    env: &Env,
    caller: &Caller,
    route: ApiRoute,
    body: Option<String>,
    key: Option<&str>,
) -> Result<Response> {
    use ApiRoute::*;
    let query = req
        .url()?
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let (method, path) = match &route {
        PostMessage(_) => (Method::Post, "/messages".to_string()),
        ListMessages(_) => (Method::Get, format!("/messages{query}")),
        PutMember(_, u) => (Method::Put, format!("/members/{u}")),
        DeleteMember(_, u) => (Method::Delete, format!("/members/{u}")),
        ListMembers(_) => (Method::Get, "/members".to_string()),
        ConversationPresence(_) | OrgPresence(_) => (Method::Get, "/presence".to_string()),
        PublishOrgEvent(_) => (Method::Post, "/events".to_string()),
        PutOrgMember(_, u) => (Method::Put, format!("/members/{u}")),
        DeleteOrgMember(_, u) => (Method::Delete, format!("/members/{u}")),
        ListNotifications(_) => (Method::Get, format!("/notifications{query}")),
        PublishNotifications => {
            return publish_notifications(env, body.unwrap_or_default(), key).await
        }
    };
    let Some(stream) = route.stream() else {
        return http::error(&ApiError::NotFound("no such endpoint".into()));
    };
    let user = match caller {
        Caller::User(who) => Some(who.user_id.as_str()),
        Caller::Server => None,
    };
    let cmd = Command {
        method,
        path,
        body,
        user,
        idempotency_key: key,
        fingerprint: None,
    };
    internal::command(env, &stream, cmd).await
}

/// Body of `POST /api/notifications`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Publish {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user_ids: Option<Vec<String>>,
    notification: serde_json::Value,
}

/// Validates recipients and notification first (so a bad request reaches no inbox), then
/// stores and pushes in each user's inbox, in order.
async fn publish_notifications(env: &Env, body: String, key: Option<&str>) -> Result<Response> {
    let (recipients, notification) = match validate_publish(&body) {
        Ok(v) => v,
        Err(why) => return http::error(&ApiError::Unprocessable(why)),
    };
    // Each inbox remembers the key with the fingerprint of the whole request, so a repeat
    // is replayed per user and the same key with another body is a conflict.
    let print = super::idempotency::fingerprint(&body);
    let mut results = Vec::with_capacity(recipients.len());
    for user in &recipients {
        let cmd = Command {
            method: Method::Post,
            path: "/notify".into(),
            body: Some(notification.clone()),
            user: None,
            idempotency_key: key,
            fingerprint: Some(&print),
        };
        let mut resp = internal::command(env, &StreamKey::User(user.clone()), cmd).await?;
        if resp.status_code() != 201 {
            return Ok(resp);
        }
        results.push(resp.json::<serde_json::Value>().await?);
    }
    http::json(201, &serde_json::json!({ "notifications": results }))
}

fn validate_publish(body: &str) -> std::result::Result<(Vec<Id>, String), String> {
    let p: Publish = serde_json::from_str(body).map_err(|e| json_error(&e))?;
    let n: NotificationIn =
        serde_json::from_value(p.notification.clone()).map_err(|e| format!("notification: {e}"))?;
    validate(&n).map_err(|e| e.message)?;
    Ok((
        recipients(p.user_id, p.user_ids)?,
        p.notification.to_string(),
    ))
}

fn recipients(
    user_id: Option<String>,
    user_ids: Option<Vec<String>>,
) -> std::result::Result<Vec<Id>, String> {
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
