//! What deleting a message does to its stored frames: the content is erased, so a replay
//! shows `content: null` (and `is_deleted: true` on the message itself).

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
