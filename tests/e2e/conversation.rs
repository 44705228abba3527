//! Conversation frames (SPEC §4 "Conversation"): every client frame with two or more real
//! clients, acks and idempotency, seq order, and `connection.established`. Also the room
//! helpers the other conversation files share.

use serde_json::{json, Value};

use crate::common::{api_key, token, trial, unique, with_token, Server, TestResult, Ws};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("chat::message_broadcast_and_ack", message_broadcast_and_ack),
        trial("chat::message_alias_for_content", message_alias_for_content),
        trial(
            "chat::client_msg_id_retry_is_idempotent",
            client_msg_id_retry,
        ),
        trial(
            "chat::typing_reaches_others_only",
            typing_reaches_others_only,
        ),
        trial("chat::read_receipt_once_per_user", read_receipt_once),
        trial("chat::reaction_toggles", reaction_toggles),
        trial("chat::seq_contiguous_across_kinds", seq_contiguous),
        trial("chat::threading_needs_a_parent_here", threading),
        trial("chat::established_carries_last_seq", established_last_seq),
    ]
}

pub fn auth() -> String {
    format!("Bearer {}", api_key())
}

/// Makes `user` a member of `room` through the server API.
pub fn add_member(s: &Server, room: &str, user: &str) {
    let (status, body) = s.request(
        "PUT",
        &format!("/api/conversations/{room}/members/{user}"),
        &[("Authorization", &auth())],
        None,
    );
    assert!(
        status == 201 || status == 200,
        "PUT member: {status} {body}"
    );
}

/// A fresh room with these members.
pub fn room_with(s: &Server, users: &[&str]) -> String {
    let room = unique("room");
    for u in users {
        add_member(s, &room, u);
    }
    room
}

/// Opens `/ws/chat/{room}/` as `user` and returns it after `connection.established`.
pub fn join(s: &Server, room: &str, user: &str) -> Result<(Ws, Value), String> {
    let mut ws = Ws::connect(&s.ws_url(&with_token(&format!("/ws/chat/{room}/"), &token(user))))?;
    let hello = ws.recv_type("connection.established")?;
    Ok((ws, hello))
}

pub fn send(ws: &mut Ws, v: Value) -> Result<(), String> {
    ws.send_json(&v)
}

/// Sends a message and returns its ack.
pub fn say(ws: &mut Ws, text: &str) -> Result<Value, String> {
    send(
        ws,
        json!({"type": "chat_message", "content": text, "request_id": "say"}),
    )?;
    ws.recv_until("ack")
}

pub fn users2() -> (String, String) {
    (unique("ann"), unique("bob"))
}

fn message_broadcast_and_ack(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    wa.recv_until("user_status")?; // b came online
    send(
        &mut wa,
        json!({"type": "chat_message", "content": "hello", "request_id": "r1", "client_msg_id": "c1"}),
    )?;
    let ack = wa.recv_type("ack")?;
    assert_eq!(ack["request_id"], "r1");
    let mine = wa.recv_type("chat_message")?;
    let theirs = wb.recv_until("chat_message")?;
    assert_eq!(mine, theirs, "everyone gets the same frame");
    let m = &theirs["message"];
    assert_eq!(
        (m["id"].clone(), m["seq"].clone()),
        (ack["message_id"].clone(), ack["seq"].clone())
    );
    assert_eq!(theirs["seq"], ack["seq"]);
    assert_eq!(m["content"], "hello");
    assert_eq!(m["conversation_id"], room.as_str());
    assert_eq!(m["sender"]["id"], a.as_str());
    assert_eq!(m["client_msg_id"], "c1");
    assert_eq!(m["is_edited"], false);
    for k in [
        "username",
        "name",
        "email",
        "first_name",
        "last_name",
        "avatar",
    ] {
        assert!(m["sender"].get(k).is_some(), "sender.{k} present: {m}");
    }
    Ok(())
}

fn message_alias_for_content(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    send(
        &mut wa,
        json!({"type": "chat_message", "message": "via alias"}),
    )?;
    wa.recv_type("ack")?;
    assert_eq!(
        wa.recv_type("chat_message")?["message"]["content"],
        "via alias"
    );
    Ok(())
}

fn client_msg_id_retry(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    let frame = json!({"type": "chat_message", "content": "once", "client_msg_id": "k-1"});
    send(&mut wa, frame.clone())?;
    let first = wa.recv_until("ack")?;
    send(&mut wa, frame)?;
    let again = wa.recv_until("ack")?;
    assert_eq!(
        (first["message_id"].clone(), first["seq"].clone()),
        (again["message_id"].clone(), again["seq"].clone())
    );
    let next = say(&mut wa, "after")?;
    assert_eq!(
        next["seq"],
        first["seq"].as_u64().unwrap() + 1,
        "the retry took no seq"
    );
    // b sees the first message, then directly the next one: the retry broadcast nothing.
    assert_eq!(wb.recv_until("chat_message")?["message"]["content"], "once");
    assert_eq!(wb.recv_type("chat_message")?["message"]["content"], "after");
    Ok(())
}

fn typing_reaches_others_only(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    wa.recv_until("user_status")?;
    // The SPEC's type and its alias; b gets both, in order.
    for (kind, is_typing) in [("typing_indicator", true), ("typing", false)] {
        send(&mut wa, json!({"type": kind, "is_typing": is_typing}))?;
        let t = wb.recv_until("typing_indicator")?;
        assert_eq!(
            (t["user_id"].as_str(), t["is_typing"].as_bool()),
            (Some(a.as_str()), Some(is_typing)),
            "after a `{kind}` frame: {t}"
        );
        assert!(t["timestamp"].is_string(), "{t}");
        assert!(t.get("seq").is_none(), "typing is ephemeral: {t}");
    }
    send(&mut wa, json!({"type": "ping", "timestamp": 1}))?;
    assert_eq!(
        wa.recv()?["type"],
        "pong",
        "the sender got no echo of its typing"
    );
    let ack = say(&mut wa, "x")?;
    assert_eq!(ack["seq"], 1, "typing took no seq");
    Ok(())
}

/// Skips frames until the `ack` answering `request_id`.
pub fn ack_for(ws: &mut Ws, request_id: &str) -> Result<Value, String> {
    loop {
        let ack = ws.recv_until("ack")?;
        if ack["request_id"] == request_id {
            return Ok(ack);
        }
    }
}

fn read_receipt_once(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    let mid = say(&mut wa, "read me")?["message_id"].clone();
    send(
        &mut wb,
        json!({"type": "read_receipt", "message_id": mid, "request_id": "first"}),
    )?;
    let r = wa.recv_until("read_receipt")?;
    assert_eq!(
        (
            r["message_id"].clone(),
            r["user_id"].as_str(),
            r["seq"].as_u64()
        ),
        (mid.clone(), Some(b.as_str()), Some(2))
    );
    wb.recv_until("read_receipt")?;
    send(
        &mut wb,
        json!({"type": "read_receipt", "message_id": mid, "request_id": "again"}),
    )?;
    let again = ack_for(&mut wb, "again")?;
    assert_eq!(again["message_id"], mid);
    assert!(
        again.get("seq").is_none(),
        "a repeat is acked without seq: {again}"
    );
    // The repeat is fully handled (acked); had it broadcast, that frame would come first.
    send(
        &mut wa,
        json!({"type": "chat_message", "content": "marker", "request_id": "m"}),
    )?;
    let ack = wa.recv_type("ack")?;
    assert_eq!(ack["seq"], 3, "the repeat receipt stored nothing");
    assert_eq!(
        wa.recv_type("chat_message")?["message"]["content"],
        "marker"
    );
    assert_eq!(
        wb.recv_type("chat_message")?["message"]["content"],
        "marker",
        "the repeat receipt broadcast nothing"
    );
    Ok(())
}

fn reaction_toggles(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    let mid = say(&mut wa, "react")?["message_id"].clone();
    for want in ["added", "removed"] {
        send(
            &mut wb,
            json!({"type": "message_reaction", "message_id": mid, "emoji": "👍"}),
        )?;
        let r = wa.recv_until("message_reaction")?;
        assert_eq!(
            (
                r["action"].as_str(),
                r["emoji"].as_str(),
                r["user_id"].as_str()
            ),
            (Some(want), Some("👍"), Some(b.as_str()))
        );
    }
    send(
        &mut wb,
        json!({"type": "message_reaction", "message_id": mid, "emoji": "not an emoji", "request_id": "e"}),
    )?;
    let e = wb.recv_until("error")?;
    assert_eq!(
        (e["code"].as_str(), e["request_id"].as_str()),
        (Some("invalid_request"), Some("e"))
    );
    Ok(())
}

fn seq_contiguous(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    let mid = say(&mut wa, "one")?["message_id"].clone();
    send(&mut wb, json!({"type": "read_receipt", "message_id": mid}))?;
    send(&mut wb, json!({"type": "typing", "is_typing": true}))?;
    send(
        &mut wb,
        json!({"type": "message_reaction", "message_id": mid, "emoji": "🎉"}),
    )?;
    send(
        &mut wa,
        json!({"type": "message_edit", "message_id": mid, "content": "uno"}),
    )?;
    send(&mut wa, json!({"type": "chat_message", "content": "two"}))?;
    // The delete must come after b's receipt and reaction, or those rightly fail.
    let mut b_acks = 0;
    let mut seqs = Vec::new();
    while b_acks < 2 {
        let f = wb.recv()?;
        if f["type"] == "ack" {
            b_acks += 1;
        } else if let Some(seq) = f["seq"].as_u64() {
            seqs.push(seq);
        }
    }
    send(
        &mut wa,
        json!({"type": "message_delete", "message_id": mid}),
    )?;
    while seqs.len() < 6 {
        let f = wb.recv()?;
        // b's own acks carry a seq too; count only the events.
        if let (Some(seq), false) = (f["seq"].as_u64(), f["type"] == "ack") {
            seqs.push(seq);
        }
    }
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
    Ok(())
}

fn threading(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    let root = say(&mut wa, "root")?["message_id"].clone();
    send(
        &mut wa,
        json!({"type": "chat_message", "content": "reply", "parent_message_id": root}),
    )?;
    wa.recv_until("ack")?;
    assert_eq!(
        wa.recv_until("chat_message")?["message"]["parent_message_id"],
        root
    );
    send(
        &mut wa,
        json!({"type": "chat_message", "content": "orphan", "parent_message_id": "nope"}),
    )?;
    assert_eq!(wa.recv_until("error")?["code"], "not_found");
    Ok(())
}

fn established_last_seq(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, hello) = join(s, &room, &a)?;
    assert_eq!(hello["last_seq"], 0, "a new room: {hello}");
    let mid = say(&mut wa, "one")?["message_id"].clone();
    say(&mut wa, "two")?;
    send(
        &mut wa,
        json!({"type": "message_reaction", "message_id": mid, "emoji": "👀", "request_id": "r"}),
    )?;
    ack_for(&mut wa, "r")?;
    let (_wb, hello) = join(s, &room, &b)?;
    assert_eq!(
        (
            hello["last_seq"].as_u64(),
            hello["conversation_id"].as_str(),
            hello["user_id"].as_str()
        ),
        (Some(3), Some(room.as_str()), Some(b.as_str())),
        "{hello}"
    );
    let online: Vec<&str> = hello["presence"]
        .as_array()
        .map(|p| p.iter().filter_map(|e| e["user_id"].as_str()).collect())
        .unwrap_or_default();
    assert!(online.contains(&a.as_str()), "a is online: {hello}");
    Ok(())
}
