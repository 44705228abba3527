//! The e2e harness: the shared server, trials that turn panics into failures with their
//! location, development tokens signed like the Worker expects, and HTTP helpers.
// Not every helper is used by every test file yet.
#![allow(dead_code)]

mod endpoint;
mod evict;
mod idp;
mod objects;
mod process;
mod push_service;
pub mod receiver;
mod server;
mod state;
mod ws;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::DateTime;
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header};
use libtest_mimic::{Failed, Trial};
use rand::Rng;
use serde_json::{json, Map, Value};

pub use endpoint::{dm_id, per_endpoint, with_token, Endpoint, EndpointCase, Target};
pub use idp::{key_set, Idp, IdpKey};
pub use objects::write_object;
pub use push_service::{vapid_keys, Browser, PushService, Pushed, VAPID_SUBJECT};
pub use server::{Killed, Server};
pub use state::{new_state_dir, unpack_fixture};
pub use ws::{handshake_status, Ws};

/// What every test body returns; `?` works on `Result<_, String>`.
pub type TestResult = Result<(), Failed>;

static SERVER: OnceLock<Server> = OnceLock::new();

/// `[vars]` of the shared server that differ from `wrangler.toml`: a small org event window
/// so resuming beyond it can be tested with a handful of events, and a VAPID key pair for
/// the Web Push trials (`push.rs`; harmless elsewhere: nobody else subscribes).
pub const ORG_EVENT_RETENTION: u64 = 5;

/// Starts the server shared by all trials of this run.
pub fn start_shared() -> Result<&'static Server, String> {
    let retention = ORG_EVENT_RETENTION.to_string();
    let (public, private) = vapid_keys();
    let server = Server::try_start(&[
        ("ORG_EVENT_RETENTION", &retention),
        ("VAPID_PUBLIC_KEY", &public),
        ("VAPID_PRIVATE_KEY", &private),
        ("VAPID_SUBJECT", VAPID_SUBJECT),
    ])?;
    Ok(SERVER.get_or_init(|| server))
}

/// The shared server (trials run only after [`start_shared`]).
pub fn server() -> &'static Server {
    SERVER.get().expect("the shared server was not started")
}

/// Stops the shared server, and the tuned one, if they were started (statics are never
/// dropped).
pub fn stop_shared(keep_log: bool) {
    let hooked = receiver::HOOKED.get().map(|(_, s)| s);
    for s in [SERVER.get(), TUNED.get().map(|(_, s)| s), hooked]
        .into_iter()
        .flatten()
    {
        s.stop(keep_log);
    }
}

static TUNED: OnceLock<(Vec<(String, String)>, Server)> = OnceLock::new();

/// A second server with these `[vars]` overridden, for trials that need other limits than
/// the shared one. The first trial that asks starts it and the others wait for it, so one
/// start-up serves them all; every caller must ask for the same vars.
pub fn tuned_server(vars: &[(&str, &str)]) -> &'static Server {
    let wanted: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (started_with, server) =
        TUNED.get_or_init(|| (wanted.clone(), Server::start_with_vars(vars)));
    assert_eq!(started_with, &wanted, "one tuned server, one set of vars");
    server
}

// ---------------------------------------------------------------- trials

thread_local! {
    static IN_TRIAL: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Inside a trial a panic is recorded (message and location) instead of printed; elsewhere
/// the previous hook runs.
pub fn install_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if IN_TRIAL.with(Cell::get) {
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
        } else {
            previous(info);
        }
    }));
}

/// A trial running `body` against the shared server; a panic becomes a failure.
pub fn trial<F>(name: impl Into<String>, body: F) -> Trial
where
    F: FnOnce(&Server) -> TestResult + Send + 'static,
{
    Trial::test(name, move || {
        IN_TRIAL.with(|t| t.set(true));
        let outcome = panic::catch_unwind(AssertUnwindSafe(move || body(server())));
        IN_TRIAL.with(|t| t.set(false));
        outcome.unwrap_or_else(|_| {
            let msg = LAST_PANIC.with(|p| p.borrow_mut().take());
            Err(msg.unwrap_or_else(|| "test panicked".into()).into())
        })
    })
}

/// A fresh id (`prefix-xxxxxxxx`) so trials never share a room, inbox or org.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::thread_rng().gen::<u32>())
}

// ---------------------------------------------------------------- tokens

/// `KEY="value"` / `KEY=value` lines of `.dev.vars` (fallback `.dev.vars.example`).
fn dev_vars() -> &'static HashMap<String, String> {
    static VARS: OnceLock<HashMap<String, String>> = OnceLock::new();
    VARS.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        [".dev.vars", ".dev.vars.example"]
            .iter()
            .find_map(|name| std::fs::read_to_string(root.join(name)).ok())
            .map(|text| parse_vars(&text))
            .unwrap_or_default()
    })
}

fn parse_vars(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let quoted =
                v.len() >= 2 && (v.starts_with('"') || v.starts_with('\'')) && v.ends_with(&v[..1]);
            let v = if quoted { &v[1..v.len() - 1] } else { v };
            (
                k.trim().trim_start_matches("export ").to_string(),
                v.to_string(),
            )
        })
        .collect()
}

fn dev_var(key: &str) -> String {
    dev_vars()
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("{key} is not set in .dev.vars or .dev.vars.example"))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}

/// HS256 token with `claims` (JSON object) merged over `{sub, exp: now+3600, iat: now}`.
/// A `null` claim removes that key (e.g. `{"exp": null}` for a token without expiry).
pub fn token_with(claims: Value) -> String {
    sign_with(claims, &dev_var("JWT_SECRET"))
}

/// A valid token for `user_id`.
pub fn token(user_id: &str) -> String {
    token_with(json!({ "sub": user_id }))
}

/// A token that expired an hour ago (well past the 60 s leeway).
pub fn expired_token(user_id: &str) -> String {
    token_with(json!({ "sub": user_id, "exp": now() - 3600, "iat": now() - 7200 }))
}

/// A token signed with a secret the Worker does not know.
pub fn bad_token(user_id: &str) -> String {
    sign_with(json!({ "sub": user_id }), "not-the-secret-of-this-worker")
}

/// The first server API key.
pub fn api_key() -> String {
    let keys = dev_var("API_KEY");
    keys.split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn sign_with(extra: Value, secret: &str) -> String {
    let header = Header::empty().with_token_type("JWT");
    Hs256
        .token(&header, &claims_with(extra), &Hs256Key::new(secret))
        .expect("sign a token")
}

/// `extra` (JSON object) merged over `{sub: "anonymous", exp: now+3600, iat: now}`; a `null`
/// claim removes that key.
pub fn claims_with(extra: Value) -> Claims<Map<String, Value>> {
    let mut map = Map::new();
    map.insert("sub".into(), json!("anonymous"));
    map.insert("exp".into(), json!(now() + 3600));
    map.insert("iat".into(), json!(now()));
    for (k, v) in extra.as_object().expect("claims must be a JSON object") {
        match v {
            Value::Null => map.remove(k),
            v => map.insert(k.clone(), v.clone()),
        };
    }
    // jwt-compact keeps the time claims apart from the custom ones.
    let mut time = |k: &str| {
        map.remove(k)
            .and_then(|v| v.as_i64())
            .and_then(|s| DateTime::from_timestamp(s, 0))
    };
    let (exp, nbf, iat) = (time("exp"), time("nbf"), time("iat"));
    let mut claims = Claims::new(map);
    claims.expiration = exp;
    claims.not_before = nbf;
    claims.issued_at = iat;
    claims
}

// ---------------------------------------------------------------- HTTP

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(30))
            .build()
    })
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// `GET path` → (status, body as JSON; a non-JSON body is a JSON string, empty is null).
    pub fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        self.request("GET", path, &headers, None)
    }

    /// `POST path` with a JSON body → (status, body).
    pub fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
        self.send_json("POST", path, bearer, body)
    }

    /// `PUT path` with a JSON body → (status, body).
    pub fn put_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
        self.send_json("PUT", path, bearer, body)
    }

    /// Any method with a JSON body → (status, body).
    pub fn send_json(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        let auth = bearer.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend(auth.iter().map(|a| ("Authorization", a.as_str())));
        self.request(method, path, &headers, Some(&body.to_string()))
    }

    /// Makes `user` a member of conversation `conv` through the server API (panics if refused).
    pub fn add_member(&self, conv: &str, user: &str) {
        let path = format!("/api/conversations/{conv}/members/{user}");
        let (status, body) = self.put_json(&path, Some(&api_key()), &json!({}));
        assert!((200..300).contains(&status), "PUT {path}: {status} {body}");
    }

    /// Any request with exactly these headers → (status, body). 4xx/5xx are results, not
    /// errors; a transport failure panics.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, Value) {
        let (status, value, _) = self.exchange(method, path, headers, body, None);
        (status, value)
    }

    /// `GET path` with the server key → (status, body, the response's `header` if set).
    pub fn get_with_header(&self, path: &str, header: &str) -> (u16, Value, Option<String>) {
        let auth = format!("Bearer {}", api_key());
        self.exchange("GET", path, &[("Authorization", &auth)], None, Some(header))
    }

    fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
        header: Option<&str>,
    ) -> (u16, Value, Option<String>) {
        let mut req = agent().request(method, &self.url(path));
        for (name, value) in headers {
            req = req.set(name, value);
        }
        let result = match body {
            Some(b) => req.send_string(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let wanted = header.and_then(|h| response.header(h)).map(str::to_string);
        let text = response.into_string().unwrap_or_default();
        let value = match text.trim() {
            "" => Value::Null,
            t => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_string())),
        };
        (status, value, wanted)
    }
}

/// Checks the `{"error":{"code","message"}}` shape and returns the code.
pub fn error_code(body: &Value) -> Result<String, String> {
    let code = body["error"]["code"].as_str();
    let message = body["error"]["message"].as_str();
    match (code, message) {
        (Some(code), Some(_)) => Ok(code.to_string()),
        _ => Err(format!(
            "not an error body {{error:{{code,message}}}}: {body}"
        )),
    }
}
