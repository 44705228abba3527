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
