//! The server HTTP API (`/api/*`): checks the caller (server key, or a user JWT where the
//! contract allows it), the body (JSON, size: a `Content-Length` over the limit is refused
//! before the body is read, a chunked body once read), then forwards to the object that
//! owns the stream (`POST /api/notifications`, which may reach many inboxes, is in
//! `notify`). Objects answer in the API's own error shape.

use worker::*;

use crate::domain::auth::{api_key_matches, bearer_token};
use crate::domain::errors::ApiError;
use crate::domain::identity::Identity;
use crate::domain::routes::ApiRoute;
use crate::platform::config::Config;
use crate::platform::http;
use crate::platform::internal::{self, Command};
use crate::platform::jwks;

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
async fn caller(req: &Request, cfg: &Config, route: &ApiRoute) -> Result<Option<Caller>> {
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
    Ok(jwks::verify(cfg, bearer).await.ok().map(Caller::User))
}

pub async fn handle(
    mut req: Request,
    env: &Env,
    cfg: &Config,
    route: ApiRoute,
) -> Result<Response> {
    if route == ApiRoute::PushPublicKey {
        return super::push::public_key(cfg); // public: browsers fetch it before signing in
    }
    let Some(caller) = caller(&req, cfg, &route).await? else {
        return http::error(&ApiError::Unauthorized);
    };
    match checked(&mut req, &caller, &route).await? {
        Err(e) => http::error(&e),
        Ok((body, key)) => match &route {
            ApiRoute::PushSubscriptions(target) => {
                let user = match &caller {
                    Caller::User(who) => Some(who.user_id.as_str()),
                    Caller::Server => None,
                };
                super::push::subscriptions(&req, env, cfg, user, target.as_ref(), body).await
            }
            _ => forward(&req, env, &caller, route, body, key.as_deref()).await,
        },
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
    // A push unsubscribe (`DELETE`) carries the subscription as its body (SPEC §11).
    let push_delete =
        req.method() == Method::Delete && matches!(route, ApiRoute::PushSubscriptions(_));
    if !matches!(req.method(), Method::Post | Method::Put) && !push_delete {
        return Ok(Ok((None, key)));
    }
    if declared_too_large(req.headers().get("Content-Length")?.as_deref()) {
        return Ok(Err(ApiError::PayloadTooLarge));
    }
    let json_type = req
        .headers()
        .get("Content-Type")?
        .is_some_and(|t| t.trim().starts_with("application/json"));
    // Without a Content-Length (chunked) the size is known only once read.
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

/// True when a `Content-Length` header announces more than [`MAX_BODY_BYTES`].
fn declared_too_large(content_length: Option<&str>) -> bool {
    content_length.and_then(|n| n.trim().parse::<u64>().ok()) > Some(MAX_BODY_BYTES as u64)
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
    // Passed on as sent (the object decodes it); the fragment never reaches a server.
    let url = req.inner().url();
    let query = url.find('?').map(|i| &url[i..]).unwrap_or_default();
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
            return super::notify::publish(env, body.unwrap_or_default(), key).await
        }
        ListFailedWebhooks => return super::webhooks::list(req, env).await,
        RetryWebhook(id) => return super::webhooks::retry(env, id.as_str()).await,
        // Answered in `handle`.
        PushPublicKey | PushSubscriptions(_) => {
            return http::error(&ApiError::NotFound("no such endpoint".into()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_over_the_limit_is_refused_before_reading() {
        assert!(
            !declared_too_large(Some("65536")),
            "exactly the limit passes"
        );
        assert!(declared_too_large(Some("65537")));
        assert!(declared_too_large(Some(" 99999999999 ")));
        // Absent (chunked) or unreadable: decided after reading.
        assert!(!declared_too_large(None));
        assert!(!declared_too_large(Some("lots")));
    }
}
