//! Unit tests of key sets from `JWT_JWKS_URL`: reports name that variable, and a verifier
//! uses its own `JWT_JWKS` keys and a fetched set together.

use jwt_compact::{
    alg::{Es256, Hs256, Hs256Key},
    jwk::JsonWebKey,
    AlgorithmExt, Claims, Header,
};
use serde_json::{json, Map};

use super::*;
use crate::domain::auth::{uses_public_key, AuthError, JwtVerifier};
use crate::domain::test_crypto::VerifyNow;

const NOW_MS: i64 = 1_800_000_000_000;

fn ec_key(seed: u8) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

/// A JWK of `key`'s public half, named `kid`.
fn jwk(key: &p256::ecdsa::SigningKey, kid: &str) -> Value {
    let mut v = serde_json::to_value(JsonWebKey::from(key.verifying_key())).unwrap();
    v["kid"] = json!(kid);
    v
}

fn set(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// An ES256 token for `sub`, with `kid` in the header when given.
fn es256(key: &p256::ecdsa::SigningKey, kid: Option<&str>, sub: &str) -> String {
    let mut claims = Claims::new(Map::from_iter([("sub".to_string(), json!(sub))]));
    claims.expiration = chrono::DateTime::from_timestamp(NOW_MS / 1000 + 600, 0);
    let header = kid.map_or_else(Header::empty, |k| Header::empty().with_key_id(k));
    Es256.token(&header, &claims, key).unwrap()
}

fn fetched(text: &str) -> KeySet {
    let (keys, problems) = KeySet::parse(text, "JWT_JWKS_URL").unwrap();
    assert_eq!(problems, vec![], "{text}");
    keys
}

#[test]
fn a_fetched_set_reports_under_its_own_variable() {
    let text = set(&[
        jwk(&ec_key(1), "good"),
        json!({"kid": "p384", "kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA"}),
    ]);
    let (keys, problems) = KeySet::parse(&text, "JWT_JWKS_URL").unwrap();
    assert_eq!((keys.len(), keys.is_empty()), (1, false));
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [r#"JWT_JWKS_URL key p384 skipped: unsupported EC curve "P-384""#]
    );
    let Err(e) = KeySet::parse("<html>", "JWT_JWKS_URL") else {
        panic!("HTML is not a key set");
    };
    assert!(
        e.to_string()
            .starts_with("JWT_JWKS_URL is not a JSON Web Key Set (not JSON"),
        "{e}"
    );
}

#[test]
fn configured_and_fetched_keys_are_merged() {
    let (own, theirs, other) = (ec_key(1), ec_key(2), ec_key(3));
    let (verifier, problems) = JwtVerifier::new(None, Some(&set(&[jwk(&own, "own")])), None, None);
    assert_eq!(problems, vec![]);
    let remote = fetched(&set(&[jwk(&theirs, "idp-1")]));
    let ok = |token: &str, keys: &KeySet| verifier.verify_now_with(keys, token, NOW_MS);
    assert_eq!(
        ok(&es256(&own, Some("own"), "a"), &remote).unwrap().user_id,
        "a"
    );
    assert_eq!(
        ok(&es256(&theirs, Some("idp-1"), "b"), &remote)
            .unwrap()
            .user_id,
        "b"
    );
    // Without the fetched set, its keys are unknown; so is a kid nobody serves.
    let idp_token = es256(&theirs, Some("idp-1"), "b");
    assert_eq!(
        verifier.verify_now(&idp_token, NOW_MS),
        Err(AuthError::UnknownKey)
    );
    let stranger = es256(&other, Some("idp-2"), "c");
    assert_eq!(ok(&stranger, &remote), Err(AuthError::UnknownKey));
    // Two ES256 keys in all: a token without kid cannot choose.
    assert_eq!(
        ok(&es256(&own, None, "d"), &remote),
        Err(AuthError::UnknownKey)
    );
    let only_fetched = JwtVerifier::default();
    assert_eq!(
        only_fetched
            .verify_now_with(&remote, &es256(&theirs, None, "e"), NOW_MS)
            .unwrap()
            .user_id,
        "e"
    );
}

/// A provider cannot take over a kid the operator configured in `JWT_JWKS`.
#[test]
fn a_configured_kid_wins_over_the_same_kid_fetched() {
    let (own, theirs) = (ec_key(1), ec_key(2));
    let (verifier, _) = JwtVerifier::new(None, Some(&set(&[jwk(&own, "k")])), None, None);
    let remote = fetched(&set(&[jwk(&theirs, "k")]));
    let by_own = es256(&own, Some("k"), "a");
    assert_eq!(
        verifier
            .verify_now_with(&remote, &by_own, NOW_MS)
            .unwrap()
            .user_id,
        "a"
    );
    let by_theirs = es256(&theirs, Some("k"), "a");
    assert_eq!(
        verifier.verify_now_with(&remote, &by_theirs, NOW_MS),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn only_public_key_tokens_may_need_the_fetched_set() {
    let claims = Claims::new(Map::from_iter([("sub".to_string(), json!("u"))]));
    let hs = Hs256
        .token(&Header::empty(), &claims, &Hs256Key::new("s"))
        .unwrap();
    assert!(!uses_public_key(&hs));
    assert!(!uses_public_key("not a token"));
    assert!(uses_public_key(&es256(&ec_key(1), Some("k"), "u")));
}

#[test]
fn a_key_is_kept_as_its_public_members_only() {
    let ec = ec_key(4);
    let mut with_private = jwk(&ec, "ec");
    with_private["d"] = json!("AAAA");
    with_private["alg"] = json!("ES256");
    let (keys, problems) = KeySet::parse(&set(&[with_private.clone()]), "JWT_JWKS").unwrap();
    assert_eq!(problems, vec![]);
    let key = keys.get("ec").unwrap();
    assert_eq!(key.alg, Alg::Es256);
    let canonical: Value = serde_json::from_str(&key.jwk).unwrap();
    assert_eq!(
        canonical,
        json!({"kty": "EC", "crv": "P-256", "x": with_private["x"], "y": with_private["y"]})
    );
}

#[test]
fn rsa_keys_outside_1024_to_4096_bits_or_with_an_even_exponent_are_skipped() {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let b64 = |bytes: &[u8]| Base64UrlUnpadded::encode_string(bytes);
    let rsa = |kid: &str, n_bytes: usize, e: &[u8]| json!({"kid": kid, "kty": "RSA", "n": b64(&vec![0xC5; n_bytes]), "e": b64(e)});
    let text = set(&[
        rsa("ok", 256, &[1, 0, 1]),
        rsa("small", 64, &[1, 0, 1]),
        rsa("huge", 513, &[1, 0, 1]),
        rsa("even", 256, &[2]),
        rsa("one", 256, &[1]),
    ]);
    let (keys, problems) = KeySet::parse(&text, "JWT_JWKS").unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        keys.get("ok").unwrap().jwk,
        format!(r#"{{"kty":"RSA","n":"{}","e":"AQAB"}}"#, b64(&[0xC5; 256]))
    );
    let reasons: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        reasons,
        [
            "JWT_JWKS key small skipped: an RSA modulus of 512 bits is not between 1024 and 4096",
            "JWT_JWKS key huge skipped: an RSA modulus of 4104 bits is not between 1024 and 4096",
            "JWT_JWKS key even skipped: the RSA exponent is not an odd number between 3 and 2^32",
            "JWT_JWKS key one skipped: the RSA exponent is not an odd number between 3 and 2^32",
        ]
    );
}
