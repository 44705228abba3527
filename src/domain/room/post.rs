//! Posting a chat message, shared by sockets and the HTTP API: validation, the
//! `client_msg_id` retry rule, and the message as it is stored and broadcast.

use super::{ack, check_content, check_ref, commit, Actor, Change, Outcome, RoomStore};
use crate::domain::errors::FrameError;
use crate::domain::identity::Identity;
use crate::domain::protocol::{ChatMessageIn, MessageView, Sender, ServerFrame};
use crate::domain::time::iso;

/// Stores a new message (or finds the earlier one with the same `client_msg_id`).
/// Returns the outcome and the message as stored (`None` for a retry).
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

/// The sender block of a message, from the verified identity.
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
