//! `UserInbox`: one per user. The shell over the inbox state machine (`domain::inbox`): it
//! holds the user's notification sockets, publishes into the user's log through its store
//! (`store.rs`), and answers "how many devices are live" at publish time. A few instances
//! under reserved names serve instead as the key ledger of `POST /api/notifications`
//! (`ledger.rs`).
//!
//! Whose inbox this is comes from the Worker's request or from SQLite, never only from
//! memory, since a hibernated object is rebuilt from storage and sockets.

mod delivery;
mod history;
mod joins;
mod ledger;
mod online;
mod push;
mod push_send;
mod session;
pub mod store;

pub use push::{POLICY_QUERY as PUSH_POLICY_QUERY, SUBSCRIPTIONS_PATH as PUSH_SUBSCRIPTIONS_PATH};

use serde_json::json;
use worker::*;

use crate::domain::errors::ApiError;
use crate::domain::inbox::{self, Fanout, InboxStore, NotificationIn};
use crate::domain::lanes::{Lanes, Turns};
use crate::domain::protocol::{ClientFrame, Established, Incoming, ServerFrame};
use crate::domain::push::Policy;
use crate::domain::stream::EventLog;
use crate::domain::webhook::{Kind, ONLINE_REPORT_PATH};
use crate::platform::gateway::notify::{LEDGER_PATH, NOTIFY_PATH};
use crate::platform::http::{self, error, json as reply};
use crate::platform::internal::{self, IDEMPOTENCY};
use crate::platform::object::core::{Core, Hooks, NextRun};
use crate::platform::object::socket::{self, Attachment, Connect};
use crate::platform::object::{idempotency, outbox};
use crate::platform::runtime::{new_id, now_ms};
use store::{SqliteInbox, SCHEMA};

#[durable_object]
pub struct UserInbox {
    core: Core,
    lanes: Lanes,
    turns: Turns<(Incoming, String)>,
}

impl DurableObject for UserInbox {
    fn new(state: State, env: Env) -> Self {
        UserInbox {
            core: Core::new(state, env, &SCHEMA, false),
            lanes: Lanes::default(),
            turns: Turns::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.core.begin(&req).await?;
        let result = match (req.method(), req.path().as_str()) {
            (_, internal::SOCKET_PATH) => match Connect::from_request(&req)? {
                Some(conn) => return self.open_socket(conn).await,
                None => Err(ApiError::NotFound("no such endpoint".into())),
            },
            (Method::Post, LEDGER_PATH) => ledger::handle(&self.core, &mut req).await,
            (Method::Post, NOTIFY_PATH) => {
                let key = req.headers().get(IDEMPOTENCY)?;
                let print = req.headers().get(internal::FINGERPRINT)?;
                let policy = push::policy_of(&req);
                let body = req.text().await?;
                let print = print.unwrap_or_else(|| idempotency::fingerprint(&body));
                self.publish(&body, key.as_deref(), &print, policy).await
            }
            (_, push::SUBSCRIPTIONS_PATH) => push::handle(&self.core, &mut req).await,
            (Method::Get, "/notifications") => self.list(&req).await,
            (Method::Post, "/session/deliver") => {
                let delivery = http::body(&mut req).await?;
                reply(200, &self.delivered(delivery).await).map_err(ApiError::from)
            }
            (Method::Post, ONLINE_REPORT_PATH) => {
                self.online_report(http::body(&mut req).await?).await?;
                reply(200, &json!({})).map_err(ApiError::from)
            }
            (Method::Post, "/session/removed") => {
                self.removed(http::body(&mut req).await?);
                reply(200, &json!({})).map_err(ApiError::from)
            }
            _ => Err(ApiError::NotFound("no such endpoint".into())),
        };
        let mut resp = result.or_else(|e| error(&e))?;
        resp.headers_mut()
            .set(internal::INSTANCE, &self.core.instance)?;
        Ok(resp)
    }

    async fn websocket_message(&self, ws: WebSocket, msg: WebSocketIncomingMessage) -> Result<()> {
        let Some((mut att, incoming, text)) =
            socket::screen(&ws, msg, &self.core.settings, now_ms())
        else {
            return Ok(());
        };
        if att.session {
            self.refund_join(&ws, &mut att, &incoming);
            self.in_turn(&ws, att.sid, incoming, text).await;
            return Ok(());
        }
        self.inbox_frame(&ws, att, incoming).await;
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        self.core.closed(&ws, code).await?;
        self.session_closed(&ws).await;
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: Error) -> Result<()> {
        self.core.gone(&ws).await?;
        self.session_closed(&ws).await;
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        self.core.alarm(self).await
    }
}

impl UserInbox {
    /// A session socket's frames, one at a time in the order they came (`domain::lanes::Turns`).
    async fn in_turn(&self, ws: &WebSocket, sid: u64, incoming: Incoming, text: String) {
        let mut next = self.turns.arrive(sid, (incoming, text));
        while let Some((incoming, text)) = next {
            // Read again for each frame: the ones before may have changed the rate bucket.
            if let Some(mut att) = Attachment::of(ws) {
                if !self.session_frame(ws, &mut att, &incoming, text).await {
                    self.inbox_frame(ws, att, incoming).await;
                }
            }
            next = self.turns.next(sid);
        }
    }

    /// A frame of the inbox stream itself (every socket here): resume, mark read.
    async fn inbox_frame(&self, ws: &WebSocket, mut att: Attachment, incoming: Incoming) {
        let ids = match incoming.frame {
            ClientFrame::Resume { since } => {
                self.resume(ws, &mut att, since);
                return;
            }
            ClientFrame::MarkRead { notification_id } => Some(vec![notification_id]),
            ClientFrame::MarkAllRead {} => None,
            _ => {
                socket::not_here(ws, incoming);
                return;
            }
        };
        let user = self.core.stream_id();
        let sql = self.core.sql();
        let mut store = self.store(&sql, &user);
        match inbox::mark_read(&mut store, ids) {
            Ok((seq, fanout)) => {
                let ack = ServerFrame::Ack {
                    request_id: incoming.request_id,
                    message_id: None,
                    seq,
                };
                socket::send(ws, &ack);
                self.fan_out(&fanout);
                if seq.is_some() {
                    self.core.copy_soon().await;
                }
            }
            Err(e) => socket::send_error(ws, e, incoming.request_id),
        }
    }
}

impl Hooks for UserInbox {
    fn trim(&self, sql: &SqlStorage, now: i64) -> NextRun {
        idempotency::trim(sql, now)
    }

    async fn sessions(&self, _now: i64) -> NextRun {
        Ok(self.renew().await)
    }

    fn webhook_events(&self, now: i64) -> NextRun {
        self.app_presence_due(now)
    }

    async fn push(&self, now: i64) -> NextRun {
        push_send::drain(&self.core.sql(), &self.core.env, now).await
    }
}

impl UserInbox {
    fn store<'a>(&'a self, sql: &'a SqlStorage, user: &'a str) -> SqliteInbox<'a> {
        let hooks = &self.core.settings.webhooks;
        let counted = [Kind::NotificationCreated, Kind::NotificationUndelivered];
        SqliteInbox {
            storage: self.core.storage(),
            sql,
            user,
            hooks,
            live_devices: match hooks.wants_any(&counted) {
                true => self.core.state.get_websockets().len(),
                false => 0,
            },
        }
    }

    async fn open_socket(&self, conn: Connect) -> Result<Response> {
        if let Some(close) = self.core.refusal(&conn, true) {
            return conn.refuse(close);
        }
        let (ws, _, resp) = self.core.accept(&conn).await?;
        let (sql, user) = (self.core.sql(), self.core.stream_id());
        let store = self.store(&sql, &user);
        let established = Established {
            user_id: conn.who.user_id.clone(),
            user_name: conn.who.display_name().to_string(),
            last_seq: store.last_seq(),
            unread_count: Some(store.unread_count()),
            conversations: conn.session.then(Vec::new),
            ..Default::default()
        };
        let window = self.core.settings.resume_limit;
        let replay = conn
            .since
            .map(|since| self.core.replay(&store, since, window));
        self.core.greet(&ws, established, replay);
        if conn.session {
            self.app_presence(None).await;
        }
        Ok(resp)
    }

    fn resume(&self, ws: &WebSocket, att: &mut Attachment, since: u64) {
        let (sql, user) = (self.core.sql(), self.core.stream_id());
        let store = self.store(&sql, &user);
        let frames = self
            .core
            .replay(&store, since, self.core.settings.resume_limit);
        self.core.resume(ws, att, frames);
    }

    /// Sends each frame to every device of the user. Returns how many devices took the
    /// first frame (the event itself): like an org's `delivered`, `live_devices` counts
    /// sockets the event was handed to, not sockets merely accepted (one may be closing).
    fn fan_out(&self, frames: &Fanout) -> usize {
        let mut delivered = None;
        for frame in frames {
            let sent = self.core.hub.broadcast(frame, None);
            delivered.get_or_insert(sent);
        }
        delivered.unwrap_or(0)
    }

    async fn publish(
        &self,
        body: &str,
        key: Option<&str>,
        print: &str,
        policy: Policy,
    ) -> Result<Response, ApiError> {
        let now = now_ms();
        self.core.ensure_written()?;
        let (sql, user) = (self.core.sql(), self.core.stream_id());
        let answer = idempotency::once(&sql, key, print, now, || async {
            let n = NotificationIn::parse(body).map_err(|e| ApiError::Unprocessable(e.message))?;
            let mut store = self.store(&sql, &user);
            let (view, fanout) =
                inbox::publish(&mut store, n, new_id(), now).map_err(ApiError::from)?;
            store.trim(self.core.settings.resume_limit)?;
            let live_devices = self.fan_out(&fanout);
            // No await since the commit: queued in the same atomic write (see push::queue).
            let notification = serde_json::to_value(&view).map_err(|_| ApiError::Internal)?;
            if push::queue(&sql, policy, live_devices, &notification, now)? {
                self.core.push_soon(now).await;
            }
            self.core.copy_soon().await;
            let seq = store.last_seq();
            Ok((
                201,
                json!({"id": view.id, "user_id": user, "seq": seq, "live_devices": live_devices}),
            ))
        })
        .await;
        if key.is_some() {
            self.core.trim_later(now).await;
        }
        answer
    }

    /// A page from D1 with the unread count, and the `last_seq` the page is complete up to
    /// (SPEC §12: resume from it misses nothing and repeats nothing).
    async fn list(&self, req: &Request) -> Result<Response, ApiError> {
        let query = http::query(req);
        let unread = matches!(query.get("unread"), Some("true" | "1"));
        let limit = match query.get("limit") {
            None => 50,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=200).contains(l))
                .ok_or_else(|| ApiError::BadRequest("limit must be 1-200".into()))?,
        };
        let (sql, user) = (self.core.sql(), self.core.stream_id());
        let upto = outbox::watermark(&sql);
        let page = history::Notifications {
            user: &user,
            unread_only: unread,
            limit,
            upto,
        };
        let notifications = page.read(&self.core.env).await?;
        let count = self.store(&sql, &user).unread_count();
        let body = json!({"notifications": notifications, "unread_count": count, "last_seq": upto});
        reply(200, &body).map_err(ApiError::from)
    }
}
