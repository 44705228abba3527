//! `UserInbox`: one per user. Holds that user's notification sockets, the notification log
//! and read state in SQLite, and answers "how many devices are live" at publish time.
//! A few instances under reserved names serve instead as the key ledger of
//! `POST /api/notifications` (`platform::notify`).
//!
//! Nothing lives only in memory: whose inbox this is comes from SQLite (`event_log::stream_id`)
//! on every request and frame, since a hibernated object is rebuilt from storage and sockets.

use serde::Deserialize;
use serde_json::json;
use worker::*;

use crate::domain::config::Settings;
use crate::domain::errors::{json_error, ApiError, Close};
use crate::domain::inbox::{self, Fanout, InboxChange, InboxStore, NotificationIn};
use crate::domain::protocol::{ClientFrame, Established, ServerFrame};
use crate::domain::replica;
use crate::domain::room::StoreError;
use crate::domain::stream::{self, EventLog};
use crate::platform::gateway::notify::{self, LEDGER_PATH, NOTIFY_PATH};
use crate::platform::http::{error, json as reply};
use crate::platform::internal::{self, IDEMPOTENCY};
use crate::platform::object::event_log::{self, SqlLog};
use crate::platform::object::hub as live;
use crate::platform::object::idempotency;
use crate::platform::object::outbox::{self, Drained};
use crate::platform::object::socket::{self, Connect};
use crate::platform::object::transaction::atomically;
use crate::platform::runtime::now_ms;
use crate::platform::{config, runtime::new_id};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS notifications (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, read INTEGER NOT NULL DEFAULT 0)";

#[durable_object]
pub struct UserInbox {
    state: State,
    env: Env,
    settings: Settings,
    hub: live::Hub,
}

struct SqliteInbox<'a> {
    storage: Storage,
    sql: &'a SqlStorage,
    user: &'a str,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}
#[derive(Deserialize)]
struct ReadRow {
    read: i64,
}

impl EventLog for SqliteInbox<'_> {
    fn last_seq(&self) -> u64 {
        SqlLog(self.sql).last_seq()
    }
    fn first_seq(&self) -> u64 {
        SqlLog(self.sql).first_seq()
    }
    fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
        SqlLog(self.sql).events_after(since, limit)
    }
}

impl InboxStore for SqliteInbox<'_> {
    fn unread_ids(&self) -> Vec<String> {
        let c = self.sql.exec(
            "SELECT id FROM notifications WHERE read = 0 ORDER BY seq",
            None,
        );
        c.and_then(|c| c.to_array::<IdRow>())
            .map(|r| r.into_iter().map(|r| r.id).collect())
            .unwrap_or_default()
    }
    fn read_state(&self, id: &str) -> Option<bool> {
        let c = self.sql.exec(
            "SELECT read FROM notifications WHERE id = ?",
            Some(vec![id.into()]),
        );
        c.and_then(|c| c.to_array::<ReadRow>())
            .ok()?
            .first()
            .map(|r| r.read != 0)
    }
    fn commit(&mut self, seq: u64, frame: &str, change: &InboxChange) -> Result<(), StoreError> {
        atomically(&self.storage, || self.apply(seq, frame, change)).map_err(|e| {
            console_error!("inbox commit failed: {e}");
            StoreError
        })
    }
}

impl SqliteInbox<'_> {
    fn apply(&self, seq: u64, frame: &str, change: &InboxChange) -> Result<()> {
        SqlLog(self.sql).append(seq, frame)?;
        let rows = match change {
            InboxChange::Notify(n) => {
                let args = vec![n.id.as_str().into(), (seq as i64).into()];
                self.sql.exec(
                    "INSERT INTO notifications (id, seq) VALUES (?, ?)",
                    Some(args),
                )?;
                vec![replica::notification(self.user, seq, n)]
            }
            InboxChange::Read(ids) => {
                for id in ids {
                    self.sql.exec(
                        "UPDATE notifications SET read = 1 WHERE id = ?",
                        Some(vec![id.as_str().into()]),
                    )?;
                }
                replica::notifications_read(self.user, ids)
            }
        };
        outbox::enqueue(self.sql, &rows)
    }
}

impl DurableObject for UserInbox {
    fn new(state: State, env: Env) -> Self {
        let (state, hub) = live::Hub::new(state);
        socket::set_auto_pong(&state);
        let sql = state.storage().sql();
        if let Err(e) = event_log::create(
            &sql,
            &[
                event_log::SCHEMA,
                SCHEMA,
                outbox::SCHEMA,
                idempotency::SCHEMA,
            ],
        ) {
            console_error!("inbox schema: {e}");
        }
        UserInbox {
            settings: config::settings(&env),
            state,
            env,
            hub,
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        if req.path() == LEDGER_PATH {
            let key = req.headers().get(IDEMPOTENCY)?;
            let body = req.text().await?;
            let answer = notify::ledger(&sql, &self.env, &body, key.as_deref(), now_ms()).await;
            return answer.or_else(|e| error(&e));
        }
        let user = event_log::stream_id(&sql, req.headers().get(internal::STREAM)?.as_deref())?;
        let result = match (req.method(), req.path().as_str()) {
            (_, internal::SOCKET_PATH) => match Connect::from_request(&req)? {
                Some(conn) => return self.open_socket(&user, conn),
                None => Err(ApiError::NotFound("no such endpoint".into())),
            },
            (Method::Post, NOTIFY_PATH) => {
                let key = req.headers().get(IDEMPOTENCY)?;
                let print = req.headers().get(internal::FINGERPRINT)?;
                let body = req.text().await?;
                let print = print.unwrap_or_else(|| idempotency::fingerprint(&body));
                self.publish(&user, &body, key.as_deref(), &print).await
            }
            (Method::Get, "/notifications") => self.list(&user, &req).await,
            _ => Err(ApiError::NotFound("no such endpoint".into())),
        };
        result.or_else(|e| error(&e))
    }

    async fn websocket_message(&self, ws: WebSocket, msg: WebSocketIncomingMessage) -> Result<()> {
        let Some((_att, incoming)) = socket::screen(&ws, msg, &self.settings, now_ms()) else {
            return Ok(());
        };
        let sql = self.state.storage().sql();
        let ids = match incoming.frame {
            ClientFrame::Resume { since } => {
                socket::send_texts(
                    &ws,
                    stream::resume(&SqlLog(&sql), since, self.settings.resume_limit),
                );
                return Ok(());
            }
            ClientFrame::MarkRead { notification_id } => Some(vec![notification_id]),
            ClientFrame::MarkAllRead {} => None,
            _ => {
                socket::not_here(&ws, incoming);
                return Ok(());
            }
        };
        let user = event_log::stream_id(&sql, None)?;
        let mut store = SqliteInbox {
            storage: self.state.storage(),
            sql: &sql,
            user: &user,
        };
        match inbox::mark_read(&mut store, ids) {
            Ok((seq, fanout)) => {
                socket::send(
                    &ws,
                    &ServerFrame::Ack {
                        request_id: incoming.request_id,
                        message_id: None,
                        seq,
                    },
                );
                self.fan_out(&fanout);
                if seq.is_some() {
                    outbox::wake_by(&self.state, now_ms() + outbox::COALESCE_MS).await?;
                }
            }
            Err(e) => socket::send_error(&ws, e, incoming.request_id),
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        code: usize,
        _reason: String,
        _clean: bool,
    ) -> Result<()> {
        socket::answer_close(&ws, code);
        Ok(())
    }

    async fn websocket_error(&self, _ws: WebSocket, _error: Error) -> Result<()> {
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        let now = now_ms();
        if let Drained::Again(at) =
            outbox::drain(&self.state.storage().sql(), &self.env, now).await?
        {
            outbox::wake_by(&self.state, at).await?;
        }
        Response::ok("")
    }
}

impl UserInbox {
    fn open_socket(&self, user: &str, conn: Connect) -> Result<Response> {
        if self.state.get_websockets_with_tag(&conn.who.user_id).len()
            >= self.settings.max_sockets_per_user
        {
            return conn.refuse(Close::TooManySockets);
        }
        let sql = self.state.storage().sql();
        let store = SqliteInbox {
            storage: self.state.storage(),
            sql: &sql,
            user,
        };
        let (ws, _, resp) = socket::accept(&self.state, &conn, &self.settings, now_ms())?;
        let established = Established {
            user_id: conn.who.user_id.clone(),
            user_name: conn.who.display_name().to_string(),
            last_seq: store.last_seq(),
            unread_count: Some(store.unread_ids().len() as u64),
            ..Default::default()
        };
        let replay = conn
            .since
            .map(|since| stream::resume(&store, since, self.settings.resume_limit));
        socket::greet(&ws, established, replay);
        Ok(resp)
    }

    /// Sends each frame to every device of the user. Returns how many devices took the
    /// first frame (the event itself): like an org's `delivered`, `live_devices` counts
    /// sockets the event was handed to, not sockets merely accepted (one may be closing).
    fn fan_out(&self, frames: &Fanout) -> usize {
        let mut delivered = None;
        for frame in frames {
            let sent = self.hub.broadcast(frame, None);
            delivered.get_or_insert(sent);
        }
        delivered.unwrap_or(0)
    }

    async fn publish(
        &self,
        user: &str,
        body: &str,
        key: Option<&str>,
        print: &str,
    ) -> Result<Response, ApiError> {
        let now = now_ms();
        let sql = self.state.storage().sql();
        idempotency::once(&sql, key, print, now, || async {
            let n: NotificationIn =
                serde_json::from_str(body).map_err(|e| ApiError::Unprocessable(json_error(&e)))?;
            let mut store = SqliteInbox {
                storage: self.state.storage(),
                sql: &sql,
                user,
            };
            let (view, fanout) =
                inbox::publish(&mut store, n, new_id(), now).map_err(ApiError::from)?;
            let live_devices = self.fan_out(&fanout);
            outbox::wake_by(&self.state, now + outbox::COALESCE_MS)
                .await
                .map_err(|_| ApiError::Unavailable)?;
            let seq = store.last_seq();
            Ok((
                201,
                json!({"id": view.id, "user_id": user, "seq": seq, "live_devices": live_devices}),
            ))
        })
        .await
    }

    async fn list(&self, user: &str, req: &Request) -> Result<Response, ApiError> {
        let url = req.url().map_err(|_| ApiError::Internal)?;
        let q = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        let unread = q("unread").is_some_and(|v| v == "true" || v == "1");
        let limit = match q("limit") {
            None => 50,
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=200).contains(l))
                .ok_or_else(|| ApiError::BadRequest("limit must be 1-200".into()))?,
        };
        let notifications =
            crate::platform::room::history::notifications(&self.env, user, unread, limit).await?;
        let sql = self.state.storage().sql();
        let store = SqliteInbox {
            storage: self.state.storage(),
            sql: &sql,
            user,
        };
        let body = json!({"notifications": notifications, "unread_count": store.unread_ids().len(), "last_seq": store.last_seq()});
        reply(200, &body).map_err(|_| ApiError::Internal)
    }
}
