//! Shared plumbing for every scenario: the target's address and keys, one process-wide
//! clock, HS256 tokens, and a tiny HTTP/1.1 client over tokio (loopback only).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// One HTTP request may take at most this long (a hang guard, not a measurement).
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the target listens and the secrets it was started with.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub api_key: String,
    pub jwt_secret: String,
}

impl Target {
    /// A target on `127.0.0.1:port` with the keys from `.dev.vars` (or `.dev.vars.example`).
    pub fn local(root: &Path, port: u16) -> Target {
        let vars = dev_vars(root);
        let get = |k: &str| vars.get(k).cloned().unwrap_or_default();
        Target {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            api_key: get("API_KEY")
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
            jwt_secret: get("JWT_SECRET"),
        }
    }

    /// `ws://` URL of a chat room for `user`.
    pub fn chat_url(&self, room: &str, user: &str) -> String {
        let token = sign_token(&self.jwt_secret, user);
        format!("ws://{}/ws/chat/{room}/?token={token}", self.addr)
    }

    /// `ws://` URL of `user`'s session socket (SPEC §9: `/ws/chat/` without an id).
    pub fn session_url(&self, user: &str) -> String {
        let token = sign_token(&self.jwt_secret, user);
        format!("ws://{}/ws/chat/?token={token}", self.addr)
    }

    /// An API call with the server key; returns the status and body.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), String> {
        let auth = format!("Bearer {}", self.api_key);
        http(self.addr, method, path, &auth, body).await
    }

    /// Adds every user to `room`, `parallel` requests at a time; errors if any is not 2xx.
    pub async fn add_members(
        &self,
        room: &str,
        users: &[String],
        parallel: usize,
    ) -> Result<(), String> {
        let gate = Arc::new(Semaphore::new(parallel.max(1)));
        let mut tasks = Vec::with_capacity(users.len());
        for user in users {
            let (t, gate) = (self.clone(), gate.clone());
            let path = format!("/api/conversations/{room}/members/{user}");
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                match t.api("PUT", &path, Some("{}")).await? {
                    (s, _) if (200..300).contains(&s) => Ok(()),
                    (s, b) => Err(format!(
                        "PUT {path}: {s} {}",
                        b.chars().take(200).collect::<String>()
                    )),
                }
            }));
        }
        for task in tasks {
            task.await.map_err(|e| e.to_string())??;
        }
        Ok(())
    }
}

/// Nanoseconds since the first call: the one clock publisher and subscribers share.
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A unique suffix for room and user ids of one run.
pub fn run_id() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{ms}")
}

/// An HS256 JWT for `sub`, valid for a day.
pub fn sign_token(secret: &str, sub: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({"sub": sub, "name": sub, "iat": now, "exp": now + 86_400});
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    mac.update(format!("{header}.{body}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{body}.{sig}")
}

/// `KEY="value"` lines of `.dev.vars` (fallback `.dev.vars.example`) under `root`.
pub fn dev_vars(root: &Path) -> HashMap<String, String> {
    let text = [".dev.vars", ".dev.vars.example"]
        .iter()
        .find_map(|n| std::fs::read_to_string(root.join(n)).ok())
        .unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// One HTTP/1.1 request with `Connection: close`; returns the status and the raw body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let call = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let body = body.unwrap_or("");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| e.to_string())?;
        parse_response(&raw)
    };
    tokio::time::timeout(HTTP_TIMEOUT, call)
        .await
        .map_err(|_| format!("{method} {path}: timed out"))?
}

fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            format!(
                "bad HTTP response: {:?}",
                text.chars().take(80).collect::<String>()
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
