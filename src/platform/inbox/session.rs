//! The inbox's side of sessions (SPEC §9): a session socket's `join_conversation`,
//! `leave_conversation` and conversation frames (forwarded to the room, which answers them),
//! the device counts and leases the rooms keep, and the renewal timer. What the rooms send
//! back is delivered in `delivery.rs`; which socket follows what is in `joins.rs`; the order
//! of work per conversation in `domain::lanes`.

use crate::platform::join::all as join_all;
use serde::de::DeserializeOwned;
use worker::*;

use super::joins;
use super::UserInbox;
use crate::domain::errors::{ErrorCode, FrameError};
use crate::domain::identity::Identity;
use crate::domain::ids::{Id, StreamKey};
use crate::domain::protocol::{ClientFrame, Incoming, ServerFrame};
use crate::domain::session::{
    over_join_limit, tag, Answer, Delivery, Devices, Event, Forward, Join, Joined, Position,
    RENEW_MS,
};
use crate::platform::internal;
use crate::platform::object::core::REPLAY_EVENTS_PER_TOKEN;
use crate::platform::object::socket::{self, Attachment};
use crate::platform::object::timers::Timer;
use crate::platform::runtime::now_ms;

/// What a `join_conversation` or `leave_conversation` costs from the socket's rate bucket,
/// in frames: a session that rejoins its 100 conversations after a reconnect (a deploy
/// drops every socket) must not be refused for it.
const JOIN_COST: f64 = 0.1;

fn room(conv: &str) -> Result<StreamKey> {
    let id = Id::parse(conv).map_err(|e| Error::RustError(e.to_string()))?;
    Ok(StreamKey::Conversation(id))
}

/// An error about a conversation, tagged with it when its id is one (a bad id is not
/// echoed into the frame).
fn error_about(ws: &WebSocket, conv: &str, e: FrameError, request_id: Option<String>) {
    let text = ServerFrame::error(e, request_id).to_text();
    match Id::parse(conv) {
        Ok(_) => socket::send_texts(ws, [tag(&text, conv)]),
        Err(_) => socket::send_texts(ws, [text]),
    }
}

fn unavailable() -> FrameError {
    FrameError::new(
        ErrorCode::Unavailable,
        "the conversation did not answer; retry",
    )
}

/// A room's answer to a session call: `Ok(None)` for 403 (not a member).
pub(super) async fn call<T: DeserializeOwned>(
    env: &Env,
    conv: &str,
    path: &str,
    body: &impl serde::Serialize,
) -> Result<Option<T>> {
    let mut resp = internal::post(env, &room(conv)?, path, body).await?;
    match resp.status_code() {
        200 => Ok(Some(resp.json::<T>().await?)),
        403 => Ok(None),
        s => Err(Error::RustError(format!("room answered {s}"))),
    }
}

impl UserInbox {
    /// A join or leave costs [`JOIN_COST`]: the rest of its token goes back as it arrives
    /// (before it waits for its turn, so a burst of rejoins is not refused meanwhile).
    pub(super) fn refund_join(&self, ws: &WebSocket, att: &mut Attachment, incoming: &Incoming) {
        let joins_or_leaves = matches!(
            (&incoming.frame, &incoming.conversation_id),
            (ClientFrame::JoinConversation { .. }, _)
                | (ClientFrame::LeaveConversation { .. }, _)
                | (ClientFrame::Resume { .. }, Some(_))
        );
        if joins_or_leaves {
            att.bucket
                .refund(1.0 - JOIN_COST, self.core.settings.rate_burst);
            let _ = att.store(ws);
        }
    }

    /// A frame on a session socket that only sessions take; false when it is not one.
    pub(super) async fn session_frame(
        &self,
        ws: &WebSocket,
        att: &mut Attachment,
        incoming: &Incoming,
        text: String,
    ) -> bool {
        let rid = incoming.request_id.clone();
        match (&incoming.frame, &incoming.conversation_id) {
            (
                ClientFrame::JoinConversation {
                    conversation_id,
                    since,
                },
                _,
            ) => self.join(ws, att, conversation_id, *since, rid).await,
            (ClientFrame::Resume { since }, Some(conv)) => {
                self.join(ws, att, conv, Some(*since), rid).await
            }
            (ClientFrame::LeaveConversation { conversation_id }, _) => {
                self.leave(ws, att, conversation_id).await
            }
            (f, conv) if f.is_conversation_frame() => {
                let conv = conv.clone().unwrap_or_default();
                self.forward(ws, att, &conv, text, rid).await
            }
            _ => return false,
        }
        true
    }

    async fn join(
        &self,
        ws: &WebSocket,
        att: &Attachment,
        conv: &str,
        since: Option<u64>,
        rid: Option<String>,
    ) {
        if let Err(e) = Id::parse(conv) {
            let e = FrameError::invalid(format!("conversation_id: {e}"));
            return error_about(ws, conv, e, rid);
        }
        let sql = self.core.sql();
        let already = joins::is_joined(&sql, att.sid, conv);
        let max = self.core.settings.max_joined_conversations;
        if over_join_limit(joins::count(&sql, att.sid), already, max) {
            let e = FrameError::invalid(format!("a session joins at most {max} conversations"));
            return error_about(ws, conv, e, rid);
        }
        if let Err(e) = self.core.ensure_written() {
            console_error!("session join not stored: {e}");
            return error_about(ws, conv, unavailable(), rid);
        }
        self.lanes.enter(conv);
        let join = Join {
            who: att.who.clone(),
            since,
            devices: joins::devices(&sql, conv) + u32::from(!already),
        };
        match call::<Joined>(&self.core.env, conv, "/session/join", &join).await {
            Ok(Some(joined)) => self.joined(ws, att, conv, joined).await,
            Ok(None) => {
                let _ = joins::remove(&sql, att.sid, conv);
                let e = FrameError::forbidden("not a member of this conversation");
                error_about(ws, conv, e, rid);
            }
            Err(e) => {
                console_error!("session join failed: {e}");
                error_about(ws, conv, unavailable(), rid);
            }
        }
        self.lane_done(conv).await;
    }

    async fn joined(&self, ws: &WebSocket, att: &Attachment, conv: &str, joined: Joined) {
        if let Err(e) = joins::put(&self.core.sql(), att.sid, conv, joined.position) {
            console_error!("session join not stored: {e}");
            return error_about(ws, conv, unavailable(), None);
        }
        let frame = ServerFrame::Joined {
            conversation_id: conv.to_string(),
            last_seq: joined.last_seq,
            presence: joined.presence,
        };
        socket::send(ws, &frame);
        // The replay is paid for like a resume's (see `Core::resume`).
        if let Some(mut att) = Attachment::of(ws) {
            att.bucket
                .charge(joined.replay.len() as f64 / REPLAY_EVENTS_PER_TOKEN);
            let _ = att.store(ws);
        }
        socket::send_texts(ws, joined.replay);
        let at = now_ms() + RENEW_MS;
        let state = &self.core.state;
        if let Err(e) = self.core.timers.schedule(state, Timer::Sessions, at).await {
            console_error!("lease renewal not scheduled: {e}");
        }
    }

    async fn leave(&self, ws: &WebSocket, att: &Attachment, conv: &str) {
        let sql = self.core.sql();
        if joins::is_joined(&sql, att.sid, conv) {
            let _ = joins::remove(&sql, att.sid, conv);
            self.tell_devices(&att.who, conv).await;
        }
        let left = ServerFrame::Left {
            conversation_id: conv.to_string(),
            reason: None,
        };
        match Id::parse(conv) {
            Ok(_) => socket::send(ws, &left),
            Err(e) => error_about(
                ws,
                conv,
                FrameError::invalid(format!("conversation_id: {e}")),
                None,
            ),
        }
    }

    /// Tells the room how many session devices here follow `conv` now (0 ends it).
    async fn tell_devices(&self, who: &Identity, conv: &str) -> Option<u64> {
        let devices = Devices {
            who: who.clone(),
            devices: joins::devices(&self.core.sql(), conv),
        };
        match call::<Position>(&self.core.env, conv, "/session/devices", &devices).await {
            Ok(p) => p.map(|p| p.last_seq),
            Err(e) => {
                console_error!("session device count not told: {e}");
                None
            }
        }
    }

    async fn forward(
        &self,
        ws: &WebSocket,
        att: &Attachment,
        conv: &str,
        text: String,
        rid: Option<String>,
    ) {
        if !joins::is_joined(&self.core.sql(), att.sid, conv) {
            let e = FrameError::invalid("conversation_id must name a joined conversation");
            return error_about(ws, conv, e, rid);
        }
        self.lanes.enter(conv);
        let fwd = Forward {
            who: att.who.clone(),
            frame: text,
        };
        match call::<Answer>(&self.core.env, conv, "/session/frame", &fwd).await {
            Ok(Some(answer)) => {
                socket::send_texts(ws, answer.reply);
                self.lanes.push(Delivery {
                    conversation_id: conv.to_string(),
                    last_seq: answer.last_seq,
                    events: answer.events,
                });
            }
            Ok(None) => {
                let e = FrameError::forbidden("not a member of this conversation");
                error_about(ws, conv, e, rid);
            }
            Err(e) => {
                console_error!("session frame not forwarded: {e}");
                error_about(ws, conv, unavailable(), rid);
            }
        }
        self.lane_done(conv).await;
    }

    /// Ends a join or frame on `conv`'s lane and delivers what waited for it.
    async fn lane_done(&self, conv: &str) {
        if self.lanes.leave(conv) {
            self.drain(conv).await;
        }
    }

    /// A session socket closed: the rooms it followed count one device less.
    pub(super) async fn session_closed(&self, ws: &WebSocket) {
        let Some(att) = Attachment::of(ws) else {
            return;
        };
        if !att.session {
            return;
        }
        self.app_presence(Some(att.sid)).await;
        let convs = joins::remove_socket(&self.core.sql(), att.sid).unwrap_or_default();
        join_all(convs.iter().map(|c| self.tell_devices(&att.who, c))).await;
    }

    /// The renewal timer: forgets sockets that are gone, renews every lease, and catches up
    /// where a room is ahead (a hand-off lost with nothing after it).
    pub(super) async fn renew(&self) -> Option<i64> {
        let sql = self.core.sql();
        let sockets = socket::sockets(&self.core.state);
        let mut stale = Vec::new();
        for sid in joins::sids(&sql) {
            if !sockets.iter().any(|(_, a)| a.sid == sid) {
                stale.extend(joins::remove_socket(&sql, sid).unwrap_or_default());
            }
        }
        // Any of the user's identities will do: the room reads only names from it, and a
        // count of 0 (every stale conversation without a live socket) only the user id.
        let who = match sockets.iter().find(|(_, a)| a.session) {
            Some((_, a)) => a.who.clone(),
            None => Identity::new(self.core.stream_id(), Default::default(), vec![], i64::MAX),
        };
        let mut convs = joins::conversations(&sql);
        convs.extend(stale);
        let positions = join_all(convs.iter().map(|c| self.tell_devices(&who, c))).await;
        for (conv, last) in convs.iter().zip(positions) {
            let Some(last_seq) = last else { continue };
            let poke = Delivery {
                conversation_id: conv.clone(),
                last_seq,
                events: Vec::<Event>::new(),
            };
            if self.lanes.push(poke) {
                self.drain(conv).await;
            }
        }
        (!joins::conversations(&sql).is_empty()).then(|| now_ms() + RENEW_MS)
    }
}
