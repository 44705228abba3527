//! Edits and deletes (SPEC §4): the sender's only, live to everyone.

use serde_json::json;

use crate::common::{trial, Server, TestResult};
use crate::conversation::{join, room_with, say, send, users2};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![trial(
        "chat::edit_and_delete_by_sender_only",
        edit_and_delete_by_sender_only,
    )]
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
