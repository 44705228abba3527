//! Webhooks to the app's backend (SPEC §10), the pure part: the event kinds, the settings
//! (`WEBHOOK_URL`, `WEBHOOK_SECRET`, `WEBHOOK_EVENTS`) and their problems, the request body
//! `{"type","timestamp","data"}`, the Standard Webhooks signature
//! (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), and the delivery rules: which answers
//! are retried, the backoff with jitter, and when an event is given up on (kept as failed).

use base64ct::{Base64, Encoding};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::replica::{backoff_ms, jittered, Statement};

/// Every event the service sends (SPEC §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    UserOnline,
    UserOffline,
    ConversationOccupied,
    ConversationVacated,
    MessageCreated,
    NotificationCreated,
    NotificationRead,
    NotificationUndelivered,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::UserOnline,
        Kind::UserOffline,
        Kind::ConversationOccupied,
        Kind::ConversationVacated,
        Kind::MessageCreated,
        Kind::NotificationCreated,
        Kind::NotificationRead,
        Kind::NotificationUndelivered,
    ];

    /// The `type` on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Kind::UserOnline => "user.online",
            Kind::UserOffline => "user.offline",
            Kind::ConversationOccupied => "conversation.occupied",
            Kind::ConversationVacated => "conversation.vacated",
            Kind::MessageCreated => "message.created",
            Kind::NotificationCreated => "notification.created",
            Kind::NotificationRead => "notification.read",
            Kind::NotificationUndelivered => "notification.undelivered",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// Where events go and the key they are signed with. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({:?}, key: {} bytes)", self.url, self.key.len())
    }
}

impl Target {
    /// The `webhook-signature` value of one delivery attempt.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        signature(&self.key, id, timestamp, body)
    }
}

/// The longest an event is retried for before it is kept as failed (SPEC §10: 24 h).
pub const MAX_AGE_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_MS: i64 = 60 * 60 * 1000;

/// The webhook settings: no target means webhooks are off (nothing is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub target: Option<Target>,
    events: u16,
    /// How long an event is retried before it is kept as failed (`TEST_WEBHOOK_MAX_AGE_MS`
    /// shortens it in tests, honoured only with `DEV_TOKENS` on).
    pub max_age_ms: i64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            target: None,
            events: u16::MAX,
            max_age_ms: MAX_AGE_MS,
        }
    }
}

impl WebhookSettings {
    /// Whether events of `kind` are stored and sent.
    pub fn wants(&self, kind: Kind) -> bool {
        self.target.is_some() && self.events & kind.bit() != 0
    }

    /// Whether any of `kinds` is wanted (to skip work whose only use is an event).
    pub fn wants_any(&self, kinds: &[Kind]) -> bool {
        kinds.iter().any(|k| self.wants(*k))
    }
}

/// Something wrong with the webhook settings (never quoting the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookProblem {
    #[error(
        "WEBHOOK_URL is not an https:// URL (http:// only for localhost): no webhooks are sent"
    )]
    BadUrl,
    #[error("WEBHOOK_SECRET is missing or not \"whsec_\" + base64: no webhooks are sent")]
    BadSecret,
    #[error("WEBHOOK_EVENTS names an unknown event {0:?}; it is ignored")]
    UnknownEvent(String),
}

impl WebhookProblem {
    pub fn var(&self) -> &'static str {
        match self {
            WebhookProblem::BadUrl => "WEBHOOK_URL",
            WebhookProblem::BadSecret => "WEBHOOK_SECRET",
            WebhookProblem::UnknownEvent(_) => "WEBHOOK_EVENTS",
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            WebhookProblem::BadUrl | WebhookProblem::BadSecret => "invalid",
            WebhookProblem::UnknownEvent(_) => "unknown_event",
        }
    }

    /// Whether webhooks are off because of it.
    pub fn disables(&self) -> bool {
        !matches!(self, WebhookProblem::UnknownEvent(_))
    }
}

/// Reads the webhook settings through `get`; `dev` is `DEV_TOKENS`.
pub fn settings(
    get: impl Fn(&str) -> Option<String>,
    dev: bool,
) -> (WebhookSettings, Vec<WebhookProblem>) {
    let text = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut problems = Vec::new();
    let mut s = WebhookSettings::default();
    if let Some(list) = text("WEBHOOK_EVENTS") {
        s.events = 0;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match Kind::from_name(name) {
                Some(k) => s.events |= k.bit(),
                None => problems.push(WebhookProblem::UnknownEvent(
                    name.chars().take(32).collect(),
                )),
            }
        }
    }
    if let Some(ms) = text("TEST_WEBHOOK_MAX_AGE_MS").and_then(|v| v.parse::<i64>().ok()) {
        if dev && ms > 0 {
            s.max_age_ms = ms;
        }
    }
    let Some(url) = text("WEBHOOK_URL") else {
        return (s, problems);
    };
    if !url_allowed(&url) {
        problems.push(WebhookProblem::BadUrl);
        return (s, problems);
    }
    match text("WEBHOOK_SECRET").and_then(|v| secret_key(&v)) {
        Some(key) => s.target = Some(Target { url, key }),
        None => problems.push(WebhookProblem::BadSecret),
    }
    (s, problems)
}

/// `https://host...`, or `http://` to localhost / 127.0.0.1 / [::1] (development).
pub fn url_allowed(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let host_of = |rest: &str| {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or("").to_string(),
            None => host.split(':').next().unwrap_or("").to_string(),
        }
    };
    if let Some(rest) = lower.strip_prefix("https://") {
        return !host_of(rest).is_empty();
    }
    match lower.strip_prefix("http://") {
        Some(rest) => matches!(host_of(rest).as_str(), "localhost" | "127.0.0.1" | "::1"),
        None => false,
    }
}

/// The key bytes of a `whsec_<base64>` secret (the prefix is optional, as in the
/// specification's libraries).
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    Base64::decode_vec(b64).ok().filter(|k| !k.is_empty())
}

/// `v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", Base64::encode_string(&mac.finalize().into_bytes()))
}

/// The request body: `{"type","timestamp","data"}` (timestamp as ISO 8601).
pub fn body(kind: Kind, timestamp: &str, data: Value) -> String {
    json!({"type": kind.name(), "timestamp": timestamp, "data": data}).to_string()
}

/// What one attempt's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx: done.
    Delivered,
    /// No answer (network error, timeout), 408, 429 or 5xx: try again later.
    Retry,
    /// Any other status (3xx, 4xx): the backend refuses this event, and sending the same
    /// bytes again will not change that; it is kept as failed at once.
    Refused,
}

/// The verdict on an attempt that got `status` (`None`: no answer).
pub fn verdict(status: Option<u16>) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Delivered,
        None | Some(408 | 429 | 500..=599) => Verdict::Retry,
        Some(_) => Verdict::Refused,
    }
}

/// When the next attempt is due after `attempts` failed ones (1, 2, ...): 500 ms × 2^(n-1),
/// at most an hour, spread over its upper half by the random `r`.
pub fn retry_in_ms(attempts: u32, r: u64) -> i64 {
    jittered(backoff_ms(attempts.saturating_sub(1), MAX_BACKOFF_MS), r)
}

/// Whether an event first stored at `created` is given up on instead of being tried again
/// at `next_at`: the next attempt would fall outside the retry window.
pub fn gives_up(created: i64, next_at: i64, max_age_ms: i64) -> bool {
    next_at > created + max_age_ms
}

/// What a change in a user's app-wide devices (sockets on `/ws/online/` plus session
/// sockets) means for `user.online` / `user.offline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppPresence {
    /// First device: `user.online`.
    Online,
    /// Last device gone: offline unless a device is back before this deadline.
    StartGrace(i64),
    /// A device is back within the grace: nothing is sent.
    CancelGrace,
    /// The grace ran out with no device back: `user.offline`.
    Offline,
    Nothing,
}

/// The step for `devices` open now, given whether the user was reported online and the
/// pending grace deadline. A page reload (close, then open within the grace) sends nothing.
pub fn app_presence(
    devices: usize,
    online: bool,
    deadline: Option<i64>,
    now: i64,
    grace_ms: i64,
) -> AppPresence {
    match (devices > 0, deadline) {
        (true, Some(_)) => AppPresence::CancelGrace,
        (true, None) if !online => AppPresence::Online,
        (false, None) if online => AppPresence::StartGrace(now + grace_ms),
        (false, Some(d)) if d <= now => AppPresence::Offline,
        _ => AppPresence::Nothing,
    }
}

/// The internal path on which the `_online` org hub reports a user's socket count there to
/// the user's inbox (which owns app-wide presence).
pub const ONLINE_REPORT_PATH: &str = "/presence/online";

/// The `_online` hub's count of the user's sockets there, as of `at` (ms; an inbox ignores
/// a report older than the last one it applied).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OnlineReport {
    pub devices: u32,
    pub at: i64,
}

/// Failed events kept in D1 this long (the list stays bounded).
pub const FAILED_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

/// What a given-up event leaves in D1's `webhook_failures` (the list of
/// `GET /api/webhooks/failed`), and the trim that keeps that list bounded.
pub struct Failure<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub body: &'a str,
    /// The object that produced it (`conversation:general`, `user:alice`).
    pub source: &'a str,
    pub attempts: i64,
    pub error: &'a str,
    pub created_at: &'a str,
    pub failed_at: &'a str,
}

/// The D1 statements for a failure: the row, and the trim of rows past [`FAILED_TTL_MS`]
/// (`cutoff`, ISO 8601).
pub fn failure_rows(f: &Failure, cutoff: &str) -> Vec<Statement> {
    let row = Statement {
        sql: "INSERT INTO webhook_failures (id, type, body, source, attempts, error, created_at, failed_at) \
              VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET attempts = excluded.attempts, \
              error = excluded.error, failed_at = excluded.failed_at"
            .into(),
        args: vec![
            json!(f.id),
            json!(f.kind),
            json!(f.body),
            json!(f.source),
            json!(f.attempts),
            json!(f.error),
            json!(f.created_at),
            json!(f.failed_at),
        ],
    };
    let trim = Statement {
        sql: "DELETE FROM webhook_failures WHERE failed_at < ?".into(),
        args: vec![json!(cutoff)],
    };
    vec![row, trim]
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
