//! `ConversationRoom`: one per conversation (and per DM pair). Holds the members' sockets,
//! runs the room state machine on its SQLite, keeps presence, and copies rows to D1.

mod api;
pub(crate) mod history;
pub mod store;

use std::cell::{Cell, RefCell};

use worker::*;

use crate::domain::config::Settings;
use crate::domain::errors::Close;
use crate::domain::ids::{dm_members, Id};
use crate::domain::protocol::{ClientFrame, Established, Incoming};
use crate::domain::room::{self, Actor, Outcome};
use crate::domain::stream::{self, EventLog};
use crate::platform::object::hub as live;
use crate::platform::object::outbox::{self, Drained};
use crate::platform::object::socket::{self, Attachment, Connect};
use crate::platform::room::store::{create_schema, SqliteRoom};
use crate::platform::runtime::now_ms;
use crate::platform::{config, internal, runtime::new_id};

#[durable_object]
pub struct ConversationRoom {
    pub(super) state: State,
    pub(super) env: Env,
    pub(super) settings: Settings,
    /// The conversation id, learned from the first request and kept in SQLite.
    id: RefCell<Option<String>>,
    /// When the alarm is known to be set for (cleared when it fires or the object wakes).
    alarm_at: Cell<Option<i64>>,
    pub(super) hub: live::Hub,
}

impl DurableObject for ConversationRoom {
    fn new(state: State, env: Env) -> Self {
        let (state, hub) = live::Hub::new(state);
        socket::set_auto_pong(&state);
        if let Err(e) = create_schema(&state.storage().sql()) {
            console_error!("room schema: {e}");
        }
        ConversationRoom {
            settings: config::settings(&env),
            state,
            env,
            id: RefCell::new(None),
            alarm_at: Cell::new(None),
            hub,
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if let Some(id) = req.headers().get(internal::STREAM)? {
            self.remember_id(&id)?;
        }
        if req.path() == internal::SOCKET_PATH {
            return match Connect::from_request(&req)? {
                Some(conn) => self.open_socket(conn).await,
                None => Response::error("not found", 404),
            };
        }
        self.command(req).await
    }

    async fn websocket_message(&self, ws: WebSocket, msg: WebSocketIncomingMessage) -> Result<()> {
        let now = now_ms();
        let Some((att, incoming)) = socket::screen(&ws, msg, &self.settings, now) else {
            return Ok(());
        };
        if let ClientFrame::Resume { since } = incoming.frame {
            socket::send_texts(
                &ws,
                stream::resume(&self.store(), since, self.settings.resume_limit),
            );
            return Ok(());
        }
        let outcome = self.handle_frame(&att, incoming, now);
        self.deliver(&ws, outcome).await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        socket::answer_close(&ws, code);
        self.socket_gone(&ws).await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: Error) -> Result<()> {
        self.socket_gone(&ws).await
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_at.set(None);
        let now = now_ms();
        let sql = self.state.storage().sql();
        let next_grace = live::expire(&self.state, &self.hub, &sql, now);
        if let Drained::Again(at) = outbox::drain(&sql, &self.env, now).await? {
            self.wake_by(at).await?;
        }
        if let Some(deadline) = next_grace {
            self.wake_by(deadline).await?;
        }
        Response::ok("")
    }
}

impl ConversationRoom {
    pub(super) fn conversation_id(&self) -> String {
        if let Some(id) = self.id.borrow().as_ref() {
            return id.clone();
        }
        #[derive(serde::Deserialize)]
        struct V {
            v: String,
        }
        let sql = self.state.storage().sql();
        let id = sql
            .exec("SELECT v FROM meta WHERE k = 'conversation_id'", None)
            .and_then(|c| c.to_array::<V>())
            .ok()
            .and_then(|rows| rows.into_iter().next().map(|r| r.v))
            .unwrap_or_default();
        *self.id.borrow_mut() = Some(id.clone());
        id
    }

    fn remember_id(&self, id: &str) -> Result<()> {
        if self.id.borrow().as_deref() == Some(id) {
            return Ok(());
        }
        let sql = self.state.storage().sql();
        sql.exec(
            "INSERT OR IGNORE INTO meta (k, v) VALUES ('conversation_id', ?)",
            Some(vec![id.into()]),
        )?;
        *self.id.borrow_mut() = Some(id.to_string());
        Ok(())
    }

    pub(super) fn store(&self) -> SqliteRoom {
        SqliteRoom {
            sql: self.state.storage().sql(),
            storage: self.state.storage(),
            conversation_id: self.conversation_id(),
        }
    }

    pub(super) fn may_join(&self, user_id: &str) -> bool {
        let conv = self.conversation_id();
        match Id::parse(&conv).ok().and_then(|id| dm_members(&id)) {
            Some((a, b)) => user_id == a || user_id == b,
            None => self.store().is_member(user_id),
        }
    }

    async fn open_socket(&self, conn: Connect) -> Result<Response> {
        let user = conn.who.user_id.clone();
        if !self.may_join(&user) {
            return conn.refuse(Close::Forbidden);
        }
        let others = self.state.get_websockets_with_tag(&user).len();
        if others >= self.settings.max_sockets_per_user {
            return conn.refuse(Close::TooManySockets);
        }
        let now = now_ms();
        let store = self.store();
        let (ws, att, resp) = socket::accept(&self.state, &conn, &self.settings, now)?;
        live::opened(&self.hub, &store.sql, (&ws, &att), others, now)?;
        let established = Established {
            user_id: user,
            user_name: conn.who.display_name().to_string(),
            last_seq: store.last_seq(),
            conversation_id: Some(self.conversation_id()),
            presence: Some(self.presence()),
            ..Default::default()
        };
        let replay = conn
            .since
            .map(|since| stream::resume(&store, since, self.settings.resume_limit));
        socket::greet(&ws, established, replay);
        Ok(resp)
    }

    pub(super) fn presence(&self) -> Vec<crate::domain::protocol::PresenceEntry> {
        live::list(&self.state, &self.hub, &self.state.storage().sql())
    }

    fn handle_frame(&self, att: &Attachment, incoming: Incoming, now: i64) -> Outcome {
        let conv = self.conversation_id();
        let actor = Actor {
            who: &att.who,
            now_ms: now,
            settings: &self.settings,
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

    /// Sends the replies, then the broadcast, then makes sure D1 gets a copy.
    pub(super) async fn deliver(&self, sender: &WebSocket, outcome: Outcome) -> Result<()> {
        for frame in &outcome.reply {
            socket::send(sender, frame);
        }
        if let Some(b) = outcome.broadcast {
            self.broadcast(&b.text, if b.include_sender { None } else { Some(sender) });
            if b.include_sender {
                self.wake_by(now_ms() + outbox::COALESCE_MS).await?;
            }
        }
        Ok(())
    }

    /// One serialized frame to every socket (but `except`).
    pub(super) fn broadcast(&self, text: &str, except: Option<&WebSocket>) {
        self.hub.broadcast(text, except);
    }

    /// Makes sure the alarm fires by `at`, skipping the storage round trip when an alarm
    /// this object set is already due no later.
    pub(super) async fn wake_by(&self, at: i64) -> Result<()> {
        if self.alarm_at.get().is_some_and(|set| set <= at) {
            return Ok(());
        }
        let set = outbox::wake_by(&self.state, at).await?;
        self.alarm_at.set(Some(set));
        Ok(())
    }

    async fn socket_gone(&self, ws: &WebSocket) -> Result<()> {
        live::gone(
            &self.state,
            &self.hub,
            &self.state.storage().sql(),
            ws,
            &self.settings,
            now_ms(),
        )
        .await
    }
}
