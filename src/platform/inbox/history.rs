//! The user's notifications page read from D1, newest first, never past the seq D1 is
//! complete up to.

use worker::wasm_bindgen::JsValue;
use worker::Env;

use crate::domain::errors::ApiError;
use crate::domain::protocol::NotificationView;
use crate::platform::object::d1::query;
use crate::platform::object::rows::row;

/// One page request: whose, which, how many, and the D1 watermark it stops at.
pub struct Notifications<'a> {
    pub user: &'a str,
    pub unread_only: bool,
    pub limit: i64,
    pub upto: u64,
}

row! {
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
}

impl Notifications<'_> {
    /// The page from D1, newest first (an inbox reads top down).
    pub async fn read(&self, env: &Env) -> Result<Vec<NotificationView>, ApiError> {
        if self.upto == 0 {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT id, notification_type, title, body, message, actor, data, is_read, created_at FROM notifications \
             WHERE user_id = ? AND seq <= ? {} ORDER BY seq DESC LIMIT ?",
            if self.unread_only { "AND is_read = 0" } else { "" }
        );
        let args = [
            JsValue::from_str(self.user),
            JsValue::from_f64(self.upto as f64),
            JsValue::from_f64(self.limit as f64),
        ];
        let rows: Vec<NotificationRow> = query(env, sql, &args).await?;
        Ok(rows.into_iter().map(view).collect())
    }
}

fn view(r: NotificationRow) -> NotificationView {
    let json = |s: Option<String>| {
        s.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    NotificationView {
        id: r.id,
        notification_type: r.notification_type,
        title: r.title,
        body: r.body,
        message: r.message,
        actor: json(r.actor),
        data: json(r.data),
        read: r.is_read != 0.0,
        created_at: r.created_at,
    }
}
