//! The socket itself on every endpoint (SPEC §3, §4): `connection.established` fields,
//! ping/pong (the object's and the runtime's exact auto-response), bad frames that keep the
//! socket open, and close 4400 for a malformed id.

use serde_json::{json, Value};

use crate::common::{
    per_endpoint, token, trial, with_token, Endpoint, EndpointCase, Server, Target, TestResult, Ws,
};
use libtest_mimic::Trial;

/// `RATE_BURST` in `wrangler.toml`: frames a socket may send at once before `rate_limited`.
const RATE_BURST: usize = 30;

pub fn trials() -> Vec<Trial> {
    let mut trials = trials![
        "socket" => [
            malformed_id_closes_4400,
            established_chat_fields,
            established_dm_fields,
            established_inbox_fields,
            established_org_fields,
        ],
    ];
    let cases: [(&str, &str, EndpointCase); 3] = [
        ("socket", "ping_echoes_timestamp", ping),
        ("socket", "exact_ping_text", exact_ping),
        ("socket", "bad_frames_keep_open", bad_frames),
    ];
    trials.extend(per_endpoint(&cases));
    trials
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
        assert_eq!(hello["presence"], only_me(&target.user), "{hello}");
    }
    Ok(())
}

fn established_dm_fields(s: &Server) -> TestResult {
    let target = Target::new(Endpoint::Dm);
    let (_ws, hello) = target.open(s)?;
    assert_eq!(hello["conversation_id"], target.stream.as_str(), "{hello}");
    assert_eq!(
        hello["presence"],
        only_me(&target.user),
        "the peer is not connected: {hello}"
    );
    Ok(())
}

/// The presence list of a room where only `user` is connected, with one socket (a token
/// without a name claim shows the user id as the name).
fn only_me(user: &str) -> Value {
    json!([{"user_id": user, "user_name": user, "devices": 1}])
}

fn established_inbox_fields(s: &Server) -> TestResult {
    for ep in [Endpoint::Notifications, Endpoint::Notify] {
        let (_ws, hello) = Target::new(ep).open(s)?;
        assert_eq!(
            (hello["unread_count"].as_u64(), hello["last_seq"].as_u64()),
            (Some(0), Some(0)),
            "a new inbox: {hello}"
        );
    }
    Ok(())
}

fn established_org_fields(s: &Server) -> TestResult {
    for ep in [Endpoint::Events, Endpoint::Online] {
        let target = Target::new(ep);
        let (_ws, hello) = target.open(s)?;
        assert_eq!(hello["org_id"], target.stream.as_str(), "{hello}");
        let online = hello["online"].as_array().ok_or("online must be a list")?;
        // `_online` is shared by every trial of the run: others may be online there too.
        assert!(online.contains(&json!(target.user)), "{hello}");
        if matches!(ep, Endpoint::Events) {
            assert_eq!(online.len(), 1, "a fresh org: only this user: {hello}");
        }
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
