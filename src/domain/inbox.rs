//! A user's notification inbox: publishing, read state and the unread count. Like the
//! room, the inbox commits each durable event under the next `seq` before sending it.
//! Also names the ledger that keeps `Idempotency-Key`s of `POST /api/notifications`.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::decode::{object, Fields};
use super::errors::{ErrorCode, FrameError};
use super::protocol::{NotificationView, ServerFrame};
use super::room::StoreError;
use super::stream::EventLog;
use super::time::iso;

/// Longest title, body or message.
pub const MAX_TEXT_CHARS: usize = 4_000;
/// Largest `data` / `actor` JSON.
pub const MAX_DATA_BYTES: usize = 16 * 1024;
/// Most recipients in one publish.
pub const MAX_RECIPIENTS: usize = 100;

/// Shards of the notification key ledger. The key of `POST /api/notifications` belongs to the
/// endpoint, not to a recipient, so it must be recorded in one place whatever the recipients
/// are; a fixed set of shards spreads the load and keeps storage bounded (expired keys are
/// dropped as each shard is used), where one object per key would keep every key forever.
pub const LEDGER_SHARDS: u8 = 16;

/// The object name (a `UserInbox` instance) of the ledger that records `key`. User inboxes
/// are named `user:{id}` and ids cannot contain `/`, so no user can own this object.
pub fn ledger_name(key: &str) -> String {
    let shard = Sha256::digest(key.as_bytes())[0] % LEDGER_SHARDS;
    format!("ledger/notifications/{shard}")
}

/// `notification` of `POST /api/notifications` ([`NotificationIn::read`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NotificationIn {
    pub notification_type: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub message: Option<String>,
    pub actor: Option<Value>,
    pub data: Option<Value>,
}

impl NotificationIn {
    /// Every field is optional; an unknown one is refused.
    pub fn read(f: &Fields) -> Result<Self, FrameError> {
        f.only(&[
            "notification_type",
            "title",
            "body",
            "message",
            "actor",
            "data",
        ])?;
        Ok(NotificationIn {
            notification_type: f.opt_string("notification_type")?,
            title: f.opt_string("title")?,
            body: f.opt_string("body")?,
            message: f.opt_string("message")?,
            actor: f.opt_value("actor"),
            data: f.opt_value("data"),
        })
    }

    /// The text of a notification as the Worker forwards it to the inbox.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        Self::read(&Fields(&object(text)?))
    }
}

/// A durable inbox change.
#[derive(Debug, Clone, PartialEq)]
pub enum InboxChange {
    Notify(Box<NotificationView>),
    Read(Vec<String>),
    /// Every notification with `seq <= up_to_seq` is read (`mark_all_read`).
    ReadAll {
        up_to_seq: u64,
    },
}

/// The inbox's storage. The unread count is a counter the store keeps in the same
/// transaction as each change, so no publish or read scans the inbox.
pub trait InboxStore: EventLog {
    fn unread_count(&self) -> u64;
    /// `Some(read)` for a known notification.
    fn read_state(&self, id: &str) -> Option<bool>;
    fn commit(&mut self, seq: u64, frame: &str, change: &InboxChange) -> Result<(), StoreError>;
}

/// Frames to send to every device of the user, in order.
pub type Fanout = Vec<String>;

fn unavailable(_: StoreError) -> FrameError {
    FrameError::new(ErrorCode::Unavailable, "could not store the event; retry")
}

/// Checks a notification before anything is stored.
pub fn validate(n: &NotificationIn) -> Result<(), FrameError> {
    for (field, text) in [
        ("title", &n.title),
        ("body", &n.body),
        ("message", &n.message),
    ] {
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(FrameError::invalid(format!(
                "{field} is longer than {MAX_TEXT_CHARS} characters"
            )));
        }
    }
    if n.notification_type
        .as_ref()
        .is_some_and(|t| t.is_empty() || t.len() > 64)
    {
        return Err(FrameError::invalid(
            "notification_type must be 1-64 characters",
        ));
    }
    for (field, v) in [("actor", &n.actor), ("data", &n.data)] {
        if v.as_ref()
            .is_some_and(|v| v.to_string().len() > MAX_DATA_BYTES)
        {
            return Err(FrameError::invalid(format!(
                "{field} is larger than {MAX_DATA_BYTES} bytes"
            )));
        }
    }
    Ok(())
}

/// Stores a notification; returns its view and the frames for the user's devices.
pub fn publish(
    store: &mut impl InboxStore,
    n: NotificationIn,
    id: String,
    now_ms: i64,
) -> Result<(NotificationView, Fanout), FrameError> {
    validate(&n)?;
    let seq = store.last_seq() + 1;
    let view = NotificationView {
        id,
        notification_type: n.notification_type.unwrap_or_else(|| "general".into()),
        title: n.title,
        body: n.body,
        message: n.message,
        actor: n.actor.unwrap_or(Value::Null),
        data: n.data.unwrap_or(Value::Null),
        read: false,
        created_at: iso(now_ms),
    };
    let frame = ServerFrame::Notification {
        seq,
        notification: view.clone(),
    }
    .to_text();
    store
        .commit(seq, &frame, &InboxChange::Notify(Box::new(view.clone())))
        .map_err(unavailable)?;
    Ok((view, vec![frame, unread_frame(store)]))
}

/// Marks notifications read (`None` = all unread). Returns the ack seq and the fan-out;
/// nothing is stored when nothing changes. Marking all is one marker event, however many
/// notifications it covers.
pub fn mark_read(
    store: &mut impl InboxStore,
    ids: Option<Vec<String>>,
) -> Result<(Option<u64>, Fanout), FrameError> {
    let seq = store.last_seq() + 1;
    let (frame, change) = match ids {
        None if store.unread_count() == 0 => return Ok((None, vec![unread_frame(store)])),
        None => {
            let up_to_seq = store.last_seq();
            let frame = ServerFrame::NotificationRead {
                seq,
                notification_ids: vec![],
                all: true,
                up_to_seq: Some(up_to_seq),
            };
            (frame, InboxChange::ReadAll { up_to_seq })
        }
        Some(ids) => {
            let fresh = unread_among(store, ids)?;
            if fresh.is_empty() {
                return Ok((None, vec![unread_frame(store)]));
            }
            let frame = ServerFrame::NotificationRead {
                seq,
                notification_ids: fresh.clone(),
                all: false,
                up_to_seq: None,
            };
            (frame, InboxChange::Read(fresh))
        }
    };
    let text = frame.to_text();
    store.commit(seq, &text, &change).map_err(unavailable)?;
    Ok((Some(seq), vec![text, unread_frame(store)]))
}

/// The ids still unread, once each; an unknown id is an error.
fn unread_among(store: &impl InboxStore, ids: Vec<String>) -> Result<Vec<String>, FrameError> {
    let mut fresh = Vec::new();
    for id in ids {
        match store.read_state(&id) {
            None => return Err(FrameError::not_found("no such notification")),
            Some(false) if !fresh.contains(&id) => fresh.push(id),
            Some(_) => {}
        }
    }
    Ok(fresh)
}

pub fn unread_frame(store: &impl InboxStore) -> String {
    ServerFrame::UnreadCount {
        count: store.unread_count(),
    }
    .to_text()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Memory {
        events: BTreeMap<u64, String>,
        /// id -> (seq, read)
        read: BTreeMap<String, (u64, bool)>,
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
    impl InboxStore for Memory {
        fn unread_count(&self) -> u64 {
            self.read.values().filter(|(_, r)| !r).count() as u64
        }
        fn read_state(&self, id: &str) -> Option<bool> {
            self.read.get(id).map(|(_, r)| *r)
        }
        fn commit(
            &mut self,
            seq: u64,
            frame: &str,
            change: &InboxChange,
        ) -> Result<(), StoreError> {
            self.events.insert(seq, frame.into());
            match change {
                InboxChange::Notify(v) => {
                    self.read.insert(v.id.clone(), (seq, false));
                }
                InboxChange::Read(ids) => ids.iter().for_each(|id| {
                    self.read.get_mut(id).unwrap().1 = true;
                }),
                InboxChange::ReadAll { up_to_seq } => {
                    for (s, r) in self.read.values_mut() {
                        *r |= *s <= *up_to_seq;
                    }
                }
            }
            Ok(())
        }
    }

    fn note(title: &str) -> NotificationIn {
        NotificationIn {
            title: Some(title.into()),
            ..Default::default()
        }
    }

    #[test]
    fn publish_stores_then_fans_out_notification_and_count() {
        let mut inbox = Memory::default();
        let (view, frames) = publish(&mut inbox, note("hi"), "n1".into(), 0).unwrap();
        assert_eq!(
            (view.notification_type.as_str(), view.read),
            ("general", false)
        );
        assert_eq!(frames[0], inbox.events[&1]);
        assert_eq!(frames[1], r#"{"type":"unread_count","count":1}"#);
    }

    #[test]
    fn mark_read_counts_down_and_ignores_repeats() {
        let mut inbox = Memory::default();
        publish(&mut inbox, note("a"), "n1".into(), 0).unwrap();
        publish(&mut inbox, note("b"), "n2".into(), 0).unwrap();
        let (seq, frames) = mark_read(&mut inbox, Some(vec!["n1".into()])).unwrap();
        assert_eq!(seq, Some(3));
        assert_eq!(
            frames[0],
            r#"{"type":"notification_read","seq":3,"notification_ids":["n1"]}"#
        );
        assert_eq!(frames[1], r#"{"type":"unread_count","count":1}"#);
        let (again, _) = mark_read(&mut inbox, Some(vec!["n1".into()])).unwrap();
        assert_eq!(again, None, "already read: nothing stored");
        assert_eq!(
            mark_read(&mut inbox, Some(vec!["nope".into()]))
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
        publish(&mut inbox, note("c"), "n3".into(), 0).unwrap();
        let (seq, frames) = mark_read(&mut inbox, None).unwrap();
        assert_eq!(seq, Some(5));
        assert_eq!(
            frames[0],
            r#"{"type":"notification_read","seq":5,"notification_ids":[],"all":true,"up_to_seq":4}"#,
            "one marker, not every id"
        );
        assert_eq!(frames[1], r#"{"type":"unread_count","count":0}"#);
        assert_eq!(inbox.read_state("n3"), Some(true));
        let (none, _) = mark_read(&mut inbox, None).unwrap();
        assert_eq!(none, None, "nothing unread: nothing stored");
    }

    #[test]
    fn a_key_always_maps_to_the_same_ledger_no_user_can_own() {
        assert_eq!(ledger_name("deploy-17"), ledger_name("deploy-17"));
        let names: std::collections::BTreeSet<String> =
            (0..200).map(|i| ledger_name(&format!("k{i}"))).collect();
        assert!(names.len() > 1 && names.len() <= LEDGER_SHARDS as usize);
        for name in &names {
            assert!(name.starts_with("ledger/notifications/"), "{name}");
            assert!(crate::domain::ids::Id::parse(name).is_err(), "{name}");
        }
    }

    #[test]
    fn oversized_or_odd_notifications_are_refused() {
        let long = NotificationIn {
            body: Some("x".repeat(MAX_TEXT_CHARS + 1)),
            ..Default::default()
        };
        assert_eq!(validate(&long).unwrap_err().code, ErrorCode::InvalidRequest);
        let empty_type = NotificationIn {
            notification_type: Some(String::new()),
            ..Default::default()
        };
        assert!(validate(&empty_type).is_err());
        let big = NotificationIn {
            data: Some(Value::String("x".repeat(MAX_DATA_BYTES))),
            ..Default::default()
        };
        assert!(validate(&big).is_err());
        let typo = NotificationIn::parse(r#"{"titel":"typo"}"#).unwrap_err();
        assert!(
            typo.message
                .starts_with("unknown field `titel`, expected one of `notification_type`"),
            "unknown fields are refused in the API body: {}",
            typo.message
        );
        let wrong = NotificationIn::parse(r#"{"title":5}"#).unwrap_err();
        assert_eq!(wrong.message, "invalid type for `title`: expected a string");
    }
}
