//! Unit tests of `domain::push`: RFC 8291 Appendix A replayed byte for byte, VAPID JWTs
//! checked with the public key alone, and the subscription and endpoint rules.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{json, Value};

use super::ece::{encrypt, Ephemeral};
use super::vapid::{Vapid, EXP_SECS};
use super::*;

/// RFC 8291 Appendix A.
mod rfc8291 {
    pub const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
    pub const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    pub const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    pub const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    pub const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    pub const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";
}

fn bytes<const N: usize>(b64: &str) -> [u8; N] {
    b64url_decode(b64).unwrap().try_into().unwrap()
}

#[test]
fn rfc8291_appendix_a_vector_is_reproduced_exactly() {
    let eph = Ephemeral {
        secret: bytes(rfc8291::AS_PRIVATE),
        salt: bytes(rfc8291::SALT),
    };
    let ua = b64url_decode(rfc8291::UA_PUBLIC).unwrap();
    let auth = b64url_decode(rfc8291::AUTH).unwrap();
    let body = encrypt(rfc8291::PLAINTEXT.as_bytes(), &ua, &auth, &eph).unwrap();
    assert_eq!(b64url(&body), rfc8291::BODY);
}

#[test]
fn header_is_salt_record_size_and_our_public_key() {
    let eph = Ephemeral {
        secret: [7; 32],
        salt: [9; 16],
    };
    let ua = b64url_decode(rfc8291::UA_PUBLIC).unwrap();
    let body = encrypt(b"hi", &ua, &[1; 16], &eph).unwrap();
    assert_eq!(&body[..16], &[9; 16]);
    assert_eq!(&body[16..20], &4096u32.to_be_bytes());
    assert_eq!(body[20], 65);
    assert_eq!(body[21], 4, "keyid is an uncompressed point");
    assert_eq!(body.len(), 86 + 2 + 1 + 16, "header, text, delimiter, tag");
}

#[test]
fn too_large_or_bad_keys_are_refused() {
    let ua = b64url_decode(rfc8291::UA_PUBLIC).unwrap();
    let eph = Ephemeral {
        secret: [7; 32],
        salt: [0; 16],
    };
    let big = vec![b'x'; 4096 - 16];
    assert!(matches!(
        encrypt(&big, &ua, &[1; 16], &eph),
        Err(PushError::TooLarge(_))
    ));
    assert!(encrypt(&vec![b'x'; MAX_PLAINTEXT], &ua, &[1; 16], &eph).is_ok());
    let mut off_curve = ua.clone();
    off_curve[64] ^= 1;
    assert_eq!(
        encrypt(b"x", &off_curve, &[1; 16], &eph),
        Err(PushError::BadKey("p256dh"))
    );
    let zero = Ephemeral {
        secret: [0; 32],
        salt: [0; 16],
    };
    assert_eq!(
        encrypt(b"x", &ua, &[1; 16], &zero),
        Err(PushError::BadKey("ephemeral key"))
    );
}

/// A VAPID pair from a fixed scalar, as `web-push generate-vapid-keys` would print it.
fn vapid_pair(seed: u8) -> (String, String) {
    let key = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let point = key.verifying_key().to_encoded_point(false);
    (b64url(point.as_bytes()), b64url(&[seed; 32]))
}

#[test]
fn vapid_header_carries_a_jwt_the_public_key_verifies() {
    let (public, private) = vapid_pair(5);
    let vapid = Vapid::new(&public, &private, "mailto:ops@example.com").unwrap();
    let header = vapid
        .authorization("https://push.example.net:443/wpush/v2/abc?x=1", 1_000)
        .unwrap();
    let (t, k) = header
        .strip_prefix("vapid t=")
        .and_then(|r| r.split_once(", k="))
        .unwrap();
    assert_eq!(k, public);
    let parts: Vec<&str> = t.split('.').collect();
    let head: Value = serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
    assert_eq!(head, json!({"typ": "JWT", "alg": "ES256"}));
    let claims: Value = serde_json::from_slice(&b64url_decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        claims,
        json!({"aud": "https://push.example.net", "exp": 1_000 + EXP_SECS, "sub": "mailto:ops@example.com"})
    );
    const { assert!(EXP_SECS <= 24 * 3600) };
    let key = VerifyingKey::from_sec1_bytes(&b64url_decode(k).unwrap()).unwrap();
    let sig = Signature::from_slice(&b64url_decode(parts[2]).unwrap()).unwrap();
    let input = format!("{}.{}", parts[0], parts[1]);
    assert!(key.verify(input.as_bytes(), &sig).is_ok());
}

#[test]
fn vapid_config_problems_name_the_variable() {
    let (public, private) = vapid_pair(5);
    let (other, _) = vapid_pair(6);
    let var = |r: Result<Vapid, PushError>| match r {
        Err(PushError::Config { var, .. }) => var,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        var(Vapid::new("abc", &private, "mailto:a@b.c")),
        "VAPID_PUBLIC_KEY"
    );
    assert_eq!(
        var(Vapid::new(&public, "abc", "mailto:a@b.c")),
        "VAPID_PRIVATE_KEY"
    );
    assert_eq!(
        var(Vapid::new(&other, &private, "mailto:a@b.c")),
        "VAPID_PUBLIC_KEY"
    );
    assert_eq!(
        var(Vapid::new(&public, &private, "ops@example.com")),
        "VAPID_SUBJECT"
    );
    assert!(Vapid::new(&public, &private, "https://example.com/contact").is_ok());
    let debug = format!(
        "{:?}",
        Vapid::new(&public, &private, "mailto:a@b.c").unwrap()
    );
    assert!(
        !debug.contains(&private),
        "the private key is never printed"
    );
}

fn subscription(endpoint: &str, p256dh: &str, auth: &str) -> String {
    json!({"endpoint": endpoint, "expirationTime": null, "keys": {"p256dh": p256dh, "auth": auth}})
        .to_string()
}

#[test]
fn subscriptions_are_checked() {
    let ok = subscription(
        "https://fcm.googleapis.com/fcm/send/x",
        rfc8291::UA_PUBLIC,
        rfc8291::AUTH,
    );
    let s = parse_subscription(&ok, false).unwrap();
    assert_eq!(s.p256dh, rfc8291::UA_PUBLIC);
    let padded = subscription(
        "https://p.example/x",
        rfc8291::UA_PUBLIC,
        "BTBZMqHH6r4Tts7J_aSIgg==",
    );
    assert_eq!(
        parse_subscription(&padded, false).unwrap().auth,
        rfc8291::AUTH
    );
    let bad = [
        subscription("http://p.example/x", rfc8291::UA_PUBLIC, rfc8291::AUTH),
        subscription("http://127.0.0.1:9/x", rfc8291::UA_PUBLIC, rfc8291::AUTH),
        subscription(
            "https://user@p.example/x",
            rfc8291::UA_PUBLIC,
            rfc8291::AUTH,
        ),
        subscription("https://p.example/x", "BAAA", rfc8291::AUTH),
        subscription("https://p.example/x", rfc8291::UA_PUBLIC, "AAAA"),
        subscription("https://p.example/x", "not base64!", rfc8291::AUTH),
        subscription(
            &format!("https://p.example/{}", "x".repeat(1100)),
            rfc8291::UA_PUBLIC,
            rfc8291::AUTH,
        ),
        r#"{"endpoint":"https://p.example/x"}"#.to_string(),
    ];
    for b in bad {
        assert!(
            matches!(parse_subscription(&b, false), Err(PushError::Invalid(_))),
            "{b}"
        );
    }
}

#[test]
fn loopback_endpoints_only_with_dev_tokens() {
    for url in ["http://127.0.0.1:8123/push/a", "http://localhost:9/x"] {
        assert!(check_endpoint(url, true).is_ok(), "{url}");
        assert!(check_endpoint(url, false).is_err(), "{url}");
    }
    assert!(check_endpoint("http://10.0.0.1/x", true).is_err());
    assert!(check_endpoint("http://127.0.0.1.evil.example/x", true).is_err());
    assert_eq!(
        origin("http://127.0.0.1:8123/push/a").unwrap(),
        "http://127.0.0.1:8123"
    );
    assert_eq!(
        origin("HTTPS://Push.Example/a").unwrap(),
        "https://push.example"
    );
}

#[test]
fn policies_parse_and_decide() {
    assert_eq!(Policy::parse("offline"), Some(Policy::Offline));
    assert_eq!(Policy::parse("always"), Some(Policy::Always));
    assert_eq!(Policy::parse("never"), Some(Policy::Never));
    assert_eq!(Policy::parse("sometimes"), None);
    assert_eq!(Policy::default(), Policy::Offline);
    assert!(Policy::Offline.wants_push(0) && !Policy::Offline.wants_push(1));
    assert!(Policy::Always.wants_push(3));
    assert!(!Policy::Never.wants_push(0));
}

#[test]
fn a_payload_that_does_not_fit_is_cut_to_what_shows_it() {
    let small = json!({"id": "n1", "title": "hi"});
    assert_eq!(payload(&small), small.to_string());
    let big = json!({"id": "n2", "title": "t".repeat(300), "notification_type": "x",
        "body": "b".repeat(5000), "created_at": "2026-01-01T00:00:00Z"});
    let cut: Value = serde_json::from_str(&payload(&big)).unwrap();
    assert_eq!(cut["id"], "n2");
    assert_eq!(cut["truncated"], true);
    assert_eq!(cut["title"].as_str().unwrap().len(), 200);
    assert!(cut.get("body").is_none());
}
