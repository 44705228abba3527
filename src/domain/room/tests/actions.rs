//! Typing, receipts, reactions, edits and deletes, and erasing a deleted message.

use super::*;

#[test]
fn typing_is_not_stored_and_not_echoed() {
    let mut room = Room::new();
    let o = room.send("a", r#"{"type":"typing_indicator","is_typing":true}"#);
    assert!(o.reply.is_empty());
    assert!(!o.broadcast.unwrap().include_sender);
    assert_eq!(room.store.last_seq(), 0);
}

#[test]
fn receipts_are_once_per_user_and_message() {
    let mut room = Room::new();
    room.send("a", r#"{"type":"chat_message","content":"hi"}"#);
    assert!(room
        .send("b", r#"{"type":"read_receipt","message_id":"m1"}"#)
        .broadcast
        .is_some());
    let again = room.send("b", r#"{"type":"read_receipt","message_id":"m1"}"#);
    assert!(again.broadcast.is_none());
    assert_eq!(room.store.last_seq(), 2);
}

#[test]
fn reactions_toggle() {
    let mut room = Room::new();
    room.send("a", r#"{"type":"chat_message","content":"hi"}"#);
    let add = room.send(
        "b",
        r#"{"type":"message_reaction","message_id":"m1","emoji":"🎉"}"#,
    );
    assert!(add.broadcast.unwrap().text.contains(r#""action":"added""#));
    let remove = room.send(
        "b",
        r#"{"type":"message_reaction","message_id":"m1","emoji":"🎉"}"#,
    );
    assert!(remove
        .broadcast
        .unwrap()
        .text
        .contains(r#""action":"removed""#));
    let bad = room.send(
        "b",
        r#"{"type":"message_reaction","message_id":"m1","emoji":"hello"}"#,
    );
    assert_eq!(error_code(&bad), ErrorCode::InvalidRequest);
    assert!(room
        .send(
            "b",
            r#"{"type":"message_reaction","message_id":"m1","emoji":":thumbs_up:"}"#
        )
        .broadcast
        .is_some());
    let react = |room: &mut Room, emoji: &str| {
        let frame =
            serde_json::json!({"type": "message_reaction", "message_id": "m1", "emoji": emoji});
        room.send("b", &frame.to_string())
    };
    assert!(
        react(&mut room, "#\u{FE0F}\u{20E3}").broadcast.is_some(),
        "a keycap"
    );
    for text in ["日本", "é", "\u{200B}", "\u{202E}"] {
        let o = react(&mut room, text);
        assert_eq!(error_code(&o), ErrorCode::InvalidRequest, "{text:?}");
    }
}

#[test]
fn only_the_sender_edits_or_deletes() {
    let mut room = Room::new();
    room.send("a", r#"{"type":"chat_message","content":"hi"}"#);
    let e = room.send(
        "b",
        r#"{"type":"message_edit","message_id":"m1","content":"x"}"#,
    );
    assert_eq!(error_code(&e), ErrorCode::Forbidden);
    let d = room.send(
        "b",
        r#"{"type":"message_delete","message_id":"m1","request_id":"r"}"#,
    );
    assert_eq!(
        d.reply[0],
        ServerFrame::error(
            FrameError::forbidden("only the sender may delete a message"),
            Some("r".into())
        )
    );
    assert!(room
        .send("a", r#"{"type":"message_delete","message_id":"m1"}"#)
        .broadcast
        .is_some());
    let gone = room.send(
        "a",
        r#"{"type":"message_edit","message_id":"m1","content":"x"}"#,
    );
    assert_eq!(
        error_code(&gone),
        ErrorCode::NotFound,
        "a deleted message cannot be edited"
    );
}

#[test]
fn erasing_a_deleted_message_keeps_the_frame_shape() {
    let mut room = Room::new();
    let o = room.send("a", r#"{"type":"chat_message","content":"secret"}"#);
    let erased = erase_message_frame(&o.broadcast.unwrap().text).unwrap();
    assert!(erased.starts_with(r#"{"type":"chat_message","seq":1,"message":{"id":"m1""#));
    assert!(erased.contains(r#""content":null"#) && erased.contains(r#""is_deleted":true"#));
    assert!(!erased.contains("secret"));
    room.send(
        "a",
        r#"{"type":"message_edit","message_id":"m1","content":"secret2"}"#,
    );
    let edit = erase_edit_frame(&room.store.events[&2]).unwrap();
    assert!(edit.starts_with(r#"{"type":"message_edit","seq":2"#) && !edit.contains("secret2"));
}

#[test]
fn erasing_a_stored_response_touches_only_that_message() {
    let mut room = Room::new();
    let o = room.send("a", r#"{"type":"chat_message","content":"secret"}"#);
    let frame: serde_json::Value = serde_json::from_str(&o.broadcast.unwrap().text).unwrap();
    let body = serde_json::json!({"message": frame["message"]}).to_string();
    let erased: serde_json::Value =
        serde_json::from_str(&erase_message_response(&body, "m1").unwrap()).unwrap();
    let m = &erased["message"];
    assert_eq!(
        (&m["content"], &m["is_deleted"]),
        (&serde_json::Value::Null, &serde_json::json!(true))
    );
    assert_eq!(
        (&m["id"], &m["seq"], &m["sender"]),
        (
            &frame["message"]["id"],
            &frame["message"]["seq"],
            &frame["message"]["sender"]
        )
    );
    assert_eq!(
        erase_message_response(&body, "m2"),
        None,
        "another message's response"
    );
    assert_eq!(erase_message_response("{\"error\":{}}", "m1"), None);
}
