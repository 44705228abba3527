//! Unit tests of JWT verification with real keys of every supported algorithm.

use super::*;
use crate::domain::test_crypto::VerifyNow;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use chrono::DateTime;
use jwt_compact::{
    alg::{Ed25519, Es256, Hs256, Hs256Key, Rsa, RsaPrivateKey},
    jwk::JsonWebKey,
    AlgorithmExt, Claims, Header,
};
use serde_json::json;

const NOW_MS: i64 = 1_800_000_000_000;
const NOW: i64 = NOW_MS / 1000;
const SECRET: &str = "unit-test-secret";

/// `extra` over `{sub: "u1", exp: NOW + 600}`; a `null` removes that claim.
fn claims(extra: Value) -> Claims<Map<String, Value>> {
    let mut map = json!({"sub": "u1", "exp": NOW + 600})
        .as_object()
        .unwrap()
        .clone();
    map.extend(extra.as_object().unwrap().clone());
    map.retain(|_, v| !v.is_null());
    // jwt-compact keeps exp/nbf/iat apart from custom claims: move them over.
    let time = |m: &mut Map<String, Value>, k: &str| {
        m.remove(k)
            .and_then(|v| v.as_i64())
            .and_then(|s| DateTime::from_timestamp(s, 0))
    };
    let mut c = Claims::new(map.clone());
    c.expiration = time(&mut map, "exp");
    c.not_before = time(&mut map, "nbf");
    c.issued_at = time(&mut map, "iat");
    c.custom = map;
    c
}

fn hs256(extra: Value) -> String {
    Hs256
        .token(&Header::empty(), &claims(extra), &Hs256Key::new(SECRET))
        .unwrap()
}

fn hs_verifier() -> JwtVerifier {
    verifier(Some(SECRET), None)
}

/// A verifier whose configuration must have no problems.
fn verifier(secret: Option<&str>, jwks: Option<&str>) -> JwtVerifier {
    let (v, problems) = JwtVerifier::new(secret, jwks, None, None);
    assert_eq!(problems, vec![], "configuration problems");
    v
}

#[test]
fn valid_hs256_token_yields_identity_with_profile_and_orgs() {
    let token = hs256(
        json!({"name": "Ann", "username": "ann", "email": "a@x.io", "orgs": ["acme", 7, "bad id"]}),
    );
    let who = hs_verifier().verify_now(&token, NOW_MS).unwrap();
    assert_eq!(who.user_id, "u1");
    assert_eq!(who.profile.name.as_deref(), Some("Ann"));
    assert_eq!(who.profile.username.as_deref(), Some("ann"));
    assert_eq!(who.orgs, vec!["acme".to_string(), "7".to_string()]);
    assert_eq!(who.exp, NOW + 600);
}

#[test]
fn expired_token_is_refused_after_the_leeway_only() {
    let v = hs_verifier();
    assert!(v
        .verify_now(&hs256(json!({"exp": NOW - 30})), NOW_MS)
        .is_ok());
    assert_eq!(
        v.verify_now(&hs256(json!({"exp": NOW - 61})), NOW_MS),
        Err(AuthError::Expired)
    );
}

#[test]
fn not_yet_valid_token_is_refused() {
    let v = hs_verifier();
    assert!(v
        .verify_now(&hs256(json!({"nbf": NOW + 30})), NOW_MS)
        .is_ok());
    assert_eq!(
        v.verify_now(&hs256(json!({"nbf": NOW + 120})), NOW_MS),
        Err(AuthError::NotYetValid)
    );
    assert_eq!(
        v.verify_now(&hs256(json!({"iat": NOW + 120})), NOW_MS),
        Err(AuthError::NotYetValid)
    );
}

#[test]
fn exp_and_sub_are_required() {
    assert_eq!(
        hs_verifier().verify_now(&hs256(json!({"exp": null})), NOW_MS),
        Err(AuthError::MissingClaim("exp"))
    );
    assert_eq!(
        hs_verifier().verify_now(&hs256(json!({"sub": null})), NOW_MS),
        Err(AuthError::MissingUserId)
    );
    assert_eq!(
        hs_verifier().verify_now(&hs256(json!({"sub": "a b"})), NOW_MS),
        Err(AuthError::Subject)
    );
}

#[test]
fn wrong_key_is_a_bad_signature() {
    let other = Hs256
        .token(
            &Header::empty(),
            &claims(json!({})),
            &Hs256Key::new("other"),
        )
        .unwrap();
    assert_eq!(
        hs_verifier().verify_now(&other, NOW_MS),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn tampered_payload_is_a_bad_signature() {
    let token = hs256(json!({}));
    let parts: Vec<&str> = token.split('.').collect();
    let forged = B64.encode(json!({"sub": "admin", "exp": NOW + 600}).to_string());
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert_eq!(
        hs_verifier().verify_now(&tampered, NOW_MS),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn alg_none_is_refused() {
    let head = B64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = B64.encode(json!({"sub": "u1", "exp": NOW + 600}).to_string());
    for token in [format!("{head}.{body}."), format!("{head}.{body}")] {
        let err = hs_verifier().verify_now(&token, NOW_MS).unwrap_err();
        assert!(
            matches!(err, AuthError::AlgorithmNotAllowed | AuthError::Malformed),
            "{err:?}"
        );
    }
}

#[test]
fn algorithms_without_a_configured_key_are_refused() {
    let jwks_only = verifier(None, Some(r#"{"keys":[]}"#));
    assert_eq!(
        jwks_only.verify_now(&hs256(json!({})), NOW_MS),
        Err(AuthError::AlgorithmNotAllowed)
    );
    let hs384 = jwt_compact::alg::Hs384
        .token(
            &Header::empty(),
            &claims(json!({})),
            &jwt_compact::alg::Hs384Key::new(SECRET),
        )
        .unwrap();
    assert_eq!(
        hs_verifier().verify_now(&hs384, NOW_MS),
        Err(AuthError::AlgorithmNotAllowed)
    );
}

#[test]
fn issuer_and_audience_are_checked_when_configured() {
    let (v, _) = JwtVerifier::new(Some(SECRET), None, Some("https://id.example"), Some("chat"));
    let good = hs256(json!({"iss": "https://id.example", "aud": ["web", "chat"]}));
    assert!(v.verify_now(&good, NOW_MS).is_ok());
    let bad_iss = hs256(json!({"iss": "https://evil.example", "aud": "chat"}));
    assert_eq!(v.verify_now(&bad_iss, NOW_MS), Err(AuthError::Issuer));
    let bad_aud = hs256(json!({"iss": "https://id.example", "aud": "other"}));
    assert_eq!(v.verify_now(&bad_aud, NOW_MS), Err(AuthError::Audience));
    assert!(
        hs_verifier().verify_now(&bad_aud, NOW_MS).is_ok(),
        "unchecked when not configured"
    );
}

#[test]
fn garbage_is_malformed() {
    for token in ["", "abc", "a.b.c", "....."] {
        assert_eq!(
            hs_verifier().verify_now(token, NOW_MS),
            Err(AuthError::Malformed),
            "{token:?}"
        );
    }
}

fn jwk_with_kid(jwk: JsonWebKey<'_>, kid: &str) -> Value {
    let mut v = serde_json::to_value(&jwk).unwrap();
    v["kid"] = json!(kid);
    v
}

/// A JWK with `fields` set over its own.
fn with_fields(jwk: JsonWebKey<'_>, fields: Value) -> Value {
    let mut v = serde_json::to_value(&jwk).unwrap();
    for (k, x) in fields.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn with_kid(kid: &str) -> Header {
    Header::empty().with_key_id(kid)
}

#[test]
fn jwks_keys_verify_rs256_es256_and_eddsa_by_kid() {
    let mut rng = rand::thread_rng();
    let rsa = RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let rsa_pub = rsa.to_public_key();
    let ec = p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap();
    let ed = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9u8; 32]));
    let jwks = json!({"keys": [
        jwk_with_kid(JsonWebKey::from(&rsa_pub), "rsa1"),
        jwk_with_kid(JsonWebKey::from(ec.verifying_key()), "ec1"),
        jwk_with_kid(JsonWebKey::from(&ed.pk), "ed1"),
    ]});
    let v = verifier(None, Some(&jwks.to_string()));
    let c = claims(json!({}));

    let rs = Rsa::rs256().token(&with_kid("rsa1"), &c, &rsa).unwrap();
    let es = Es256.token(&with_kid("ec1"), &c, &ec).unwrap();
    let eddsa = Ed25519.token(&with_kid("ed1"), &c, &ed.sk).unwrap();
    for token in [&rs, &es, &eddsa] {
        assert_eq!(v.verify_now(token, NOW_MS).unwrap().user_id, "u1");
    }

    let unknown = Es256.token(&with_kid("nope"), &c, &ec).unwrap();
    assert_eq!(v.verify_now(&unknown, NOW_MS), Err(AuthError::UnknownKey));
    // A token may not pick a verifier by naming another key's kid.
    let confused = Es256.token(&with_kid("ed1"), &c, &ec).unwrap();
    assert_eq!(
        v.verify_now(&confused, NOW_MS),
        Err(AuthError::AlgorithmNotAllowed)
    );
    let other_ec = p256::ecdsa::SigningKey::from_bytes(&[8u8; 32].into()).unwrap();
    let forged = Es256.token(&with_kid("ec1"), &c, &other_ec).unwrap();
    assert_eq!(v.verify_now(&forged, NOW_MS), Err(AuthError::BadSignature));
}

#[test]
fn an_unusable_jwks_set_is_reported_and_keeps_hs256() {
    for text in ["not json", r#"{"nokeys":1}"#] {
        let (v, problems) = JwtVerifier::new(Some(SECRET), Some(text), None, None);
        assert!(
            matches!(
                problems.as_slice(),
                [AuthConfigError::Jwks {
                    var: "JWT_JWKS",
                    ..
                }]
            ),
            "{text}: {problems:?}"
        );
        assert!(
            v.verify_now(&hs256(json!({})), NOW_MS).is_ok(),
            "HS256 still works"
        );
    }
    let (v, _) = JwtVerifier::new(None, Some("not json"), None, None);
    assert!(!v.has_keys(), "no token can verify");
}

/// One good key of each kind next to keys the service cannot use: each bad one is
/// skipped with its reason, and the good ones still verify.
#[test]
fn unusable_jwks_keys_are_skipped_and_the_others_still_work() {
    let rsa = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let ec = p256::ecdsa::SigningKey::from_bytes(&[7u8; 32].into()).unwrap();
    let rsa_with = |fields: Value| with_fields(JsonWebKey::from(&rsa.to_public_key()), fields);
    let long_kid = "k".repeat(100); // matched in full, whatever its length
    let jwks = json!({"keys": [
        {"kid": "p384", "kty": "EC", "crv": "P-384", "x": "AAAA", "y": "AAAA"},
        rsa_with(json!({"kid": "rsa1", "alg": "RS256", "use": "sig"})),
        {"kid": "hmac", "kty": "oct", "k": "c2VjcmV0LWJ5dGVz"},
        with_fields(JsonWebKey::from(ec.verifying_key()), json!({"kid": "b64", "x": "not*base64url!"})),
        jwk_with_kid(JsonWebKey::from(ec.verifying_key()), &long_kid),
        rsa_with(json!({"kid": "ps", "alg": "PS256"})),
        rsa_with(json!({"kid": "enc", "use": "enc"})),
        {"kid": "x25519", "kty": "OKP", "crv": "X25519", "x": "AAAA"},
    ]});
    let (v, problems) = JwtVerifier::new(None, Some(&jwks.to_string()), None, None);
    let expected = [
        ("p384", r#"curve "P-384""#),
        ("hmac", r#"type "oct""#),
        ("b64", "bad base64url"),
        ("ps", r#"alg "PS256""#),
        ("enc", r#"use "enc""#),
        ("x25519", r#"curve "X25519""#),
    ];
    assert_eq!(problems.len(), expected.len(), "{problems:?}");
    for (p, (kid, reason)) in problems.iter().zip(expected) {
        let AuthConfigError::JwksKeySkipped {
            var: "JWT_JWKS",
            kid: k,
            reason: r,
        } = p
        else {
            panic!("not a skipped key: {p}");
        };
        assert!(k == kid && r.contains(reason), "{p}");
        assert!(
            !r.contains("c2VjcmV0") && !r.contains("not*"),
            "key material: {p}"
        );
    }
    let c = claims(json!({}));
    let rs = Rsa::rs256().token(&with_kid("rsa1"), &c, &rsa).unwrap();
    let es = Es256.token(&with_kid(&long_kid), &c, &ec).unwrap();
    for token in [&rs, &es] {
        assert_eq!(v.verify_now(token, NOW_MS).unwrap().user_id, "u1");
    }
    let skipped_kid = Es256.token(&with_kid("b64"), &c, &ec).unwrap();
    assert_eq!(
        v.verify_now(&skipped_kid, NOW_MS),
        Err(AuthError::UnknownKey)
    );
}

#[test]
fn api_keys_compare_against_every_configured_key() {
    let keys = vec!["first-key".to_string(), "second-key".to_string()];
    assert!(api_key_matches("first-key", &keys));
    assert!(api_key_matches("second-key", &keys));
    assert!(!api_key_matches("first-ke", &keys));
    assert!(!api_key_matches("", &keys));
    assert!(!api_key_matches("first-key", &[]));
}

#[test]
fn credentials_come_from_header_subprotocol_or_query() {
    let c = credentials(Some("Bearer h.t.x"), None, Some("q.t.x"));
    assert_eq!(c.token.as_deref(), Some("h.t.x"));
    let c = credentials(None, Some("realtime.v1, bearer.p.t.x"), None);
    assert_eq!(
        c,
        Credentials {
            token: Some("p.t.x".into()),
            protocol: Some("realtime.v1".into())
        }
    );
    let c = credentials(None, Some("bearer.p.t.x"), None);
    assert_eq!(
        c.protocol.as_deref(),
        Some("bearer.p.t.x"),
        "the only offer is echoed"
    );
    let c = credentials(None, None, Some("q.t.x"));
    assert_eq!(
        c,
        Credentials {
            token: Some("q.t.x".into()),
            protocol: None
        }
    );
    assert_eq!(credentials(Some("Basic abc"), None, Some("")).token, None);
}

#[test]
fn bearer_scheme_is_case_insensitive() {
    assert_eq!(bearer_token("Bearer abc"), Some("abc"));
    assert_eq!(bearer_token("bearer abc "), Some("abc"));
    assert_eq!(bearer_token("BEARER abc"), Some("abc"));
    assert_eq!(bearer_token("Basic abc"), None);
    assert_eq!(bearer_token("Bearer"), None);
}

/// A SimpleJWT access token: integer `user_id`, no `sub`.
#[test]
fn simplejwt_access_token_with_an_integer_user_id_verifies() {
    let token = hs256(json!({"sub": null, "token_type": "access", "jti": "j", "user_id": 42}));
    let who = hs_verifier().verify_now(&token, NOW_MS).unwrap();
    assert_eq!(who.user_id, "42");
}

#[test]
fn a_token_type_other_than_access_is_refused() {
    let v = hs_verifier();
    assert!(v
        .verify_now(&hs256(json!({"token_type": "access"})), NOW_MS)
        .is_ok());
    for other in [json!("refresh"), json!("Access"), json!(1), json!(false)] {
        let token = hs256(json!({ "token_type": other }));
        assert_eq!(
            v.verify_now(&token, NOW_MS),
            Err(AuthError::NotAccessToken),
            "{other}"
        );
    }
}

#[test]
fn configured_claim_names_pick_the_user_and_the_orgs() {
    let names = ClaimNames {
        user_id: vec!["https://app.example/uid".into()],
        orgs: "groups".into(),
    };
    let v = hs_verifier().with_claims(names);
    let token = hs256(json!({
        "sub": "auth0|123", "https://app.example/uid": "u-77", "groups": ["acme"], "orgs": ["x"]
    }));
    let who = v.verify_now(&token, NOW_MS).unwrap();
    assert_eq!(
        (who.user_id.as_str(), who.orgs.as_slice()),
        ("u-77", &["acme".to_string()][..])
    );
    assert_eq!(
        v.verify_now(&hs256(json!({})), NOW_MS),
        Err(AuthError::MissingUserId),
        "sub is no longer tried"
    );
}

/// A Keycloak-style access token: OIDC profile names only.
#[test]
fn oidc_profile_claims_reach_the_identity() {
    let token = hs256(json!({
        "sub": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "preferred_username": "jdoe",
        "given_name": "Jane", "family_name": "Doe", "picture": "https://img.example/j.png"
    }));
    let who = hs_verifier().verify_now(&token, NOW_MS).unwrap();
    assert_eq!(who.user_id, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
    assert_eq!(who.display_name(), "Jane Doe");
    assert_eq!(who.username(), "jdoe");
    assert_eq!(
        who.profile.avatar.as_deref(),
        Some("https://img.example/j.png")
    );
}
