//! `OrgHub`: one per organization, plus `_online` for app-wide presence. The shell over the
//! org state machine (`domain::org`): it admits members' sockets (the token's `orgs` claim
//! or API membership), publishes events through its store (`store.rs`), keeps presence, and
//! closes the sockets a membership removal no longer admits.

mod online;
pub mod store;

use serde_json::json;
use worker::*;

use crate::domain::errors::{json_error, ApiError};
use crate::domain::org::{self, EventIn, OrgStore};
use crate::domain::protocol::{ClientFrame, Established};
use crate::domain::stream::EventLog;
use crate::domain::time::iso;
use crate::platform::http::{error, json as reply};
use crate::platform::internal::{self, IDEMPOTENCY};
use crate::platform::object::core::{Core, Retention};
use crate::platform::object::hub as live;
use crate::platform::object::idempotency;
use crate::platform::object::socket::{self, Connect};
use crate::platform::runtime::{new_id, now_ms};
use store::{SqliteOrg, SCHEMA};

#[durable_object]
pub struct OrgHub {
    core: Core,
}

impl DurableObject for OrgHub {
    fn new(state: State, env: Env) -> Self {
        OrgHub {
            core: Core::new(state, env, &SCHEMA, true),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        self.core.begin(&req).await?;
        let path = req.path();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let result = match (req.method(), segs.as_slice()) {
            (_, ["socket"]) => match Connect::from_request(&req)? {
                Some(conn) => return self.open_socket(conn).await,
                None => Err(ApiError::NotFound("no such endpoint".into())),
            },
            (Method::Post, ["events"]) => {
                let key = req.headers().get(IDEMPOTENCY)?;
                let body = req.text().await?;
                self.publish(&body, key.as_deref()).await
            }
            (Method::Put, ["members", user]) => self.set_member(user, true).await,
            (Method::Delete, ["members", user]) => self.set_member(user, false).await,
            (Method::Get, ["presence"]) => {
                let users = live::list(&self.core.state, &self.core.hub, &self.core.sql());
                reply(200, &json!({ "users": users })).map_err(ApiError::from)
            }
            _ => Err(ApiError::NotFound("no such endpoint".into())),
        };
        let mut resp = result.or_else(|e| error(&e))?;
        resp.headers_mut()
            .set(internal::INSTANCE, &self.core.instance)?;
        Ok(resp)
    }

    async fn websocket_message(&self, ws: WebSocket, msg: WebSocketIncomingMessage) -> Result<()> {
        let Some((mut att, incoming, _)) = socket::screen(&ws, msg, &self.core.settings, now_ms())
        else {
            return Ok(());
        };
        match incoming.frame {
            ClientFrame::Resume { since } => {
                let (sql, org) = (self.core.sql(), self.core.stream_id());
                let window = self.core.settings.org_event_retention;
                let frames = self.core.replay(&self.store(&sql, &org), since, window);
                self.core.resume(&ws, &mut att, frames);
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
        self.core.closed(&ws, code).await?;
        self.report_closed(&ws).await;
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: Error) -> Result<()> {
        self.core.gone(&ws).await?;
        self.report_closed(&ws).await;
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        self.core.alarm(&Retention(idempotency::trim)).await
    }
}

impl OrgHub {
    fn store<'a>(&self, sql: &'a SqlStorage, org: &'a str) -> SqliteOrg<'a> {
        SqliteOrg {
            storage: self.core.storage(),
            sql,
            org_id: org,
            retention: self.core.settings.org_event_retention,
        }
    }

    async fn open_socket(&self, conn: Connect) -> Result<Response> {
        let (sql, org_id) = (self.core.sql(), self.core.stream_id());
        let claim = conn.who.orgs.contains(&org_id);
        let member = self.store(&sql, &org_id).is_member(&conn.who.user_id);
        if let Some(close) = self
            .core
            .refusal(&conn, org::may_join(&org_id, claim, member))
        {
            return conn.refuse(close);
        }
        let (ws, _, resp) = self.core.accept(&conn).await?;
        let store = self.store(&sql, &org_id);
        let online = live::list(&self.core.state, &self.core.hub, &sql)
            .into_iter()
            .map(|p| p.user_id)
            .collect();
        let established = Established {
            user_id: conn.who.user_id.clone(),
            user_name: conn.who.display_name().to_string(),
            last_seq: store.last_seq(),
            org_id: Some(org_id.clone()),
            online: Some(online),
            ..Default::default()
        };
        let window = self.core.settings.org_event_retention;
        let replay = conn
            .since
            .map(|since| self.core.replay(&store, since, window));
        self.core.greet(&ws, established, replay);
        self.report_opened(&conn.who.user_id).await;
        Ok(resp)
    }

    async fn publish(&self, body: &str, key: Option<&str>) -> Result<Response, ApiError> {
        let now = now_ms();
        self.core.ensure_written()?;
        let (sql, org_id) = (self.core.sql(), self.core.stream_id());
        let print = idempotency::fingerprint(body);
        let answer = idempotency::once(&sql, key, &print, now, || async {
            let input: EventIn =
                serde_json::from_str(body).map_err(|e| ApiError::Unprocessable(json_error(&e)))?;
            let mut store = self.store(&sql, &org_id);
            let event = org::publish(&mut store, input, new_id(), now).map_err(ApiError::from)?;
            // Sockets the event was handed to (as the inbox's `live_devices`).
            let delivered = self.core.hub.broadcast(&event.frame, None);
            self.core.copy_soon().await;
            let body = json!({"id": event.id, "seq": event.seq, "delivered": delivered});
            Ok((201, body))
        })
        .await;
        if key.is_some() {
            self.core.trim_later(now).await;
        }
        answer
    }

    /// Adds or removes an API member. A removal closes at once every socket of that user
    /// that the access rule no longer admits (4003); an org that never had the member
    /// writes nothing.
    async fn set_member(&self, user: &str, member: bool) -> Result<Response, ApiError> {
        let (sql, org_id) = (self.core.sql(), self.core.stream_id());
        let mut store = self.store(&sql, &org_id);
        let at = iso(now_ms());
        let changed = if member || store.is_member(user) {
            self.core.ensure_written()?;
            store
                .set_member(user, member.then_some(at.as_str()))
                .map_err(|_| ApiError::Unavailable)?
        } else {
            false
        };
        if changed {
            self.core.copy_soon().await;
        }
        if !member {
            self.core
                .revoke(user, |att| org::stays_after_removal(&org_id, att.claim));
        }
        let status = if member && changed { 201 } else { 200 };
        let body = json!({"org_id": org_id, "user_id": user, "member": member});
        reply(status, &body).map_err(ApiError::from)
    }
}
