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
use super::protocol::{
    ChatMessageIn, ClientFrame, MessageView, ReactionAction, Sender, ServerFrame,
};
use super::stream::EventLog;
use super::time::iso;

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

/// Stores a new message (or finds the earlier one with the same `client_msg_id`).
/// Returns the outcome and the message as stored; shared by sockets and the HTTP API.
pub fn post_message(
    store: &mut impl RoomStore,
    actor: &Actor<'_>,
    m: ChatMessageIn,
    new_id: impl FnOnce() -> String,
) -> Result<(Outcome, Option<MessageView>), FrameError> {
    let content = check_content(&m.content, actor.settings)?;
    if let Some(cid) = &m.client_msg_id {
        check_ref("client_msg_id", cid)?;
        if let Some(prior) = store.by_client_msg_id(&actor.who.user_id, cid) {
            // A retry: the first ack again, nothing broadcast, no new message.
            return Ok((Outcome::reply(ack(Some(prior.id), prior.seq)), None));
        }
    }
    if let Some(parent) = &m.parent_message_id {
        check_ref("parent_message_id", parent)?;
        if store.message(parent).is_none() {
            return Err(FrameError::not_found(
                "parent_message_id names no message of this conversation",
            ));
        }
    }
    let seq = store.last_seq() + 1;
    let view = MessageView {
        id: new_id(),
        seq,
        conversation_id: actor.conversation_id.to_string(),
        content: Some(content),
        sender: sender_of(actor.who),
        parent_message_id: m.parent_message_id,
        client_msg_id: m.client_msg_id,
        created_at: iso(actor.now_ms),
        is_edited: false,
        is_deleted: false,
    };
    let frame = ServerFrame::ChatMessage {
        seq,
        message: view.clone(),
    };
    let id = view.id.clone();
    let outcome = commit(
        store,
        seq,
        frame,
        Change::Message(Box::new(view.clone())),
        Some(id),
    )?;
    Ok((outcome, Some(view)))
}

fn commit(
    store: &mut impl RoomStore,
    seq: u64,
    frame: ServerFrame,
    change: Change,
    message_id: Option<String>,
) -> Result<Outcome, FrameError> {
    let text = frame.to_text();
    store
        .commit(seq, &text, &change)
        .map_err(|_| FrameError::new(ErrorCode::Unavailable, "could not store the event; retry"))?;
    Ok(Outcome {
        reply: vec![ack(message_id, seq)],
        broadcast: Some(Broadcast {
            text,
            include_sender: true,
        }),
    })
}

fn ack(message_id: Option<String>, seq: u64) -> ServerFrame {
    ServerFrame::Ack {
        request_id: None,
        message_id,
        seq: Some(seq),
    }
}

fn typing(actor: &Actor<'_>, is_typing: bool) -> Outcome {
    let frame = ServerFrame::TypingIndicator {
        user_id: actor.who.user_id.clone(),
        user_name: actor.who.display_name().to_string(),
        is_typing,
        timestamp: iso(actor.now_ms),
    };
    Outcome {
        reply: vec![],
        broadcast: Some(Broadcast {
            text: frame.to_text(),
            include_sender: false,
        }),
    }
}

fn receipt(
    store: &mut impl RoomStore,
    actor: &Actor<'_>,
    message_id: String,
) -> Result<Outcome, FrameError> {
    let msg = existing(store, &message_id)?;
    let user_id = actor.who.user_id.clone();
    if store.has_receipt(&msg.id, &user_id) {
        // Once per user and message: a repeat is acknowledged and changes nothing.
        return Ok(Outcome::reply(ServerFrame::Ack {
            request_id: None,
            message_id: Some(msg.id),
            seq: None,
        }));
    }
    let seq = store.last_seq() + 1;
    let at = iso(actor.now_ms);
    let frame = ServerFrame::ReadReceipt {
        seq,
        message_id: msg.id.clone(),
        user_id: user_id.clone(),
        timestamp: at.clone(),
    };
    commit(
        store,
        seq,
        frame,
        Change::Receipt {
            message_id: msg.id.clone(),
            user_id,
            at,
        },
        Some(msg.id),
    )
}

fn reaction(
    store: &mut impl RoomStore,
    actor: &Actor<'_>,
    message_id: String,
    emoji: String,
) -> Result<Outcome, FrameError> {
    let emoji = check_emoji(&emoji)?;
    let msg = existing(store, &message_id)?;
    let user_id = actor.who.user_id.clone();
    let action = if store.has_reaction(&msg.id, &user_id, &emoji) {
        ReactionAction::Removed
    } else {
        ReactionAction::Added
    };
    let seq = store.last_seq() + 1;
    let at = iso(actor.now_ms);
    let frame = ServerFrame::MessageReaction {
        seq,
        message_id: msg.id.clone(),
        emoji: emoji.clone(),
        user_id: user_id.clone(),
        action,
        timestamp: at.clone(),
    };
    let change = Change::Reaction {
        message_id: msg.id.clone(),
        user_id,
        emoji,
        action,
        at,
    };
    commit(store, seq, frame, change, Some(msg.id))
}

fn edit(
    store: &mut impl RoomStore,
    actor: &Actor<'_>,
    message_id: String,
    content: String,
) -> Result<Outcome, FrameError> {
    let content = check_content(&content, actor.settings)?;
    let msg = own(store, actor, &message_id, "edit")?;
    let seq = store.last_seq() + 1;
    let at = iso(actor.now_ms);
    let frame = ServerFrame::MessageEdit {
        seq,
        message_id: msg.id.clone(),
        content: Some(content.clone()),
        edited_at: at.clone(),
        timestamp: at.clone(),
    };
    commit(
        store,
        seq,
        frame,
        Change::Edit {
            message_id: msg.id.clone(),
            content,
            at,
        },
        Some(msg.id),
    )
}

fn delete(
    store: &mut impl RoomStore,
    actor: &Actor<'_>,
    message_id: String,
) -> Result<Outcome, FrameError> {
    let msg = own(store, actor, &message_id, "delete")?;
    let seq = store.last_seq() + 1;
    let frame = ServerFrame::MessageDelete {
        seq,
        message_id: msg.id.clone(),
        timestamp: iso(actor.now_ms),
    };
    commit(
        store,
        seq,
        frame,
        Change::Delete {
            message_id: msg.id.clone(),
        },
        Some(msg.id),
    )
}

fn existing(store: &impl RoomStore, message_id: &str) -> Result<StoredMessage, FrameError> {
    check_ref("message_id", message_id)?;
    match store.message(message_id) {
        Some(m) if !m.deleted => Ok(m),
        _ => Err(FrameError::not_found("no such message")),
    }
}

/// A live message sent by the actor: only the sender may edit or delete it.
fn own(
    store: &impl RoomStore,
    actor: &Actor<'_>,
    message_id: &str,
    verb: &str,
) -> Result<StoredMessage, FrameError> {
    let msg = existing(store, message_id)?;
    if msg.sender_id != actor.who.user_id {
        return Err(FrameError::forbidden(format!(
            "only the sender may {verb} a message"
        )));
    }
    Ok(msg)
}

pub fn sender_of(who: &Identity) -> Sender {
    let p = &who.profile;
    Sender {
        id: who.user_id.clone(),
        username: p.username.clone(),
        name: p.name.clone(),
        email: p.email.clone(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        avatar: p.avatar.clone(),
    }
}

mod checks;
mod erase;

use checks::{check_content, check_emoji, check_ref};
pub use erase::{erase_edit_frame, erase_message_frame};

#[cfg(test)]
mod tests;
