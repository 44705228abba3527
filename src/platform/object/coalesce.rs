//! Presence changes held for a window and sent together (`domain::presence::Window`): what
//! an object's [`super::hub::Hub`] does with a `user_status` instead of broadcasting it on
//! its own. Sockets that asked with `?presence=batch` (tagged [`BATCH_TAG`]) get one
//! `presence_update` per window; every other socket gets the `user_status` frames as
//! before, so a client written for them sees no change but the short delay.
//!
//! What is held lives in memory only: presence changes are ephemeral (no `seq`, best effort,
//! like typing), and an object is never evicted within a window of its last event.

use wasm_bindgen::JsValue;
use worker::WebSocket;

use crate::domain::presence::{batch_text, Offer, Window};

/// The tag of sockets that take batches (`?presence=batch`); no user id can equal it, since
/// ids have no `=`.
pub const BATCH_TAG: &str = "presence=batch";

mod js {
    use wasm_bindgen::prelude::*;

    // One loop over the sockets in JS, as for every broadcast (`hub.rs`). A socket that
    // joined while changes were held skips those before its own: its `presence` list
    // already had them (a batch socket gets the whole batch, its entries are idempotent).
    #[wasm_bindgen(inline_js = "
export function flushPresence(state, tag, batch, singles, joiners, froms) {
  const batched = new Set(state.getWebSockets(tag));
  const from = new Map();
  for (let i = 0; i < joiners.length; i++) from.set(joiners[i], froms[i]);
  let sent = 0;
  for (const ws of state.getWebSockets()) {
    const start = from.get(ws) ?? 0;
    if (start >= singles.length) continue;
    try {
      if (batched.has(ws)) { ws.send(batch); sent += 1; continue; }
      for (let i = start; i < singles.length; i++) { ws.send(singles[i]); sent += 1; }
    } catch (_) { /* the socket is closing */ }
  }
  return sent;
}")]
    extern "C" {
        #[wasm_bindgen(js_name = flushPresence)]
        pub fn flush_presence(
            state: &JsValue,
            tag: &str,
            batch: &str,
            singles: Vec<String>,
            joiners: Vec<JsValue>,
            froms: Vec<u32>,
        ) -> u32;
    }
}

/// The socket as JS sees it, for the loops that run in JS.
pub fn js_socket(ws: &WebSocket) -> JsValue {
    let ws: &worker::web_sys::WebSocket = ws.as_ref();
    AsRef::<JsValue>::as_ref(ws).clone()
}

/// A `user_status` on its way out, with whose sessions must not get it.
#[derive(Clone)]
pub struct Status {
    pub text: String,
    pub except_user: Option<String>,
}

/// What an object holds until its window ends.
#[derive(Default)]
pub struct Held {
    window: Window,
    statuses: Vec<Status>,
    /// Sockets that joined meanwhile, with how many held changes they already know.
    joiners: Vec<(JsValue, u32)>,
}

impl Held {
    /// Holds a presence change (`joiner`: the socket whose opening it is, which does not get
    /// it). [`Offer::Now`] means flush at once; `Hold(Some(at))`, schedule a flush at `at`.
    pub fn offer(
        &mut self,
        status: Status,
        joiner: Option<&WebSocket>,
        now: i64,
        window_ms: i64,
    ) -> Offer {
        self.statuses.push(status);
        if let Some(ws) = joiner {
            self.joined(ws);
        }
        self.window.offer(now, window_ms)
    }

    /// A socket opened while changes are held (whether or not it changed presence): it
    /// skips those, which its `presence` list already has.
    pub fn joined(&mut self, ws: &WebSocket) {
        if !self.statuses.is_empty() {
            let from = self.statuses.len() as u32;
            self.joiners.push((js_socket(ws), from));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.statuses.is_empty()
    }

    /// Sends what is held to the object's sockets (`js`: its state as JS sees it). Returns
    /// the changes sent when `keep` (for the room's sessions), else nothing.
    pub fn flush(&mut self, js: &JsValue, now: i64, keep: bool) -> Vec<Status> {
        if self.statuses.is_empty() {
            return Vec::new();
        }
        self.window.sent(now);
        let statuses = std::mem::take(&mut self.statuses);
        let (joiners, froms): (Vec<JsValue>, Vec<u32>) =
            std::mem::take(&mut self.joiners).into_iter().unzip();
        let kept = if keep { statuses.clone() } else { Vec::new() };
        let texts: Vec<String> = statuses.into_iter().map(|s| s.text).collect();
        let batch = batch_text(&texts);
        js::flush_presence(js, BATCH_TAG, &batch, texts, joiners, froms);
        kept
    }
}
