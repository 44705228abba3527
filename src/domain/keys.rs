//! JSON Web Key Sets as verifying keys: the text of `JWT_JWKS`, or a body fetched from
//! `JWT_JWKS_URL`, parsed into a [`KeySet`] of RS256 / ES256 / EdDSA public keys by `kid`.
//! A key the service cannot use (another curve, key type or algorithm, `use` other than
//! `sig`, bad base64url, a P-256 point off the curve, an RSA modulus outside 1024–4096
//! bits) is skipped and reported; the others are kept. Reports name the variable, the `kid`
//! and the reason, never key bytes.
//!
//! A [`PublicKey`] holds the key as a canonical public JWK (its public members only, so a
//! private key published by mistake can never be imported as one); the signature itself is
//! checked by a [`Signatures`] implementation: the runtime's WebCrypto in the Worker
//! (`platform::webcrypto`, native code instead of RSA and curve arithmetic in the Wasm),
//! RustCrypto in the unit tests.

use std::collections::HashMap;

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;

/// A key set, or one of its keys, the service cannot use. Messages never hold key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    /// The whole set is unusable: no key of it is used.
    #[error("{var} is not a JSON Web Key Set ({reason}); none of its keys is used")]
    Jwks { var: &'static str, reason: String },
    /// One key is unusable and skipped; the others are used.
    #[error("{var} key {kid} skipped: {reason}")]
    JwksKeySkipped {
        var: &'static str,
        kid: String,
        reason: String,
    },
}

/// The asymmetric JWT algorithms (RFC 7518 §3.3, §3.4; RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256, the signature as `r || s`.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }
}

/// One verifying key; `alg` is the only algorithm it verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub alg: Alg,
    /// The public JWK as JSON text, with only `kty`, `crv` and the key's public members.
    pub jwk: String,
}

/// Checks a signature with a [`PublicKey`]: `signature` is the token's third part, decoded,
/// over `signed`, its first two parts. An implementation answers false for a signature of
/// the wrong length or one that does not verify.
#[allow(async_fn_in_trait)] // single-threaded: the Worker needs no Send futures
pub trait Signatures {
    async fn verifies(&self, key: &PublicKey, signed: &[u8], signature: &[u8]) -> bool;
}

/// The usable keys of a JSON Web Key Set by `kid` (`#<index>` for a key without one).
#[derive(Default)]
pub struct KeySet {
    keys: HashMap<String, PublicKey>,
}

/// The usable keys and the ones skipped (a problem each).
pub type Parsed = (KeySet, Vec<AuthConfigError>);

impl KeySet {
    /// Parses a key set read from `var`; an error when the text is not a key set at all.
    pub fn parse(text: &str, var: &'static str) -> Result<Parsed, AuthConfigError> {
        let set: Value = serde_json::from_str(text).map_err(|e| AuthConfigError::Jwks {
            var,
            reason: format!("not JSON: {}", super::errors::json_error(&e)),
        })?;
        let keys =
            set.get("keys")
                .and_then(Value::as_array)
                .ok_or_else(|| AuthConfigError::Jwks {
                    var,
                    reason: "no \"keys\" array".into(),
                })?;
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
                    var,
                    kid: short(&kid, 64),
                    reason,
                }),
            }
        }
        Ok((KeySet { keys: usable }, skipped))
    }

    /// How many usable keys the set has.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key named `kid`.
    pub(super) fn get(&self, kid: &str) -> Option<&PublicKey> {
        self.keys.get(kid)
    }

    /// Every key verifying `alg`.
    pub(super) fn of_alg(&self, alg: Alg) -> impl Iterator<Item = &PublicKey> {
        self.keys.values().filter(move |k| k.alg == alg)
    }
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
    let bytes = |k: &str| {
        let text = raw.get(k).and_then(Value::as_str).ok_or_else(invalid)?;
        Base64UrlUnpadded::decode_vec(text).map_err(|_| invalid())
    };
    let (alg, jwk) = match expected_alg {
        "RS256" => (Alg::Rs256, rsa_jwk(&bytes("n")?, &bytes("e")?)?),
        "ES256" => (
            Alg::Es256,
            p256_jwk(&bytes("x")?, &bytes("y")?).ok_or_else(invalid)?,
        ),
        _ => (Alg::EdDsa, ed25519_jwk(&bytes("x")?).ok_or_else(invalid)?),
    };
    Ok(PublicKey { alg, jwk })
}

/// An RSA key from its JWK modulus and exponent (big-endian): a modulus of 1024 to 4096
/// bits (what the `rsa` crate and WebCrypto both take) and an odd exponent above 1 that
/// fits 32 bits.
fn rsa_jwk(n: &[u8], e: &[u8]) -> Result<String, String> {
    let n = trim_zeros(n);
    let bits = n
        .first()
        .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
    if !(1024..=4096).contains(&bits) {
        return Err(format!(
            "an RSA modulus of {bits} bits is not between 1024 and 4096"
        ));
    }
    let e = trim_zeros(e);
    let odd_above_one = e.last().is_some_and(|b| b & 1 == 1) && e != [1];
    if e.len() > 4 || !odd_above_one {
        return Err("the RSA exponent is not an odd number between 3 and 2^32".into());
    }
    let (n, e) = (
        Base64UrlUnpadded::encode_string(n),
        Base64UrlUnpadded::encode_string(e),
    );
    Ok(format!(r#"{{"kty":"RSA","n":"{n}","e":"{e}"}}"#))
}

fn trim_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

/// A P-256 key from its JWK coordinates (32 bytes each); a point off the curve is refused.
fn p256_jwk(x: &[u8], y: &[u8]) -> Option<String> {
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    p256::PublicKey::from_sec1_bytes(point.as_bytes()).ok()?;
    let (x, y) = (
        Base64UrlUnpadded::encode_string(x),
        Base64UrlUnpadded::encode_string(y),
    );
    Some(format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}"}}"#
    ))
}

/// An Ed25519 key: 32 bytes (43 base64url characters). The JWKs are written by hand: every
/// member is base64url, which JSON needs no escape for.
fn ed25519_jwk(x: &[u8]) -> Option<String> {
    let x = Base64UrlUnpadded::encode_string(x);
    (x.len() == 43).then(|| format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#))
}

/// `s` cut to `max` characters, for names quoted in log lines.
fn short(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
