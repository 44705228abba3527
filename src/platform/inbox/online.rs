//! `user.online` / `user.offline` (SPEC §10): the user's app-wide presence lives in the
//! user's inbox, which counts the user's session sockets (its own) plus the sockets on
//! `/ws/online/` (which the `_online` org hub reports here on every open and close), and runs
//! its own grace window (`PRESENCE_GRACE_MS`) before `user.offline`: a page reload, whose new
//! socket opens within the grace, sends neither event. State in `counters`: `online_devices`
//! and `online_report_at` (the hub's last report), `app_online`, `offline_at` (the deadline).

use serde_json::json;
use worker::{console_error, Result, SqlStorage};

use super::UserInbox;
use crate::domain::webhook::{app_presence, AppPresence, Kind, OnlineReport};
use crate::platform::object::core::NextRun;
use crate::platform::object::outbox::counter;
use crate::platform::object::socket;
use crate::platform::object::transaction::atomically;
use crate::platform::object::webhooks;
use crate::platform::runtime::now_ms;

const KINDS: [Kind; 2] = [Kind::UserOnline, Kind::UserOffline];

fn set(sql: &SqlStorage, k: &str, n: i64) -> Result<()> {
    sql.exec(
        "INSERT INTO counters (k, n) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET n = excluded.n",
        Some(vec![k.into(), n.into()]),
    )?;
    Ok(())
}

impl UserInbox {
    /// The `_online` hub's report; an older report than the last one is ignored.
    pub(super) async fn online_report(&self, report: OnlineReport) -> Result<()> {
        self.core.ensure_written()?;
        let sql = self.core.sql();
        if report.at < counter(&sql, "online_report_at") {
            return Ok(());
        }
        set(&sql, "online_devices", i64::from(report.devices))?;
        set(&sql, "online_report_at", report.at)?;
        self.app_presence(None).await;
        Ok(())
    }

    /// After a change in the user's devices (`closing`: a session socket now closing).
    pub(super) async fn app_presence(&self, closing: Option<u64>) {
        if !self.core.settings.webhooks.wants_any(&KINDS) {
            return;
        }
        match self.app_step(closing, now_ms()) {
            Ok(Some(deadline)) => self.core.webhooks_at(deadline).await,
            Ok(None) => {}
            Err(e) => console_error!("app-wide presence not stored: {e}"),
        }
    }

    /// Applies the step (state and event in one transaction); returns a deadline to time.
    fn app_step(&self, closing: Option<u64>, now: i64) -> Result<Option<i64>> {
        let sql = self.core.sql();
        let sessions = socket::sockets(&self.core.state)
            .iter()
            .filter(|(_, a)| a.session && Some(a.sid) != closing)
            .count();
        let devices = sessions + counter(&sql, "online_devices").max(0) as usize;
        let online = counter(&sql, "app_online") == 1;
        let deadline = Some(counter(&sql, "offline_at")).filter(|d| *d > 0);
        let grace = self.core.settings.presence_grace_ms;
        let step = app_presence(devices, online, deadline, now, grace);
        let hooks = &self.core.settings.webhooks;
        let data = json!({"user_id": self.core.stream_id()});
        self.core.ensure_written()?;
        atomically(&self.core.storage(), || match step {
            AppPresence::Online => {
                set(&sql, "app_online", 1)?;
                webhooks::record(&sql, hooks, Kind::UserOnline, data, now)?;
                Ok(Some(now))
            }
            AppPresence::StartGrace(at) => set(&sql, "offline_at", at).map(|_| Some(at)),
            AppPresence::CancelGrace => set(&sql, "offline_at", 0).map(|_| None),
            AppPresence::Offline => {
                set(&sql, "app_online", 0)?;
                set(&sql, "offline_at", 0)?;
                webhooks::record(&sql, hooks, Kind::UserOffline, data, now)?;
                Ok(Some(now))
            }
            AppPresence::Nothing => Ok(deadline),
        })
    }

    /// Part of the webhooks timer: ends the grace window once its deadline passed.
    pub(super) fn app_presence_due(&self, now: i64) -> NextRun {
        if !self.core.settings.webhooks.wants_any(&KINDS) {
            return Ok(None);
        }
        self.app_step(None, now)
    }
}
