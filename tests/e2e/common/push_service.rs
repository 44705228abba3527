//! A Web Push service played on loopback for the push trials: a real HTTP server
//! (`std::net`, one thread) that records every request (path, headers, body bytes) and
//! answers each path with the status a trial set (201 unless told). [`Browser`] is the
//! other end: a P-256 key pair and auth secret generated here, its `PushSubscription`
//! JSON, and the decryption of a received body by an independent implementation (the
//! `http_ece` package from PyPI, run in the project's Python venv).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::RngCore;
use serde_json::{json, Value};

/// One request the service received.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Pushed>>,
    statuses: Mutex<HashMap<String, u16>>,
    stop: AtomicBool,
}

/// The running service; dropping it stops the server.
pub struct PushService {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PushService {
    pub fn start() -> Result<PushService, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if theirs.stop.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(conn) = conn {
                    answer(conn, &theirs);
                }
            }
        });
        Ok(PushService {
            port,
            shared,
            thread: Some(thread),
        })
    }

    /// The endpoint URL of `path` (e.g. `/push/ann`).
    pub fn endpoint(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// From now on `path` is answered with `status`.
    pub fn answer_with(&self, path: &str, status: u16) {
        lock(&self.shared.statuses).insert(path.to_string(), status);
    }

    /// Every request so far to `path`.
    pub fn received(&self, path: &str) -> Vec<Pushed> {
        let all = lock(&self.shared.received);
        all.iter().filter(|p| p.path == path).cloned().collect()
    }

    /// Waits (up to 20 s) until `path` received `n` requests.
    pub fn wait_for(&self, path: &str, n: usize) -> Result<Vec<Pushed>, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received(path);
            if got.len() >= n {
                return Ok(got);
            }
            if Instant::now() > deadline {
                return Err(format!("{path}: {} pushes, wanted {n}", got.len()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request (head and `Content-Length` body), records it, answers its status.
fn answer(mut conn: TcpStream, shared: &Shared) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let mut lines = head.lines();
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("")
        .to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + len {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let body = data[head_end..].to_vec();
    let status = lock(&shared.statuses).get(&path).copied().unwrap_or(201);
    lock(&shared.received).push(Pushed {
        path,
        headers,
        body,
    });
    let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = conn.write_all(reply.as_bytes());
}

/// A browser's push keys: the P-256 pair and the auth secret, freshly random.
pub struct Browser {
    secret: [u8; 32],
    public: Vec<u8>,
    auth: [u8; 16],
}

impl Browser {
    pub fn new() -> Browser {
        let mut rng = rand::thread_rng();
        let key = p256::SecretKey::random(&mut rng);
        let mut auth = [0u8; 16];
        rng.fill_bytes(&mut auth);
        Browser {
            secret: key.to_bytes().into(),
            public: key.public_key().to_encoded_point(false).as_bytes().to_vec(),
            auth,
        }
    }

    /// `PushSubscription.toJSON()` for `endpoint`.
    pub fn subscription(&self, endpoint: &str) -> Value {
        json!({"endpoint": endpoint, "expirationTime": null,
               "keys": {"p256dh": B64.encode(&self.public), "auth": B64.encode(self.auth)}})
    }

    /// The plaintext of an `aes128gcm` body, decrypted by PyPI's `http_ece`.
    pub fn decrypt(&self, body: &[u8]) -> Result<String, String> {
        const SCRIPT: &str = "import base64, sys, http_ece\n\
from cryptography.hazmat.primitives.asymmetric import ec\n\
d = lambda s: base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))\n\
key = ec.derive_private_key(int.from_bytes(d(sys.argv[2]), 'big'), ec.SECP256R1())\n\
out = http_ece.decrypt(d(sys.argv[1]), private_key=key, auth_secret=d(sys.argv[3]), version='aes128gcm')\n\
sys.stdout.write(out.decode())\n";
        let out = Command::new(python())
            .args(["-c", SCRIPT, &B64.encode(body), &B64.encode(self.secret)])
            .arg(B64.encode(self.auth))
            .output()
            .map_err(|e| format!("run {}: {e} (bash python/venv.sh makes it)", python()))?;
        if !out.status.success() {
            return Err(format!(
                "http_ece: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// The venv's Python (`python/venv.sh`; `EDGE_RT_PY_VENV` moves it).
fn python() -> String {
    let venv = std::env::var("EDGE_RT_PY_VENV")
        .unwrap_or_else(|_| format!("{}/python/.venv", env!("CARGO_MANIFEST_DIR")));
    format!("{venv}/bin/python")
}

/// The VAPID pair of the test servers, fixed so every run signs with the same key.
pub fn vapid_keys() -> (String, String) {
    let key = p256::SecretKey::from_slice(&[0x42; 32]).expect("a P-256 scalar");
    let public = key.public_key().to_encoded_point(false);
    (B64.encode(public.as_bytes()), B64.encode([0x42; 32]))
}

pub const VAPID_SUBJECT: &str = "mailto:push-tests@example.com";
