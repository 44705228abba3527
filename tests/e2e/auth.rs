//! Who may open a socket (SPEC §2, §3): where a token may come from and which subprotocol
//! is answered, tokens that close with 4001 (none, wrong secret, expired, the server key),
//! 4003 for an org outside the claim or a non-member, and profile claims outside ASCII.

use serde_json::json;

use crate::common::{
    api_key, bad_token, expired_token, per_endpoint, token_with, trial, unique, with_token,
    Endpoint, EndpointCase, Server, Target, TestResult, Ws,
};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    let mut trials = trials![
        "auth" => [
            token_in_query,
            token_in_bearer_header,
            token_in_subprotocol,
            token_only_in_subprotocol,
            non_ascii_profile_name,
            api_key_never_opens_a_socket,
            wrong_secret_closes_4001,
            expired_token_closes_4001,
            org_not_in_claim_closes_4003,
            non_member_closes_4003,
        ],
    ];
    let cases: [(&str, &str, EndpointCase); 1] = [("auth", "no_token_closes_4001", no_token)];
    trials.extend(per_endpoint(&cases));
    trials
}

// ---------------------------------------------------------------- token sources

fn token_in_query(s: &Server) -> TestResult {
    Target::new(Endpoint::Chat).open(s)?;
    Ok(())
}

fn token_in_bearer_header(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let (mut ws, _) = Ws::builder(&s.ws_url(&target.path))
        .bearer(&target.token)
        .connect()
        .map_err(|e| format!("handshake: {e}"))?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["user_id"], target.user.as_str(), "{hello}");
    Ok(())
}

fn token_in_subprotocol(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let (mut ws, response) = Ws::builder(&s.ws_url(&target.path))
        .protocol(&format!("realtime.v1, bearer.{}", target.token))
        .connect()
        .map_err(|e| format!("handshake: {e}"))?;
    let chosen = response.headers().get("Sec-WebSocket-Protocol");
    assert_eq!(chosen.and_then(|v| v.to_str().ok()), Some("realtime.v1"));
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["user_id"], target.user.as_str(), "{hello}");
    Ok(())
}

/// Browsers cannot set headers: they offer `bearer.<jwt>` alone, and fail the handshake
/// unless one offered protocol is answered.
fn token_only_in_subprotocol(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let offer = format!("bearer.{}", target.token);
    let (mut ws, response) = Ws::builder(&s.ws_url(&target.path))
        .protocol(&offer)
        .connect()
        .map_err(|e| format!("handshake: {e}"))?;
    let chosen = response.headers().get("Sec-WebSocket-Protocol");
    assert_eq!(chosen.and_then(|v| v.to_str().ok()), Some(offer.as_str()));
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["user_id"], target.user.as_str(), "{hello}");
    Ok(())
}

/// Profile claims outside ASCII travel from the Worker to the object and come back intact.
fn non_ascii_profile_name(s: &Server) -> TestResult {
    const NAME: &str = "李雷 🚀";
    let (room, user) = (unique("room"), unique("lilei"));
    s.add_member(&room, &user);
    let t = token_with(json!({"sub": user, "name": NAME}));
    let mut ws = Ws::connect(&s.ws_url(&with_token(&format!("/ws/chat/{room}/"), &t)))?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["user_id"], user.as_str(), "{hello}");
    assert_eq!(hello["user_name"], NAME, "{hello}");
    Ok(())
}

fn api_key_never_opens_a_socket(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let url = s.ws_url(&with_token(&target.path, &api_key()));
    Ws::connect(&url)?.expect_close(4001)?;
    let (mut ws, _) = Ws::builder(&s.ws_url(&target.path))
        .bearer(&api_key())
        .connect()
        .map_err(|e| format!("handshake: {e}"))?;
    ws.expect_close(4001)?;
    Ok(())
}

// ---------------------------------------------------------------- refused tokens

fn no_token(s: &Server, ep: Endpoint) -> TestResult {
    let target = Target::new(ep);
    target.admit(s);
    Ws::connect(&s.ws_url(&target.path))?.expect_close(4001)?;
    Ok(())
}

fn wrong_secret_closes_4001(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let url = s.ws_url(&with_token(&target.path, &bad_token(&target.user)));
    Ws::connect(&url)?.expect_close(4001)?;
    Ok(())
}

fn expired_token_closes_4001(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let url = s.ws_url(&with_token(&target.path, &expired_token(&target.user)));
    Ws::connect(&url)?.expect_close(4001)?;
    Ok(())
}

fn org_not_in_claim_closes_4003(s: &Server) -> TestResult {
    let (org, user) = (unique("acme"), unique("mallory"));
    let t = token_with(json!({"sub": user, "orgs": [unique("other")]}));
    let url = s.ws_url(&with_token(&format!("/ws/events/{org}/"), &t));
    Ws::connect(&url)?.expect_close(4003)?;
    Ok(())
}

fn non_member_closes_4003(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    let url = s.ws_url(&with_token(&target.path, &target.token));
    Ws::connect(&url)?.expect_close(4003)?;
    // The object refuses, the Worker answers the subprotocol: a browser can read the code.
    let (mut ws, response) = Ws::builder(&s.ws_url(&target.path))
        .protocol(&format!("realtime.v1, bearer.{}", target.token))
        .connect()
        .map_err(|e| format!("handshake: {e}"))?;
    let chosen = response.headers().get("Sec-WebSocket-Protocol");
    assert_eq!(chosen.and_then(|v| v.to_str().ok()), Some("realtime.v1"));
    ws.expect_close(4003)?;
    Ok(())
}
