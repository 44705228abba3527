//! Keys fetched from the identity provider (SPEC §8 `JWT_JWKS_URL`): a server of its own
//! points at a provider played by the harness ([`Idp`], a real HTTP server on loopback) and
//! also has a `JWT_JWKS` key of its own. A token of the provider's key opens a socket; the
//! set is fetched once and reused; after the provider rotates to a new key, a token of that
//! key opens a socket too (its unknown kid refetches the set), while a token of the old key
//! or of a key never served is refused with 4001 without another fetch (one refetch a
//! minute). HS256 tokens never fetch, and the `JWT_JWKS` key works throughout. A provider
//! that fails is logged and shown by `/healthz?deep=1`; only its tokens are refused.

use serde_json::{json, Value};

use crate::common::{
    key_set, token, trial, unique, with_token, Idp, IdpKey, Server, TestResult, Ws,
};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "jwks::rotated_key_is_fetched_on_its_unknown_kid",
            rotated_key,
        ),
        trial(
            "jwks::failed_fetch_is_logged_and_refuses_only_its_tokens",
            failed_fetch,
        ),
    ]
}

/// The provider's keys (before and after the rotation, and one it never serves) and the
/// server's own `JWT_JWKS` key.
struct Keys {
    a: IdpKey,
    b: IdpKey,
    never: IdpKey,
    own: IdpKey,
}

fn rotated_key(_: &Server) -> TestResult {
    let keys = Keys {
        a: IdpKey::new("idp-key-a", 11),
        b: IdpKey::new("idp-key-b", 12),
        never: IdpKey::new("idp-key-never", 13),
        own: IdpKey::new("own-key", 14),
    };
    let idp = Idp::start(&[&keys.a])?;
    let own_set = key_set(&[&keys.own]).to_string();
    let url = idp.url();
    let server = Server::try_start(&[("JWT_JWKS_URL", &url), ("JWT_JWKS", &own_set)])?;
    let outcome = rotation(&server, &idp, &keys);
    server.stop(outcome.is_err());
    outcome
}

fn rotation(s: &Server, idp: &Idp, keys: &Keys) -> TestResult {
    assert_eq!(jwks_health(s)?, json!({"last_fetch": "never", "keys": 0}));
    opens(s, "HS256", &token(&unique("hs")))?;
    assert_eq!(idp.fetches(), 0, "an HS256 token needs no key set");

    let ann = unique("ann");
    opens(s, "key A", &keys.a.token(json!({ "sub": ann })))?;
    assert_eq!(idp.fetches(), 1, "the first key set token fetches the set");
    let (status, body) = s.get(
        &format!("/api/users/{ann}/notifications"),
        Some(&keys.a.token(json!({ "sub": ann }))),
    );
    assert_eq!(
        status, 200,
        "the API takes the provider's token too: {body}"
    );
    opens(
        s,
        "key A again",
        &keys.a.token(json!({ "sub": unique("bob") })),
    )?;
    opens(
        s,
        "JWT_JWKS key",
        &keys.own.token(json!({ "sub": unique("own") })),
    )?;
    assert_eq!(
        idp.fetches(),
        1,
        "the set is reused; JWT_JWKS keys need no fetch"
    );

    idp.serve(&[&keys.b]);
    opens(
        s,
        "rotated key B",
        &keys.b.token(json!({ "sub": unique("cy") })),
    )?;
    assert_eq!(
        idp.fetches(),
        2,
        "the new key's unknown kid refetched the set"
    );

    refused(
        s,
        "key A, rotated out",
        &keys.a.token(json!({ "sub": unique("old") })),
    )?;
    refused(
        s,
        "a key never served",
        &keys.never.token(json!({ "sub": unique("eve") })),
    )?;
    assert_eq!(idp.fetches(), 2, "no second refetch within the minute");
    opens(
        s,
        "JWT_JWKS key",
        &keys.own.token(json!({ "sub": unique("own") })),
    )?;
    assert_eq!(jwks_health(s)?, json!({"last_fetch": "ok", "keys": 1}));
    assert_eq!(idp.fetches(), 2);
    Ok(())
}

/// A provider answering 503: its token is refused (nothing to verify it with), the failure
/// is logged once and shown by `/healthz?deep=1`, and another token does not fetch again
/// within the minute; HS256 tokens still open sockets.
fn failed_fetch(_: &Server) -> TestResult {
    let key = IdpKey::new("idp-key-a", 11);
    let idp = Idp::start(&[&key])?;
    idp.fail_with(503);
    let url = idp.url();
    let server = Server::try_start(&[("JWT_JWKS_URL", &url)])?;
    let outcome = failing_provider(&server, &idp, &key);
    server.stop(outcome.is_err());
    outcome
}

fn failing_provider(s: &Server, idp: &Idp, key: &IdpKey) -> TestResult {
    let (_, body) = s.get("/healthz?deep=1", None);
    assert_eq!(
        body["problems"],
        json!([{"var": "DEV_TOKENS", "kind": "development_only"}]),
        "a URL counts as a way to verify tokens: {body}"
    );
    refused(
        s,
        "key A, set not fetched",
        &key.token(json!({ "sub": unique("ann") })),
    )?;
    assert_eq!(idp.fetches(), 1);
    assert_eq!(jwks_health(s)?, json!({"last_fetch": "failed", "keys": 0}));
    refused(
        s,
        "key A, within the minute",
        &key.token(json!({ "sub": unique("bob") })),
    )?;
    assert_eq!(idp.fetches(), 1, "no fetch for a minute after a failure");
    opens(s, "HS256", &token(&unique("hs")))?;
    let line =
        "JWT_JWKS_URL: fetching the key set failed (HTTP 503); no set yet, so tokens of its keys are refused";
    let log = crate::gateway::wait_for_log(s, line)?;
    assert_eq!(log.matches(line).count(), 1, "logged once:\n{log}");
    Ok(())
}

/// `token` (described by `what`) opens the notification socket as its `sub`.
pub(crate) fn opens(s: &Server, what: &str, token: &str) -> Result<(), String> {
    let url = s.ws_url(&with_token("/ws/notifications/", token));
    let mut ws = Ws::connect(&url).map_err(|e| format!("{what}: {e}"))?;
    let hello = ws
        .recv_type("connection.established")
        .map_err(|e| format!("{what}: {e}"))?;
    let sub = claim(token, "sub")?;
    if hello["user_id"] != sub {
        return Err(format!(
            "{what}: opened as {} instead of {sub}",
            hello["user_id"]
        ));
    }
    ws.close();
    Ok(())
}

/// `token` (described by `what`) is refused with 4001.
pub(crate) fn refused(s: &Server, what: &str, token: &str) -> Result<(), String> {
    let url = s.ws_url(&with_token("/ws/notifications/", token));
    Ws::connect(&url)
        .and_then(|mut ws| ws.expect_close(4001))
        .map_err(|e| format!("{what}: {e}"))
}

/// A claim of a token (its payload decoded, not verified).
fn claim(token: &str, name: &str) -> Result<Value, String> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|e| e.to_string())?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    Ok(claims[name].clone())
}

/// The `jwks` part of `GET /healthz?deep=1`.
fn jwks_health(s: &Server) -> Result<Value, String> {
    let (status, body) = s.get("/healthz?deep=1", None);
    if status != 200 {
        return Err(format!("healthz: {status} {body}"));
    }
    Ok(body["jwks"].clone())
}
