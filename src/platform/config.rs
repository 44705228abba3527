//! Reads the Worker's environment: `[vars]` into [`Settings`], secrets and claim names into
//! the JWT verifier, `JWT_JWKS_URL` (fetched by [`super::jwks`]), the server API keys. Built once per isolate on its first request and
//! reused; every configuration problem is logged then, once per isolate, by variable name
//! (never with a secret's value), and kept for `GET /healthz?deep=1`.

use std::cell::OnceCell;
use std::rc::Rc;

use worker::Env;

use crate::domain::auth::JwtVerifier;
use crate::domain::config::{
    api_keys, claim_names, dev_tokens_on, jwks_url, secret_problems, vapid, Problem, Settings,
    Severity,
};
use crate::domain::push::vapid::Vapid;

/// Everything the Worker needs from its environment.
pub struct Config {
    pub settings: Settings,
    pub verifier: JwtVerifier,
    /// Where the identity provider serves its key set, if anywhere.
    pub jwks_url: Option<String>,
    pub api_keys: Vec<String>,
    /// `DEV_TOKENS=1` in `.dev.vars` enables `GET /dev/token` (never set it in production).
    pub dev_tokens: bool,
    /// The Web Push key pair (SPEC §11), when configured and valid.
    pub vapid: Option<Vapid>,
    /// What was wrong with the environment (already logged).
    pub problems: Vec<Problem>,
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

/// Settings alone, for objects (they never verify tokens). Problems are not logged here:
/// the Worker logs them once, and every object would repeat them.
pub fn settings(env: &Env) -> Settings {
    Settings::from_lookup(|k| var(env, k)).0
}

/// The isolate's config, built and checked on first use.
pub fn config(env: &Env) -> Rc<Config> {
    CONFIG.with(|cell| {
        cell.get_or_init(|| {
            let config = load(env);
            log_problems(&config.problems);
            Rc::new(config)
        })
        .clone()
    })
}

fn load(env: &Env) -> Config {
    let get = |k: &str| var(env, k);
    let (settings, mut problems) = Settings::from_lookup(get);
    let (claims, claim_problems) = claim_names(get);
    problems.extend(claim_problems);
    // Unusable JWKS keys are left out: tokens for them are refused, never accepted.
    let (verifier, jwks_problems) = JwtVerifier::new(
        get("JWT_SECRET").as_deref(),
        get("JWT_JWKS").as_deref(),
        get("JWT_ISSUER").as_deref(),
        get("JWT_AUDIENCE").as_deref(),
    );
    problems.extend(jwks_problems.into_iter().map(Problem::from));
    let verifier = verifier.with_claims(claims);
    let (jwks_url, url_problems) = jwks_url(get("JWT_JWKS_URL"));
    problems.extend(url_problems);
    let api_keys = api_keys(get("API_KEY"));
    let dev_tokens = dev_tokens_on(get("DEV_TOKENS"));
    let token_keys = verifier.has_keys() || jwks_url.is_some();
    problems.extend(secret_problems(token_keys, &api_keys, dev_tokens));
    let (vapid, vapid_problems) = vapid(get);
    problems.extend(vapid_problems);
    Config {
        vapid,
        settings,
        verifier,
        jwks_url,
        api_keys,
        dev_tokens,
        problems,
    }
}

fn log_problems(problems: &[Problem]) {
    for p in problems {
        match p.severity() {
            Severity::Error => worker::console_error!("configuration: {p}"),
            Severity::Warning => worker::console_warn!("configuration: {p}"),
        }
    }
}
