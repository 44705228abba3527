//! History pages read from D1 (the queryable copy): newest last, exclusive cursors.

use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::Env;

use super::api::sender_from_json;
use crate::domain::errors::ApiError;
use crate::domain::protocol::{MessageView, NotificationView};

#[derive(Deserialize)]
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

/// Runs one read on D1. A failure is logged for the operator and shown as 503.
async fn query<T: serde::de::DeserializeOwned>(
    env: &Env,
    sql: String,
    args: &[JsValue],
) -> Result<Vec<T>, ApiError> {
    let db = env.d1("DB").map_err(|_| ApiError::Unavailable)?;
    let statement = db.prepare(sql).bind(args).map_err(|_| ApiError::Internal)?;
    let result = statement.all().await.map_err(|e| {
        worker::console_error!("D1 read failed: {e}");
        ApiError::Unavailable
    })?;
    result.results().map_err(|_| ApiError::Internal)
}

pub struct Page {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// With only `after`, the oldest `limit` after it; otherwise the newest `limit` before
/// `before` (or at all). Either way the page is returned oldest first.
pub async fn page(
    env: &Env,
    conversation_id: &str,
    before: Option<i64>,
    after: Option<i64>,
    limit: i64,
) -> Result<Page, ApiError> {
    let forward = after.is_some() && before.is_none();
    let sql = format!(
        "SELECT seq, id, sender_id, sender, content, parent_message_id, client_msg_id, created_at, edited_at, is_deleted \
         FROM messages WHERE conversation_id = ? AND seq > ? AND seq < ? ORDER BY seq {} LIMIT ?",
        if forward { "ASC" } else { "DESC" }
    );
    let args = [
        JsValue::from_str(conversation_id),
        JsValue::from_f64(after.unwrap_or(0) as f64),
        JsValue::from_f64(before.unwrap_or(i64::MAX >> 11) as f64),
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

#[derive(Deserialize)]
struct NotificationRow {
    id: String,
    notification_type: String,
    title: Option<String>,
    body: Option<String>,
    message: Option<String>,
    actor: Option<String>,
    data: Option<String>,
    is_read: f64,
    created_at: String,
}

/// A user's notifications from D1, newest first (an inbox reads top down).
pub async fn notifications(
    env: &Env,
    user_id: &str,
    unread_only: bool,
    limit: i64,
) -> Result<Vec<NotificationView>, ApiError> {
    let sql = format!(
        "SELECT id, notification_type, title, body, message, actor, data, is_read, created_at FROM notifications \
         WHERE user_id = ? {} ORDER BY seq DESC LIMIT ?",
        if unread_only { "AND is_read = 0" } else { "" }
    );
    let args = [JsValue::from_str(user_id), JsValue::from_f64(limit as f64)];
    let rows: Vec<NotificationRow> = query(env, sql, &args).await?;
    let json = |s: Option<String>| {
        s.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    Ok(rows
        .into_iter()
        .map(|r| NotificationView {
            id: r.id,
            notification_type: r.notification_type,
            title: r.title,
            body: r.body,
            message: r.message,
            actor: json(r.actor),
            data: json(r.data),
            read: r.is_read != 0.0,
            created_at: r.created_at,
        })
        .collect())
}
