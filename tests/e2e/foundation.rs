//! Foundation cases: health, routing errors, the handshake on every endpoint, ping/pong,
//! bad frames, close codes 4001/4003/4400 (SPEC §2–§4); the trust boundary (token sources,
//! forged headers, Origin, the server key) is in `foundation/boundary.rs`. Every trial uses
//! fresh ids so trials never interfere.

use serde_json::{json, Value};

use crate::common::{
    bad_token, error_code, expired_token, token, token_with, trial, unique, with_token, Endpoint,
    Server, Target, TestResult, Ws, ENDPOINTS,
};
use libtest_mimic::Trial;

/// `RATE_BURST` in `wrangler.toml`: frames a socket may send at once before `rate_limited`.
const RATE_BURST: usize = 30;

/// A case run once per endpoint kind.
type EndpointCase = fn(&Server, Endpoint) -> TestResult;

/// `group => [functions]` → trials named `group::function`.
macro_rules! trials {
    ($($group:literal => [$($f:ident),* $(,)?]),* $(,)?) => {
        vec![$($(trial(concat!($group, "::", stringify!($f)), $f)),*),*]
    };
}

mod boundary;

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
        ],
    ];
    trials.extend(boundary::trials());
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
    assert_eq!(error_code(&body)?, "upgrade_required", "{body}");
    Ok(())
}

fn malformed_id_is_400(s: &Server) -> TestResult {
    let (status, body) = s.get("/ws/chat/bad%20id/", Some(&token("alice")));
    assert_eq!(status, 400, "body: {body}");
    assert_eq!(error_code(&body)?, "bad_request", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("id must be"), "names the id rule: {body}");
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

/// The object answers the exact ping text with the same bytes as the runtime, so only the
/// rate bucket tells them apart: a burst beyond it, sent unread, would get `rate_limited`
/// errors from the object, while the runtime's auto-response never touches the bucket.
fn exact_ping(s: &Server, ep: Endpoint) -> TestResult {
    const PINGS: usize = RATE_BURST + 15;
    let (mut ws, _) = Target::new(ep).open(s)?;
    for _ in 0..PINGS {
        ws.send_text(r#"{"type":"ping"}"#)?;
    }
    for i in 1..=PINGS {
        let reply = next_not_presence(&mut ws)?;
        assert_eq!(reply, r#"{"type":"pong"}"#, "reply {i} of {PINGS}");
    }
    // Answered by the object after the burst: had anything else been queued (a 46th pong,
    // an error), it would arrive first. A full bucket also shows the burst never drew on it.
    ws.send_json(&json!({"type": "ping", "timestamp": "marker"}))?;
    let marker: Value = serde_json::from_str(&next_not_presence(&mut ws)?)?;
    assert_eq!(marker, json!({"type": "pong", "timestamp": "marker"}));
    Ok(())
}

/// The next frame that is not a `user_status`: on `/ws/online/`, shared by every trial of
/// the run, other trials' users come and go while this one reads.
fn next_not_presence(ws: &mut Ws) -> Result<String, String> {
    loop {
        let text = ws.recv_text()?;
        let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if frame["type"] != "user_status" {
            return Ok(text);
        }
    }
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
