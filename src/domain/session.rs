//! Sessions (SPEC §9): one socket per device, held by the user's inbox, following any number
//! of conversations. What is pure about them lives here: the ordering rule that keeps each
//! conversation gap-free and duplicate-free on a session ([`plan`]), the `conversation_id`
//! every conversation frame carries on a session ([`tag`]), and the messages the room and
//! the inbox exchange (their JSON bodies are internal: only our own objects send them).
//!
//! The room stays the single writer: it hands each committed frame to its subscribed
//! sessions ([`Delivery`]); a session that sees a `seq` beyond the next one it expects
//! pulls the missing events from the room ([`Pull`]) before it delivers anything newer.

use serde::{Deserialize, Serialize};

use super::identity::Identity;
use super::protocol::PresenceEntry;

/// How long a room keeps a session subscribed without hearing from it. The inbox renews
/// every [`RENEW_MS`] while a socket has the conversation joined, so a session whose
/// object vanished stops costing the room anything (and leaves its presence) after this.
pub const LEASE_MS: i64 = 10 * 60 * 1000;
/// How often the inbox renews its leases (and catches up on anything it missed).
pub const RENEW_MS: i64 = 4 * 60 * 1000;

/// One frame a room hands to a session: durable events carry their `seq`, ephemeral ones
/// (typing, presence) none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub frame: String,
}

/// The frame text with a top-level `conversation_id` (SPEC §9: every server frame about a
/// conversation carries one). Frames are our own serialized objects, so the field is
/// spliced in after the opening brace instead of parsing and writing them again. Ids are
/// `[A-Za-z0-9_.:-]` (checked at the edge), so they need no escaping.
pub fn tag(frame: &str, conversation_id: &str) -> String {
    match frame.strip_prefix('{') {
        Some(rest) => {
            let sep = if rest.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            format!("{{\"conversation_id\":\"{conversation_id}\"{sep}{rest}")
        }
        None => frame.to_string(),
    }
}

/// What one socket does with a batch of a conversation's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Indexes into the batch to send, in order.
    pub send: Vec<usize>,
    /// The last `seq` delivered once these are sent.
    pub position: u64,
    /// An event beyond `position + 1` was seen (or the room is ahead): the events after
    /// `position` must be pulled from the room before anything newer is delivered.
    pub gap: bool,
}

/// The ordering rule for one socket at `position` (the last `seq` it was given). `batch` is in
/// the order the room sent it (durable events in ascending `seq`). Durable events already
/// delivered are dropped, the next ones are sent in order, and the first one that leaves a
/// hole stops the durable part: it and everything after wait for the pull. Ephemeral events
/// (typing, presence) go out as they come. `room_last` is the room's `last_seq` when it sent
/// the batch: a socket still behind it afterwards also has a gap (a hand-off lost at the
/// tail, which no later event would reveal).
pub fn plan(position: u64, batch: &[Event], room_last: u64) -> Plan {
    let mut pos = position;
    let mut stopped = false;
    let mut send = Vec::new();
    for (i, event) in batch.iter().enumerate() {
        match event.seq {
            None => send.push(i),
            Some(_) if stopped => {}
            Some(seq) if seq <= pos => {} // delivered already (a pull and a hand-off overlapped)
            Some(seq) if seq == pos + 1 => {
                pos = seq;
                send.push(i);
            }
            Some(_) => stopped = true,
        }
    }
    Plan {
        send,
        position: pos,
        gap: stopped || room_last > pos,
    }
}

/// Why a `join_conversation` cannot be taken before the room is asked.
pub fn over_join_limit(joined: usize, already_joined: bool, max: usize) -> bool {
    !already_joined && joined >= max
}

/// Inbox → room: a session socket joins (`POST /session/join`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Join {
    pub who: Identity,
    #[serde(default)]
    pub since: Option<u64>,
    /// The session's devices in this conversation once this join is counted.
    pub devices: u32,
}

/// Room → inbox: the answer to [`Join`]. `replay` is what `since` asked for (events, then
/// `resumed`, or `resync_required`), tagged; `position` is the seq the socket stands at
/// after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Joined {
    pub last_seq: u64,
    pub presence: Vec<PresenceEntry>,
    #[serde(default)]
    pub replay: Vec<String>,
    pub position: u64,
}

/// Inbox → room: how many of the user's session devices have the conversation joined now
/// (0: none; the subscription ends). Also renews the lease (`POST /session/devices`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Devices {
    /// Whose devices (the room keeps the names for presence).
    pub who: Identity,
    pub devices: u32,
}

/// Room → inbox: the room's `last_seq` (a session behind it pulls).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Position {
    pub last_seq: u64,
}

/// Inbox → room: a client frame sent on a session (`POST /session/frame`), as received.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forward {
    pub who: Identity,
    pub frame: String,
}

/// Room → inbox: the sender's replies (ack or error) and the event the frame committed,
/// both tagged. The event also reaches every session by hand-off; the session drops
/// whichever copy comes second.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Answer {
    pub reply: Vec<String>,
    #[serde(default)]
    pub events: Vec<Event>,
    pub last_seq: u64,
}

/// Inbox → room: the events after `since` (`POST /session/pull`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pull {
    pub user_id: String,
    pub since: u64,
}

/// Room → inbox: the events after `since`, tagged, or `resync` (too many are missing:
/// the socket is told `resync_required`, the text given here).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Pulled {
    pub events: Vec<Event>,
    pub last_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync: Option<String>,
}

/// Room → inbox: frames for the sessions of this user that have the conversation joined
/// (`POST /session/deliver`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub conversation_id: String,
    pub last_seq: u64,
    pub events: Vec<Event>,
}

/// Inbox → room: how many session devices still follow the conversation (`None`: the
/// session was busy and did not count; 0: unsubscribe).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivered {
    pub devices: Option<u32>,
}

/// Room → inbox: the user was removed from the conversation (`POST /session/removed`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Removed {
    pub conversation_id: String,
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
