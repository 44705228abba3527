//! The compact JWS form of a JWT (RFC 7515 §7.1, RFC 7519): splitting a token into its
//! header, claims and signature without trusting any of them, the HS256 check and the HS256
//! signing of development tokens. The public-key checks are [`super::keys::PublicKey`]'s.
//!
//! Written here rather than taken from a JWT crate: [`super::auth`] needs only this much, and
//! a general JWT library (claims types, every algorithm, its own time crate) was about 3 % of
//! the Wasm. The unit tests check it against tokens minted by `jwt-compact`.

use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

/// A token that could be split and decoded; nothing in it is verified yet.
pub struct Untrusted<'a> {
    /// `alg` of the header.
    pub alg: String,
    /// `kid` of the header, if any.
    pub kid: Option<String>,
    /// `<header>.<claims>`: what the signature covers.
    pub signed: &'a [u8],
    pub signature: Vec<u8>,
    claims: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Only JSON claims are supported: `cty` absent or `json`.
    #[serde(default)]
    cty: Option<String>,
}

impl<'a> Untrusted<'a> {
    /// Splits `token` into three base64url parts (unpadded) and reads the header; `None`
    /// when it is not a compact JWS with a JSON header naming an `alg`.
    pub fn parse(token: &'a str) -> Option<Self> {
        let mut parts = token.splitn(4, '.');
        let (head, body, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Header =
            serde_json::from_slice(&Base64UrlUnpadded::decode_vec(head).ok()?).ok()?;
        if header.cty.is_some_and(|c| !c.eq_ignore_ascii_case("json")) {
            return None;
        }
        Some(Untrusted {
            alg: header.alg,
            kid: header.kid,
            signed: &token.as_bytes()[..head.len() + 1 + body.len()],
            signature: Base64UrlUnpadded::decode_vec(sig).ok()?,
            claims: Base64UrlUnpadded::decode_vec(body).ok()?,
        })
    }

    /// The claims object; call it only after the signature checked out. `None` when the
    /// claims are not a JSON object.
    pub fn claims(&self) -> Option<Map<String, Value>> {
        serde_json::from_slice(&self.claims).ok()
    }
}

/// Whether `signature` is the HMAC-SHA256 of `signed` under `key` (compared in constant time).
pub fn hs256_valid(key: &[u8], signed: &[u8], signature: &[u8]) -> bool {
    let mut mac = hmac(key);
    mac.update(signed);
    mac.verify_slice(signature).is_ok()
}

/// An HS256 token of `claims` (for `GET /dev/token`): header `{"alg":"HS256","typ":"JWT"}`.
pub fn hs256_token(key: &[u8], claims: &Map<String, Value>) -> String {
    let head = Base64UrlUnpadded::encode_string(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = serde_json::to_vec(claims).unwrap_or_default();
    let signed = format!("{head}.{}", Base64UrlUnpadded::encode_string(&body));
    let mut mac = hmac(key);
    mac.update(signed.as_bytes());
    let sig = mac.finalize().into_bytes();
    format!("{signed}.{}", Base64UrlUnpadded::encode_string(&sig))
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length, so this cannot fail.
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_token_splits_into_header_claims_and_signature() {
        let claims = json!({"sub": "u1", "exp": 2}).as_object().unwrap().clone();
        let token = hs256_token(b"k", &claims);
        let t = Untrusted::parse(&token).unwrap();
        assert_eq!((t.alg.as_str(), t.kid.as_deref()), ("HS256", None));
        assert_eq!(t.signed, token.rsplit_once('.').unwrap().0.as_bytes());
        assert!(hs256_valid(b"k", t.signed, &t.signature));
        assert!(!hs256_valid(b"other", t.signed, &t.signature));
        assert_eq!(t.claims(), Some(claims));
    }

    #[test]
    fn our_hs256_tokens_verify_with_jwt_compact() {
        use jwt_compact::{alg::Hs256, alg::Hs256Key, AlgorithmExt, UntrustedToken};
        let claims = json!({"sub": "u1"}).as_object().unwrap().clone();
        let token = hs256_token(b"secret", &claims);
        let untrusted = UntrustedToken::new(&token).unwrap();
        let key = Hs256Key::new(b"secret");
        let checked = Hs256.validator::<Map<String, Value>>(&key);
        assert_eq!(
            checked.validate(&untrusted).unwrap().claims().custom,
            claims
        );
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        let head = Base64UrlUnpadded::encode_string(br#"{"alg":"HS256"}"#);
        let cbor = Base64UrlUnpadded::encode_string(br#"{"alg":"HS256","cty":"cbor"}"#);
        for token in [
            String::new(),
            format!("{head}.e30"),
            format!("{head}.e30.AA.x"),
            format!("{head}=.e30.AA"),
            format!("{head}.e30=.AA"),
            format!("{}.e30.AA", Base64UrlUnpadded::encode_string(b"{}")),
            format!("{}.e30.AA", Base64UrlUnpadded::encode_string(b"[1]")),
            format!("{cbor}.e30.AA"),
        ] {
            assert!(Untrusted::parse(&token).is_none(), "{token}");
        }
        let not_object = format!("{head}.{}.AA", Base64UrlUnpadded::encode_string(b"[1]"));
        assert_eq!(Untrusted::parse(&not_object).unwrap().claims(), None);
    }
}
