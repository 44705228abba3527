//! The app's backend for the webhook trials (SPEC §10): a real HTTP server on a free loopback
//! port (`std::net`, a thread per connection, so a request it holds open blocks no other)
//! that records every webhook request (headers, body, what it answered) and answers by
//! rules: the first rule whose needle occurs in the body gives the answer, one step per
//! request (the last step repeats); anything else gets 200. [`verify`] checks a signature
//! from the Standard Webhooks specification, independently of the Worker's code.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::Server;

/// The secret of the webhook trials' server (any `whsec_` + base64 will do).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Its retry window: short, so giving up is seen within a trial.
pub const MAX_AGE_MS: u64 = 6_000;
/// Its presence grace.
pub const GRACE_MS: u64 = 1_500;

/// The receiver and the server that sends to it, started by the first trial that asks.
pub static HOOKED: OnceLock<(Receiver, Server)> = OnceLock::new();

/// The webhook trials' receiver and server (one start-up serves them all).
pub fn hooked() -> &'static (Receiver, Server) {
    HOOKED.get_or_init(|| {
        let r = Receiver::start().expect("the webhook receiver starts");
        let url = r.url();
        let (age, grace) = (MAX_AGE_MS.to_string(), GRACE_MS.to_string());
        let s = Server::start_with_vars(&[
            ("WEBHOOK_URL", &url),
            ("WEBHOOK_SECRET", SECRET),
            ("TEST_WEBHOOK_MAX_AGE_MS", &age),
            ("PRESENCE_GRACE_MS", &grace),
        ]);
        (r, s)
    })
}

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Status(u16),
    /// Holds the request open this long, then answers 200.
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// What the receiver answered (`Hang` counts as its final 200).
    pub answered: u16,
    pub at: Instant,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    pub fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }
}

#[derive(Default)]
struct Shared {
    rules: Vec<(String, Vec<Step>)>,
    seen: Vec<Delivery>,
    /// Requests being held open right now.
    hanging: usize,
}

/// The running receiver (it lives as long as the test process).
#[derive(Clone)]
pub struct Receiver {
    port: u16,
    shared: Arc<Mutex<Shared>>,
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Receiver {
    pub fn start() -> Result<Receiver, String> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let r = Receiver { port, shared };
        let serving = r.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let r = serving.clone();
                std::thread::spawn(move || r.answer(conn));
            }
        });
        Ok(r)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// Requests whose body contains `needle` are answered by `steps`, one each (the last
    /// one repeats). A later rule for the same needle replaces the earlier one.
    pub fn rule(&self, needle: &str, steps: &[Step]) {
        let mut s = lock(&self.shared);
        s.rules.retain(|(n, _)| n != needle);
        s.rules.push((needle.to_string(), steps.to_vec()));
    }

    /// Every request so far whose body contains `needle`, in arrival order.
    pub fn seen(&self, needle: &str) -> Vec<Delivery> {
        let s = lock(&self.shared);
        s.seen
            .iter()
            .filter(|d| d.body.contains(needle))
            .cloned()
            .collect()
    }

    /// Waits until `done` holds for the requests containing `needle`.
    pub fn wait(
        &self,
        needle: &str,
        within: Duration,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> Result<Vec<Delivery>, String> {
        let until = Instant::now() + within;
        loop {
            let seen = self.seen(needle);
            if done(&seen) {
                return Ok(seen);
            }
            if Instant::now() > until {
                let kinds: Vec<String> = seen.iter().map(|d| d.kind()).collect();
                return Err(format!(
                    "webhooks for {needle:?} after {within:?}: {kinds:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Requests held open right now.
    pub fn hanging(&self) -> usize {
        lock(&self.shared).hanging
    }

    fn step_for(&self, body: &str) -> Step {
        let mut s = lock(&self.shared);
        for (needle, steps) in s.rules.iter_mut() {
            if body.contains(needle.as_str()) {
                return if steps.len() > 1 {
                    steps.remove(0)
                } else {
                    steps[0]
                };
            }
        }
        Step::Status(200)
    }

    fn answer(&self, conn: TcpStream) {
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let Some((headers, body)) = read_request(&conn) else {
            return;
        };
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let step = self.step_for(&body);
        if let Step::Hang(d) = step {
            lock(&self.shared).hanging += 1;
            std::thread::sleep(d);
            lock(&self.shared).hanging -= 1;
        }
        let answered = match step {
            Step::Status(s) => s,
            Step::Hang(_) => 200,
        };
        lock(&self.shared).seen.push(Delivery {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body,
            answered,
            at: Instant::now(),
        });
        let reply = format!(
            "HTTP/1.1 {answered} Answer\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        );
        let mut conn = conn;
        let _ = conn.write_all(reply.as_bytes());
    }
}

/// The headers (name, value) and body of one HTTP/1.1 request with a `Content-Length`.
fn read_request(conn: &TcpStream) -> Option<(Vec<(String, String)>, String)> {
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some((headers, String::from_utf8_lossy(&body).into_owned()))
}

/// Checks a delivery's signature as the specification says: HMAC-SHA256 with the secret's
/// base64-decoded bytes over `id.timestamp.body`, base64, as one of the space-separated
/// `v1,<sig>` entries of `webhook-signature`.
pub fn verify(secret: &str, d: &Delivery) -> Result<(), String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|e| e.to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{}.{}.{}", d.id, d.timestamp, d.body).as_bytes());
    let want = format!("v1,{}", b64.encode(mac.finalize().into_bytes()));
    if d.signature.split(' ').any(|s| s == want) {
        Ok(())
    } else {
        Err(format!("bad signature {:?} on {}", d.signature, d.body))
    }
}

/// Checks `d` with the reference `standardwebhooks` Python package, when the Python test
/// venv (`python/run-tests.sh` makes it) has it: `Ok(false)` when it is not there.
pub fn verify_with_reference(secret: &str, d: &Delivery) -> Result<bool, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("python/.venv/bin/python");
    if !python.exists() {
        return Ok(false);
    }
    let script = "import sys\n\
        try:\n    from standardwebhooks.webhooks import Webhook\n\
        except ImportError:\n    sys.exit(3)\n\
        secret, wid, ts, sig = sys.argv[1:5]\n\
        body = sys.stdin.read()\n\
        Webhook(secret).verify(body, {'webhook-id': wid, 'webhook-timestamp': ts, 'webhook-signature': sig})\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script, secret, &d.id, &d.timestamp, &d.signature])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(d.body.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(3) => Ok(false),
        _ => Err(format!(
            "standardwebhooks refused {}: {}",
            d.body,
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}
