//! The room's frames other than a new message: typing (ephemeral), read receipts,
//! reaction toggles, and the sender's edits and deletes.

use super::{
    check_content, check_emoji, commit, existing, own, Actor, Broadcast, Change, Outcome, RoomStore,
};
use crate::domain::errors::FrameError;
use crate::domain::protocol::{ReactionAction, ServerFrame};
use crate::domain::time::iso;

pub(super) fn typing(actor: &Actor<'_>, is_typing: bool) -> Outcome {
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
            seq: None,
        }),
    }
}

pub(super) fn receipt(
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

pub(super) fn reaction(
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

pub(super) fn edit(
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

pub(super) fn delete(
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
