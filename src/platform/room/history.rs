//! Conversation history pages read from D1 (the queryable copy): newest last, exclusive
//! cursors, and never past the seq D1 is complete up to.

use worker::wasm_bindgen::JsValue;
use worker::Env;

use super::api::sender_from_json;
use crate::domain::errors::ApiError;
use crate::domain::protocol::MessageView;
use crate::platform::object::d1::query;
use crate::platform::object::rows::row;

row! {
    struct Row {
        seq: f64,
        id: String,
        sender_id: String,
        sender: String,
        content: Option<String>,
        parent_message_id: Option<String>,
        client_msg_id: Option<String>,
        created_at: String,
        edited_at: Option<String>,
        is_deleted: f64,
    }
}

pub struct Page {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// Where a page is cut: the client's exclusive cursors, and `upto`, the seq D1 is complete
/// up to, past which nothing is read (those events reach the client by resume).
pub struct Cursors {
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub upto: u64,
}

/// With only `after`, the oldest `limit` after it; otherwise the newest `limit` before
/// `before` (or at all). Either way the page is returned oldest first.
pub async fn page(
    env: &Env,
    conversation_id: &str,
    at: Cursors,
    limit: i64,
) -> Result<Page, ApiError> {
    if at.upto == 0 {
        // Nothing of this conversation has reached D1 (or it has no events): no read needed.
        return Ok(Page {
            messages: vec![],
            has_more: false,
        });
    }
    let forward = at.after.is_some() && at.before.is_none();
    let sql = format!(
        "SELECT seq, id, sender_id, sender, content, parent_message_id, client_msg_id, created_at, edited_at, is_deleted \
         FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? AND seq <= ? ORDER BY seq {} LIMIT ?",
        if forward { "ASC" } else { "DESC" }
    );
    let args = [
        JsValue::from_str(conversation_id),
        JsValue::from_f64(at.after.unwrap_or(0) as f64),
        JsValue::from_f64(at.before.unwrap_or(i64::MAX >> 11) as f64),
        JsValue::from_f64(at.upto as f64),
        JsValue::from_f64((limit + 1) as f64),
    ];
    let mut rows: Vec<Row> = query(env, sql, &args).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    if !forward {
        rows.reverse();
    }
    let messages = rows.into_iter().map(|r| view(r, conversation_id)).collect();
    Ok(Page { messages, has_more })
}

fn view(r: Row, conversation_id: &str) -> MessageView {
    MessageView {
        id: r.id,
        seq: r.seq as u64,
        conversation_id: conversation_id.to_string(),
        content: r.content,
        sender: sender_from_json(&r.sender, &r.sender_id),
        parent_message_id: r.parent_message_id,
        client_msg_id: r.client_msg_id,
        created_at: r.created_at,
        is_edited: r.edited_at.is_some(),
        is_deleted: r.is_deleted != 0.0,
    }
}
