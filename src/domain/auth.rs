//! Authentication: JWT verification into an [`Identity`], the server API key check, and
//! where a token is found on a request.
//!
//! The algorithm allow-list is the set of configured keys: HS256 only when `JWT_SECRET` is
//! set, and RS256 / ES256 / EdDSA only for keys of `JWT_JWKS` or of the set fetched from
//! `JWT_JWKS_URL` (handed in by the caller, see [`super::jwks`]), matched by `kid`; a `kid`
//! in both is `JWT_JWKS`'s. A token's `alg` header never chooses a verifier on its own, so
//! `alg: none` or an HS256 token signed with an RSA public key cannot pass. Unusable keys
//! are skipped ([`super::keys`]). A token carrying a `token_type` other than `access` (a
//! SimpleJWT refresh token) is refused.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::identity::{ClaimNames, Identity, Profile};
use super::jwt::{hs256_valid, Untrusted};
pub use super::keys::AuthConfigError;
use super::keys::{Alg, KeySet, PublicKey, Signatures};

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

/// Verifier built once per isolate from `JWT_SECRET`, `JWT_JWKS`, `JWT_ISSUER`,
/// `JWT_AUDIENCE` and the claim names (`JWT_USER_ID_CLAIM`, `JWT_ORGS_CLAIM`).
#[derive(Default)]
pub struct JwtVerifier {
    hs256: Option<Vec<u8>>,
    keys: KeySet,
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
        let parsed = nonempty(jwks).map(|text| KeySet::parse(&text, "JWT_JWKS"));
        let (keys, problems) = match parsed {
            None => (KeySet::default(), Vec::new()),
            Some(Ok(parsed)) => parsed,
            Some(Err(e)) => (KeySet::default(), vec![e]),
        };
        let verifier = JwtVerifier {
            hs256: nonempty(secret).map(String::into_bytes),
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

    /// Verifies `token` at `now_ms` (Unix milliseconds) with the configured keys and the
    /// `fetched` set (from `JWT_JWKS_URL`; empty without it), public-key signatures checked
    /// by `sigs`, and returns who it names.
    pub async fn verify(
        &self,
        sigs: &impl Signatures,
        fetched: &KeySet,
        token: &str,
        now_ms: i64,
    ) -> Result<Identity, AuthError> {
        let untrusted = Untrusted::parse(token).ok_or(AuthError::Malformed)?;
        let claims = self.check_signature(sigs, &untrusted, fetched).await?;
        let exp = check_times(&claims, now_ms)?;
        self.check_audience(&claims)?;
        check_token_type(&claims)?;
        let user = self.claims.user_id(&claims)?;
        let (profile, orgs) = (Profile::from_claims(&claims), self.claims.orgs(&claims));
        Ok(Identity::new(user.to_string(), profile, orgs, exp))
    }

    /// The claims, once the signature checks out with the key the configuration allows for
    /// the token's `alg` (and `kid`).
    async fn check_signature(
        &self,
        sigs: &impl Signatures,
        token: &Untrusted<'_>,
        fetched: &KeySet,
    ) -> Result<Map<String, Value>, AuthError> {
        let valid = if token.alg == "HS256" {
            let key = self.hs256.as_ref().ok_or(AuthError::AlgorithmNotAllowed)?;
            hs256_valid(key, token.signed, &token.signature)
        } else {
            let key = self.key_for(token.kid.as_deref(), &token.alg, fetched)?;
            sigs.verifies(key, token.signed, &token.signature).await
        };
        if !valid {
            return Err(AuthError::BadSignature);
        }
        token.claims().ok_or(AuthError::Malformed)
    }

    /// The key for `kid` (`JWT_JWKS`'s first, then the fetched set's); without a `kid`,
    /// the only key of that algorithm in both.
    fn key_for<'a>(
        &'a self,
        kid: Option<&str>,
        alg: &str,
        fetched: &'a KeySet,
    ) -> Result<&'a PublicKey, AuthError> {
        let alg = match alg {
            "RS256" => Alg::Rs256,
            "ES256" => Alg::Es256,
            "EdDSA" => Alg::EdDsa,
            _ => return Err(AuthError::AlgorithmNotAllowed),
        };
        let key = match kid {
            Some(kid) => self
                .keys
                .get(kid)
                .or_else(|| fetched.get(kid))
                .ok_or(AuthError::UnknownKey)?,
            None => {
                let mut same_alg = self.keys.of_alg(alg).chain(fetched.of_alg(alg));
                match (same_alg.next(), same_alg.next()) {
                    (Some(k), None) => k,
                    _ => return Err(AuthError::UnknownKey),
                }
            }
        };
        if key.alg == alg {
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

/// True when `token` is signed with a public-key algorithm, i.e. may need the fetched key
/// set; HS256 and malformed tokens never do.
pub fn uses_public_key(token: &str) -> bool {
    Untrusted::parse(token).is_some_and(|t| t.alg != "HS256")
}

/// `exp` (required), `nbf` and `iat` against `now_ms` with [`LEEWAY_SECS`]; the expiry in
/// Unix seconds. Times are integer seconds (RFC 7519 NumericDate); anything else is
/// malformed.
fn check_times(claims: &Map<String, Value>, now_ms: i64) -> Result<i64, AuthError> {
    let time = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(|secs| Some(secs.saturating_mul(1000)))
            .ok_or(AuthError::Malformed),
    };
    let leeway = LEEWAY_SECS * 1000;
    let exp = time("exp")?.ok_or(AuthError::MissingClaim("exp"))?;
    if now_ms > exp.saturating_add(leeway) {
        return Err(AuthError::Expired);
    }
    let mut not_before = [time("nbf")?, time("iat")?].into_iter().flatten();
    if not_before.any(|t| t > now_ms.saturating_add(leeway)) {
        return Err(AuthError::NotYetValid);
    }
    Ok(exp / 1000)
}

/// SimpleJWT marks its tokens `access` or `refresh`; only access tokens open anything.
fn check_token_type(custom: &Map<String, Value>) -> Result<(), AuthError> {
    match custom.get("token_type") {
        None => Ok(()),
        Some(Value::String(t)) if t == "access" => Ok(()),
        Some(_) => Err(AuthError::NotAccessToken),
    }
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
