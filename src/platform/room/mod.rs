//! `ConversationRoom`: one per conversation (and per DM pair). The shell over the room state
//! machine (`domain::room`): it admits members' sockets, hands each frame to the domain with
//! the room's store (`store.rs`), and sends what the domain decided. Server commands are in
//! `api.rs`, D1 history pages in `history.rs`; everything else is the shared `object::Core`.

mod api;
mod handoff;
pub(crate) mod history;
mod occupancy;
mod sessions;
pub mod store;

use worker::*;

use crate::domain::identity::Identity;
use crate::domain::ids::{dm_members, Id};
use crate::domain::protocol::{ClientFrame, Established, Incoming};
use crate::domain::room::{self, Actor, Outcome};
use crate::domain::stream::EventLog;
use crate::platform::internal;
use crate::platform::object::core::Core;
use crate::platform::object::hub as live;
use crate::platform::object::socket::{self, Attachment, Connect};
use crate::platform::object::subscribers;
use crate::platform::runtime::{new_id, now_ms};
use store::{SqliteRoom, SCHEMA};

#[durable_object]
pub struct ConversationRoom {
    pub(super) core: Core,
    relay: handoff::Relay,
}

impl DurableObject for ConversationRoom {
    fn new(state: State, env: Env) -> Self {
        let core = Core::new(state, env, &SCHEMA, true);
        core.hub.keep_for_sessions();
        let subscribed = !subscribers::all(&core.sql()).is_empty();
        core.hub.keep_while(subscribed);
        ConversationRoom {
            core,
            relay: handoff::Relay::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.core.begin(&req).await?;
        let mut resp = if req.path() == internal::SOCKET_PATH {
            match Connect::from_request(&req)? {
                Some(conn) => return self.open_socket(conn).await,
                None => Response::error("not found", 404)?,
            }
        } else if let Some(resp) = self.session_call(&mut req).await? {
            resp
        } else {
            self.command(req).await?
        };
        resp.headers_mut()
            .set(internal::INSTANCE, &self.core.instance)?;
        Ok(resp)
    }

    async fn websocket_message(&self, ws: WebSocket, msg: WebSocketIncomingMessage) -> Result<()> {
        let now = now_ms();
        let Some((mut att, incoming, _)) = socket::screen(&ws, msg, &self.core.settings, now)
        else {
            return Ok(());
        };
        if let ClientFrame::Resume { since } = incoming.frame {
            let frames = self
                .core
                .replay(&self.store(), since, self.core.settings.resume_limit);
            self.core.resume(&ws, &mut att, frames);
            return Ok(());
        }
        let outcome = self.handle_frame(&att.who, incoming, now);
        self.deliver(&ws, &att, outcome).await;
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.core.closed(&ws, code).await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: Error) -> Result<()> {
        self.core.gone(&ws).await
    }

    async fn alarm(&self) -> Result<Response> {
        let done = self.core.alarm(self).await;
        self.relay().await; // presence the grace timer ended
        self.occupancy().await;
        done
    }
}

impl ConversationRoom {
    pub(super) fn conversation_id(&self) -> String {
        self.core.stream_id()
    }

    pub(super) fn store(&self) -> SqliteRoom {
        SqliteRoom {
            hooks: self.core.settings.webhooks.clone(),
            sql: self.core.sql(),
            storage: self.core.storage(),
            conversation_id: self.conversation_id(),
        }
    }

    /// A DM's two users, or a member of this conversation (read only: a refused join writes
    /// nothing, and a room that never stored anything has no members).
    pub(super) fn may_join(&self, user_id: &str) -> bool {
        let conv = self.conversation_id();
        match Id::parse(&conv).ok().and_then(|id| dm_members(&id)) {
            Some((a, b)) => user_id == a || user_id == b,
            None => self.store().is_member(user_id),
        }
    }

    async fn open_socket(&self, conn: Connect) -> Result<Response> {
        let allowed = self.may_join(&conn.who.user_id);
        if let Some(close) = self.core.refusal(&conn, allowed) {
            return conn.refuse(close);
        }
        let (ws, _att, resp) = self.core.accept(&conn).await?;
        self.relay().await; // the user's `user_status`, if this is their first device
        self.occupancy().await;
        let store = self.store();
        let established = Established {
            user_id: conn.who.user_id.clone(),
            user_name: conn.who.display_name().to_string(),
            last_seq: store.last_seq(),
            conversation_id: Some(self.conversation_id()),
            presence: Some(self.presence()),
            ..Default::default()
        };
        let window = self.core.settings.resume_limit;
        let replay = conn
            .since
            .map(|since| self.core.replay(&store, since, window));
        self.core.greet(&ws, established, replay);
        Ok(resp)
    }

    pub(super) fn presence(&self) -> Vec<crate::domain::protocol::PresenceEntry> {
        live::list(&self.core.state, &self.core.hub, &self.core.sql())
    }

    fn handle_frame(&self, who: &Identity, incoming: Incoming, now: i64) -> Outcome {
        let conv = self.conversation_id();
        let actor = Actor {
            who,
            now_ms: now,
            settings: &self.core.settings,
            conversation_id: &conv,
        };
        room::handle(
            &mut self.store(),
            &actor,
            incoming.frame,
            new_id,
            incoming.request_id,
        )
    }

    /// Sends the replies, then the broadcast.
    pub(super) async fn deliver(&self, sender: &WebSocket, att: &Attachment, outcome: Outcome) {
        for frame in &outcome.reply {
            socket::send(sender, frame);
        }
        self.publish(&att.who.user_id, outcome).await;
    }

    /// An outcome's broadcast: to the room's sockets, to D1 (durable events) and to the
    /// sessions that follow the room.
    pub(super) async fn publish(&self, user: &str, outcome: Outcome) {
        let Some(b) = outcome.broadcast else {
            return;
        };
        if b.include_sender {
            self.core.hub.broadcast_event(&b.text, b.seq);
            self.core.copy_soon().await;
        } else {
            self.core.hub.broadcast_except_user(&b.text, user);
        }
        self.relay().await;
    }
}
