//! `GET /dev/token`: development tokens for the demo page and local experiments.
//!
//! Enabled only by `DEV_TOKENS=1` in `.dev.vars` (never in `wrangler.toml`, never in
//! production); otherwise the route answers the same JSON 404 as any unknown path.
//!
//! `?user=<id>&name=<n>&orgs=a,b&join=<conversation_id>` returns
//! `{"token": "<HS256 JWT valid 1 h>", "user_id"}` signed with `JWT_SECRET`, the user id and
//! orgs under the configured claim names (`JWT_USER_ID_CLAIM`'s first, `JWT_ORGS_CLAIM`); with `join`,
//! the user is also added to that conversation server-side (so the API key never reaches
//! a browser).

use serde_json::{json, Map, Value};
use worker::{Env, Method, Request, Response, Result};

use crate::domain::errors::ApiError;
use crate::domain::identity::ClaimNames;
use crate::domain::ids::{Id, StreamKey};
use crate::domain::jwt::hs256_token;
use crate::domain::query::Query;
use crate::platform::config::{var, Config};
use crate::platform::http;
use crate::platform::internal::{self, Command};
use crate::platform::runtime::now_ms;

/// Lifetime of a development token.
const TTL_SECS: i64 = 3600;

pub async fn token(req: &Request, env: &Env, cfg: &Config) -> Result<Response> {
    if !cfg.dev_tokens {
        return http::error(&ApiError::NotFound("no such endpoint".into()));
    }
    if req.method() != Method::Get {
        return http::error(&ApiError::MethodNotAllowed);
    }
    let ask = match DevRequest::from_query(&http::query(req)) {
        Ok(ask) => ask,
        Err(e) => return http::error(&e),
    };
    let Some(secret) = var(env, "JWT_SECRET") else {
        return http::error(&ApiError::BadRequest("JWT_SECRET is not configured".into()));
    };
    let claims = ask.claims(now_ms() / 1000, cfg.verifier.claim_names());
    let token = hs256_token(secret.as_bytes(), &claims);
    if let Some(conversation) = &ask.join {
        let resp = join(env, conversation, &ask.user).await?;
        if resp.status_code() >= 300 {
            // e.g. a dm:… room, whose members are fixed: pass the object's answer on.
            return Ok(resp);
        }
    }
    http::json(200, &json!({"token": token, "user_id": ask.user.as_str()}))
}

/// What `GET /dev/token` was asked for, validated.
struct DevRequest {
    user: Id,
    name: String,
    orgs: Vec<Id>,
    join: Option<Id>,
}

impl DevRequest {
    fn from_query(query: &Query) -> std::result::Result<Self, ApiError> {
        let param = |name: &str| {
            query
                .get(name)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let bad = |m: &str| ApiError::BadRequest(m.into());
        let user = param("user")
            .and_then(|u| Id::parse(&u).ok())
            .ok_or_else(|| bad("user must be 1-128 characters of [A-Za-z0-9_.:-]"))?;
        let orgs = param("orgs")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(Id::parse)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| bad("orgs must be a comma list of valid ids"))?;
        let join = param("join")
            .map(|c| Id::parse(&c))
            .transpose()
            .map_err(|_| bad("join must be a valid conversation id"))?;
        let name = param("name").unwrap_or_else(|| user.as_str().to_string());
        Ok(DevRequest {
            user,
            name,
            orgs,
            join,
        })
    }

    /// The token's claims, issued at `now` (Unix seconds) and valid for [`TTL_SECS`].
    fn claims(&self, now: i64, names: &ClaimNames) -> Map<String, Value> {
        let mut custom = Map::new();
        let user_claim = names.user_id.first().map_or("sub", String::as_str);
        custom.insert(user_claim.into(), json!(self.user.as_str()));
        custom.insert(
            "name".into(),
            json!(self.name.chars().take(64).collect::<String>()),
        );
        custom.insert("username".into(), json!(self.user.as_str()));
        if !self.orgs.is_empty() {
            let orgs: Vec<&str> = self.orgs.iter().map(Id::as_str).collect();
            custom.insert(names.orgs.clone(), json!(orgs));
        }
        custom.insert("iat".into(), json!(now));
        custom.insert("exp".into(), json!(now + TTL_SECS));
        custom
    }
}

/// Makes `user` a member of `conversation`, as `PUT /api/.../members/{user}` would.
async fn join(env: &Env, conversation: &Id, user: &Id) -> Result<Response> {
    let cmd = Command {
        method: Method::Put,
        path: format!("/members/{}", user.as_str()),
        body: None,
        user: None,
        idempotency_key: None,
        fingerprint: None,
    };
    internal::command(env, &StreamKey::Conversation(conversation.clone()), cmd).await
}
