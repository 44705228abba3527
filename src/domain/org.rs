//! The org hub's state machine: who may join, org events and membership. The hub is the
//! single writer of its org's stream: an event gets the next `seq` and is committed to the
//! store before the shell broadcasts it. The log is bounded (`ORG_EVENT_RETENTION`, the
//! store trims it); resuming beyond it asks the client to resync.

use serde::Deserialize;
use serde_json::Value;

use super::errors::{ErrorCode, FrameError};
use super::ids::ONLINE_ORG;
use super::protocol::ServerFrame;
use super::room::StoreError;
use super::stream::EventLog;
use super::time::iso;

/// Largest event `data` JSON.
pub const MAX_EVENT_BYTES: usize = 32 * 1024;

/// Body of `POST /api/orgs/{org}/events`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventIn {
    pub event_type: String,
    #[serde(default)]
    pub data: Value,
}

/// Access to an org's socket: the `_online` hub is open to everyone; other orgs need the
/// `orgs` claim or API membership.
pub fn may_join(org_id: &str, claim: bool, member: bool) -> bool {
    org_id == ONLINE_ORG || claim || member
}

/// A durable org change.
#[derive(Debug, Clone, PartialEq)]
pub enum OrgChange {
    /// An event, committed under its `seq` with its frame.
    Event {
        id: String,
        event_type: String,
        data: Value,
        at: String,
    },
}

/// The hub's storage, as the state machine needs it.
pub trait OrgStore: EventLog {
    fn is_member(&self, user_id: &str) -> bool;
    /// Adds (`Some(added_at)`) or removes a member; false when nothing changed.
    fn set_member(&mut self, user_id: &str, added_at: Option<&str>) -> Result<bool, StoreError>;
    /// Stores the event frame under `seq` and applies `change`, atomically.
    fn commit(&mut self, seq: u64, frame: &str, change: &OrgChange) -> Result<(), StoreError>;
}

/// A stored event: what the API answers and what the shell broadcasts.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub id: String,
    pub seq: u64,
    pub frame: String,
}

/// Validates and stores an event under the next seq.
pub fn publish(
    store: &mut impl OrgStore,
    input: EventIn,
    id: String,
    now_ms: i64,
) -> Result<Published, FrameError> {
    let seq = store.last_seq() + 1;
    let change = OrgChange::Event {
        id: id.clone(),
        event_type: input.event_type.clone(),
        data: input.data.clone(),
        at: iso(now_ms),
    };
    let frame = event_frame(input, id.clone(), seq, now_ms)?;
    store
        .commit(seq, &frame, &change)
        .map_err(|_| FrameError::new(ErrorCode::Unavailable, "could not store the event; retry"))?;
    Ok(Published { id, seq, frame })
}

/// After `user` stopped being an API member: whether a socket of theirs may stay (the
/// token's claim still admits it, and `_online` admits everyone).
pub fn stays_after_removal(org_id: &str, socket_has_claim: bool) -> bool {
    may_join(org_id, socket_has_claim, false)
}

/// Validates an event and builds its frame under `seq`.
pub fn event_frame(
    input: EventIn,
    id: String,
    seq: u64,
    now_ms: i64,
) -> Result<String, FrameError> {
    if input.event_type.is_empty() || input.event_type.chars().count() > 64 {
        return Err(FrameError::invalid("event_type must be 1-64 characters"));
    }
    if input.data.to_string().len() > MAX_EVENT_BYTES {
        return Err(FrameError::invalid(format!(
            "data is larger than {MAX_EVENT_BYTES} bytes"
        )));
    }
    Ok(ServerFrame::Event {
        seq,
        id,
        event_type: input.event_type,
        data: input.data,
        timestamp: iso(now_ms),
    }
    .to_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn access_by_claim_membership_or_online_hub() {
        assert!(may_join("_online", false, false));
        assert!(may_join("acme", true, false));
        assert!(may_join("acme", false, true));
        assert!(!may_join("acme", false, false));
    }

    #[derive(Default)]
    struct Memory {
        events: Vec<String>,
        members: Vec<String>,
    }
    impl EventLog for Memory {
        fn last_seq(&self) -> u64 {
            self.events.len() as u64
        }
        fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
            self.events
                .iter()
                .skip(since as usize)
                .take(limit as usize)
                .cloned()
                .collect()
        }
    }
    impl OrgStore for Memory {
        fn is_member(&self, user_id: &str) -> bool {
            self.members.iter().any(|m| m == user_id)
        }
        fn set_member(&mut self, user_id: &str, added: Option<&str>) -> Result<bool, StoreError> {
            let was = self.is_member(user_id);
            self.members.retain(|m| m != user_id);
            if added.is_some() {
                self.members.push(user_id.into());
            }
            Ok(was != added.is_some())
        }
        fn commit(&mut self, seq: u64, frame: &str, _: &OrgChange) -> Result<(), StoreError> {
            assert_eq!(seq, self.last_seq() + 1, "contiguous seq");
            self.events.push(frame.into());
            Ok(())
        }
    }

    #[test]
    fn publish_commits_under_the_next_seq_before_returning_the_frame() {
        let mut hub = Memory::default();
        let ev = |t: &str| EventIn {
            event_type: t.into(),
            data: json!({}),
        };
        let first = publish(&mut hub, ev("a"), "e1".into(), 0).unwrap();
        let second = publish(&mut hub, ev("b"), "e2".into(), 0).unwrap();
        assert_eq!((first.seq, second.seq), (1, 2));
        assert_eq!(hub.events, vec![first.frame, second.frame.clone()]);
        assert!(publish(&mut hub, ev(""), "e3".into(), 0).is_err());
        assert_eq!(hub.last_seq(), 2, "a refused event stores nothing");
    }

    #[test]
    fn removal_keeps_only_sockets_still_admitted() {
        assert!(stays_after_removal("acme", true), "the token's claim");
        assert!(!stays_after_removal("acme", false));
        assert!(stays_after_removal("_online", false));
    }

    #[test]
    fn event_frames_are_validated() {
        let ok = event_frame(
            EventIn {
                event_type: "deploy".into(),
                data: json!({"v": 1}),
            },
            "e1".into(),
            4,
            0,
        )
        .unwrap();
        assert!(ok.starts_with(
            r#"{"type":"event","seq":4,"id":"e1","event_type":"deploy","data":{"v":1},"timestamp":"#
        ));
        assert!(event_frame(
            EventIn {
                event_type: String::new(),
                data: Value::Null
            },
            "e".into(),
            1,
            0
        )
        .is_err());
        let big = EventIn {
            event_type: "x".into(),
            data: json!("y".repeat(MAX_EVENT_BYTES)),
        };
        assert!(event_frame(big, "e".into(), 1, 0).is_err());
    }
}
