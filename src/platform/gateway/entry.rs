//! The Worker's fetch handler: Origin check, routing, token check and forwarding to the
//! right object. Nothing reaches an object before the Origin and the token are checked.
//! Also `GET /healthz` (`?deep=1`: D1 reachability, the configuration problems and the
//! state of the key set fetched from `JWT_JWKS_URL`).

use worker::*;

use crate::domain::auth::credentials;
use crate::domain::errors::{ApiError, Close};
use crate::domain::health::DeepHealth;
use crate::domain::identity::Identity;
use crate::domain::ids::{dm_conversation_id, Id, StreamKey, ONLINE_ORG};
use crate::domain::query::Query;
use crate::domain::routes::{is_socket_path, route, Route, RouteError, SocketRoute};
use crate::platform::config::{config, Config};
use crate::platform::http::{self, answer_socket, refuse_socket};
use crate::platform::internal;
use crate::platform::jwks;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let cfg = config(&env);
    match handle(req, &env, &cfg).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            // Logged for the operator; the client only learns that something failed.
            console_error!("request failed: {e}");
            http::error(&ApiError::Internal)
        }
    }
}

async fn handle(req: Request, env: &Env, cfg: &Config) -> Result<Response> {
    let path = req.path();
    let query = http::query(&req);
    let guarded = is_socket_path(&path) || path.starts_with("/api/");
    if guarded
        && !cfg
            .settings
            .origin_allowed(req.headers().get("Origin")?.as_deref())
    {
        return http::error(&ApiError::OriginNotAllowed);
    }
    let upgrade = is_upgrade(&req)?;
    match route(req.method().as_ref(), &path) {
        Ok(Route::Health) if wants_deep(&query) => deep_health(env, cfg).await,
        Ok(Route::Health) => http::json(200, &serde_json::json!({"ok": true})),
        Ok(Route::Socket(_)) if !upgrade => http::error(&ApiError::UpgradeRequired),
        Ok(Route::Socket(socket)) => open_socket(&req, &query, env, cfg, socket).await,
        Ok(Route::Api(api)) => super::api::handle(req, env, cfg, api).await,
        Ok(Route::DevToken) => super::dev::token(&req, env, cfg).await,
        Err(RouteError::BadId(_)) if upgrade && is_socket_path(&path) => {
            refuse_socket(Close::BadRequest, offered_protocol(&req)?.as_deref())
        }
        Err(RouteError::BadId(e)) => http::error(&ApiError::BadRequest(e.to_string())),
        Err(RouteError::MethodNotAllowed) => http::error(&ApiError::MethodNotAllowed),
        Err(RouteError::NotFound) => http::error(&ApiError::NotFound("no such endpoint".into())),
    }
}

/// `?deep=1` (or `true`) on `/healthz`.
fn wants_deep(query: &Query) -> bool {
    query.has("deep", "1") || query.has("deep", "true")
}

/// D1 answers `SELECT 1` (else 503), the configuration problems by name and kind, and the
/// fetched key set's state.
async fn deep_health(env: &Env, cfg: &Config) -> Result<Response> {
    let d1 = match env.d1("DB") {
        Ok(db) => db.prepare("SELECT 1").run().await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = &d1 {
        console_error!("healthz: D1 unreachable: {e}");
    }
    let report = DeepHealth::new(d1.is_ok(), &cfg.problems).with_jwks(jwks::health(cfg));
    http::json(report.status(), &report)
}

fn is_upgrade(req: &Request) -> Result<bool> {
    Ok(req
        .headers()
        .get("Upgrade")?
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket")))
}

fn offered_protocol(req: &Request) -> Result<Option<String>> {
    Ok(credentials(
        None,
        req.headers().get("Sec-WebSocket-Protocol")?.as_deref(),
        None,
    )
    .protocol)
}

/// The query the object gets: only `since`, `presence` and the session marker travel on (the
/// token must not reach the object or its logs). `None` when `since` is not a number or
/// `presence` is not `batch`.
fn forwarded_query(query: &Query, session: bool) -> Option<String> {
    let since = query.get("since");
    let presence = query.get("presence");
    if since.is_some_and(|s| s.parse::<u64>().is_err()) || presence.is_some_and(|p| p != "batch") {
        return None;
    }
    let parts: Vec<String> = [
        since.map(|s| format!("since={s}")),
        session.then(|| internal::SESSION_QUERY.to_string()),
        presence.map(|_| "presence=batch".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    Some(parts.join("&"))
}

/// Verifies the token, resolves the stream and forwards the upgrade to its object.
async fn open_socket(
    req: &Request,
    query: &Query,
    env: &Env,
    cfg: &Config,
    socket: SocketRoute,
) -> Result<Response> {
    let creds = credentials(
        req.headers().get("Authorization")?.as_deref(),
        req.headers().get("Sec-WebSocket-Protocol")?.as_deref(),
        query.get("token"),
    );
    let protocol = creds.protocol.as_deref();
    let verified = match creds.token {
        Some(token) => jwks::verify(cfg, &token).await.ok(),
        None => None,
    };
    let Some(who) = verified else {
        return refuse_socket(Close::Unauthorized, protocol);
    };
    let Some(stream) = stream_for(&who, socket.clone()) else {
        return refuse_socket(Close::BadRequest, protocol);
    };
    let session = matches!(socket, SocketRoute::Session);
    let Some(query) = forwarded_query(query, session) else {
        return refuse_socket(Close::BadRequest, protocol);
    };
    let query = (!query.is_empty()).then_some(query);
    let resp = internal::open_socket(env, &stream, &who, query.as_deref()).await?;
    // When `bearer.<jwt>` is the only offer, `protocol` is that offer: browsers fail a
    // handshake whose offered protocols get no answer, and echoing the token to the client
    // that sent it reveals nothing. It is set here, so the token still never reaches the
    // object.
    answer_socket(resp, protocol)
}

fn stream_for(who: &Identity, socket: SocketRoute) -> Option<StreamKey> {
    let me = Id::parse(&who.user_id).ok()?;
    Some(match socket {
        SocketRoute::Conversation(id) => StreamKey::Conversation(id),
        SocketRoute::Dm(peer) => StreamKey::Conversation(dm_conversation_id(&me, &peer).ok()?),
        SocketRoute::Notifications | SocketRoute::Session => StreamKey::User(me),
        SocketRoute::OrgEvents(org) => StreamKey::Org(org),
        SocketRoute::Online => StreamKey::Org(Id::parse(ONLINE_ORG).ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_health_is_asked_for_with_deep_1_or_true() {
        let deep = |q: &str| wants_deep(&Query::of_url(&format!("http://x/healthz{q}")));
        assert!(deep("?deep=1") && deep("?deep=true") && deep("?a=b&deep=1"));
        assert!(!deep("") && !deep("?deep=0") && !deep("?deep") && !deep("?shallow=1"));
    }
}
