//! JSON Web Key Sets as verifying keys: the text of `JWT_JWKS`, or a body fetched from
//! `JWT_JWKS_URL`, parsed into a [`KeySet`] of RS256 / ES256 / EdDSA public keys by `kid`.
//! A key the service cannot use (another curve, key type or algorithm, `use` other than
//! `sig`, bad base64url) is skipped and reported; the others are kept. Reports name the
//! variable, the `kid` and the reason, never key bytes.

use std::collections::HashMap;

use base64ct::{Base64UrlUnpadded, Encoding};
use p256::ecdsa::signature::Verifier;
use rsa::{pkcs1v15, BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::Sha256;

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

/// One verifying key; its variant is the only algorithm it verifies.
pub(super) enum PublicKey {
    Rs256(Box<pkcs1v15::VerifyingKey<Sha256>>),
    Es256(Box<p256::ecdsa::VerifyingKey>),
    EdDsa(ed25519_compact::PublicKey),
}

impl PublicKey {
    /// Whether `signature` (the token's third part, decoded) signs `signed` with this key:
    /// RSASSA-PKCS1-v1_5 with SHA-256, ECDSA P-256 with SHA-256 (`r || s`, RFC 7518 §3.4),
    /// or Ed25519.
    pub(super) fn verifies(&self, signed: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Rs256(key) => pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(signed, &sig).is_ok()),
            PublicKey::Es256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(signed, &sig).is_ok()),
            PublicKey::EdDsa(key) => ed25519_compact::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(signed, &sig).is_ok()),
        }
    }

    pub(super) fn alg(&self) -> &'static str {
        match self {
            PublicKey::Rs256(_) => "RS256",
            PublicKey::Es256(_) => "ES256",
            PublicKey::EdDsa(_) => "EdDSA",
        }
    }
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
    pub(super) fn of_alg(&self, alg: &str) -> impl Iterator<Item = &PublicKey> {
        let alg = alg.to_string();
        self.keys.values().filter(move |k| k.alg() == alg)
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
    let key = match expected_alg {
        "RS256" => rsa_key(&bytes("n")?, &bytes("e")?)
            .map(|k| PublicKey::Rs256(Box::new(pkcs1v15::VerifyingKey::new(k)))),
        "ES256" => p256_key(&bytes("x")?, &bytes("y")?).map(|k| PublicKey::Es256(Box::new(k))),
        _ => ed25519_compact::PublicKey::from_slice(&bytes("x")?)
            .ok()
            .map(PublicKey::EdDsa),
    };
    key.ok_or_else(invalid)
}

/// An RSA public key from its JWK modulus and exponent (big-endian); the `rsa` crate refuses
/// moduli over 4096 bits and unusable exponents.
fn rsa_key(n: &[u8], e: &[u8]) -> Option<RsaPublicKey> {
    RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)).ok()
}

/// A P-256 key from its JWK coordinates (32 bytes each); a point off the curve is refused.
fn p256_key(x: &[u8], y: &[u8]) -> Option<p256::ecdsa::VerifyingKey> {
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    p256::ecdsa::VerifyingKey::from_encoded_point(&point).ok()
}

/// `s` cut to `max` characters, for names quoted in log lines.
fn short(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
