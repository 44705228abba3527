//! The key set of `JWT_JWKS_URL` (SPEC §8), fetched from the identity provider and kept per
//! isolate on the schedule of [`crate::domain::jwks`]. Only a public-key token can make a
//! request fetch: the first one of an isolate, one after the set's lifetime, and one whose
//! `kid` is unknown (once a minute); every other request verifies with the set in memory.
//! A failed fetch is logged and the last good set stays in use; the keys of a set the
//! service cannot use are logged once per distinct set, like `JWT_JWKS`'s at start-up.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use worker::{AbortSignal, Delay, Fetch, Headers, Method};

use crate::domain::auth::{uses_public_key, AuthConfigError, AuthError};
use crate::domain::identity::Identity;
use crate::domain::jwks::{
    max_age_ms, JwksHealth, Need, Schedule, Step, FETCH_TIMEOUT_MS, MAX_BODY_BYTES,
};
use crate::domain::keys::KeySet;
use crate::platform::config::Config;
use crate::platform::http;
use crate::platform::runtime::now_ms;
use crate::platform::webcrypto::WebCrypto;

/// How often a request waiting for another request's fetch looks again, and how many times.
const POLL: Duration = Duration::from_millis(20);
const MAX_POLLS: u32 = 600;

/// The isolate's fetched set and its schedule.
#[derive(Default)]
struct State {
    keys: Rc<KeySet>,
    schedule: Schedule,
    /// SHA-256 of the last body read, so that a set's skipped keys are logged once.
    body_hash: Option<[u8; 32]>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Why a fetch brought no set to use.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("{0}")]
    Runtime(#[from] worker::Error),
    #[error("HTTP {0}")]
    Status(u16),
    #[error("the body is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("{0}")]
    NotASet(#[from] AuthConfigError),
    #[error("the set has no usable key")]
    NoUsableKey,
}

/// Verifies `token` with the configured keys and, for a public-key token when
/// `JWT_JWKS_URL` is set, the fetched set (fetched first when the schedule says so).
pub async fn verify(cfg: &Config, token: &str) -> Result<Identity, AuthError> {
    let Some(url) = cfg.jwks_url.as_deref().filter(|_| uses_public_key(token)) else {
        return cfg
            .verifier
            .verify(&WebCrypto, &KeySet::default(), token, now_ms())
            .await;
    };
    advance(url, Need::Fresh).await;
    // An unknown kid: join a fetch under way, then maybe fetch once more (the schedule
    // allows one a minute); each step is followed by another try.
    let mut steps = 0;
    loop {
        let keys = STATE.with_borrow(|s| s.keys.clone());
        let result = cfg
            .verifier
            .verify(&WebCrypto, &keys, token, now_ms())
            .await;
        if !matches!(result, Err(AuthError::UnknownKey))
            || steps == 2
            || !advance(url, Need::Kid).await
        {
            return result;
        }
        steps += 1;
    }
}

/// The fetched set's state for `GET /healthz?deep=1` (only with `JWT_JWKS_URL`).
pub fn health(cfg: &Config) -> Option<JwksHealth> {
    cfg.jwks_url
        .as_ref()
        .map(|_| STATE.with_borrow(|s| s.schedule.health()))
}

/// Takes the schedule's step for `need`; true when the set may have changed.
async fn advance(url: &str, need: Need) -> bool {
    match STATE.with_borrow(|s| s.schedule.next(need, now_ms())) {
        Step::Use => false,
        Step::Wait => {
            for _ in 0..MAX_POLLS {
                Delay::from(POLL).await;
                if STATE.with_borrow(|s| s.schedule.next(need, now_ms())) != Step::Wait {
                    break;
                }
            }
            true
        }
        Step::Fetch => {
            refresh(url, need).await;
            true
        }
    }
}

/// Fetches the set and records the outcome: a new set, or a logged failure that keeps the
/// last good one.
async fn refresh(url: &str, need: Need) {
    STATE.with_borrow_mut(|s| s.schedule.started(need, now_ms()));
    let fetched = match fetch(url).await {
        Ok((body, cache_control)) => parse(&body).map(|keys| (keys, cache_control)),
        Err(e) => Err(e),
    };
    let now = now_ms();
    STATE.with_borrow_mut(|s| match fetched {
        Ok((keys, cache_control)) => {
            s.schedule
                .succeeded(now, max_age_ms(cache_control.as_deref()), keys.len());
            s.keys = Rc::new(keys);
        }
        Err(e) => {
            s.schedule.failed(now);
            match s.schedule.health().keys {
                0 => worker::console_error!(
                    "JWT_JWKS_URL: fetching the key set failed ({e}); no set yet, so tokens of its keys are refused"
                ),
                kept => worker::console_error!(
                    "JWT_JWKS_URL: fetching the key set failed ({e}); the last good set ({kept} keys) stays in use"
                ),
            }
        }
    });
}

/// The body and `Cache-Control` of a 200 answer from `url`, within the time and size limits.
async fn fetch(url: &str) -> Result<(String, Option<String>), FetchError> {
    let headers = Headers::new();
    headers.set("Accept", "application/json")?;
    // The schedule is the cache: an unknown kid must see the provider's current set.
    let request = http::request(Method::Get, url, &headers, None, true)?;
    let timeout = worker::web_sys::AbortSignal::timeout_with_u32(FETCH_TIMEOUT_MS as u32);
    let mut response = Fetch::Request(request)
        .send_with_signal(&AbortSignal::from(timeout))
        .await?;
    if response.status_code() != 200 {
        return Err(FetchError::Status(response.status_code()));
    }
    let declared = response.headers().get("Content-Length")?;
    if declared.and_then(|n| n.trim().parse::<usize>().ok()) > Some(MAX_BODY_BYTES) {
        return Err(FetchError::TooLarge);
    }
    let cache_control = response.headers().get("Cache-Control")?;
    let body = response.text().await?;
    if body.len() > MAX_BODY_BYTES {
        return Err(FetchError::TooLarge);
    }
    Ok((body, cache_control))
}

/// The usable keys of a fetched body; its skipped keys are logged when the body is new.
fn parse(body: &str) -> Result<KeySet, FetchError> {
    let hash: [u8; 32] = Sha256::digest(body.as_bytes()).into();
    let new = STATE.with_borrow_mut(|s| s.body_hash.replace(hash) != Some(hash));
    let (keys, skipped) = KeySet::parse(body, "JWT_JWKS_URL")?;
    if new {
        for problem in &skipped {
            worker::console_warn!("configuration: {problem}");
        }
    }
    if keys.is_empty() {
        return Err(FetchError::NoUsableKey);
    }
    Ok(keys)
}
