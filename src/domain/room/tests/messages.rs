//! New messages, their ordering and resume: acks, retries, seq, references, failures.

use super::*;
use crate::domain::stream::resume;

#[test]
fn message_is_committed_acked_and_broadcast_to_everyone() {
    let mut room = Room::new();
    let o = room.send(
        "a",
        r#"{"type":"chat_message","content":"hi","request_id":"r1"}"#,
    );
    assert_eq!(
        o.reply[0],
        ServerFrame::Ack {
            request_id: Some("r1".into()),
            message_id: Some("m1".into()),
            seq: Some(1)
        }
    );
    let b = o.broadcast.unwrap();
    assert!(b.include_sender);
    assert_eq!(
        room.store.events[&1], b.text,
        "the stored frame is the broadcast frame"
    );
    assert!(b.text.contains(r#""content":"hi""#) && b.text.contains(r#""name":"A""#));
}

#[test]
fn client_msg_id_retry_returns_the_first_ack_and_broadcasts_nothing() {
    let mut room = Room::new();
    let first = room.send(
        "a",
        r#"{"type":"chat_message","content":"hi","client_msg_id":"k"}"#,
    );
    let again = room.send(
        "a",
        r#"{"type":"chat_message","content":"hi","client_msg_id":"k"}"#,
    );
    assert_eq!(ack_of(&first), ack_of(&again));
    assert!(again.broadcast.is_none());
    assert_eq!(room.store.last_seq(), 1);
    let other = room.send(
        "b",
        r#"{"type":"chat_message","content":"hi","client_msg_id":"k"}"#,
    );
    assert_eq!(ack_of(&other).1, Some(2), "the key is per sender");
}

#[test]
fn seq_is_contiguous_across_event_kinds() {
    let mut room = Room::new();
    room.send("a", r#"{"type":"chat_message","content":"one"}"#);
    room.send("b", r#"{"type":"typing","is_typing":true}"#);
    room.send("b", r#"{"type":"read_receipt","message_id":"m1"}"#);
    room.send(
        "b",
        r#"{"type":"message_reaction","message_id":"m1","emoji":"👍"}"#,
    );
    room.send(
        "a",
        r#"{"type":"message_edit","message_id":"m1","content":"uno"}"#,
    );
    room.send("a", r#"{"type":"message_delete","message_id":"m1"}"#);
    assert_eq!(
        room.store.events.keys().copied().collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
}

#[test]
fn bad_references_and_content_are_refused_without_storing() {
    let mut room = Room::new();
    let cases = [
        (
            r#"{"type":"read_receipt","message_id":"nope"}"#,
            ErrorCode::NotFound,
        ),
        (
            r#"{"type":"chat_message","content":"x","parent_message_id":"nope"}"#,
            ErrorCode::NotFound,
        ),
        (
            r#"{"type":"chat_message","content":"   "}"#,
            ErrorCode::InvalidRequest,
        ),
        (
            r#"{"type":"mark_read","notification_id":"n"}"#,
            ErrorCode::UnknownType,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error_code(&room.send("a", text)), want, "{text}");
    }
    let long = format!(
        r#"{{"type":"chat_message","content":"{}"}}"#,
        "x".repeat(4001)
    );
    assert_eq!(
        error_code(&room.send("a", &long)),
        ErrorCode::InvalidRequest
    );
    assert_eq!(room.store.last_seq(), 0);
}

#[test]
fn threads_need_a_parent_in_the_room() {
    let mut room = Room::new();
    room.send("a", r#"{"type":"chat_message","content":"root"}"#);
    let reply = room.send(
        "b",
        r#"{"type":"chat_message","content":"re","parent_message_id":"m1"}"#,
    );
    assert!(reply
        .broadcast
        .unwrap()
        .text
        .contains(r#""parent_message_id":"m1""#));
}

#[test]
fn storage_failure_is_an_error_not_an_ack() {
    let mut room = Room::new();
    room.store.fail = true;
    let o = room.send(
        "a",
        r#"{"type":"chat_message","content":"hi","request_id":"r"}"#,
    );
    assert_eq!(error_code(&o), ErrorCode::Unavailable);
    assert!(o.broadcast.is_none());
}

#[test]
fn resume_window() {
    let mut room = Room::new();
    for i in 0..5 {
        room.send(
            "a",
            &format!(r#"{{"type":"chat_message","content":"{i}"}}"#),
        );
    }
    let frames = resume(&room.store, 2, 1000);
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[0], room.store.events[&3]);
    assert_eq!(frames[3], r#"{"type":"resumed","since":2,"last_seq":5}"#);
    assert_eq!(
        resume(&room.store, 6, 1000),
        vec![r#"{"type":"resync_required","last_seq":5}"#.to_string()]
    );
    assert_eq!(
        resume(&room.store, 0, 3),
        vec![r#"{"type":"resync_required","last_seq":5}"#.to_string()]
    );
    assert_eq!(
        resume(&room.store, 5, 1000),
        vec![r#"{"type":"resumed","since":5,"last_seq":5}"#.to_string()]
    );
}
