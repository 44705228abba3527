//! `GET /dev/token`: development tokens for the demo page and local experiments.
//!
//! Enabled only by `DEV_TOKENS=1` in `.dev.vars` (never in `wrangler.toml`, never in
//! production); otherwise the route answers the same JSON 404 as any unknown path.
//!
//! `?user=<id>&name=<n>&orgs=a,b&join=<conversation_id>` returns
//! `{"token": "<HS256 JWT valid 1 h>", "user_id"}` signed with `JWT_SECRET`; with `join`,
//! the user is also added to that conversation server-side (so the API key never reaches
//! a browser).

use chrono::DateTime;
use jwt_compact::{
    alg::{Hs256, Hs256Key},
    AlgorithmExt, Claims, Header,
};
use serde_json::{json, Map, Value};
use worker::{Env, Method, Request, Response, Result};

use super::config::{var, Config};
use super::http;
use super::internal::{self, Command};
use super::socket::now_ms;
use crate::domain::errors::ApiError;
use crate::domain::ids::{Id, StreamKey};

/// Lifetime of a development token.
const TTL_SECS: i64 = 3600;

pub async fn token(req: &Request, env: &Env, cfg: &Config) -> Result<Response> {
    if !cfg.dev_tokens {
        return http::error(&ApiError::NotFound("no such endpoint".into()));
    }
    if req.method() != Method::Get {
        return http::error(&ApiError::MethodNotAllowed);
    }
    let url = req.url()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty())
    };
    let bad = |m: &str| http::error(&ApiError::BadRequest(m.into()));
    let Some(user) = param("user").and_then(|u| Id::parse(&u).ok()) else {
        return bad("user must be 1-128 characters of [A-Za-z0-9_.:-]");
    };
    let mut orgs = Vec::new();
    for org in param("orgs").unwrap_or_default().split(',').map(str::trim) {
        if org.is_empty() {
            continue;
        }
        match Id::parse(org) {
            Ok(o) => orgs.push(Value::String(o.as_str().to_string())),
            Err(_) => return bad("orgs must be a comma list of valid ids"),
        }
    }
    let join = match param("join").map(|c| Id::parse(&c)) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => return bad("join must be a valid conversation id"),
    };
    let Some(secret) = var(env, "JWT_SECRET") else {
        return bad("JWT_SECRET is not configured");
    };

    let now = now_ms() / 1000;
    let mut custom = Map::new();
    custom.insert("sub".into(), json!(user.as_str()));
    let name = param("name").unwrap_or_else(|| user.as_str().to_string());
    custom.insert(
        "name".into(),
        json!(name.chars().take(64).collect::<String>()),
    );
    custom.insert("username".into(), json!(user.as_str()));
    if !orgs.is_empty() {
        custom.insert("orgs".into(), Value::Array(orgs));
    }
    let mut claims = Claims::new(custom);
    claims.issued_at = DateTime::from_timestamp(now, 0);
    claims.expiration = DateTime::from_timestamp(now + TTL_SECS, 0);
    let Ok(token) = Hs256.token(&Header::empty(), &claims, &Hs256Key::new(secret)) else {
        return http::error(&ApiError::Internal);
    };

    if let Some(conversation) = join {
        let resp = internal::command(
            env,
            &StreamKey::Conversation(conversation),
            Command {
                method: Method::Put,
                path: format!("/members/{}", user.as_str()),
                body: None,
                user: None,
                idempotency_key: None,
                fingerprint: None,
            },
        )
        .await?;
        if resp.status_code() >= 300 {
            // e.g. a dm:… room, whose members are fixed: pass the object's answer on.
            return Ok(resp);
        }
    }
    http::json(200, &json!({"token": token, "user_id": user.as_str()}))
}
