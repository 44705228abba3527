//! Presence on an object's sockets, shared by conversation rooms and org hubs: who is
//! online comes from the hibernatable sockets' attachments (through a [`Roster`]), the
//! reconnect grace window from SQLite, and the object's alarm ends expired grace windows.
//! Also the one broadcast every object uses.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
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

mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// A server WebSocket seen only through the one method a broadcast needs.
        pub type Sendable;

        /// `WebSocket.send` taking an already-made JS string: a broadcast decodes its
        /// frame from Wasm memory once instead of once per socket (as `send_with_str` does).
        #[wasm_bindgen(method, catch, js_name = send)]
        pub fn send(this: &Sendable, data: &JsValue) -> Result<(), JsValue>;
    }
}

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

fn in_grace(sql: &SqlStorage, user_id: &str) -> bool {
    #[derive(Deserialize)]
    struct Row {
        #[allow(dead_code)]
        deadline: i64,
    }
    sql.exec(
        "SELECT deadline FROM grace WHERE user_id = ?",
        Some(vec![s(user_id)]),
    )
    .and_then(|c| c.to_array::<Row>())
    .is_ok_and(|rows| !rows.is_empty())
}

/// One serialized frame to every socket (but `except`); returns how many took it.
pub fn broadcast(state: &State, text: &str, except: Option<&WebSocket>) -> usize {
    let frame = JsValue::from_str(text);
    let mut sent = 0;
    for ws in state.get_websockets() {
        if except.is_some_and(|e| socket::same(e, &ws)) {
            continue;
        }
        // A send fails only on a socket that is already closing.
        let target: &worker::web_sys::WebSocket = ws.as_ref();
        if target.unchecked_ref::<js::Sendable>().send(&frame).is_ok() {
            sent += 1;
        }
    }
    sent
}

/// Who holds which socket here, by socket id: (user id, display name).
type Members = BTreeMap<u64, (String, String)>;

/// The object's sockets as presence needs them, kept in memory so that a join does not
/// deserialize every other socket's attachment (which made filling a room quadratic).
/// It is only a cache of the attachments: built from them after a wake, and built again
/// whenever its size disagrees with the runtime's socket count, so it cannot drift.
#[derive(Default)]
pub struct Roster(RefCell<Option<Members>>);

impl Roster {
    fn with<R>(&self, state: &State, f: impl FnOnce(&mut Members) -> R) -> R {
        let live = state.get_websockets().len();
        let mut slot = self.0.borrow_mut();
        if slot.as_ref().is_none_or(|m| m.len() != live) {
            *slot = Some(load(state));
        }
        f(slot.get_or_insert_with(Members::new))
    }

    fn add(&self, sid: u64, who: &Identity) {
        if let Some(members) = self.0.borrow_mut().as_mut() {
            members.insert(sid, (who.user_id.clone(), who.display_name().to_string()));
        }
    }

    /// Forgets socket `sid` of `user`; returns how many sockets that user still has.
    fn remove(&self, state: &State, sid: u64, user: &str) -> usize {
        self.with(state, |m| {
            m.remove(&sid);
            m.values().filter(|(u, _)| u == user).count()
        })
    }

    /// (user id, display name) of every open socket.
    fn entries(&self, state: &State) -> Vec<(String, String)> {
        self.with(state, |m| m.values().cloned().collect())
    }
}

fn load(state: &State) -> Members {
    socket::sockets(state)
        .into_iter()
        .map(|(_, a)| {
            let name = a.who.display_name().to_string();
            (a.sid, (a.who.user_id, name))
        })
        .collect()
}

/// A socket of `who` was just accepted (`others` = that user's sockets before it).
pub fn opened(
    state: &State,
    sql: &SqlStorage,
    roster: &Roster,
    new: (&WebSocket, &Attachment),
    others: usize,
    now: i64,
) -> Result<()> {
    let (ws, att) = new;
    roster.add(att.sid, &att.who);
    match presence::on_open(others, in_grace(sql, &att.who.user_id)) {
        OnOpen::AnnounceOnline => {
            let who = &att.who;
            let frame = ServerFrame::user_status(&who.user_id, who.username(), true, iso(now));
            broadcast(state, &frame.to_text(), Some(ws));
        }
        OnOpen::CancelGrace => {
            sql.exec(
                "DELETE FROM grace WHERE user_id = ?",
                Some(vec![s(&att.who.user_id)]),
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
    roster: &Roster,
    ws: &WebSocket,
    settings: &Settings,
    now: i64,
) -> Result<()> {
    let Some(att) = ws.deserialize_attachment::<Attachment>().ok().flatten() else {
        return Ok(());
    };
    let user = &att.who.user_id;
    let remaining = roster.remove(state, att.sid, user);
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
pub fn list(state: &State, sql: &SqlStorage, roster: &Roster) -> Vec<PresenceEntry> {
    let sockets = roster.entries(state);
    let in_grace: Vec<(String, String)> = grace(sql)
        .into_iter()
        .map(|g| (g.user_id, g.user_name))
        .collect();
    presence::list(
        sockets
            .iter()
            .map(|(id, name)| (id.as_str(), name.as_str())),
        &in_grace,
    )
}
