//! Authentication: JWT verification into an [`Identity`], the server API key check, and
//! where a token is found on a request.
//!
//! The algorithm allow-list is the set of configured keys: HS256 only when `JWT_SECRET` is
//! set, and RS256 / ES256 / EdDSA only for keys in `JWT_JWKS`, matched by `kid`. A token's
//! `alg` header never chooses a verifier on its own, so `alg: none` or an HS256 token signed
//! with an RSA public key cannot pass. A `JWT_JWKS` key the service cannot use (another
//! curve, key type or algorithm, bad base64url) is skipped and reported; the others work.
//! A token carrying a `token_type` other than `access` (a SimpleJWT refresh token) is refused.

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

use super::identity::{ClaimNames, Identity, Profile};

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
    #[error("token has no user id claim")]
    MissingUserId,
    #[error("token is not an access token")]
    NotAccessToken,
    #[error("token issuer not accepted")]
    Issuer,
    #[error("token audience not accepted")]
    Audience,
    #[error("token user id is not a valid id")]
    Subject,
}

/// Configuration problems, reported when the Worker reads its environment. Messages never
/// hold key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    /// The whole set is unusable: no key of it is used.
    #[error("JWT_JWKS is not a JSON Web Key Set ({0}); none of its keys is used")]
    Jwks(String),
    /// One key is unusable and skipped; the others are used.
    #[error("JWT_JWKS key {kid} skipped: {reason}")]
    JwksKeySkipped { kid: String, reason: String },
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

/// Verifier built once per isolate from `JWT_SECRET`, `JWT_JWKS`, `JWT_ISSUER`,
/// `JWT_AUDIENCE` and the claim names (`JWT_USER_ID_CLAIM`, `JWT_ORGS_CLAIM`).
#[derive(Default)]
pub struct JwtVerifier {
    hs256: Option<Hs256Key>,
    keys: HashMap<String, PublicKey>,
    issuer: Option<String>,
    audience: Option<String>,
    claims: ClaimNames,
}

impl JwtVerifier {
    /// Never fails: unusable JWKS keys are left out (fail closed: tokens for them are
    /// refused) and returned as problems; the issuer and audience checks always apply.
    pub fn new(
        secret: Option<&str>,
        jwks: Option<&str>,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> (Self, Vec<AuthConfigError>) {
        let nonempty =
            |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        let (keys, problems) = match nonempty(jwks).map(|text| parse_jwks(&text)) {
            None => (HashMap::new(), Vec::new()),
            Some(Ok(parsed)) => parsed,
            Some(Err(e)) => (HashMap::new(), vec![e]),
        };
        let verifier = JwtVerifier {
            hs256: nonempty(secret).map(|s| Hs256Key::new(s.as_bytes())),
            keys,
            issuer: nonempty(issuer),
            audience: nonempty(audience),
            claims: ClaimNames::default(),
        };
        (verifier, problems)
    }

    /// The same verifier reading the user id and orgs from these claims.
    pub fn with_claims(mut self, claims: ClaimNames) -> Self {
        self.claims = claims;
        self
    }

    /// The claims the user id and the orgs are read from.
    pub fn claim_names(&self) -> &ClaimNames {
        &self.claims
    }

    /// True when some token can verify: an HS256 secret or at least one usable JWKS key.
    pub fn has_keys(&self) -> bool {
        self.hs256.is_some() || !self.keys.is_empty()
    }

    /// Verifies `token` at `now_ms` (Unix milliseconds) and returns who it names.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Identity, AuthError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| AuthError::Malformed)?;
        let claims = self.check_signature(&untrusted)?;
        let now = DateTime::from_timestamp_millis(now_ms).unwrap_or(DateTime::<Utc>::MIN_UTC);
        check_times(&claims, now)?;
        self.check_audience(&claims.custom)?;
        check_token_type(&claims.custom)?;
        let custom = &claims.custom;
        let user = self.claims.user_id(custom)?;
        let exp = claims.expiration.map(|e| e.timestamp()).unwrap_or_default();
        let (profile, orgs) = (Profile::from_claims(custom), self.claims.orgs(custom));
        Ok(Identity::new(user.to_string(), profile, orgs, exp))
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

/// SimpleJWT marks its tokens `access` or `refresh`; only access tokens open anything.
fn check_token_type(custom: &Map<String, Value>) -> Result<(), AuthError> {
    match custom.get("token_type") {
        None => Ok(()),
        Some(Value::String(t)) if t == "access" => Ok(()),
        Some(_) => Err(AuthError::NotAccessToken),
    }
}

type Jwks = (HashMap<String, PublicKey>, Vec<AuthConfigError>);

/// The usable keys of a JWKS text by `kid` (`#<index>` without one), and the skipped ones.
fn parse_jwks(text: &str) -> Result<Jwks, AuthConfigError> {
    let set: Value = serde_json::from_str(text).map_err(|e| {
        AuthConfigError::Jwks(format!("not JSON: {}", super::errors::json_error(&e)))
    })?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| AuthConfigError::Jwks("no \"keys\" array".into()))?;
    let (mut usable, mut skipped) = (HashMap::new(), Vec::new());
    for (i, raw) in keys.iter().enumerate() {
        let kid = raw
            .get("kid")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{i}"), String::from);
        match parse_key(raw) {
            Ok(key) => {
                usable.insert(kid, key);
            }
            Err(reason) => skipped.push(AuthConfigError::JwksKeySkipped {
                kid: short(&kid, 64),
                reason,
            }),
        }
    }
    Ok((usable, skipped))
}

/// One JWK as a verifying key, or why it cannot be used. The reasons name the key's
/// `kty`, `crv`, `alg` or `use` but never its bytes (a mistaken private key may be there).
fn parse_key(raw: &Value) -> Result<PublicKey, String> {
    let field = |k: &str| raw.get(k).and_then(Value::as_str).map(|v| short(v, 24));
    let (kty, crv) = (field("kty").unwrap_or_default(), field("crv"));
    if let Some(usage) = field("use").filter(|u| u != "sig") {
        return Err(format!("use {usage:?} is not \"sig\""));
    }
    let expected_alg = match (kty.as_str(), crv.as_deref()) {
        ("RSA", _) => "RS256",
        ("EC", Some("P-256")) => "ES256",
        ("OKP", Some("Ed25519")) => "EdDSA",
        ("EC" | "OKP", crv) => {
            return Err(format!(
                "unsupported {kty} curve {:?}",
                crv.unwrap_or_default()
            ))
        }
        _ => return Err(format!("unsupported key type {kty:?}")),
    };
    if let Some(alg) = field("alg").filter(|a| a != expected_alg) {
        return Err(format!("alg {alg:?} is not supported for a {kty} key"));
    }
    let invalid = || format!("not a valid {kty} public key (missing field or bad base64url)");
    let jwk: JsonWebKey<'_> = serde_json::from_value(raw.clone()).map_err(|_| invalid())?;
    let key = match expected_alg {
        "RS256" => RsaPublicKey::try_from(&jwk).map(|k| PublicKey::Rs256(Box::new(k))),
        "ES256" => p256::ecdsa::VerifyingKey::try_from(&jwk).map(|k| PublicKey::Es256(Box::new(k))),
        _ => ed25519_compact::PublicKey::try_from(&jwk).map(PublicKey::EdDsa),
    };
    key.map_err(|_| invalid())
}

/// `s` cut to `max` characters, for names quoted in log lines.
fn short(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
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
