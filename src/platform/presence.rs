//! Presence on an object's sockets, shared by conversation rooms and org hubs: who is
//! online comes from the hibernatable sockets' attachments, the reconnect grace window
//! from SQLite, and the object's alarm ends expired grace windows.

use serde::Deserialize;
use worker::{Result, SqlStorage, SqlStorageValue, State, WebSocket};

use super::outbox;
use super::socket::{self, Attachment};
use crate::domain::config::Settings;
use crate::domain::identity::Identity;
use crate::domain::presence::{self, OnOpen};
use crate::domain::protocol::{PresenceEntry, ServerFrame};
use crate::domain::time::iso;

pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS grace (user_id TEXT PRIMARY KEY, user_name TEXT NOT NULL,
  username TEXT NOT NULL, deadline INTEGER NOT NULL)";

#[derive(Deserialize)]
pub struct GraceRow {
    pub user_id: String,
    pub user_name: String,
    pub username: String,
    pub deadline: i64,
}

fn s(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_string())
}

pub fn grace(sql: &SqlStorage) -> Vec<GraceRow> {
    sql.exec(
        "SELECT user_id, user_name, username, deadline FROM grace ORDER BY deadline",
        None,
    )
    .and_then(|c| c.to_array())
    .unwrap_or_default()
}

/// One serialized frame to every socket (but `except`).
pub fn broadcast(state: &State, text: &str, except: Option<&WebSocket>) -> usize {
    let mut sent = 0;
    for ws in state.get_websockets() {
        if except.is_some_and(|e| socket::same(e, &ws)) {
            continue;
        }
        if ws.send_with_str(text).is_ok() {
            sent += 1;
        }
    }
    sent
}

/// A socket of `who` was just accepted (`others` = that user's sockets before it).
pub fn opened(
    state: &State,
    sql: &SqlStorage,
    who: &Identity,
    new: &WebSocket,
    others: usize,
    now: i64,
) -> Result<()> {
    let in_grace = grace(sql).iter().any(|g| g.user_id == who.user_id);
    match presence::on_open(others, in_grace) {
        OnOpen::AnnounceOnline => {
            let frame = ServerFrame::user_status(&who.user_id, who.username(), true, iso(now));
            broadcast(state, &frame.to_text(), Some(new));
        }
        OnOpen::CancelGrace => {
            sql.exec(
                "DELETE FROM grace WHERE user_id = ?",
                Some(vec![s(&who.user_id)]),
            )?;
        }
        OnOpen::Nothing => {}
    }
    Ok(())
}

/// A socket closed or failed: the user's last one starts the grace window.
pub async fn gone(
    state: &State,
    sql: &SqlStorage,
    ws: &WebSocket,
    settings: &Settings,
    now: i64,
) -> Result<()> {
    let Some(att) = ws.deserialize_attachment::<Attachment>().ok().flatten() else {
        return Ok(());
    };
    let user = &att.who.user_id;
    let remaining = socket::sockets(state)
        .into_iter()
        .filter(|(_, a)| &a.who.user_id == user && a.sid != att.sid)
        .count();
    if let Some(deadline) = presence::on_close(remaining, now, settings.presence_grace_ms) {
        sql.exec(
            "INSERT OR REPLACE INTO grace (user_id, user_name, username, deadline) VALUES (?, ?, ?, ?)",
            Some(vec![s(user), s(att.who.display_name()), s(att.who.username()), deadline.into()]),
        )?;
        outbox::wake_by(state, deadline).await?;
    }
    Ok(())
}

/// Ends grace windows that ran out; users with no socket back are announced offline.
/// Returns the next deadline still pending.
pub fn expire(state: &State, sql: &SqlStorage, now: i64) -> Option<i64> {
    for g in grace(sql).into_iter().filter(|g| g.deadline <= now) {
        let _ = sql.exec(
            "DELETE FROM grace WHERE user_id = ?",
            Some(vec![s(&g.user_id)]),
        );
        if state.get_websockets_with_tag(&g.user_id).is_empty() {
            let frame = ServerFrame::user_status(&g.user_id, &g.username, false, iso(now));
            broadcast(state, &frame.to_text(), None);
        }
    }
    grace(sql).first().map(|g| g.deadline)
}

/// Users online now: open sockets per user, plus users inside their grace window.
pub fn list(state: &State, sql: &SqlStorage) -> Vec<PresenceEntry> {
    let sockets = socket::sockets(state);
    let in_grace: Vec<(String, String)> = grace(sql)
        .into_iter()
        .map(|g| (g.user_id, g.user_name))
        .collect();
    presence::list(
        sockets
            .iter()
            .map(|(_, a)| (a.who.user_id.as_str(), a.who.display_name())),
        &in_grace,
    )
}
