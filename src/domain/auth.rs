//! Authentication: JWT verification into an [`Identity`], the server API key check, and
//! where a token is found on a request.
//!
//! The algorithm allow-list is the set of configured keys: HS256 only when `JWT_SECRET` is
//! set, and RS256 / ES256 / EdDSA only for keys in `JWT_JWKS`, matched by `kid`. A token's
//! `alg` header never chooses a verifier on its own, so `alg: none` or an HS256 token signed
//! with an RSA public key cannot pass.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use jwt_compact::{
    alg::{Ed25519, Es256, Hs256, Hs256Key, Rsa, RsaPublicKey},
    jwk::JsonWebKey,
    AlgorithmExt, Claims, TimeOptions, UntrustedToken, ValidationError,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::identity::{Identity, Profile};
use super::ids::Id;

/// Leeway for `exp`, `nbf` and `iat` (SPEC §2).
pub const LEEWAY_SECS: i64 = 60;

/// Why a token was refused. Messages are safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token algorithm not allowed")]
    AlgorithmNotAllowed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("invalid token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("token lacks the {0} claim")]
    MissingClaim(&'static str),
    #[error("token issuer not accepted")]
    Issuer,
    #[error("token audience not accepted")]
    Audience,
    #[error("token subject is not a valid user id")]
    Subject,
}

/// Configuration problems, reported when the Worker reads its environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    #[error("JWT_JWKS is not a JSON Web Key Set: {0}")]
    Jwks(String),
}

enum PublicKey {
    Rs256(Box<RsaPublicKey>),
    Es256(Box<p256::ecdsa::VerifyingKey>),
    EdDsa(ed25519_compact::PublicKey),
}

impl PublicKey {
    fn alg(&self) -> &'static str {
        match self {
            PublicKey::Rs256(_) => "RS256",
            PublicKey::Es256(_) => "ES256",
            PublicKey::EdDsa(_) => "EdDSA",
        }
    }
}

/// Verifier built once per isolate from `JWT_SECRET`, `JWT_JWKS`, `JWT_ISSUER`, `JWT_AUDIENCE`.
#[derive(Default)]
pub struct JwtVerifier {
    hs256: Option<Hs256Key>,
    keys: HashMap<String, PublicKey>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl JwtVerifier {
    pub fn new(
        secret: Option<&str>,
        jwks: Option<&str>,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Self, AuthConfigError> {
        let nonempty =
            |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        Ok(JwtVerifier {
            hs256: nonempty(secret).map(|s| Hs256Key::new(s.as_bytes())),
            keys: match nonempty(jwks) {
                Some(text) => parse_jwks(&text)?,
                None => HashMap::new(),
            },
            issuer: nonempty(issuer),
            audience: nonempty(audience),
        })
    }

    /// Verifies `token` at `now_ms` (Unix milliseconds) and returns who it names.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Identity, AuthError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| AuthError::Malformed)?;
        let claims = self.check_signature(&untrusted)?;
        let now = DateTime::from_timestamp_millis(now_ms).unwrap_or(DateTime::<Utc>::MIN_UTC);
        check_times(&claims, now)?;
        self.check_audience(&claims.custom)?;
        identity_from(claims)
    }

    fn check_signature(
        &self,
        token: &UntrustedToken<'_>,
    ) -> Result<Claims<Map<String, Value>>, AuthError> {
        let alg = token.algorithm();
        let result = if alg == "HS256" {
            let key = self.hs256.as_ref().ok_or(AuthError::AlgorithmNotAllowed)?;
            Hs256.validator(key).validate(token)
        } else {
            match self.key_for(token.header().key_id.as_deref(), alg)? {
                PublicKey::Rs256(k) => Rsa::rs256().validator(k.as_ref()).validate(token),
                PublicKey::Es256(k) => Es256.validator(k.as_ref()).validate(token),
                PublicKey::EdDsa(k) => Ed25519.validator(k).validate(token),
            }
        };
        result.map(|t| t.claims().clone()).map_err(|e| match e {
            ValidationError::MalformedClaims(_) => AuthError::Malformed,
            ValidationError::AlgorithmMismatch { .. } => AuthError::AlgorithmNotAllowed,
            _ => AuthError::BadSignature,
        })
    }

    /// The JWKS key for `kid`; without a `kid`, the only key of that algorithm.
    fn key_for(&self, kid: Option<&str>, alg: &str) -> Result<&PublicKey, AuthError> {
        if !matches!(alg, "RS256" | "ES256" | "EdDSA") {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let key = match kid {
            Some(kid) => self.keys.get(kid).ok_or(AuthError::UnknownKey)?,
            None => {
                let mut same_alg = self.keys.values().filter(|k| k.alg() == alg);
                match (same_alg.next(), same_alg.next()) {
                    (Some(k), None) => k,
                    _ => return Err(AuthError::UnknownKey),
                }
            }
        };
        if key.alg() == alg {
            Ok(key)
        } else {
            Err(AuthError::AlgorithmNotAllowed)
        }
    }

    fn check_audience(&self, custom: &Map<String, Value>) -> Result<(), AuthError> {
        if let Some(want) = &self.issuer {
            if custom.get("iss").and_then(Value::as_str) != Some(want) {
                return Err(AuthError::Issuer);
            }
        }
        if let Some(want) = &self.audience {
            let ok = match custom.get("aud") {
                Some(Value::String(a)) => a == want,
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(want)),
                _ => false,
            };
            if !ok {
                return Err(AuthError::Audience);
            }
        }
        Ok(())
    }
}

fn check_times(claims: &Claims<Map<String, Value>>, now: DateTime<Utc>) -> Result<(), AuthError> {
    let options = TimeOptions::new(Duration::seconds(LEEWAY_SECS), move || now);
    claims.validate_expiration(&options).map_err(|e| match e {
        ValidationError::NoClaim(_) => AuthError::MissingClaim("exp"),
        _ => AuthError::Expired,
    })?;
    if claims.not_before.is_some() {
        claims
            .validate_maturity(&options)
            .map_err(|_| AuthError::NotYetValid)?;
    }
    if let Some(iat) = claims.issued_at {
        if iat > now + Duration::seconds(LEEWAY_SECS) {
            return Err(AuthError::NotYetValid);
        }
    }
    Ok(())
}

fn identity_from(claims: Claims<Map<String, Value>>) -> Result<Identity, AuthError> {
    let custom = &claims.custom;
    let sub = match custom.get("sub") {
        Some(Value::String(s)) => Id::parse(s).map_err(|_| AuthError::Subject)?,
        Some(Value::Number(n)) => Id::parse(&n.to_string()).map_err(|_| AuthError::Subject)?,
        _ => return Err(AuthError::MissingClaim("sub")),
    };
    let text = |k: &str| custom.get(k).and_then(Value::as_str).map(String::from);
    let orgs = custom
        .get("orgs")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .filter(|s| Id::parse(s).is_ok())
                .collect()
        })
        .unwrap_or_default();
    let profile = Profile {
        name: text("name"),
        username: text("username"),
        email: text("email"),
        first_name: text("first_name"),
        last_name: text("last_name"),
        avatar: text("avatar"),
    };
    let exp = claims.expiration.map(|e| e.timestamp()).unwrap_or_default();
    Ok(Identity::new(sub.to_string(), profile, orgs, exp))
}

fn parse_jwks(text: &str) -> Result<HashMap<String, PublicKey>, AuthConfigError> {
    let set: Value =
        serde_json::from_str(text).map_err(|e| AuthConfigError::Jwks(e.to_string()))?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| AuthConfigError::Jwks("no \"keys\" array".into()))?;
    let mut out = HashMap::new();
    for (i, raw) in keys.iter().enumerate() {
        let kid = raw
            .get("kid")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), String::from);
        let jwk: JsonWebKey<'_> = serde_json::from_value(raw.clone())
            .map_err(|e| AuthConfigError::Jwks(format!("key {kid}: {e}")))?;
        let bad = |e: jwt_compact::jwk::JwkError| AuthConfigError::Jwks(format!("key {kid}: {e}"));
        let key = match (&jwk, raw.get("crv").and_then(Value::as_str)) {
            (JsonWebKey::Rsa { .. }, _) => {
                PublicKey::Rs256(Box::new(RsaPublicKey::try_from(&jwk).map_err(bad)?))
            }
            (JsonWebKey::EllipticCurve { .. }, Some("P-256")) => PublicKey::Es256(Box::new(
                p256::ecdsa::VerifyingKey::try_from(&jwk).map_err(bad)?,
            )),
            (JsonWebKey::KeyPair { .. }, Some("Ed25519")) => {
                PublicKey::EdDsa(ed25519_compact::PublicKey::try_from(&jwk).map_err(bad)?)
            }
            _ => {
                return Err(AuthConfigError::Jwks(format!(
                    "key {kid}: unsupported key type"
                )))
            }
        };
        if let Some(alg) = raw.get("alg").and_then(Value::as_str) {
            if alg != key.alg() {
                return Err(AuthConfigError::Jwks(format!(
                    "key {kid}: alg {alg} does not fit its key type"
                )));
            }
        }
        out.insert(kid, key);
    }
    Ok(out)
}

/// Checks a presented server key against every configured key, in constant time.
///
/// Both sides are hashed first so that neither the length nor a common prefix of a key
/// shows in the timing; every key is compared, so which one matched does not show either.
pub fn api_key_matches(presented: &str, configured: &[String]) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    configured.iter().fold(0u8, |hit, key| {
        let key = Sha256::digest(key.as_bytes());
        hit | presented[..].ct_eq(&key[..]).unwrap_u8()
    }) == 1
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Where a client put its credentials, and what the server must answer with.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub token: Option<String>,
    /// The `Sec-WebSocket-Protocol` to answer with, if the client offered any.
    pub protocol: Option<String>,
}

/// Finds a token in `Authorization: Bearer`, a `bearer.<jwt>` subprotocol, or `?token=`.
///
/// When a subprotocol carries the token, the answer is another offered protocol if there is
/// one (the documented choice), else the bearer one itself: a browser that offered
/// protocols fails the handshake when the server names none.
pub fn credentials(
    authorization: Option<&str>,
    protocols: Option<&str>,
    query_token: Option<&str>,
) -> Credentials {
    let offered: Vec<&str> = protocols
        .map(|p| {
            p.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let bearer_proto = offered.iter().find_map(|p| p.strip_prefix("bearer."));
    let protocol = offered
        .iter()
        .find(|p| !p.starts_with("bearer."))
        .or_else(|| offered.first())
        .map(|p| p.to_string());
    let header = authorization.and_then(bearer_token);
    let token = header
        .or(bearer_proto)
        .or(query_token)
        .filter(|t| !t.is_empty())
        .map(String::from);
    Credentials { token, protocol }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
