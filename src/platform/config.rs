//! Reads the Worker's environment: `[vars]` into [`Settings`], secrets into the JWT verifier
//! and the server API keys. Built once per isolate and reused across requests.

use std::cell::OnceCell;
use std::rc::Rc;

use worker::Env;

use crate::domain::auth::JwtVerifier;
use crate::domain::config::{api_keys, Settings};

/// Everything the Worker needs from its environment.
pub struct Config {
    pub settings: Settings,
    pub verifier: JwtVerifier,
    pub api_keys: Vec<String>,
    /// `DEV_TOKENS=1` in `.dev.vars` enables `GET /dev/token` (never set it in production).
    pub dev_tokens: bool,
}

thread_local! {
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

/// A string var or secret, if set.
pub fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .map(|v| v.to_string())
        .or_else(|_| env.secret(name).map(|v| v.to_string()))
        .ok()
}

/// Settings alone, for objects (they never verify tokens).
pub fn settings(env: &Env) -> Settings {
    Settings::from_lookup(|k| var(env, k))
}

/// The isolate's config, built on first use. A bad `JWT_JWKS` is logged and leaves only
/// HS256 (if configured): tokens for the broken keys are then refused, never accepted.
pub fn config(env: &Env) -> Rc<Config> {
    CONFIG.with(|cell| {
        cell.get_or_init(|| {
            let verifier = JwtVerifier::new(
                var(env, "JWT_SECRET").as_deref(),
                var(env, "JWT_JWKS").as_deref(),
                var(env, "JWT_ISSUER").as_deref(),
                var(env, "JWT_AUDIENCE").as_deref(),
            )
            .unwrap_or_else(|e| {
                // Fail closed: keys from the broken set are refused, and the issuer and
                // audience checks still apply to HS256 tokens.
                worker::console_error!("configuration: {e}");
                JwtVerifier::new(
                    var(env, "JWT_SECRET").as_deref(),
                    None,
                    var(env, "JWT_ISSUER").as_deref(),
                    var(env, "JWT_AUDIENCE").as_deref(),
                )
                .unwrap_or_default()
            });
            Rc::new(Config {
                settings: settings(env),
                verifier,
                api_keys: api_keys(var(env, "API_KEY")),
                dev_tokens: var(env, "DEV_TOKENS").is_some_and(|v| v == "1" || v == "true"),
            })
        })
        .clone()
    })
}
