//! An identity provider for the `JWT_JWKS_URL` trials: a small HTTP server on a free
//! loopback port (`std::net`, one thread) that serves a JSON Web Key Set at `/jwks` with
//! `Cache-Control: max-age=600` and counts the times it was fetched; a trial swaps the set
//! it serves (a key rotation) or makes it fail. [`IdpKey`] is one of its ES256 signing keys: its public JWK
//! for the set, and tokens signed with it as the provider would issue them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use jwt_compact::alg::Es256;
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{AlgorithmExt, Header};
use serde_json::{json, Value};

use super::claims_with;

/// What the server serves and what it saw.
#[derive(Default)]
struct Shared {
    jwks: Mutex<String>,
    /// Answers `/jwks` with this status and an error body instead of the set.
    failing: Mutex<Option<u16>>,
    fetches: Mutex<usize>,
    stop: AtomicBool,
}

/// The running provider; dropping it stops the server.
pub struct Idp {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Idp {
    /// Starts serving a set of `keys` on a free port.
    pub fn start(keys: &[&IdpKey]) -> Result<Idp, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let shared = Arc::new(Shared::default());
        let idp_shared = shared.clone();
        let thread = std::thread::spawn(move || serve(&listener, &idp_shared));
        let idp = Idp {
            port,
            shared,
            thread: Some(thread),
        };
        idp.serve(keys);
        Ok(idp)
    }

    /// The key set's URL, for `JWT_JWKS_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/jwks", self.port)
    }

    /// From now on the set holds `keys` (and only them).
    pub fn serve(&self, keys: &[&IdpKey]) {
        *lock(&self.shared.jwks) = key_set(keys).to_string();
    }

    /// From now on `/jwks` answers `status` (e.g. 503) instead of the set.
    pub fn fail_with(&self, status: u16) {
        *lock(&self.shared.failing) = Some(status);
    }

    /// How many times `/jwks` was fetched.
    pub fn fetches(&self) -> usize {
        *lock(&self.shared.fetches)
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `{"keys": [...]}` with the public JWK of each key.
pub fn key_set(keys: &[&IdpKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn serve(listener: &TcpListener, shared: &Shared) {
    for conn in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(conn) = conn {
            answer(conn, shared);
        }
    }
}

/// Answers one request: the set for `GET /jwks`, 404 for anything else.
fn answer(mut conn: TcpStream, shared: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(request_line) = read_head(&mut conn) else {
        return;
    };
    let (status, body) = if request_line.starts_with("GET /jwks ") {
        *lock(&shared.fetches) += 1;
        match *lock(&shared.failing) {
            Some(code) => (format!("{code} Failing"), r#"{"error":"down"}"#.to_string()),
            None => ("200 OK".to_string(), lock(&shared.jwks).clone()),
        }
    } else {
        (
            "404 Not Found".to_string(),
            r#"{"error":"not found"}"#.to_string(),
        )
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nCache-Control: public, max-age=600\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = conn
        .write_all(head.as_bytes())
        .and_then(|()| conn.write_all(body.as_bytes()));
}

/// Reads up to the blank line after the headers; the request line.
fn read_head(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    let text = String::from_utf8_lossy(&head);
    text.lines().next().map(str::to_string)
}

/// One ES256 (P-256) signing key of the provider, named by `kid`.
pub struct IdpKey {
    pub kid: String,
    key: p256::ecdsa::SigningKey,
}

impl IdpKey {
    /// A key made from `seed` (any byte but 0), so runs are reproducible.
    pub fn new(kid: &str, seed: u8) -> IdpKey {
        let key = p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).expect("a P-256 key");
        IdpKey {
            kid: kid.to_string(),
            key,
        }
    }

    /// The public half as a JWK, with `kid`, `alg` and `use` as providers publish them.
    pub fn jwk(&self) -> Value {
        let mut jwk = serde_json::to_value(JsonWebKey::from(self.key.verifying_key()))
            .expect("a JWK as JSON");
        jwk["kid"] = json!(self.kid);
        jwk["alg"] = json!("ES256");
        jwk["use"] = json!("sig");
        jwk
    }

    /// An ES256 token with this key's `kid`: `claims` over `{exp: now+3600, iat: now}`.
    pub fn token(&self, claims: Value) -> String {
        let header = Header::empty()
            .with_key_id(&self.kid)
            .with_token_type("JWT");
        Es256
            .token(&header, &claims_with(claims), &self.key)
            .expect("sign a token")
    }
}
