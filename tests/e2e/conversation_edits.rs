//! Edits and deletes (SPEC §4): the sender's only, live to everyone, erased on resume
//! (the message and the edits of it), and copied to D1 with reactions added and removed.

use serde_json::{json, Value};

use crate::common::{api_key, token, trial, with_token, Server, TestResult, Ws};
use crate::conversation::{ack_for, join, room_with, say, send, users2};
use crate::conversation_api::history_until;
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "chat::edit_and_delete_by_sender_only",
            edit_and_delete_by_sender_only,
        ),
        trial(
            "resume::delete_after_edit_replays_no_content",
            delete_after_edit_replay,
        ),
        trial(
            "durability::d1_follows_edit_unreact_delete",
            d1_follows_edit_unreact_delete,
        ),
    ]
}

fn edit_and_delete_by_sender_only(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    let mid = say(&mut wa, "draft")?["message_id"].clone();
    for frame in [
        json!({"type": "message_edit", "message_id": mid, "content": "hijack", "request_id": "x"}),
        json!({"type": "message_delete", "message_id": mid, "request_id": "x"}),
    ] {
        send(&mut wb, frame)?;
        let e = wb.recv_until("error")?;
        assert_eq!(
            (e["code"].as_str(), e["request_id"].as_str()),
            (Some("forbidden"), Some("x"))
        );
    }
    send(
        &mut wa,
        json!({"type": "message_edit", "message_id": mid, "content": "final"}),
    )?;
    let edit = wb.recv_until("message_edit")?;
    assert_eq!(
        (edit["message_id"].clone(), edit["content"].as_str()),
        (mid.clone(), Some("final"))
    );
    assert!(edit["edited_at"].is_string() && edit["seq"].is_u64());
    send(
        &mut wa,
        json!({"type": "message_delete", "message_id": mid}),
    )?;
    let del = wb.recv_until("message_delete")?;
    assert_eq!(del["message_id"], mid);
    send(&mut wb, json!({"type": "read_receipt", "message_id": mid}))?;
    assert_eq!(
        wb.recv_until("error")?["code"],
        "not_found",
        "a deleted message is gone"
    );
    Ok(())
}

/// The first `n` frames after `connection.established` of a `?since=0` socket, as text.
fn replay_from_start(s: &Server, room: &str, user: &str, n: usize) -> Result<Vec<String>, String> {
    let path = format!("/ws/chat/{room}/?since=0");
    let mut ws = Ws::connect(&s.ws_url(&with_token(&path, &token(user))))?;
    ws.recv_type("connection.established")?;
    (0..n).map(|_| ws.recv_text()).collect()
}

fn delete_after_edit_replay(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let mid = say(&mut wa, "first draft")?["message_id"].clone();
    send(
        &mut wa,
        json!({"type": "message_edit", "message_id": mid, "content": "second draft", "request_id": "e"}),
    )?;
    let edit_ack = ack_for(&mut wa, "e")?;
    send(
        &mut wa,
        json!({"type": "message_delete", "message_id": mid, "request_id": "d"}),
    )?;
    ack_for(&mut wa, "d")?;
    let replay = replay_from_start(s, &room, &b, 4)?;
    let frames: Vec<Value> = replay
        .iter()
        .map(|t| serde_json::from_str(t).unwrap_or(Value::Null))
        .collect();
    let message = &frames[0]["message"];
    assert_eq!(
        (
            &frames[0]["type"],
            &message["content"],
            &message["is_deleted"]
        ),
        (&json!("chat_message"), &Value::Null, &json!(true)),
        "{replay:?}"
    );
    let edit = &frames[1];
    assert_eq!(
        (
            &edit["type"],
            &edit["seq"],
            &edit["message_id"],
            &edit["content"]
        ),
        (&json!("message_edit"), &edit_ack["seq"], &mid, &Value::Null),
        "the edit of a deleted message is replayed without its content: {edit}"
    );
    assert!(edit["edited_at"].is_string(), "{edit}");
    assert_eq!(frames[2]["type"], "message_delete");
    assert_eq!(
        frames[3],
        json!({"type": "resumed", "since": 0, "last_seq": 3})
    );
    let all = replay.concat();
    assert!(!all.contains("draft"), "no content left anywhere: {all}");
    Ok(())
}

/// The D1 copy of one message: content, edited_at, is_deleted.
fn d1_message(s: &Server, mid: &str, ready: impl Fn(&Value) -> bool) -> Result<Value, String> {
    let sql = format!("SELECT content, edited_at, is_deleted FROM messages WHERE id = '{mid}'");
    let rows = s.d1_until(&sql, |rows| rows.first().is_some_and(&ready))?;
    Ok(rows[0].clone())
}

fn d1_reactions(s: &Server, mid: &str) -> Result<Vec<Value>, String> {
    s.d1_query(&format!(
        "SELECT user_id, emoji FROM reactions WHERE message_id = '{mid}'"
    ))
}

fn d1_follows_edit_unreact_delete(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    let mid = say(&mut wa, "original")?["message_id"].clone();
    let react =
        json!({"type": "message_reaction", "message_id": mid, "emoji": "🎉", "request_id": "r"});
    send(&mut wb, react.clone())?;
    ack_for(&mut wb, "r")?;
    send(
        &mut wa,
        json!({"type": "message_edit", "message_id": mid, "content": "edited", "request_id": "e"}),
    )?;
    ack_for(&mut wa, "e")?;
    let id = mid.as_str().unwrap_or_default();
    // The outbox copies in commit order: once the edit is in D1, the reaction is too.
    let row = d1_message(s, id, |r| r["content"] == "edited")?;
    assert!(
        row["edited_at"].is_string() && row["is_deleted"] == 0,
        "{row}"
    );
    assert_eq!(
        d1_reactions(s, id)?,
        vec![json!({"user_id": b, "emoji": "🎉"})]
    );
    let path = format!("/api/conversations/{room}/messages");
    let page = history_until(s, &path, &api_key(), |p| {
        p["messages"][0]["is_edited"] == true
    })?;
    assert_eq!(page["messages"][0]["content"], "edited");
    send(&mut wb, react)?;
    assert_eq!(ack_for(&mut wb, "r")?["seq"], 4, "the toggle removed it");
    send(
        &mut wa,
        json!({"type": "message_delete", "message_id": mid, "request_id": "d"}),
    )?;
    ack_for(&mut wa, "d")?;
    let row = d1_message(s, id, |r| r["is_deleted"] == 1)?;
    assert_eq!(row["content"], Value::Null, "content erased in D1: {row}");
    assert_eq!(
        d1_reactions(s, id)?,
        Vec::<Value>::new(),
        "the removal reached D1"
    );
    Ok(())
}
