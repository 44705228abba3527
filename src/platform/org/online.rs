//! The `_online` hub's part in `user.online` / `user.offline` (SPEC §10): on every open and
//! close of a `/ws/online/` socket it reports the user's socket count here to the user's
//! inbox, which owns app-wide presence (`inbox/online.rs`). Only while those events are
//! wanted; a failed report is logged (the next open or close reports the count again).

use worker::{console_error, WebSocket};

use super::OrgHub;
use crate::domain::ids::{Id, StreamKey, ONLINE_ORG};
use crate::domain::webhook::{Kind, OnlineReport, ONLINE_REPORT_PATH};
use crate::platform::internal;
use crate::platform::object::socket::Attachment;
use crate::platform::runtime::now_ms;

impl OrgHub {
    /// After a socket of `user` opened here.
    pub(super) async fn report_opened(&self, user: &str) {
        self.report(user, None).await;
    }

    /// After `ws` closed or failed.
    pub(super) async fn report_closed(&self, ws: &WebSocket) {
        if let Some(att) = Attachment::of(ws) {
            self.report(&att.who.user_id, Some(att.sid)).await;
        }
    }

    async fn report(&self, user: &str, closing: Option<u64>) {
        let hooks = &self.core.settings.webhooks;
        if !hooks.wants_any(&[Kind::UserOnline, Kind::UserOffline])
            || self.core.stream_id() != ONLINE_ORG
        {
            return;
        }
        let Ok(id) = Id::parse(user) else { return };
        let devices = self
            .core
            .state
            .get_websockets_with_tag(user)
            .iter()
            .filter_map(Attachment::of)
            .filter(|a| Some(a.sid) != closing)
            .count() as u32;
        let report = OnlineReport {
            devices,
            at: now_ms(),
        };
        let stream = StreamKey::User(id);
        let sent = internal::post(&self.core.env, &stream, ONLINE_REPORT_PATH, &report).await;
        if let Err(e) = sent {
            console_error!("app-wide presence not reported to the inbox: {e}");
        }
    }
}
