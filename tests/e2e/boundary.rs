//! The trust boundary (SPEC §2, §5): client-sent internal headers are never trusted, the
//! Origin allow-list, and the server API refusing a missing or wrong key and a user JWT.

use serde_json::{json, Value};

use crate::common::{
    api_key, error_code, handshake_status, token_with, trial, unique, with_token, Endpoint, Server,
    Target, TestResult, Ws,
};
use edge_realtime::platform::internal::{IDENTITY, STREAM, USER};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    trials![
        "auth" => [
            forged_internal_headers_on_socket,
            forged_internal_headers_on_api,
            foreign_origin_is_403,
            allowed_origin_connects,
        ],
        "api" => [api_missing_key_is_401, api_wrong_key_is_401, api_user_jwt_is_401],
    ]
}

// ---------------------------------------------------------------- internal headers

/// A client sending the Worker's internal headers itself, claiming to be someone else.
fn forged_identity(user: &str) -> String {
    json!({"sub": user, "profile": {"name": "Forged"}, "exp": 4_000_000_000i64}).to_string()
}

fn forged_internal_headers_on_socket(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let (bob, bobs_room) = (unique("bob"), unique("room"));
    s.add_member(&bobs_room, &bob);
    let (mut ws, _) = Ws::builder(&s.ws_url(&with_token(&target.path, &target.token)))
        .header(IDENTITY, forged_identity(&bob))
        .header(STREAM, bobs_room.clone())
        .connect()
        .map_err(|e| format!("handshake: {e}"))?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["user_id"], target.user.as_str(), "{hello}");
    assert_eq!(hello["conversation_id"], target.stream.as_str(), "{hello}");
    assert_ne!(hello["user_name"], "Forged", "{hello}");

    // Without a token, headers that would admit bob to his own room admit nobody.
    let (mut ws, _) = Ws::builder(&s.ws_url(&format!("/ws/chat/{bobs_room}/")))
        .header(IDENTITY, forged_identity(&bob))
        .header(STREAM, bobs_room.clone())
        .connect()
        .map_err(|e| format!("handshake: {e}"))?;
    ws.expect_close(4001)?;
    Ok(())
}

fn forged_internal_headers_on_api(s: &Server) -> TestResult {
    let bob = unique("bob");
    let forged = forged_identity(&bob);
    let headers = [
        (IDENTITY, forged.as_str()),
        (USER, bob.as_str()),
        (STREAM, bob.as_str()),
    ];
    // A route a user may read with their own JWT: the user header must not stand in for it.
    let (status, body) = s.request(
        "GET",
        &format!("/api/users/{bob}/notifications"),
        &headers,
        None,
    );
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body)?, "unauthorized", "{body}");
    let room = unique("room");
    let path = format!("/api/conversations/{room}/members/{bob}");
    let (status, body) = s.request("PUT", &path, &headers, None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body)?, "unauthorized", "{body}");
    let (_, members) = s.get(
        &format!("/api/conversations/{room}/members"),
        Some(&api_key()),
    );
    assert_eq!(
        members["members"],
        json!([]),
        "the refused PUT added nobody: {members}"
    );
    Ok(())
}

// ---------------------------------------------------------------- Origin

fn foreign_origin_is_403(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Chat);
    target.admit(s);
    let result = Ws::builder(&s.ws_url(&with_token(&target.path, &target.token)))
        .origin("https://evil.example")
        .connect();
    match result {
        Ok(_) => return Err("a foreign Origin was upgraded".into()),
        Err(e) => assert_eq!(handshake_status(&e), Some(403), "handshake error: {e}"),
    }
    // tungstenite keeps only the bytes that came with the response head, so the body is
    // read over plain HTTP, sending the same upgrade request.
    let upgrade = [
        ("Origin", "https://evil.example"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let path = with_token(&target.path, &target.token);
    let (status, body) = s.request("GET", &path, &upgrade, None);
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_code(&body)?, "origin_not_allowed", "{body}");
    Ok(())
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

// ---------------------------------------------------------------- server API

fn org_event() -> Value {
    json!({"event_type": "e2e.ping", "data": {"n": 1}})
}

fn api_missing_key_is_401(s: &Server) -> TestResult {
    let (status, body) = s.post_json("/api/orgs/acme/events", None, &org_event());
    assert_eq!(status, 401, "POST without key: {body}");
    assert_eq!(error_code(&body)?, "unauthorized", "{body}");
    let (status, body) = s.get("/api/conversations/x/members", None);
    assert_eq!(status, 401, "GET without key: {body}");
    assert_eq!(error_code(&body)?, "unauthorized", "{body}");
    Ok(())
}

fn api_wrong_key_is_401(s: &Server) -> TestResult {
    let wrong = format!("{}-wrong", api_key());
    let (status, body) = s.post_json("/api/orgs/acme/events", Some(&wrong), &org_event());
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body)?, "unauthorized", "{body}");
    Ok(())
}

fn api_user_jwt_is_401(s: &Server) -> TestResult {
    let jwt = token_with(json!({"sub": "alice", "orgs": ["acme"]}));
    let (status, body) = s.post_json("/api/orgs/acme/events", Some(&jwt), &org_event());
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body)?, "unauthorized", "{body}");
    Ok(())
}
