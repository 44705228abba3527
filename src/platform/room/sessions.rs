//! The room's side of sessions (SPEC §9): the internal endpoints a user's inbox calls for a
//! session socket (join, device count and lease, a forwarded client frame, a pull of missed
//! events), a session device as presence sees it, and what ends a subscription (the last
//! device leaves, the lease runs out, the member is removed). The room stays the single
//! writer and the one place for membership: every forwarded frame is checked here.

use serde::de::DeserializeOwned;
use worker::*;

use super::handoff::REMOVED_PATH;
use super::ConversationRoom;
use crate::domain::errors::{ErrorCode, FrameError};
use crate::domain::identity::Identity;
use crate::domain::ids::{Id, StreamKey};
use crate::domain::protocol::{decode, ServerFrame};
use crate::domain::session::{
    tag, Answer, Devices, Event, Forward, Join, Joined, Position, Pull, Pulled, Removed, LEASE_MS,
};
use crate::domain::stream::{self, EventLog, Missed};
use crate::platform::http::json as reply;
use crate::platform::internal;
use crate::platform::object::core::Hooks;
use crate::platform::object::timers::Timer;
use crate::platform::object::{hub, idempotency, subscribers};
use crate::platform::runtime::now_ms;

async fn body<T: DeserializeOwned>(req: &mut Request) -> Result<T> {
    crate::platform::http::body(req).await
}

fn forbidden() -> Result<Response> {
    Response::error("not a member of this conversation", 403)
}

impl ConversationRoom {
    /// `/session/*`: `None` when the path is not one of them.
    pub(super) async fn session_call(&self, req: &mut Request) -> Result<Option<Response>> {
        let resp = match req.path().as_str() {
            "/session/join" => self.join(body(req).await?).await?,
            "/session/devices" => self.devices(body(req).await?).await?,
            "/session/frame" => self.forwarded(body(req).await?).await?,
            "/session/pull" => self.pull(body(req).await?)?,
            _ => return Ok(None),
        };
        Ok(Some(resp))
    }

    async fn join(&self, join: Join) -> Result<Response> {
        let user = join.who.user_id.clone();
        if !self.may_join(&user) {
            return forbidden();
        }
        self.core.ensure_written()?;
        self.count_devices(&join.who, join.devices).await?;
        let store = self.store();
        let last_seq = store.last_seq();
        let conv = self.conversation_id();
        let window = self.core.settings.resume_limit;
        let replay = join
            .since
            .map(|since| stream::resume(&store, since, window))
            .unwrap_or_default();
        let answer = Joined {
            last_seq,
            presence: self.presence(),
            replay: replay.iter().map(|f| tag(f, &conv)).collect(),
            position: last_seq,
        };
        self.relay().await;
        reply(200, &answer)
    }

    async fn devices(&self, d: Devices) -> Result<Response> {
        let now = now_ms();
        if d.devices == 0 {
            self.session_gone(&d.who.user_id, now).await;
        } else if self.may_join(&d.who.user_id) {
            self.count_devices(&d.who, d.devices).await?;
        }
        self.relay().await;
        let last_seq = self.store().last_seq();
        reply(200, &Position { last_seq })
    }

    /// Records `devices` session devices of `who` (renewing the lease) and tells presence
    /// when they are the user's first device here.
    async fn count_devices(&self, who: &Identity, devices: u32) -> Result<()> {
        let (sql, now) = (self.core.sql(), now_ms());
        let user = &who.user_id;
        let others = self.core.state.get_websockets_with_tag(user).len()
            + subscribers::devices(&sql, user) as usize;
        let lease_until = now + LEASE_MS;
        subscribers::set(&sql, who, devices, lease_until)?;
        self.core.hub.keep_while(true);
        if let Some(online) = hub::arrived(&sql, who, others, now)? {
            self.core.announce((online, Some(user)), now).await?;
        }
        self.occupancy().await;
        let state = &self.core.state;
        self.core
            .timers
            .schedule(state, Timer::Sessions, lease_until)
            .await
    }

    /// `user`'s session no longer follows the room: its devices leave presence (through
    /// the grace window, as a socket's would).
    pub(super) async fn session_gone(&self, user: &str, now: i64) {
        let sql = self.core.sql();
        let Some(row) = subscribers::get(&sql, user) else {
            return;
        };
        let _ = subscribers::remove(&sql, user);
        self.grace_if_away(&row, now).await;
    }

    async fn grace_if_away(&self, row: &subscribers::Row, now: i64) {
        if !self
            .core
            .state
            .get_websockets_with_tag(&row.user_id)
            .is_empty()
        {
            return;
        }
        let deadline = now + self.core.settings.presence_grace_ms;
        let names = (row.username.as_str(), row.user_name.as_str());
        let sql = self.core.sql();
        if let Err(e) = hub::start_grace(&sql, &row.user_id, names, deadline) {
            console_error!("grace not started: {e}");
            return;
        }
        let state = &self.core.state;
        if let Err(e) = self
            .core
            .timers
            .schedule(state, Timer::Grace, deadline)
            .await
        {
            console_error!("grace timer not scheduled: {e}");
        }
    }

    /// A client frame from a session: handled exactly as on a room socket; the replies and
    /// the committed event go back tagged with the conversation.
    async fn forwarded(&self, f: Forward) -> Result<Response> {
        let conv = self.conversation_id();
        let tagged = |frame: &ServerFrame| tag(&frame.to_text(), &conv);
        let refuse = |e: FrameError, request_id| Answer {
            reply: vec![tagged(&ServerFrame::error(e, request_id))],
            ..Default::default()
        };
        let mut answer = match decode(&f.frame) {
            Err(r) => refuse(r.error, r.request_id),
            Ok(i) if !self.may_join(&f.who.user_id) => {
                let e = FrameError::forbidden("not a member of this conversation");
                refuse(e, i.request_id)
            }
            Ok(i) if !i.frame.is_conversation_frame() => {
                let e = FrameError::new(ErrorCode::UnknownType, "not a conversation frame");
                refuse(e, i.request_id)
            }
            Ok(incoming) => {
                let outcome = self.handle_frame(&f.who, incoming, now_ms());
                let events = match &outcome.broadcast {
                    Some(b) if b.seq.is_some() => vec![Event {
                        seq: b.seq,
                        frame: tag(&b.text, &conv),
                    }],
                    _ => vec![],
                };
                let reply = outcome.reply.iter().map(tagged).collect();
                self.publish(&f.who.user_id, outcome).await; // also hands it to the sessions
                Answer {
                    reply,
                    events,
                    ..Default::default()
                }
            }
        };
        answer.last_seq = self.store().last_seq();
        reply(200, &answer)
    }

    fn pull(&self, p: Pull) -> Result<Response> {
        if !self.may_join(&p.user_id) {
            return forbidden();
        }
        let conv = self.conversation_id();
        let store = self.store();
        let window = self.core.settings.resume_limit;
        let answer = match stream::missed(&store, p.since, window) {
            Missed::TooMany { last_seq } => Pulled {
                resync: Some(tag(
                    &ServerFrame::ResyncRequired { last_seq }.to_text(),
                    &conv,
                )),
                last_seq,
                ..Default::default()
            },
            Missed::Events { frames, last_seq } => {
                let events = (p.since + 1..)
                    .zip(frames)
                    .map(|(seq, frame)| Event {
                        seq: Some(seq),
                        frame: tag(&frame, &conv),
                    })
                    .collect();
                Pulled {
                    events,
                    last_seq,
                    resync: None,
                }
            }
        };
        reply(200, &answer)
    }

    /// A removed member's session is told (`left` with `reason: "removed"`) before the
    /// removal answers, and gets nothing more from here.
    pub(super) async fn remove_session(&self, user: &str) {
        let sql = self.core.sql();
        if subscribers::get(&sql, user).is_none() {
            return;
        }
        self.session_gone(user, now_ms()).await;
        let Ok(id) = Id::parse(user) else { return };
        let removed = Removed {
            conversation_id: self.conversation_id(),
        };
        let stream = StreamKey::User(id);
        if let Err(e) = internal::post(&self.core.env, &stream, REMOVED_PATH, &removed).await {
            console_error!("a removed member's session was not told: {e}");
        }
    }
}

impl Hooks for ConversationRoom {
    fn trim(&self, sql: &SqlStorage, now: i64) -> crate::platform::object::core::NextRun {
        idempotency::trim(sql, now)
    }

    /// Ends the leases that ran out, retries a failed hand-off (a poke: every subscriber
    /// compares its position with the room's), and hands on what is left.
    async fn sessions(&self, now: i64) -> crate::platform::object::core::NextRun {
        let sql = self.core.sql();
        for row in subscribers::expire(&sql, now)? {
            self.grace_if_away(&row, now).await;
        }
        if self.relay.take_failed() {
            self.hand_off(&[], true).await;
        }
        self.relay().await;
        Ok(subscribers::next_lease_end(&sql))
    }
}
