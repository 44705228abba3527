//! What deleting a message does to what was stored about it: the content is erased from
//! its event frames, so a resume replays `content: null` (and `is_deleted: true` on the
//! message itself), and from stored API responses, so an `Idempotency-Key` replay does too.

use serde_json::Value;

use crate::domain::protocol::{MessageView, ServerFrame};

/// The stored frame of a chat message after its deletion: content gone, marked deleted.
pub fn erase_message_frame(frame: &str) -> Option<String> {
    let v: Value = serde_json::from_str(frame).ok()?;
    let seq = v.get("seq")?.as_u64()?;
    let mut message: MessageView = serde_json::from_value(v.get("message")?.clone()).ok()?;
    message.content = None;
    message.is_deleted = true;
    Some(ServerFrame::ChatMessage { seq, message }.to_text())
}

/// The stored frame of an edit of a message deleted since: content gone.
pub fn erase_edit_frame(frame: &str) -> Option<String> {
    let v: Value = serde_json::from_str(frame).ok()?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    Some(
        ServerFrame::MessageEdit {
            seq: v.get("seq")?.as_u64()?,
            message_id: text("message_id")?,
            content: None,
            edited_at: text("edited_at")?,
            timestamp: text("timestamp")?,
        }
        .to_text(),
    )
}

/// A stored `{"message": …}` response after that message's deletion: content gone, marked
/// deleted, everything else as first sent. `None` when the body is about another message.
pub fn erase_message_response(body: &str, message_id: &str) -> Option<String> {
    let mut v: Value = serde_json::from_str(body).ok()?;
    let slot = v.get_mut("message")?;
    let mut message: MessageView = serde_json::from_value(slot.clone()).ok()?;
    if message.id != message_id {
        return None;
    }
    message.content = None;
    message.is_deleted = true;
    *slot = serde_json::to_value(message).ok()?;
    Some(v.to_string())
}
