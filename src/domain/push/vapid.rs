//! VAPID (RFC 8292): the application server's signed statement to a push service,
//! `Authorization: vapid t=<JWT>, k=<public key>`. The JWT is ES256 over `aud` (the
//! endpoint's origin), `exp` and `sub` (a contact: `mailto:` or `https:`). The key pair is
//! `VAPID_PUBLIC_KEY` / `VAPID_PRIVATE_KEY` in the format `web-push generate-vapid-keys`
//! prints (base64url of the 65-byte point and of the 32-byte scalar).

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::json;

use super::{b64url, b64url_decode, origin, PushError};

/// How long a VAPID JWT is valid: RFC 8292 §2 allows at most 24 h; half leaves room for
/// clock skew at the push service.
pub const EXP_SECS: i64 = 12 * 60 * 60;

/// The configured key pair and contact.
#[derive(Clone)]
pub struct Vapid {
    key: SigningKey,
    public: String,
    subject: String,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key, not even in a debug print.
        f.debug_struct("Vapid")
            .field("public", &self.public)
            .field("subject", &self.subject)
            .finish()
    }
}

fn config(var: &'static str, why: &'static str) -> PushError {
    PushError::Config { var, why }
}

impl Vapid {
    /// Checks the three values: each well formed, and the public key the private key's own.
    pub fn new(public: &str, private: &str, subject: &str) -> Result<Vapid, PushError> {
        let (public, private, subject) = (public.trim(), private.trim(), subject.trim());
        let point = b64url_decode(public).filter(|p| p.len() == 65 && p[0] == 4);
        let point = point.ok_or(config(
            "VAPID_PUBLIC_KEY",
            "is not base64url of a 65-byte uncompressed P-256 point",
        ))?;
        let scalar = b64url_decode(private).filter(|s| s.len() == 32);
        let scalar = scalar.ok_or(config(
            "VAPID_PRIVATE_KEY",
            "is not base64url of a 32-byte P-256 scalar",
        ))?;
        let key = SigningKey::from_slice(&scalar)
            .map_err(|_| config("VAPID_PRIVATE_KEY", "is not a valid P-256 private key"))?;
        let own = key.verifying_key().to_encoded_point(false);
        if own.as_bytes() != point.as_slice() {
            return Err(config(
                "VAPID_PUBLIC_KEY",
                "is not the public key of VAPID_PRIVATE_KEY",
            ));
        }
        let contact = subject.starts_with("mailto:") || subject.starts_with("https://");
        if !contact || subject.len() < 8 {
            return Err(config(
                "VAPID_SUBJECT",
                "must be a mailto: or https: contact",
            ));
        }
        Ok(Vapid {
            key,
            public: b64url(&point),
            subject: subject.to_string(),
        })
    }

    /// The public key as browsers want it (`applicationServerKey`).
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to `endpoint` at `now_secs`.
    pub fn authorization(&self, endpoint: &str, now_secs: i64) -> Result<String, PushError> {
        let aud = origin(endpoint).ok_or_else(|| PushError::Invalid("endpoint".into()))?;
        let jwt = self.jwt(&aud, now_secs + EXP_SECS);
        Ok(format!("vapid t={jwt}, k={}", self.public))
    }

    /// An ES256 JWT (JWS compact form: the signature is r || s, 64 bytes).
    fn jwt(&self, aud: &str, exp: i64) -> String {
        let header = b64url(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = json!({"aud": aud, "exp": exp, "sub": self.subject});
        let signing_input = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
        let sig: Signature = self.key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(&sig.to_bytes()))
    }
}
