//! The steps every durable room change shares: finding the message it is about (and whether
//! the actor owns it), then committing the event under its `seq` and answering with the ack
//! for the sender and the broadcast for the room.

use super::checks::check_ref;
use super::{Actor, Broadcast, Change, Outcome, RoomStore, StoredMessage};
use crate::domain::errors::{ErrorCode, FrameError};
use crate::domain::protocol::ServerFrame;

/// Stores the event and answers with an ack for the sender and the broadcast for all.
pub(super) fn commit(
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
            seq: Some(seq),
        }),
    })
}

pub(super) fn ack(message_id: Option<String>, seq: u64) -> ServerFrame {
    ServerFrame::Ack {
        request_id: None,
        message_id,
        seq: Some(seq),
    }
}

/// A message of this room that is not deleted.
pub(super) fn existing(
    store: &impl RoomStore,
    message_id: &str,
) -> Result<StoredMessage, FrameError> {
    check_ref("message_id", message_id)?;
    match store.message(message_id) {
        Some(m) if !m.deleted => Ok(m),
        _ => Err(FrameError::not_found("no such message")),
    }
}

/// A live message sent by the actor: only the sender may edit or delete it.
pub(super) fn own(
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
