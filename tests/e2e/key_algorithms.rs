//! Every public-key algorithm of SPEC §8 through the Worker's WebCrypto (the unit tests
//! check the same rules with RustCrypto): a server whose `JWT_JWKS` holds an RS256, an ES256
//! and an EdDSA key opens a socket for a token of each, as the user the token names, and
//! closes 4001 for a token signed by another key under a served `kid`, for one whose `alg`
//! names another key's algorithm, and for a tampered payload. A JWK published with its
//! private member is used as the public key it contains.

use jwt_compact::{
    alg::{Ed25519, Es256, Rsa, RsaPrivateKey},
    jwk::JsonWebKey,
    AlgorithmExt, Claims, Header,
};
use libtest_mimic::Trial;
use serde_json::{json, Map, Value};

use crate::common::{trial, unique, Server, TestResult};
use crate::jwks::{opens, refused};

pub fn trials() -> Vec<Trial> {
    vec![trial(
        "key_algorithms::rs256_es256_and_eddsa_open_sockets_and_forgeries_close_4001",
        every_algorithm,
    )]
}

struct Keys {
    rsa: RsaPrivateKey,
    other_rsa: RsaPrivateKey,
    ec: p256::ecdsa::SigningKey,
    ed: ed25519_compact::KeyPair,
    other_ed: ed25519_compact::KeyPair,
}

fn jwk(key: JsonWebKey<'_>, kid: &str) -> Value {
    let mut v = serde_json::to_value(&key).expect("a JWK as JSON");
    v["kid"] = json!(kid);
    v["use"] = json!("sig");
    v
}

fn claims(sub: &str) -> Claims<Map<String, Value>> {
    let mut c = Claims::new(Map::from_iter([("sub".to_string(), json!(sub))]));
    let now = chrono::DateTime::from_timestamp(unix_now(), 0).expect("a time");
    c.expiration = Some(now + chrono::Duration::hours(1));
    c.issued_at = Some(now);
    c
}

fn kid(k: &str) -> Header {
    Header::empty().with_key_id(k).with_token_type("JWT")
}

fn every_algorithm(_: &Server) -> TestResult {
    let mut rng = rand::thread_rng();
    let keys = Keys {
        rsa: RsaPrivateKey::new(&mut rng, 2048).map_err(|e| e.to_string())?,
        other_rsa: RsaPrivateKey::new(&mut rng, 2048).map_err(|e| e.to_string())?,
        ec: p256::ecdsa::SigningKey::from_bytes(&[21u8; 32].into()).map_err(|e| e.to_string())?,
        ed: ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([22u8; 32])),
        other_ed: ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([23u8; 32])),
    };
    // The EdDSA key as a provider might publish it by mistake: with its private half `d`.
    let mut ed_with_private = jwk(JsonWebKey::from(&keys.ed.pk), "ed");
    let seed = &keys.ed.sk[..32];
    ed_with_private["d"] = json!(base64_url(seed));
    let set = json!({"keys": [
        jwk(JsonWebKey::from(&keys.rsa.to_public_key()), "rsa"),
        jwk(JsonWebKey::from(keys.ec.verifying_key()), "ec"),
        ed_with_private,
    ]});
    let server = Server::try_start(&[("JWT_JWKS", &set.to_string())])?;
    let outcome = sockets(&server, &keys);
    server.stop(outcome.is_err());
    outcome
}

fn sockets(s: &Server, keys: &Keys) -> TestResult {
    let sign = |e: jwt_compact::CreationError| e.to_string();
    let rs = |key: &RsaPrivateKey, sub: &str| Rsa::rs256().token(&kid("rsa"), &claims(sub), key);
    let ed = |pair: &ed25519_compact::KeyPair, k: &str, sub: &str| {
        Ed25519.token(&kid(k), &claims(sub), &pair.sk)
    };
    opens(s, "RS256", &rs(&keys.rsa, &unique("rs")).map_err(sign)?)?;
    let es = Es256.token(&kid("ec"), &claims(&unique("es")), &keys.ec);
    opens(s, "ES256", &es.map_err(sign)?)?;
    opens(
        s,
        "EdDSA",
        &ed(&keys.ed, "ed", &unique("ed")).map_err(sign)?,
    )?;
    // A second token of a key: its imported key is reused.
    opens(
        s,
        "RS256 again",
        &rs(&keys.rsa, &unique("rs")).map_err(sign)?,
    )?;

    refused(
        s,
        "RS256 by another key",
        &rs(&keys.other_rsa, "eve").map_err(sign)?,
    )?;
    refused(
        s,
        "EdDSA by another key",
        &ed(&keys.other_ed, "ed", "eve").map_err(sign)?,
    )?;
    let confused = ed(&keys.ed, "rsa", "eve").map_err(sign)?;
    refused(s, "EdDSA naming the RSA key's kid", &confused)?;
    refused(
        s,
        "a tampered payload",
        &tampered(&rs(&keys.rsa, "ann").map_err(sign)?),
    )?;
    Ok(())
}

/// The token with its payload swapped for one naming another user, the signature kept.
fn tampered(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let payload = json!({"sub": "mallory", "exp": unix_now() + 3600});
    format!(
        "{}.{}.{}",
        parts[0],
        base64_url(payload.to_string().as_bytes()),
        parts[2]
    )
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unix_now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_secs() as i64)
}
