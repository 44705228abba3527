//! The room's server commands (members, messages, history, presence), reached only
//! through the Worker's `/api` handler, which has already checked the caller.

use serde_json::{json, Value};
use worker::*;

use super::ConversationRoom;
use crate::domain::decode::MessagePost;
use crate::domain::errors::ApiError;
use crate::domain::identity::Identity;
use crate::domain::ids::{dm_members, Id};
use crate::domain::protocol::{MessageView, Sender};
use crate::domain::room::{self, Actor};
use crate::domain::time::iso;
use crate::platform::http::{self, error, json as reply};
use crate::platform::internal::{IDEMPOTENCY, USER};
use crate::platform::object::{idempotency, outbox};
use crate::platform::runtime::{new_id, now_ms};

impl ConversationRoom {
    pub(super) async fn command(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let result = match (req.method(), segs.as_slice()) {
            (Method::Put, ["members", user]) => self.put_member(user).await,
            (Method::Delete, ["members", user]) => self.delete_member(user).await,
            (Method::Get, ["members"]) => Ok(reply(
                200,
                &json!({"conversation_id": self.conversation_id(), "members": self.members()}),
            )?),
            (Method::Get, ["presence"]) => Ok(reply(200, &json!({"users": self.presence()}))?),
            (Method::Post, ["messages"]) => {
                let key = req.headers().get(IDEMPOTENCY)?;
                let body = req.text().await?;
                self.post_message(&body, key.as_deref()).await
            }
            (Method::Get, ["messages"]) => self.history(&req).await,
            _ => Err(ApiError::NotFound("no such endpoint".into())),
        };
        match result {
            Ok(resp) => Ok(resp),
            Err(e) => error(&e),
        }
    }

    fn members(&self) -> Vec<String> {
        match Id::parse(&self.conversation_id())
            .ok()
            .and_then(|id| dm_members(&id))
        {
            Some((a, b)) => vec![a, b],
            None => self.store().members(),
        }
    }

    fn fixed_members(&self) -> Result<(), ApiError> {
        match Id::parse(&self.conversation_id())
            .ok()
            .and_then(|id| dm_members(&id))
        {
            Some(_) => Err(ApiError::Conflict(
                "a direct conversation has exactly its two users as members".into(),
            )),
            None => Ok(()),
        }
    }

    async fn put_member(&self, user: &str) -> Result<Response, ApiError> {
        self.fixed_members()?;
        self.core.ensure_written()?;
        let added = self.store().add_member(user, &iso(now_ms()))?;
        if added {
            self.core.copy_soon().await;
        }
        let body =
            json!({"conversation_id": self.conversation_id(), "user_id": user, "member": true});
        reply(if added { 201 } else { 200 }, &body).map_err(ApiError::from)
    }

    /// Removes a member and closes their sockets here at once (4003). A conversation that
    /// has no such member writes nothing.
    async fn delete_member(&self, user: &str) -> Result<Response, ApiError> {
        self.fixed_members()?;
        let store = self.store();
        let removed = store.is_member(user) && store.remove_member(user)?;
        if removed {
            self.core.copy_soon().await;
        }
        self.core.revoke(user, |_| false);
        self.remove_session(user).await;
        let body = json!({"conversation_id": self.conversation_id(), "user_id": user, "member": false, "removed": removed});
        reply(200, &body).map_err(ApiError::from)
    }

    async fn post_message(&self, body: &str, key: Option<&str>) -> Result<Response, ApiError> {
        let now = now_ms();
        let sql = self.core.sql();
        let print = idempotency::fingerprint(body);
        if key.is_some() {
            self.core.ensure_written()?;
        }
        let answer = idempotency::once(&sql, key, &print, now, || async move {
            let parsed = MessagePost::parse(body)?;
            let sender_id = Id::parse(&parsed.sender_id)
                .map_err(|e| ApiError::Unprocessable(format!("sender.id: {e}")))?;
            if !self.may_join(sender_id.as_str()) {
                return Err(ApiError::Forbidden(
                    "the sender is not a member of this conversation".into(),
                ));
            }
            self.core.ensure_written()?;
            let who = Identity::new(sender_id.to_string(), parsed.profile, vec![], i64::MAX);
            let conv = self.conversation_id();
            let actor = Actor {
                who: &who,
                now_ms: now,
                settings: &self.core.settings,
                conversation_id: &conv,
            };
            let mut store = self.store();
            let (outcome, view) = room::post_message(&mut store, &actor, parsed.message, new_id)
                .map_err(ApiError::from)?;
            let view = match view {
                Some(v) => v,
                None => self.stored_view(&store, &outcome)?,
            };
            if let Some(b) = &outcome.broadcast {
                self.core.hub.broadcast_event(&b.text, b.seq);
                self.core.copy_soon().await;
                self.relay().await;
            }
            Ok((201, json!({"message": view})))
        })
        .await;
        if key.is_some() {
            self.core.trim_later(now).await;
        }
        answer
    }

    /// The earlier message a `client_msg_id` retry points at.
    fn stored_view(
        &self,
        store: &crate::platform::room::store::SqliteRoom,
        outcome: &room::Outcome,
    ) -> Result<MessageView, ApiError> {
        let seq = outcome.reply.iter().find_map(|f| match f {
            crate::domain::protocol::ServerFrame::Ack { seq, .. } => *seq,
            _ => None,
        });
        let frame = seq
            .and_then(|s| store.frame_at(s))
            .ok_or(ApiError::Internal)?;
        let v: Value = serde_json::from_str(&frame).map_err(|_| ApiError::Internal)?;
        serde_json::from_value(v["message"].clone()).map_err(|_| ApiError::Internal)
    }

    async fn history(&self, req: &Request) -> Result<Response, ApiError> {
        let query = http::query(req);
        if let Some(user) = req.headers().get(USER).ok().flatten() {
            if !self.may_join(&user) {
                return Err(ApiError::Forbidden(
                    "not a member of this conversation".into(),
                ));
            }
        }
        let num = |k: &str| -> Result<Option<i64>, ApiError> {
            query
                .get(k)
                .map(|v| {
                    v.parse::<i64>()
                        .map_err(|_| ApiError::BadRequest(format!("{k} must be a whole number")))
                })
                .transpose()
        };
        let limit = num("limit")?.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::BadRequest("limit must be 1-200".into()));
        }
        let (before, after) = (num("before_seq")?, num("after_seq")?);
        // The page and its last_seq come from the same point of D1's copy (SPEC §12): events
        // up to the watermark are in D1, later ones reach the client by `?since=last_seq`.
        let upto = outbox::watermark(&self.core.sql());
        let conv = self.conversation_id();
        let cursors = super::history::Cursors {
            before,
            after,
            upto,
        };
        let page = super::history::page(&self.core.env, &conv, cursors, limit).await?;
        let body = json!({"messages": page.messages, "last_seq": upto, "has_more": page.has_more});
        reply(200, &body).map_err(ApiError::from)
    }
}

/// Sender shape from a D1 row's JSON column.
pub fn sender_from_json(text: &str, fallback_id: &str) -> Sender {
    serde_json::from_str(text).unwrap_or(Sender {
        id: fallback_id.into(),
        username: None,
        name: None,
        email: None,
        first_name: None,
        last_name: None,
        avatar: None,
    })
}
