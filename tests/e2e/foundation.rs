//! Foundation cases: health, routing errors, the handshake on every endpoint, ping/pong,
//! bad frames, where tokens come from, close codes 4001/4003/4400, Origin, and the server
//! API key boundary (SPEC §2–§5). Every trial uses fresh ids so trials never interfere.

use serde_json::{json, Value};

use crate::common::{
    api_key, bad_token, error_code, expired_token, handshake_status, token, token_with, trial,
    unique, with_token, Endpoint, Server, Target, TestResult, Ws, ENDPOINTS,
};
use libtest_mimic::Trial;

/// A case run once per endpoint kind.
type EndpointCase = fn(&Server, Endpoint) -> TestResult;

/// `group => [functions]` → trials named `group::function`.
macro_rules! trials {
    ($($group:literal => [$($f:ident),* $(,)?]),* $(,)?) => {
        vec![$($(trial(concat!($group, "::", stringify!($f)), $f)),*),*]
    };
}

pub fn trials() -> Vec<Trial> {
    let mut trials = trials![
        "http" => [
            healthz_is_ok,
            unknown_path_is_json_404,
            unknown_ws_path_is_json_404,
            ws_path_without_upgrade_is_426,
            malformed_id_is_400,
        ],
        "socket" => [
            malformed_id_closes_4400,
            established_chat_fields,
            established_dm_fields,
            established_inbox_fields,
            established_org_fields,
        ],
        "auth" => [
            wrong_secret_closes_4001,
            expired_token_closes_4001,
            org_not_in_claim_closes_4003,
            non_member_closes_4003,
            token_in_query,
            token_in_bearer_header,
            token_in_subprotocol,
            foreign_origin_is_403,
            allowed_origin_connects,
            api_key_never_opens_a_socket,
        ],
        "api" => [api_missing_key_is_401, api_wrong_key_is_401, api_user_jwt_is_401],
    ];
    let per_endpoint: [(&str, &str, EndpointCase); 4] = [
        ("socket", "ping_echoes_timestamp", ping),
        ("socket", "exact_ping_text", exact_ping),
        ("socket", "bad_frames_keep_open", bad_frames),
        ("auth", "no_token_closes_4001", no_token),
    ];
    for ep in ENDPOINTS {
        for (group, name, body) in per_endpoint {
            let label = format!("{group}::{}::{name}", ep.name());
            trials.push(trial(label, move |s| body(s, ep)));
        }
    }
    trials
}

// ---------------------------------------------------------------- HTTP routing

fn healthz_is_ok(s: &Server) -> TestResult {
    assert_eq!(s.get("/healthz", None), (200, json!({"ok": true})));
    Ok(())
}

fn unknown_path_is_json_404(s: &Server) -> TestResult {
    let (status, body) = s.get("/nope", None);
    assert_eq!(status, 404, "body: {body}");
    assert_eq!(error_code(&body)?, "not_found");
    Ok(())
}

fn unknown_ws_path_is_json_404(s: &Server) -> TestResult {
    let (status, body) = s.get("/ws/nope/", None);
    assert_eq!(status, 404, "body: {body}");
    assert_eq!(error_code(&body)?, "not_found");
    Ok(())
}

fn ws_path_without_upgrade_is_426(s: &Server) -> TestResult {
    let (status, body) = s.get(&with_token("/ws/chat/x/", &token("alice")), None);
    assert_eq!(status, 426, "body: {body}");
    Ok(())
}

fn malformed_id_is_400(s: &Server) -> TestResult {
    let (status, body) = s.get("/ws/chat/bad%20id/", Some(&token("alice")));
    assert_eq!(status, 400, "body: {body}");
    Ok(())
}

// ---------------------------------------------------------------- handshake

fn malformed_id_closes_4400(s: &Server) -> TestResult {
    let url = s.ws_url(&with_token("/ws/chat/bad%20id/", &token("alice")));
    Ws::connect(&url)?.expect_close(4400)?;
    Ok(())
}

fn established_chat_fields(s: &Server) -> TestResult {
    for ep in [Endpoint::Chat, Endpoint::Conversations] {
        let target = Target::new(ep);
        let (_ws, hello) = target.open(s)?;
        assert_eq!(hello["conversation_id"], target.stream.as_str(), "{hello}");
        assert!(
            hello["presence"].is_array(),
            "presence must be a list: {hello}"
        );
    }
    Ok(())
}

fn established_dm_fields(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Dm);
    let (_ws, hello) = target.open(s)?;
    assert_eq!(hello["conversation_id"], target.stream.as_str(), "{hello}");
    assert!(
        hello["presence"].is_array(),
        "presence must be a list: {hello}"
    );
    Ok(())
}

fn established_inbox_fields(s: &Server) -> TestResult {
    for ep in [Endpoint::Notifications, Endpoint::Notify] {
        let (_ws, hello) = Target::new(ep).open(s)?;
        assert!(hello["unread_count"].is_u64(), "unread_count: {hello}");
    }
    Ok(())
}

fn established_org_fields(s: &Server) -> TestResult {
    for ep in [Endpoint::Events, Endpoint::Online] {
        let target = Target::new(ep);
        let (_ws, hello) = target.open(s)?;
        assert_eq!(hello["org_id"], target.stream.as_str(), "{hello}");
        assert!(hello["online"].is_array(), "online must be a list: {hello}");
    }
    Ok(())
}

// ---------------------------------------------------------------- frames

fn ping(s: &Server, ep: Endpoint) -> TestResult {
    let (mut ws, _) = Target::new(ep).open(s)?;
    ws.send_json(&json!({"type": "ping", "timestamp": 123}))?;
    let pong = ws.recv_until("pong")?;
    assert_eq!(pong["timestamp"], 123, "{pong}");
    assert!(
        pong.get("seq").is_none(),
        "pong is ephemeral (no seq): {pong}"
    );
    Ok(())
}

fn exact_ping(s: &Server, ep: Endpoint) -> TestResult {
    let (mut ws, _) = Target::new(ep).open(s)?;
    ws.send_text(r#"{"type":"ping"}"#)?;
    assert_eq!(ws.recv_until_raw("pong")?, r#"{"type":"pong"}"#);
    Ok(())
}

fn bad_frames(s: &Server, ep: Endpoint) -> TestResult {
    let (mut ws, _) = Target::new(ep).open(s)?;
    ws.send_text("not json")?;
    let err = ws.recv_until("error")?;
    assert_eq!(err["code"], "invalid_json", "{err}");
    assert!(err["message"].is_string(), "error needs a message: {err}");

    ws.send_json(&json!({"type": "dance", "request_id": "r1"}))?;
    let err = ws.recv_until("error")?;
    assert_eq!(err["code"], "unknown_type", "{err}");
    assert_eq!(err["request_id"], "r1", "{err}");

    ws.send_json(&json!({"type": "ping", "timestamp": 7}))?;
    assert_eq!(ws.recv_until("pong")?["timestamp"], 7);
    Ok(())
}

// ---------------------------------------------------------------- identity

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
    Ok(())
}

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

fn foreign_origin_is_403(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let result = Ws::builder(&s.ws_url(&with_token(&target.path, &target.token)))
        .origin("https://evil.example")
        .connect();
    match result {
        Ok(_) => Err("a foreign Origin was upgraded".into()),
        Err(e) => {
            assert_eq!(handshake_status(&e), Some(403), "handshake error: {e}");
            Ok(())
        }
    }
}

fn allowed_origin_connects(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let (mut ws, _) = Ws::builder(&s.ws_url(&with_token(&target.path, &target.token)))
        .origin("http://localhost:8787")
        .connect()
        .map_err(|e| format!("handshake: {e}"))?;
    ws.recv_type("connection.established")?;
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

// ---------------------------------------------------------------- server API

fn org_event() -> Value {
    json!({"event_type": "e2e.ping", "data": {"n": 1}})
}

fn api_missing_key_is_401(s: &Server) -> TestResult {
    let (status, body) = s.post_json("/api/orgs/acme/events", None, &org_event());
    assert_eq!(status, 401, "POST without key: {body}");
    error_code(&body)?;
    let (status, body) = s.get("/api/conversations/x/members", None);
    assert_eq!(status, 401, "GET without key: {body}");
    error_code(&body)?;
    Ok(())
}

fn api_wrong_key_is_401(s: &Server) -> TestResult {
    let wrong = format!("{}-wrong", api_key());
    let (status, body) = s.post_json("/api/orgs/acme/events", Some(&wrong), &org_event());
    assert_eq!(status, 401, "{body}");
    error_code(&body)?;
    Ok(())
}

fn api_user_jwt_is_401(s: &Server) -> TestResult {
    let jwt = token_with(json!({"sub": "alice", "orgs": ["acme"]}));
    let (status, body) = s.post_json("/api/orgs/acme/events", Some(&jwt), &org_event());
    assert_eq!(status, 401, "{body}");
    error_code(&body)?;
    Ok(())
}
