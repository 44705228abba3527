//! The conversation room's state machine. The room is the single writer of its
//! conversation: every durable event gets the next `seq` and is committed to the store
//! before any frame about it is sent.
//!
//! Storage is reached through [`RoomStore`], which the object implements on its SQLite
//! (whose calls are synchronous) and the unit tests on memory. [`handle`] returns what to
//! send; the shell sends it.

use super::config::Settings;
use super::errors::{ErrorCode, FrameError};
use super::identity::Identity;
use super::protocol::{ClientFrame, MessageView, ReactionAction, ServerFrame};
use super::stream::EventLog;

/// Longest emoji string accepted in a reaction.
pub const MAX_EMOJI_CHARS: usize = 32;
/// Longest message id or `client_msg_id` accepted from a client.
pub const MAX_REF_CHARS: usize = 128;

/// What the room knows of a stored message.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: String,
    pub seq: u64,
    pub sender_id: String,
    pub deleted: bool,
}

/// A durable change, committed together with its event frame under one `seq`.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Message(Box<MessageView>),
    Receipt {
        message_id: String,
        user_id: String,
        at: String,
    },
    Reaction {
        message_id: String,
        user_id: String,
        emoji: String,
        action: ReactionAction,
        at: String,
    },
    Edit {
        message_id: String,
        content: String,
        at: String,
    },
    Delete {
        message_id: String,
    },
}

/// The room's storage, as the state machine needs it.
pub trait RoomStore: EventLog {
    fn message(&self, id: &str) -> Option<StoredMessage>;
    fn by_client_msg_id(&self, sender_id: &str, client_msg_id: &str) -> Option<StoredMessage>;
    fn has_receipt(&self, message_id: &str, user_id: &str) -> bool;
    fn has_reaction(&self, message_id: &str, user_id: &str, emoji: &str) -> bool;
    /// Stores the event frame under `seq` and applies `change`, atomically.
    fn commit(&mut self, seq: u64, frame: &str, change: &Change) -> Result<(), StoreError>;
}

/// Storage failed; nothing was committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage failed")]
pub struct StoreError;

/// What to send after handling one frame.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Outcome {
    /// Frames for the sender only, in order.
    pub reply: Vec<ServerFrame>,
    /// One frame (serialized once) for the room.
    pub broadcast: Option<Broadcast>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    pub text: String,
    /// Typing goes to the others only; everything else to everyone.
    pub include_sender: bool,
    /// The durable event's `seq` (sessions order by it); `None` for typing.
    pub seq: Option<u64>,
}

impl Outcome {
    fn reply(frame: ServerFrame) -> Self {
        Outcome {
            reply: vec![frame],
            broadcast: None,
        }
    }
    fn error(e: FrameError, request_id: Option<String>) -> Self {
        Self::reply(ServerFrame::error(e, request_id))
    }
}

/// Who acts, when, under which limits.
pub struct Actor<'a> {
    pub who: &'a Identity,
    pub now_ms: i64,
    pub settings: &'a Settings,
    pub conversation_id: &'a str,
}

/// Handles one decoded client frame of the conversation endpoint.
pub fn handle(
    store: &mut impl RoomStore,
    actor: &Actor<'_>,
    frame: ClientFrame,
    new_id: impl FnOnce() -> String,
    request_id: Option<String>,
) -> Outcome {
    let result = match frame {
        ClientFrame::ChatMessage(m) => post_message(store, actor, m, new_id).map(|(o, _)| o),
        ClientFrame::TypingIndicator { is_typing } => Ok(typing(actor, is_typing)),
        ClientFrame::ReadReceipt { message_id } => receipt(store, actor, message_id),
        ClientFrame::MessageReaction { message_id, emoji } => {
            reaction(store, actor, message_id, emoji)
        }
        ClientFrame::MessageEdit {
            message_id,
            content,
        } => edit(store, actor, message_id, content),
        ClientFrame::MessageDelete { message_id } => delete(store, actor, message_id),
        other => Err(FrameError::new(
            ErrorCode::UnknownType,
            format!("{} is not accepted on this endpoint", other.kind()),
        )),
    };
    match result {
        Ok(mut outcome) => {
            for f in &mut outcome.reply {
                if let ServerFrame::Ack { request_id: r, .. } = f {
                    *r = request_id.clone();
                }
            }
            outcome
        }
        Err(e) => Outcome::error(e, request_id),
    }
}

mod actions;
mod checks;
mod commit;
mod emoji;
mod erase;
mod post;

use actions::{delete, edit, reaction, receipt, typing};
use checks::{check_content, check_emoji, check_ref};
use commit::{ack, commit, existing, own};
pub use erase::{erase_edit_frame, erase_message_frame, erase_message_response};
pub use post::{post_message, sender_of};

#[cfg(test)]
mod tests;
