//! Web Push (SPEC §11) as pure logic: the per-publish policy, browser subscriptions and
//! their checks, the payload a push carries, and base64url. The message encryption
//! (RFC 8291 `aes128gcm`) is in [`ece`], the push service's proof of who sends (VAPID,
//! RFC 8292) in [`vapid`]. Randomness (the ephemeral key, the salt) and the clock are handed
//! in by the platform, so everything here is unit-tested natively, with RFC 8291's vector.

pub mod delivery;
pub mod ece;
pub mod vapid;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Subscriptions kept per user. A browser that clears its data never unsubscribes, so
/// stale ones pile up: the oldest is dropped to make room rather than refusing a new device.
pub const MAX_SUBSCRIPTIONS: usize = 10;
/// Longest endpoint URL accepted (real ones are 150-500 characters).
pub const MAX_ENDPOINT_LEN: usize = 1024;
/// How long a push service may hold a push for a device that is off (`TTL` header): a
/// notification older than a day is better read in the app than popped up.
pub const TTL_SECS: u32 = 24 * 60 * 60;
/// The largest plaintext in one 4096-byte push (RFC 8030 §7.2 guarantees 4096 bytes of
/// body): 4096 - 86 header - 16 tag - 1 delimiter.
pub const MAX_PLAINTEXT: usize = 4096 - 86 - 16 - 1;

/// One error type for everything push checks, encrypts or signs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// A subscription (or its endpoint) that cannot be used; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A key that is not what it must be (a point off the curve, a bad scalar).
    #[error("{0} is not a valid P-256 key")]
    BadKey(&'static str),
    /// A payload that does not fit one record.
    #[error("payload of {0} bytes does not fit one push")]
    TooLarge(usize),
    /// `VAPID_*` configuration that cannot be used.
    #[error("{var} {why}")]
    Config {
        var: &'static str,
        why: &'static str,
    },
}

fn invalid(why: impl Into<String>) -> PushError {
    PushError::Invalid(why.into())
}

/// `"push"` of `POST /api/notifications`: who gets a Web Push besides the live sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Only when the user had no live device at publish time (the default).
    #[default]
    Offline,
    /// Every subscription, also while the user is connected somewhere.
    Always,
    /// No push for this notification.
    Never,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        [Policy::Offline, Policy::Always, Policy::Never]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Offline => "offline",
            Policy::Always => "always",
            Policy::Never => "never",
        }
    }

    /// Whether a notification that reached `live_devices` sockets is pushed.
    pub fn wants_push(self, live_devices: usize) -> bool {
        match self {
            Policy::Offline => live_devices == 0,
            Policy::Always => true,
            Policy::Never => false,
        }
    }
}

/// A stored subscription: where to push and the browser's keys (base64url as given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// The browser's `PushSubscription.toJSON()` (other fields, `expirationTime`, are ignored).
#[derive(Deserialize)]
struct SubscriptionJson {
    endpoint: String,
    keys: KeysJson,
}

#[derive(Deserialize)]
struct KeysJson {
    p256dh: String,
    auth: String,
}

/// A `PushSubscription` JSON, checked: an https endpoint (loopback http only when
/// `allow_loopback`, i.e. `DEV_TOKENS` is on), a P-256 point and a 16-byte auth secret.
pub fn parse_subscription(body: &str, allow_loopback: bool) -> Result<Subscription, PushError> {
    let s: SubscriptionJson =
        serde_json::from_str(body).map_err(|e| invalid(format!("not a PushSubscription: {e}")))?;
    check_endpoint(&s.endpoint, allow_loopback)?;
    let point =
        b64url_decode(&s.keys.p256dh).ok_or_else(|| invalid("keys.p256dh is not base64url"))?;
    if point.len() != 65 || p256::PublicKey::from_sec1_bytes(&point).is_err() {
        return Err(invalid(
            "keys.p256dh must be a 65-byte uncompressed P-256 point",
        ));
    }
    match b64url_decode(&s.keys.auth) {
        Some(auth) if auth.len() == 16 => {}
        _ => return Err(invalid("keys.auth must be 16 bytes of base64url")),
    }
    Ok(Subscription {
        endpoint: s.endpoint,
        p256dh: b64url(&point),
        auth: s.keys.auth.trim_end_matches('=').to_string(),
    })
}

/// The endpoint of a `DELETE`: `{"endpoint": ...}` (a whole `PushSubscription` also works).
pub fn parse_endpoint(body: &str) -> Result<String, PushError> {
    #[derive(Deserialize)]
    struct Endpoint {
        endpoint: String,
    }
    let e: Endpoint =
        serde_json::from_str(body).map_err(|e| invalid(format!("needs an endpoint: {e}")))?;
    if e.endpoint.is_empty() || e.endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(invalid("endpoint must be 1-1024 characters"));
    }
    Ok(e.endpoint)
}

/// An endpoint a push may be sent to.
pub fn check_endpoint(url: &str, allow_loopback: bool) -> Result<(), PushError> {
    if url.len() > MAX_ENDPOINT_LEN {
        return Err(invalid("endpoint is longer than 1024 characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("endpoint contains blanks"));
    }
    let (scheme, host) = split_origin(url).ok_or_else(|| invalid("endpoint is not a URL"))?;
    let loopback = matches!(host_name(&host), "127.0.0.1" | "localhost");
    match scheme.as_str() {
        "https" => Ok(()),
        "http" if loopback && allow_loopback => Ok(()),
        "http" if loopback => Err(invalid(
            "http://127.0.0.1 endpoints need DEV_TOKENS (tests only)",
        )),
        _ => Err(invalid("endpoint must be an https:// URL")),
    }
}

/// `scheme://host[:port]` of an endpoint: the VAPID `aud` (RFC 8292 §2), default ports left out.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, host) = split_origin(url)?;
    let host = match (scheme.as_str(), host.rsplit_once(':')) {
        ("https", Some((h, "443"))) | ("http", Some((h, "80"))) => h.to_string(),
        _ => host,
    };
    Some(format!("{scheme}://{host}"))
}

/// The lowercase scheme and authority of an absolute URL without user info.
fn split_origin(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let valid = !authority.is_empty() && !authority.contains('@') && !authority.starts_with(':');
    valid.then(|| (scheme.to_ascii_lowercase(), authority.to_ascii_lowercase()))
}

/// The host of an authority, without the port.
fn host_name(authority: &str) -> &str {
    authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(h, _)| h)
}

/// What a push carries: the notification JSON, or, when that does not fit one push, the
/// fields a service worker needs to show it and fetch the rest (`truncated: true`).
pub fn payload(notification: &Value) -> String {
    let whole = notification.to_string();
    if whole.len() <= MAX_PLAINTEXT {
        return whole;
    }
    let cut = |k: &str| {
        notification[k]
            .as_str()
            .map(|t| t.chars().take(200).collect::<String>())
    };
    json!({
        "id": notification["id"],
        "notification_type": notification["notification_type"],
        "title": cut("title"),
        "created_at": notification["created_at"],
        "truncated": true,
    })
    .to_string()
}

/// base64url without padding (what browsers and `web-push` print).
pub fn b64url(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// base64url, with or without `=` padding.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text.trim_end_matches('=')).ok()
}

#[cfg(test)]
mod tests;
