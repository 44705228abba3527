//! An object's sockets ([`Hub`]: the one broadcast every object uses) and presence on
//! them, shared by conversation rooms and org hubs: who is online comes from the
//! hibernatable sockets' attachments (cached in the hub's roster), the reconnect grace
//! window from SQLite, and the object's alarm ends expired grace windows.

use std::cell::RefCell;

use wasm_bindgen::JsValue;
use worker::{Result, SqlStorage, SqlStorageValue, State, WebSocket};

use super::coalesce::{js_socket, Held, Status};
use super::socket::{self, Attachment};
use super::subscribers;
use crate::domain::config::Settings;
use crate::domain::identity::Identity;
use crate::domain::presence::{self, Offer, OnOpen};
use crate::domain::protocol::{PresenceEntry, ServerFrame};
use crate::domain::time::iso;
use crate::platform::object::rows::{row, Rows};
use crate::platform::runtime::now_ms;

/// The grace table, as every object's schema creates it.
pub const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS grace (user_id TEXT PRIMARY KEY, user_name TEXT NOT NULL,
  username TEXT NOT NULL, deadline INTEGER NOT NULL)";

mod js {
    use wasm_bindgen::prelude::*;

    // The broadcast loop runs in JS: per socket it is then one `send` of one JS string,
    // as in a JS Worker, instead of a Wasm→JS call per socket plus turning the runtime's
    // socket array into Rust handles first.
    #[wasm_bindgen(inline_js = "
export function socketCount(state) {
  return state.getWebSockets().length;
}
export function broadcast(state, text, except) {
  let sent = 0;
  for (const ws of state.getWebSockets()) {
    if (ws === except) continue;
    try { ws.send(text); sent += 1; } catch (_) { /* the socket is closing */ }
  }
  return sent;
}
export function broadcastExceptTag(state, text, tag) {
  const skip = new Set(state.getWebSockets(tag));
  let sent = 0;
  for (const ws of state.getWebSockets()) {
    if (skip.has(ws)) continue;
    try { ws.send(text); sent += 1; } catch (_) { /* the socket is closing */ }
  }
  return sent;
}")]
    extern "C" {
        pub fn broadcast(state: &JsValue, text: &str, except: &JsValue) -> u32;
        #[wasm_bindgen(js_name = broadcastExceptTag)]
        pub fn broadcast_except_tag(state: &JsValue, text: &str, tag: &str) -> u32;
        #[wasm_bindgen(js_name = socketCount)]
        pub fn socket_count(state: &JsValue) -> u32;
    }
}

row! {
    pub struct GraceRow {
        pub user_id: String,
        pub user_name: String,
        pub username: String,
        pub deadline: i64,
    }
}

fn s(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_string())
}

pub fn grace(sql: &SqlStorage) -> Vec<GraceRow> {
    sql.rows(
        "SELECT user_id, user_name, username, deadline FROM grace ORDER BY deadline",
        None,
    )
    .unwrap_or_default()
}

fn in_grace(sql: &SqlStorage, user_id: &str) -> bool {
    row! {
        struct Row {
            #[allow(dead_code)]
            deadline: i64,
        }
    }
    sql.rows::<Row>(
        "SELECT deadline FROM grace WHERE user_id = ?",
        Some(vec![s(user_id)]),
    )
    .is_ok_and(|rows| !rows.is_empty())
}

/// Who holds which socket here: (socket id, user id, display name). A plain list: rooms
/// hold at most thousands of sockets, and it keeps the Wasm smaller than a map would.
type Members = Vec<(u64, String, String)>;

/// An object's sockets: the broadcast every object uses, and the roster presence reads.
///
/// The roster is kept in memory so that a join does not deserialize every other socket's
/// attachment (which made filling a room quadratic). It is only a cache of the attachments:
/// built from them after a wake, and built again whenever its size disagrees with the
/// runtime's socket count, so it cannot drift from the sockets that are really open.
pub struct Hub {
    /// The runtime's state as JS sees it, for the loops that run in JS.
    js: JsValue,
    roster: RefCell<Option<Members>>,
    /// Rooms only: every frame broadcast here, kept for the room's session subscribers
    /// until the room hands it on (`room::handoff`). `None` where nothing is handed on.
    spill: RefCell<Option<Vec<Spilled>>>,
    /// Whether the room has subscribed sessions right now: only then is a broadcast kept
    /// (a room nobody follows by session pays nothing for sessions on its broadcast path).
    keeping: std::cell::Cell<bool>,
    /// Presence changes waiting for their window to end (`coalesce`).
    held: RefCell<Held>,
}

/// A frame broadcast to an object's sockets, on its way to the sessions that follow it.
#[derive(Debug, Clone)]
pub struct Spilled {
    pub event: crate::domain::session::Event,
    /// Typing is not shown to the typer: not to their sessions either.
    pub except_user: Option<String>,
}

impl Hub {
    /// Keeps a JS handle on the object's state; hands the same state back.
    pub fn new(state: State) -> (State, Hub) {
        let inner = state._inner();
        let js = AsRef::<JsValue>::as_ref(&inner).clone();
        let hub = Hub {
            js,
            roster: RefCell::new(None),
            spill: RefCell::new(None),
            keeping: std::cell::Cell::new(false),
            held: RefCell::new(Held::default()),
        };
        (State::from(inner), hub)
    }

    /// Marks this object as one that sessions follow (rooms): broadcasts are kept for
    /// [`Hub::take_spilled`] while [`Hub::keep`] says so.
    pub fn keep_for_sessions(&self) {
        self.spill.borrow_mut().get_or_insert_with(Vec::new);
    }

    /// Starts (a session subscribed) or stops (none is left) keeping broadcasts.
    pub fn keep_while(&self, subscribed: bool) {
        self.keeping.set(subscribed);
        if !subscribed {
            self.spill.borrow_mut().as_mut().map(Vec::clear);
        }
    }

    /// Whether this object's sockets are joined by sessions too (rooms).
    pub fn has_sessions(&self) -> bool {
        self.spill.borrow().is_some()
    }

    /// `user`'s session devices here (0 where there are no sessions).
    pub fn session_devices(&self, sql: &SqlStorage, user: &str) -> usize {
        match self.has_sessions() {
            true => subscribers::devices(sql, user) as usize,
            false => 0,
        }
    }

    fn keep(&self, seq: Option<u64>, text: &str, except_user: Option<&str>) {
        if !self.keeping.get() {
            return;
        }
        if let Some(spill) = self.spill.borrow_mut().as_mut() {
            spill.push(Spilled {
                event: crate::domain::session::Event {
                    seq,
                    frame: text.to_string(),
                },
                except_user: except_user.map(str::to_string),
            });
        }
    }

    /// Up to `limit` of the frames kept since the last call, oldest first.
    pub fn take_spilled(&self, limit: usize) -> Vec<Spilled> {
        match self.spill.borrow_mut().as_mut() {
            Some(spill) => spill.drain(..limit.min(spill.len())).collect(),
            None => Vec::new(),
        }
    }

    /// Frames taken but not handed on yet go back to the front.
    pub fn put_back(&self, mut frames: Vec<Spilled>) {
        if let Some(spill) = self.spill.borrow_mut().as_mut() {
            frames.append(spill);
            *spill = frames;
        }
    }

    /// A presence change (`joiner`: the socket whose opening it is): sent at once in a quiet
    /// object, else held with the others; returns when the held changes must be flushed.
    pub fn announce(
        &self,
        status: (String, Option<&str>),
        joiner: Option<&WebSocket>,
        now: i64,
        window_ms: i64,
    ) -> Option<i64> {
        let (text, except_user) = status;
        let status = Status {
            text,
            except_user: except_user.map(str::to_string),
        };
        let offer = self.held.borrow_mut().offer(status, joiner, now, window_ms);
        match offer {
            Offer::Now => {
                self.flush_presence(now);
                None
            }
            Offer::Hold(at) => at,
        }
    }

    /// Sends the presence changes held (the window ended, or another frame goes out and
    /// must not overtake them).
    pub fn flush_presence(&self, now: i64) {
        let sent = self
            .held
            .borrow_mut()
            .flush(&self.js, now, self.keeping.get());
        for s in sent {
            self.keep(None, &s.text, s.except_user.as_deref());
        }
    }

    fn flush_held(&self) {
        if !self.held.borrow().is_empty() {
            self.flush_presence(now_ms());
        }
    }

    /// A durable event (with its `seq`) to every socket; returns how many took it.
    pub fn broadcast_event(&self, text: &str, seq: Option<u64>) -> usize {
        self.flush_held();
        self.keep(seq, text, None);
        js::broadcast(&self.js, text, &JsValue::UNDEFINED) as usize
    }

    /// One serialized frame to every socket (but `except`); returns how many took it.
    pub fn broadcast(&self, text: &str, except: Option<&WebSocket>) -> usize {
        self.flush_held();
        self.keep(None, text, None);
        let except = except.map_or(JsValue::UNDEFINED, js_socket);
        js::broadcast(&self.js, text, &except) as usize
    }

    /// One serialized frame to every socket but those of `user` (typing is not shown in the
    /// typer's own tabs).
    pub fn broadcast_except_user(&self, text: &str, user: &str) -> usize {
        self.flush_held();
        self.keep(None, text, Some(user));
        js::broadcast_except_tag(&self.js, text, user) as usize
    }

    fn roster<R>(&self, state: &State, f: impl FnOnce(&mut Members) -> R) -> R {
        let live = js::socket_count(&self.js) as usize;
        let mut slot = self.roster.borrow_mut();
        if slot.as_ref().is_none_or(|m| m.len() != live) {
            *slot = Some(load(state));
        }
        f(slot.get_or_insert_with(Members::new))
    }

    fn add(&self, sid: u64, who: &Identity) {
        if let Some(members) = self.roster.borrow_mut().as_mut() {
            if !members.iter().any(|(s, _, _)| *s == sid) {
                members.push((sid, who.user_id.clone(), who.display_name().to_string()));
            }
        }
    }

    /// Forgets socket `sid` of `user`; returns how many sockets that user still has.
    fn remove(&self, state: &State, sid: u64, user: &str) -> usize {
        self.roster(state, |m| {
            m.retain(|(s, _, _)| *s != sid);
            m.iter().filter(|(_, u, _)| u == user).count()
        })
    }

    /// (user id, display name) of every open socket.
    fn entries(&self, state: &State) -> Vec<(String, String)> {
        self.roster(state, |m| {
            m.iter()
                .map(|(_, id, name)| (id.clone(), name.clone()))
                .collect()
        })
    }
}

fn load(state: &State) -> Members {
    socket::sockets(state)
        .into_iter()
        .map(|(_, a)| {
            let name = a.who.display_name().to_string();
            (a.sid, a.who.user_id, name)
        })
        .collect()
}

/// A socket of `who` was just accepted (`others` = that user's sockets before it). Returns
/// when the presence changes held must be flushed (`Timer::Presence`), if they are held.
pub fn opened(
    hub: &Hub,
    sql: &SqlStorage,
    new: (&WebSocket, &Attachment),
    others: usize,
    (now, window_ms): (i64, i64),
) -> Result<Option<i64>> {
    let (ws, att) = new;
    hub.add(att.sid, &att.who);
    Ok(match arrived(sql, &att.who, others, now)? {
        Some(online) => hub.announce((online, None), Some(ws), now, window_ms),
        None => {
            hub.held.borrow_mut().joined(ws);
            None
        }
    })
}

/// A device of `who` arrived (a socket here, or a session joining a room) with `others` of
/// their devices already here: the `user_status` online to announce, if it is their first
/// and they are not back within their grace window (which is then cancelled).
pub fn arrived(
    sql: &SqlStorage,
    who: &Identity,
    others: usize,
    now: i64,
) -> Result<Option<String>> {
    match presence::on_open(others, in_grace(sql, &who.user_id)) {
        OnOpen::AnnounceOnline => {
            let names = (who.username(), who.display_name());
            let frame = ServerFrame::user_status(&who.user_id, names, true, iso(now));
            Ok(Some(frame.to_text()))
        }
        OnOpen::CancelGrace => cancel_grace(sql, &who.user_id).map(|_| None),
        OnOpen::Nothing => Ok(None),
    }
}

/// A socket closed or failed: the user's last one starts the grace window, whose deadline
/// is returned (the caller schedules the grace timer for it).
pub fn gone(
    state: &State,
    hub: &Hub,
    sql: &SqlStorage,
    ws: &WebSocket,
    settings: &Settings,
    now: i64,
) -> Result<Option<i64>> {
    let Some(att) = Attachment::of(ws) else {
        return Ok(None);
    };
    let user = &att.who.user_id;
    let remaining = hub.remove(state, att.sid, user) + hub.session_devices(sql, user);
    let deadline = presence::on_close(remaining, now, settings.presence_grace_ms);
    if let Some(deadline) = deadline {
        let who = &att.who;
        start_grace(sql, user, (who.username(), who.display_name()), deadline)?;
    }
    Ok(deadline)
}

/// `user` has no device left here: they stay online until `deadline`.
pub fn start_grace(
    sql: &SqlStorage,
    user: &str,
    (username, user_name): (&str, &str),
    deadline: i64,
) -> Result<()> {
    sql.exec(
        "INSERT OR REPLACE INTO grace (user_id, user_name, username, deadline) VALUES (?, ?, ?, ?)",
        Some(vec![s(user), s(user_name), s(username), deadline.into()]),
    )?;
    Ok(())
}

/// `user` is back within the grace window: the pending offline is cancelled.
fn cancel_grace(sql: &SqlStorage, user: &str) -> Result<()> {
    sql.exec("DELETE FROM grace WHERE user_id = ?", Some(vec![s(user)]))?;
    Ok(())
}

/// Ends grace windows that ran out; users with no socket back are announced offline.
/// Returns the next deadline still pending, and when held presence must be flushed.
pub fn expire(
    state: &State,
    hub: &Hub,
    sql: &SqlStorage,
    (now, window_ms): (i64, i64),
) -> (Option<i64>, Option<i64>) {
    let mut flush_at = None;
    for g in grace(sql).into_iter().filter(|g| g.deadline <= now) {
        let _ = sql.exec(
            "DELETE FROM grace WHERE user_id = ?",
            Some(vec![s(&g.user_id)]),
        );
        let away = state.get_websockets_with_tag(&g.user_id).is_empty()
            && hub.session_devices(sql, &g.user_id) == 0;
        if away {
            let frame =
                ServerFrame::user_status(&g.user_id, (&g.username, &g.user_name), false, iso(now));
            let at = hub.announce((frame.to_text(), None), None, now, window_ms);
            flush_at = flush_at.or(at);
        }
    }
    (grace(sql).first().map(|g| g.deadline), flush_at)
}

/// Users online now: open sockets and session devices per user, plus users inside their
/// grace window.
pub fn list(state: &State, hub: &Hub, sql: &SqlStorage) -> Vec<PresenceEntry> {
    let mut sockets = hub.entries(state);
    if hub.has_sessions() {
        sockets.extend(subscribers::devices_by_user(sql));
    }
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
