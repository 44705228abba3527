//! Unit tests of the room state machine: an in-memory store and a room harness here,
//! the cases by subject in the submodules.

use super::*;
use crate::domain::identity::Profile;
use crate::domain::protocol::decode;
use crate::domain::stream::EventLog;
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

mod actions;
mod messages;
