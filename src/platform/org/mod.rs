//! `OrgHub`: one per organization, plus `_online` for app-wide presence. Holds members'
//! sockets, API membership, presence and a bounded event log.

use serde::Deserialize;
use serde_json::json;
use worker::*;

use crate::domain::config::Settings;
use crate::domain::errors::{json_error, ApiError, Close};
use crate::domain::org::{self, EventIn};
use crate::domain::protocol::{ClientFrame, Established};
use crate::domain::replica;
use crate::domain::stream::{self, EventLog};
use crate::domain::time::iso;
use crate::platform::http::{error, json as reply};
use crate::platform::internal::{self, IDEMPOTENCY};
use crate::platform::object::event_log::{self, SqlLog};
use crate::platform::object::hub as live;
use crate::platform::object::idempotency;
use crate::platform::object::outbox::{self, Drained};
use crate::platform::object::socket::{self, Attachment, Connect};
use crate::platform::object::transaction::atomically;
use crate::platform::runtime::now_ms;
use crate::platform::{config, runtime::new_id};

const SCHEMA: &str =
    "CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY, added_at TEXT NOT NULL)";

#[durable_object]
pub struct OrgHub {
    state: State,
    env: Env,
    settings: Settings,
    hub: live::Hub,
}

impl DurableObject for OrgHub {
    fn new(state: State, env: Env) -> Self {
        let (state, hub) = live::Hub::new(state);
        socket::set_auto_pong(&state);
        let sql = state.storage().sql();
        let schemas = [
            event_log::SCHEMA,
            SCHEMA,
            outbox::SCHEMA,
            idempotency::SCHEMA,
            live::SCHEMA,
        ];
        if let Err(e) = event_log::create(&sql, &schemas) {
            console_error!("org schema: {e}");
        }
        OrgHub {
            settings: config::settings(&env),
            state,
            env,
            hub,
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        let org = event_log::stream_id(&sql, req.headers().get(internal::STREAM)?.as_deref())?;
        let path = req.path();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let result = match (req.method(), segs.as_slice()) {
            (_, ["socket"]) => match Connect::from_request(&req)? {
                Some(conn) => return self.open_socket(&org, conn),
                None => Err(ApiError::NotFound("no such endpoint".into())),
            },
            (Method::Post, ["events"]) => {
                let key = req.headers().get(IDEMPOTENCY)?;
                let body = req.text().await?;
                self.publish(&org, &body, key.as_deref()).await
            }
            (Method::Put, ["members", user]) => self.set_member(&org, user, true).await,
            (Method::Delete, ["members", user]) => self.set_member(&org, user, false).await,
            (Method::Get, ["presence"]) => reply(
                200,
                &json!({"users": live::list(&self.state, &self.hub, &sql)}),
            )
            .map_err(|_| ApiError::Internal),
            _ => Err(ApiError::NotFound("no such endpoint".into())),
        };
        result.or_else(|e| error(&e))
    }

    async fn websocket_message(&self, ws: WebSocket, msg: WebSocketIncomingMessage) -> Result<()> {
        let Some((_att, incoming)) = socket::screen(&ws, msg, &self.settings, now_ms()) else {
            return Ok(());
        };
        match incoming.frame {
            ClientFrame::Resume { since } => {
                let sql = self.state.storage().sql();
                socket::send_texts(
                    &ws,
                    stream::resume(&SqlLog(&sql), since, self.settings.org_event_retention),
                );
            }
            _ => socket::not_here(&ws, incoming),
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
        live::gone(
            &self.state,
            &self.hub,
            &self.state.storage().sql(),
            &ws,
            &self.settings,
            now_ms(),
        )
        .await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: Error) -> Result<()> {
        live::gone(
            &self.state,
            &self.hub,
            &self.state.storage().sql(),
            &ws,
            &self.settings,
            now_ms(),
        )
        .await
    }

    async fn alarm(&self) -> Result<Response> {
        let now = now_ms();
        let sql = self.state.storage().sql();
        let next_grace = live::expire(&self.state, &self.hub, &sql, now);
        if let Drained::Again(at) = outbox::drain(&sql, &self.env, now).await? {
            outbox::wake_by(&self.state, at).await?;
        }
        if let Some(deadline) = next_grace {
            outbox::wake_by(&self.state, deadline).await?;
        }
        Response::ok("")
    }
}

#[derive(Deserialize)]
struct UserRow {
    #[allow(dead_code)]
    user_id: String,
}

impl OrgHub {
    fn is_member(&self, sql: &SqlStorage, user: &str) -> bool {
        sql.exec(
            "SELECT user_id FROM members WHERE user_id = ?",
            Some(vec![user.into()]),
        )
        .and_then(|c| c.to_array::<UserRow>())
        .is_ok_and(|rows| !rows.is_empty())
    }

    fn open_socket(&self, org_id: &str, conn: Connect) -> Result<Response> {
        let sql = self.state.storage().sql();
        let user = conn.who.user_id.clone();
        let claim = conn.who.orgs.iter().any(|o| o == org_id);
        if !org::may_join(org_id, claim, self.is_member(&sql, &user)) {
            return conn.refuse(Close::Forbidden);
        }
        let others = self.state.get_websockets_with_tag(&user).len();
        if others >= self.settings.max_sockets_per_user {
            return conn.refuse(Close::TooManySockets);
        }
        let now = now_ms();
        let (ws, att, resp) = socket::accept(&self.state, &conn, &self.settings, now)?;
        live::opened(&self.hub, &sql, (&ws, &att), others, now)?;
        let log = SqlLog(&sql);
        let established = Established {
            user_id: user,
            user_name: conn.who.display_name().to_string(),
            last_seq: log.last_seq(),
            org_id: Some(org_id.to_string()),
            online: Some(
                live::list(&self.state, &self.hub, &sql)
                    .into_iter()
                    .map(|p| p.user_id)
                    .collect(),
            ),
            ..Default::default()
        };
        let replay = conn
            .since
            .map(|since| stream::resume(&log, since, self.settings.org_event_retention));
        socket::greet(&ws, established, replay);
        Ok(resp)
    }

    async fn publish(
        &self,
        org_id: &str,
        body: &str,
        key: Option<&str>,
    ) -> Result<Response, ApiError> {
        let now = now_ms();
        let sql = self.state.storage().sql();
        let print = idempotency::fingerprint(body);
        idempotency::once(&sql, key, &print, now, || async {
            let input: EventIn =
                serde_json::from_str(body).map_err(|e| ApiError::Unprocessable(json_error(&e)))?;
            let log = SqlLog(&sql);
            let (seq, id) = (log.last_seq() + 1, new_id());
            let row =
                replica::org_event(org_id, seq, &id, &input.event_type, &input.data, &iso(now));
            let frame = org::event_frame(input, id.clone(), seq, now).map_err(ApiError::from)?;
            atomically(&self.state.storage(), || {
                log.append(seq, &frame)?;
                log.trim(self.settings.org_event_retention)?;
                outbox::enqueue(&sql, &[row])
            })
            .map_err(|_| ApiError::Unavailable)?;
            // Sockets the event was handed to (as the inbox's `live_devices`).
            let delivered = self.hub.broadcast(&frame, None);
            outbox::wake_by(&self.state, now + outbox::COALESCE_MS)
                .await
                .map_err(|_| ApiError::Unavailable)?;
            Ok((201, json!({"id": id, "seq": seq, "delivered": delivered})))
        })
        .await
    }

    async fn set_member(
        &self,
        org_id: &str,
        user: &str,
        member: bool,
    ) -> Result<Response, ApiError> {
        let sql = self.state.storage().sql();
        let at = iso(now_ms());
        let cursor = if member {
            sql.exec(
                "INSERT OR IGNORE INTO members (user_id, added_at) VALUES (?, ?)",
                Some(vec![user.into(), at.as_str().into()]),
            )
        } else {
            sql.exec(
                "DELETE FROM members WHERE user_id = ?",
                Some(vec![user.into()]),
            )
        }
        .map_err(|_| ApiError::Unavailable)?;
        let changed = cursor.rows_written() > 0;
        if changed {
            let row = replica::org_member(org_id, user, member.then_some(at.as_str()));
            outbox::enqueue(&sql, &[row]).map_err(|_| ApiError::Unavailable)?;
            outbox::wake_by(&self.state, now_ms())
                .await
                .map_err(|_| ApiError::Unavailable)?;
        }
        if !member {
            // Only sockets the access rule no longer admits close: the token's claim still
            // admits its own, and `_online` admits everyone.
            for ws in self.state.get_websockets_with_tag(user) {
                let claim = ws
                    .deserialize_attachment::<Attachment>()
                    .ok()
                    .flatten()
                    .is_some_and(|a| a.claim);
                if !org::may_join(org_id, claim, false) {
                    socket::close(&ws, Close::Forbidden);
                }
            }
        }
        let status = if member && changed { 201 } else { 200 };
        reply(
            status,
            &json!({"org_id": org_id, "user_id": user, "member": member}),
        )
        .map_err(|_| ApiError::Internal)
    }
}
