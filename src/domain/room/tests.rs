//! Unit tests of the room state machine on an in-memory store.

use super::*;
use crate::domain::identity::Profile;
use crate::domain::protocol::decode;
use crate::domain::stream::{resume, EventLog};
use std::collections::{BTreeMap, HashSet};

#[derive(Default)]
struct Memory {
    events: BTreeMap<u64, String>,
    messages: Vec<StoredMessage>,
    client_ids: Vec<(String, String, String)>,
    receipts: HashSet<(String, String)>,
    reactions: HashSet<(String, String, String)>,
    fail: bool,
}

impl EventLog for Memory {
    fn last_seq(&self) -> u64 {
        self.events.keys().next_back().copied().unwrap_or(0)
    }
    fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
        self.events
            .range(since + 1..)
            .take(limit as usize)
            .map(|(_, f)| f.clone())
            .collect()
    }
}

impl RoomStore for Memory {
    fn message(&self, id: &str) -> Option<StoredMessage> {
        self.messages.iter().find(|m| m.id == id).cloned()
    }
    fn by_client_msg_id(&self, sender: &str, cid: &str) -> Option<StoredMessage> {
        let (_, _, id) = self
            .client_ids
            .iter()
            .find(|(s, c, _)| s == sender && c == cid)?;
        self.message(id)
    }
    fn has_receipt(&self, m: &str, u: &str) -> bool {
        self.receipts.contains(&(m.into(), u.into()))
    }
    fn has_reaction(&self, m: &str, u: &str, e: &str) -> bool {
        self.reactions.contains(&(m.into(), u.into(), e.into()))
    }
    fn commit(&mut self, seq: u64, frame: &str, change: &Change) -> Result<(), StoreError> {
        if self.fail {
            return Err(StoreError);
        }
        assert_eq!(seq, self.last_seq() + 1, "seq must be contiguous");
        self.events.insert(seq, frame.to_string());
        match change {
            Change::Message(v) => {
                self.messages.push(StoredMessage {
                    id: v.id.clone(),
                    seq,
                    sender_id: v.sender.id.clone(),
                    deleted: false,
                });
                if let Some(c) = &v.client_msg_id {
                    self.client_ids
                        .push((v.sender.id.clone(), c.clone(), v.id.clone()));
                }
            }
            Change::Receipt {
                message_id,
                user_id,
                ..
            } => {
                self.receipts.insert((message_id.clone(), user_id.clone()));
            }
            Change::Reaction {
                message_id,
                user_id,
                emoji,
                action,
                ..
            } => {
                let key = (message_id.clone(), user_id.clone(), emoji.clone());
                match action {
                    ReactionAction::Added => self.reactions.insert(key),
                    ReactionAction::Removed => self.reactions.remove(&key),
                };
            }
            Change::Edit { .. } => {}
            Change::Delete { message_id } => {
                self.messages
                    .iter_mut()
                    .filter(|m| &m.id == message_id)
                    .for_each(|m| m.deleted = true);
            }
        }
        Ok(())
    }
}

fn who(id: &str) -> Identity {
    Identity::new(
        id.into(),
        Profile {
            name: Some(id.to_uppercase()),
            ..Profile::default()
        },
        vec![],
        i64::MAX,
    )
}

struct Room {
    store: Memory,
    settings: Settings,
    next: u32,
}

impl Room {
    fn new() -> Self {
        Room {
            store: Memory::default(),
            settings: Settings::default(),
            next: 0,
        }
    }
    fn send(&mut self, user: &str, text: &str) -> Outcome {
        let incoming = decode(text).expect("test frames decode");
        let who = who(user);
        let actor = Actor {
            who: &who,
            now_ms: 1_000,
            settings: &self.settings,
            conversation_id: "c1",
        };
        self.next += 1;
        let id = format!("m{}", self.next);
        handle(
            &mut self.store,
            &actor,
            incoming.frame,
            || id,
            incoming.request_id,
        )
    }
}

fn ack_of(o: &Outcome) -> (Option<String>, Option<u64>) {
    match &o.reply[0] {
        ServerFrame::Ack {
            message_id, seq, ..
        } => (message_id.clone(), *seq),
        other => panic!("expected ack, got {other:?}"),
    }
}

fn error_code(o: &Outcome) -> ErrorCode {
    match &o.reply[0] {
        ServerFrame::Error { code, .. } => *code,
        other => panic!("expected error, got {other:?}"),
    }
}

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
