//! Conversation cases about time and limits: resume exactness, presence with tabs and the
//! grace window, limits and hibernation.

use std::thread::sleep;
use std::time::Duration;

use serde_json::json;

use crate::common::{api_key, token, trial, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{join, room_with, say, send, users2};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("resume::since_replays_exactly", resume_exact),
        trial("resume::resume_frame_and_resync", resume_frame_and_resync),
        trial("presence::two_tabs_one_user", presence_two_tabs),
        trial(
            "presence::quick_reconnect_is_silent",
            presence_quick_reconnect,
        ),
        trial("limits::oversize_frame_closes_1009", oversize_1009),
        trial("limits::flood_rate_limited_then_1008", flood_1008),
        trial("limits::content_too_long", content_too_long),
        trial("durability::survives_hibernation", survives_hibernation),
    ]
}

fn resume_exact(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let mid = say(&mut wa, "before")?["message_id"].clone();
    wa.recv_type("chat_message")?;
    // Live frames as a connected client received them, byte for byte.
    send(
        &mut wa,
        json!({"type": "chat_message", "content": "missed 1"}),
    )?;
    send(
        &mut wa,
        json!({"type": "message_reaction", "message_id": mid, "emoji": "🔥"}),
    )?;
    send(
        &mut wa,
        json!({"type": "message_edit", "message_id": mid, "content": "edited"}),
    )?;
    let mut live = Vec::new();
    while live.len() < 3 {
        let text = wa.recv_text()?;
        if !text.contains(r#""type":"ack""#) {
            live.push(text);
        }
    }
    let mut wb = Ws::connect(&s.ws_url(&with_token(
        &format!("/ws/chat/{room}/?since=1"),
        &token(&b),
    )))?;
    wb.recv_type("connection.established")?;
    let replay: Vec<String> = (0..3).map(|_| wb.recv_text()).collect::<Result<_, _>>()?;
    assert_eq!(replay, live, "replay equals what live clients received");
    assert_eq!(
        wb.recv_type("resumed")?,
        json!({"type": "resumed", "since": 1, "last_seq": 4})
    );
    say(&mut wa, "live again")?;
    let next = wb.recv_until("chat_message")?;
    assert_eq!(
        next["seq"], 5,
        "live continues with no gap and no duplicate"
    );
    Ok(())
}

fn resume_frame_and_resync(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    say(&mut wa, "one")?;
    say(&mut wa, "two")?;
    send(&mut wa, json!({"type": "resume", "since": 1}))?;
    // `say` stopped at the ack of "two": its live copy is still queued (the broadcast is sent
    // before the resume frame is handled), then comes the replay of seq 2 and `resumed`.
    let mut seen = Vec::new();
    let resumed = loop {
        let frame = wa.recv()?;
        match frame["type"].as_str() {
            Some("resumed") => break frame,
            Some("chat_message") => {
                seen.push((frame["seq"].clone(), frame["message"]["content"].clone()))
            }
            _ => return Err(format!("unexpected frame before `resumed`: {frame}").into()),
        }
    };
    let two = (json!(2), json!("two"));
    assert_eq!(
        seen,
        [two.clone(), two],
        "the live copy, then exactly the replay of seq 2"
    );
    assert_eq!(
        resumed,
        json!({"type": "resumed", "since": 1, "last_seq": 2})
    );
    send(&mut wa, json!({"type": "resume", "since": 99}))?;
    assert_eq!(
        wa.recv_until("resync_required")?,
        json!({"type": "resync_required", "last_seq": 2})
    );
    let mut ws = Ws::connect(&s.ws_url(&with_token(
        &format!("/ws/chat/{room}/?since=50"),
        &token(&a),
    )))?;
    ws.recv_type("connection.established")?;
    assert_eq!(ws.recv()?["type"], "resync_required");
    Ok(())
}

fn presence_two_tabs(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wb, _) = join(s, &room, &b)?;
    let (tab1, _) = join(s, &room, &a)?;
    let (tab2, hello) = join(s, &room, &a)?;
    let me = hello["presence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_id"] == a.as_str())
        .cloned();
    let me = me.expect("a in presence");
    assert_eq!(me["devices"], json!(2), "{hello}");
    let online = wb.recv_type("user_status")?;
    assert_eq!(
        (
            online["user_id"].as_str(),
            online["status"].as_str(),
            online["online_status"].as_bool()
        ),
        (Some(a.as_str()), Some("online"), Some(true))
    );
    assert!(online["username"].is_string());
    // The display name, as the presence list has it.
    assert_eq!(online["user_name"], me["user_name"], "{online}");
    tab1.close();
    // Still online with one tab: b's next frame is this message, not an offline.
    let mut tab2 = tab2;
    say(&mut tab2, "one tab left")?;
    assert_eq!(wb.recv()?["type"], "chat_message");
    tab2.close();
    let offline = wb.recv_until("user_status")?;
    assert_eq!(
        (offline["user_id"].as_str(), offline["status"].as_str()),
        (Some(a.as_str()), Some("offline"))
    );
    Ok(())
}

fn presence_quick_reconnect(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wb, _) = join(s, &room, &b)?;
    let (tab, _) = join(s, &room, &a)?;
    assert_eq!(wb.recv_type("user_status")?["status"], "online");
    tab.close();
    let (mut back, _) = join(s, &room, &a)?;
    // Past the grace window (3 s): had the reconnect not counted, b would see "offline".
    sleep(Duration::from_millis(4_500));
    say(&mut back, "still here")?;
    let next = wb.recv()?;
    assert_eq!(
        next["type"], "chat_message",
        "no user_status in between: {next}"
    );
    Ok(())
}

fn oversize_1009(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    let big = format!(
        r#"{{"type":"chat_message","content":"{}"}}"#,
        "x".repeat(70_000)
    );
    wa.send_text(&big)?;
    wa.expect_close(1009)?;
    Ok(())
}

fn flood_1008(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    for i in 0..80 {
        // Pings with a timestamp count against the rate (the bare ping is the runtime's).
        if wa
            .send_json(&json!({"type": "ping", "timestamp": i}))
            .is_err()
        {
            break;
        }
    }
    let limited = wa.recv_until("error")?;
    assert_eq!(limited["code"], "rate_limited");
    wa.expect_close(1008)?;
    Ok(())
}

fn content_too_long(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    send(
        &mut wa,
        json!({"type": "chat_message", "content": "x".repeat(4_001), "request_id": "big"}),
    )?;
    let e = wa.recv_type("error")?;
    assert_eq!(
        (e["code"].as_str(), e["request_id"].as_str()),
        (Some("invalid_request"), Some("big"))
    );
    send(&mut wa, json!({"type": "chat_message"}))?;
    assert_eq!(
        wa.recv_type("error")?["code"],
        "invalid_request",
        "missing content"
    );
    Ok(())
}

fn survives_hibernation(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    wa.recv_until("user_status")?;
    say(&mut wa, "before sleep")?;
    wb.recv_until("chat_message")?;
    // Idle until local workerd has evicted the room (a new instance answers): the frames
    // below are handled by an object rebuilt from storage and the sockets' attachments.
    let presence = format!("/api/conversations/{room}/presence");
    s.wait_evicted(&presence)?;
    let (_, body) = s.get(&presence, Some(&api_key()));
    assert_eq!(
        body["users"].as_array().map(Vec::len),
        Some(2),
        "presence after hibernation: {body}"
    );
    let ack = say(&mut wa, "after sleep")?;
    assert_eq!(ack["seq"], 2, "seq continues");
    let m = wb.recv_until("chat_message")?;
    assert_eq!(
        m["message"]["sender"]["id"],
        a.as_str(),
        "identity kept in the attachment"
    );
    send(&mut wa, json!({"type": "ping", "timestamp": 7}))?;
    assert_eq!(
        wa.recv_until("pong")?["timestamp"],
        7,
        "rate state intact: not limited"
    );
    Ok(())
}
