//! Sockets as every object holds them: accepting with the Hibernation API, the per-socket
//! attachment, sending, and screening each incoming frame (size, token expiry, decoding,
//! rate, ping) before an object sees it.

use serde::{Deserialize, Serialize};
use worker::wasm_bindgen::JsValue;
use worker::web_sys;
use worker::worker_sys::ext::WebSocketExt;
use worker::{
    console_error, Request, Response, Result, State, WebSocket, WebSocketIncomingMessage,
    WebSocketPair,
};

use crate::domain::config::Settings;
use crate::domain::errors::{Close, ErrorCode, FrameError};
use crate::domain::identity::Identity;
use crate::domain::limits::{Bucket, Verdict};
use crate::domain::protocol::{decode, ClientFrame, Incoming, ServerFrame, PING_TEXT, PONG_TEXT};
use crate::platform::http::{self, refuse_socket};
use crate::platform::internal;

use super::coalesce::BATCH_TAG;

/// What each socket carries through hibernation: who it is and its rate state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    pub who: Identity,
    pub bucket: Bucket,
    /// Unique per socket within the object, to tell sockets of one user apart.
    pub sid: u64,
    /// The token's `orgs` claim names this stream (org hubs: survives API removal).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claim: bool,
    /// A session socket (SPEC §9: `/ws/chat/`, `/ws/`), which may join conversations.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub session: bool,
}

impl Attachment {
    /// The socket's attachment. It is kept as JSON text: one string crosses into the Wasm
    /// and the serde_json code that reads the identity header decodes it, where
    /// workers-rs's `deserialize_attachment` walks a JS object with serde_wasm_bindgen.
    pub fn of(ws: &WebSocket) -> Option<Attachment> {
        let raw: &web_sys::WebSocket = ws.as_ref();
        let text = raw.deserialize_attachment().ok()?.as_string()?;
        serde_json::from_str(&text).ok()
    }

    /// Stores the attachment on the socket (it survives hibernation).
    pub fn store(&self, ws: &WebSocket) -> worker::Result<()> {
        let raw: &web_sys::WebSocket = ws.as_ref();
        let text = serde_json::to_string(self)?;
        raw.serialize_attachment(JsValue::from_str(&text))
            .map_err(worker::Error::from)
    }
}

/// A socket upgrade as the Worker forwarded it. The Worker answers the subprotocol on the
/// 101 itself, so none travels here.
pub struct Connect {
    pub who: Identity,
    pub stream_id: String,
    pub since: Option<u64>,
    pub session: bool,
    /// `?presence=batch`: presence changes come as `presence_update` batches.
    pub presence_batch: bool,
}

impl Connect {
    /// Reads the Worker-built headers. `None` means the request did not come from the Worker.
    pub fn from_request(req: &Request) -> Result<Option<Self>> {
        let h = req.headers();
        let (Some(who), Some(stream_id)) = (h.get(internal::IDENTITY)?, h.get(internal::STREAM)?)
        else {
            return Ok(None);
        };
        let Ok(who) = serde_json::from_str::<Identity>(&who) else {
            return Ok(None);
        };
        let query = http::query(req);
        let since = query.get("since").and_then(|v| v.parse().ok());
        let session = query.has("session", "1");
        let presence_batch = query.has("presence", "batch");
        Ok(Some(Connect {
            who,
            stream_id,
            since,
            session,
            presence_batch,
        }))
    }

    /// Accept then close with `close` (4003 and friends).
    pub fn refuse(&self, close: Close) -> Result<Response> {
        refuse_socket(close, None)
    }
}

/// Sets the runtime's answer to the exact ping text, so pings never wake the object.
pub fn set_auto_pong(state: &State) {
    match worker::worker_sys::WebSocketRequestResponsePair::new(PING_TEXT, PONG_TEXT) {
        Ok(pair) => state.set_websocket_auto_response(&pair),
        // Pings still get answered, by the object: slower and counted against the rate
        // bucket, which is worth an operator's attention but not a failed object.
        Err(e) => console_error!("websocket auto-response not set: {e:?}"),
    }
}

/// Accepts a hibernatable socket tagged with the user id; returns it, its attachment and
/// the 101 response.
pub fn accept(
    state: &State,
    conn: &Connect,
    settings: &Settings,
    now_ms: i64,
) -> Result<(WebSocket, Attachment, Response)> {
    let pair = WebSocketPair::new()?;
    let user = conn.who.user_id.as_str();
    match conn.presence_batch {
        true => state.accept_websocket_with_tags(&pair.server, &[user, BATCH_TAG]),
        false => state.accept_websocket_with_tags(&pair.server, &[user]),
    }
    let mut who = conn.who.clone();
    let claim = who.orgs.contains(&conn.stream_id);
    who.orgs.clear(); // checked at connect; kept out to keep the attachment small
                      // The presence roster keys sockets by it, so it must not collide: 53 random bits, the
                      // most a JS number (what the attachment stores) holds exactly.
    let sid = crate::platform::runtime::random_u64() >> 11;
    let attachment = Attachment {
        who,
        bucket: Bucket::full(settings.rate_burst, now_ms),
        sid,
        claim,
        session: conn.session,
    };
    attachment.store(&pair.server)?;
    Ok((
        pair.server,
        attachment,
        Response::from_websocket(pair.client)?,
    ))
}

pub fn send(ws: &WebSocket, frame: &ServerFrame) {
    // A send fails only on a socket that is already closing; nothing to do then.
    let _ = ws.send_with_str(frame.to_text());
}

/// Sends already serialized frames (stored events, fan-outs) in order.
pub fn send_texts(ws: &WebSocket, frames: impl IntoIterator<Item = String>) {
    for frame in frames {
        let _ = ws.send_with_str(frame);
    }
}

pub fn send_error(ws: &WebSocket, error: FrameError, request_id: Option<String>) {
    send(ws, &ServerFrame::error(error, request_id));
}

pub fn close(ws: &WebSocket, close: Close) {
    let _ = ws.close(Some(close.code()), Some(close.reason()));
}

/// Completes the closing handshake a client started, echoing its code where that is a
/// code one may send (otherwise 1000), so the client sees a clean close instead of 1006.
pub fn answer_close(ws: &WebSocket, code: usize) {
    let code = match code {
        1000..=1003 | 1007..=1014 | 3000..=4999 => code as u16,
        _ => 1000,
    };
    let _ = ws.close(Some(code), Some("closed"));
}

/// Every open socket of the object with its attachment.
pub fn sockets(state: &State) -> Vec<(WebSocket, Attachment)> {
    state
        .get_websockets()
        .into_iter()
        .filter_map(|ws| Attachment::of(&ws).map(|a| (ws, a)))
        .collect()
}

/// Screens one incoming frame. Returns the decoded frame for the object (with its text, which
/// a session forwards as it came), or `None` when the shell already answered (error, pong)
/// or closed the socket.
pub fn screen(
    ws: &WebSocket,
    msg: WebSocketIncomingMessage,
    settings: &Settings,
    now_ms: i64,
) -> Option<(Attachment, Incoming, String)> {
    let text = match msg {
        WebSocketIncomingMessage::String(s) => s,
        WebSocketIncomingMessage::Binary(b) => String::from_utf8(b).unwrap_or_default(),
    };
    if text.len() > settings.max_frame_bytes {
        close(ws, Close::TooBig);
        return None;
    }
    let Some(mut att) = Attachment::of(ws) else {
        close(ws, Close::Unauthorized);
        return None;
    };
    if att.who.expired_at(now_ms) {
        close(ws, Close::Unauthorized);
        return None;
    }
    // Decoded before the rate check so that a refused frame's `rate_limited` echoes its
    // `request_id` like every other reply (SPEC §4).
    let decoded = decode(&text);
    let request_id = match &decoded {
        Ok(incoming) => incoming.request_id.clone(),
        Err(rejected) => rejected.request_id.clone(),
    };
    if !within_rate(ws, &mut att, settings, now_ms, request_id) {
        return None;
    }
    match decoded {
        Err(rejected) => {
            send_error(ws, rejected.error, rejected.request_id);
            None
        }
        Ok(Incoming {
            frame: ClientFrame::Ping { timestamp },
            ..
        }) => {
            send(ws, &ServerFrame::Pong { timestamp });
            None
        }
        Ok(incoming) => Some((att, incoming, text)),
    }
}

/// Takes a token from the socket's bucket (stored back in its attachment, so the rate
/// survives hibernation). False when the frame was refused or the socket closed.
fn within_rate(
    ws: &WebSocket,
    att: &mut Attachment,
    settings: &Settings,
    now_ms: i64,
    request_id: Option<String>,
) -> bool {
    let verdict = att
        .bucket
        .take(settings.rate_per_sec, settings.rate_burst, now_ms);
    let _ = att.store(ws);
    match verdict {
        Verdict::Allow => true,
        Verdict::Limited => {
            // No number in the text: formatting an f64 costs the Wasm ~14 KB.
            let msg = "too many frames per second; slow down";
            send_error(ws, FrameError::new(ErrorCode::RateLimited, msg), request_id);
            false
        }
        Verdict::Close => {
            close(ws, Close::Flooding);
            false
        }
    }
}

/// The answer to a frame type the endpoint does not take.
pub fn not_here(ws: &WebSocket, incoming: Incoming) {
    let message = format!("{} is not accepted on this endpoint", incoming.frame.kind());
    send_error(
        ws,
        FrameError::new(ErrorCode::UnknownType, message),
        incoming.request_id,
    );
}
