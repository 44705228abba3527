//! The server HTTP API (`/api/*`): key or user-JWT check, then the endpoint.

use worker::*;

use super::config::Config;
use super::http;
use super::socket::now_ms;
use crate::domain::auth::api_key_matches;
use crate::domain::errors::ApiError;
use crate::domain::identity::Identity;
use crate::domain::routes::ApiRoute;

/// Who is calling the API.
pub enum Caller {
    Server,
    User(Identity),
}

/// The server key opens every route; a user JWT only the routes readable by users.
fn caller(req: &Request, cfg: &Config, route: &ApiRoute) -> Result<Option<Caller>> {
    let Some(bearer) = req
        .headers()
        .get("Authorization")?
        .and_then(|h| h.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
    else {
        return Ok(None);
    };
    if api_key_matches(&bearer, &cfg.api_keys) {
        return Ok(Some(Caller::Server));
    }
    if !route.user_readable() {
        return Ok(None);
    }
    Ok(cfg
        .verifier
        .verify(&bearer, now_ms())
        .ok()
        .map(Caller::User))
}

pub async fn handle(req: Request, _env: &Env, cfg: &Config, route: ApiRoute) -> Result<Response> {
    let Some(_caller) = caller(&req, cfg, &route)? else {
        return http::error(&ApiError::Unauthorized);
    };
    http::error(&ApiError::NotFound("not implemented yet".into()))
}
