//! The shell every Durable Object is built on: storage and its schema, the stream the object
//! serves, the socket hub, the timer queue behind the alarm, and the socket life cycle that is
//! the same everywhere (admission, greeting, resume, close and error, token expiry). An object
//! adds only what is its own: its domain state machine and its store.

use std::cell::{Cell, RefCell};

use worker::{
    console_error, Env, Request, Response, Result, SqlStorage, State, Storage, WebSocket,
};

use super::hub::{self, Hub};
use super::outbox;
use super::schema::Schema;
use super::socket::{self, Attachment, Connect};
use super::timers::{self, Timer, Timers, RETRY_MS};
use super::webhooks;
use crate::domain::config::Settings;
use crate::domain::errors::Close;
use crate::domain::protocol::{Established, ServerFrame};
use crate::domain::stream::{self, EventLog};
use crate::platform::object::rows::{row, Rows};
use crate::platform::runtime::{now_ms, random_u64};
use crate::platform::{config, internal};

/// Resumed events one rate token pays for: a resume frame that replays 1000 events costs as
/// much as ten frames, so replays are paced by the same bucket as everything else.
pub const REPLAY_EVENTS_PER_TOKEN: f64 = 100.0;

/// What an object's own timer returns: when it wants to run again.
pub type NextRun = Result<Option<i64>>;

/// The timers whose work is an object's own; the core runs everything else.
#[allow(async_fn_in_trait)] // objects are single-threaded: no `Send` bound is wanted
pub trait Hooks {
    /// [`Timer::Trim`]: drop what is past its retention.
    fn trim(&self, sql: &SqlStorage, now: i64) -> NextRun;
    /// [`Timer::Sessions`]: leases and catch-up (objects with sessions).
    async fn sessions(&self, _now: i64) -> NextRun {
        Ok(None)
    }
    /// Part of [`Timer::Webhooks`], before delivery: an inbox ends its app-wide presence
    /// grace (which may store `user.offline`).
    fn webhook_events(&self, _now: i64) -> NextRun {
        Ok(None)
    }
    /// [`Timer::Push`]: send queued Web Pushes (inboxes).
    async fn push(&self, _now: i64) -> NextRun {
        Ok(None)
    }
}

/// Hooks of an object whose only own timer is a retention trim.
pub struct Retention(pub fn(&SqlStorage, i64) -> NextRun);

impl Hooks for Retention {
    fn trim(&self, sql: &SqlStorage, now: i64) -> NextRun {
        (self.0)(sql, now)
    }
}

pub struct Core {
    pub state: State,
    pub env: Env,
    pub settings: Settings,
    pub hub: Hub,
    pub timers: Timers,
    schema: &'static Schema,
    /// The stream id, as the Worker names it on each request or as stored.
    stream: RefCell<Option<String>>,
    /// Whether this instance already made sure the tables and the stream id are stored.
    written: Cell<bool>,
    /// Random per instance: a new value after a request means the object was evicted and
    /// started again (tests use it to prove hibernation really happened).
    pub instance: String,
    /// Whether sockets here count for presence (`user_status`, grace windows).
    presence: bool,
    /// Set until the first request of this instance has made sure the alarm covers what is
    /// waiting (queued outbox rows after an upgrade, grace windows, a timer a crash cut off).
    recovering: Cell<bool>,
}

row! {
    struct StreamRow {
        v: String,
    }
}

impl Core {
    pub fn new(state: State, env: Env, schema: &'static Schema, presence: bool) -> Core {
        let (state, hub) = Hub::new(state);
        socket::set_auto_pong(&state);
        if let Err(e) = schema.upgrade(&state.storage()) {
            console_error!("{} storage could not be upgraded: {e}", schema.name);
        }
        Core {
            recovering: Cell::new(true),
            settings: config::settings(&env),
            state,
            env,
            hub,
            timers: Timers::default(),
            schema,
            stream: RefCell::new(None),
            written: Cell::new(false),
            instance: format!("{:016x}", random_u64()),
            presence,
        }
    }

    pub fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    pub fn storage(&self) -> Storage {
        self.state.storage()
    }

    /// The start of every request: keeps the stream id the Worker names (in memory:
    /// nothing is written for a request that changes nothing), and schedules the drain of
    /// rows found waiting when the instance started.
    pub async fn begin(&self, req: &Request) -> Result<()> {
        if let Some(id) = req.headers().get(internal::STREAM)? {
            *self.stream.borrow_mut() = Some(id);
        }
        if self.recovering.replace(false) {
            self.recover().await;
        }
        Ok(())
    }

    /// Re-arms the alarm for every queued timer, and schedules the work whose timer may be
    /// missing: rows in the outbox (written before the timer queue existed, or behind a
    /// timer a crash took off the queue before it ran) and open grace windows.
    async fn recover(&self) {
        let sql = self.sql();
        if Schema::version(&sql) == 0 {
            return; // a fresh object: nothing waits
        }
        if let Some(at) = hub::grace(&sql).first().map(|g| g.deadline) {
            if let Err(e) = self.timers.schedule(&self.state, Timer::Grace, at).await {
                console_error!("grace timer not scheduled: {e}");
            }
        }
        if outbox::pending(&sql) {
            self.copy_soon().await;
        }
        if webhooks::pending(&sql) {
            self.webhooks_soon().await;
        }
        if let Err(e) = self.timers.rearm(&self.state).await {
            console_error!("alarm not re-armed: {e}");
        }
    }

    /// The stream this object serves ("" for an object that never stored one).
    pub fn stream_id(&self) -> String {
        if let Some(id) = self.stream.borrow().as_ref() {
            return id.clone();
        }
        let stored = self
            .sql()
            .rows::<StreamRow>("SELECT v FROM meta WHERE k = 'stream'", None)
            .ok()
            .and_then(|rows| rows.into_iter().next().map(|r| r.v));
        let id = stored.unwrap_or_default();
        if !id.is_empty() {
            *self.stream.borrow_mut() = Some(id.clone());
        }
        id
    }

    /// Call before any write: creates the tables of a fresh object and stores its stream id.
    pub fn ensure_written(&self) -> Result<()> {
        if self.written.get() {
            return Ok(());
        }
        self.schema.ensure(&self.storage())?;
        let id = self.stream_id();
        if !id.is_empty() {
            self.sql().exec(
                "INSERT OR IGNORE INTO meta (k, v) VALUES ('stream', ?)",
                Some(vec![id.into()]),
            )?;
        }
        self.written.set(true);
        Ok(())
    }

    /// Why a socket may not open here: no access, or its user is at the per-user cap.
    pub fn refusal(&self, conn: &Connect, allowed: bool) -> Option<Close> {
        if !allowed {
            return Some(Close::Forbidden);
        }
        let open = self.state.get_websockets_with_tag(&conn.who.user_id).len();
        (open >= self.settings.max_sockets_per_user).then_some(Close::TooManySockets)
    }

    /// Accepts a socket that passed [`Core::refusal`]: stores what must be stored, tells
    /// presence, and arms the token's expiry.
    pub async fn accept(&self, conn: &Connect) -> Result<(WebSocket, Attachment, Response)> {
        self.ensure_written()?;
        let user = &conn.who.user_id;
        let others = self.state.get_websockets_with_tag(user).len()
            + self.hub.session_devices(&self.sql(), user);
        let now = now_ms();
        let (ws, att, resp) = socket::accept(&self.state, conn, &self.settings, now)?;
        if self.presence {
            let window = (now, self.settings.presence_batch_ms);
            if let Some(at) = hub::opened(&self.hub, &self.sql(), (&ws, &att), others, window)? {
                self.timers
                    .schedule(&self.state, Timer::Presence, at)
                    .await?;
            }
        }
        self.timers
            .schedule(&self.state, Timer::Expiry, att.who.expires_at_ms())
            .await?;
        Ok((ws, att, resp))
    }

    /// The first frame, then the replay `?since=` asked for.
    pub fn greet(&self, ws: &WebSocket, established: Established, replay: Option<Vec<String>>) {
        socket::send(ws, &ServerFrame::ConnectionEstablished(established));
        socket::send_texts(ws, replay.unwrap_or_default());
    }

    /// A `resume` frame: the replay, paid for from the socket's rate bucket.
    pub fn resume(&self, ws: &WebSocket, att: &mut Attachment, frames: Vec<String>) {
        let cost = frames.len() as f64 / REPLAY_EVENTS_PER_TOKEN;
        att.bucket.charge(cost);
        let _ = att.store(ws);
        socket::send_texts(ws, frames);
    }

    /// The replay of `log` after `since` within `window` events (or the resync answer).
    pub fn replay(&self, log: &impl EventLog, since: u64, window: u64) -> Vec<String> {
        stream::resume(log, since, window)
    }

    /// The client closed: answer its close, then the socket is gone.
    pub async fn closed(&self, ws: &WebSocket, code: usize) -> Result<()> {
        socket::answer_close(ws, code);
        self.gone(ws).await
    }

    /// A socket closed or failed: its user's last socket starts the presence grace window.
    pub async fn gone(&self, ws: &WebSocket) -> Result<()> {
        if !self.presence {
            return Ok(());
        }
        let sql = self.sql();
        let deadline = hub::gone(&self.state, &self.hub, &sql, ws, &self.settings, now_ms())?;
        match deadline {
            Some(at) => self.timers.schedule(&self.state, Timer::Grace, at).await,
            None => Ok(()),
        }
    }

    /// After a commit: the D1 copy goes out with the next drain. A failure here is logged
    /// and never fails the request, since the event is already stored (the next commit or
    /// alarm schedules the drain again).
    pub async fn copy_soon(&self) {
        let at = now_ms() + outbox::COALESCE_MS;
        if let Err(e) = self.timers.schedule(&self.state, Timer::Outbox, at).await {
            console_error!("outbox drain not scheduled: {e}");
        }
        if self.settings.webhooks.target.is_some() && webhooks::pending(&self.sql()) {
            self.webhooks_soon().await;
        }
    }

    /// A webhook event was stored: the webhooks timer runs now. Logged, never failing.
    pub async fn webhooks_soon(&self) {
        self.webhooks_at(now_ms()).await;
    }

    /// The webhooks timer runs no later than `at`.
    pub async fn webhooks_at(&self, at: i64) {
        if let Err(e) = self.timers.schedule(&self.state, Timer::Webhooks, at).await {
            console_error!("webhook delivery not scheduled: {e}");
        }
    }

    /// Pushes were queued (SPEC §11): the push timer runs at `at`. Logged, never failing
    /// the publish: the timer row is already queued with the pushes, so a later alarm or
    /// the next start of the object sends them.
    pub async fn push_soon(&self, at: i64) {
        if let Err(e) = self.timers.schedule(&self.state, Timer::Push, at).await {
            console_error!("push timer not scheduled: {e}");
        }
    }

    /// Something with a retention (an idempotency key, a dead letter) was stored at `at`:
    /// the trim timer runs once it is due.
    pub async fn trim_later(&self, at: i64) {
        let due = at + super::idempotency::TTL_MS + 1;
        if let Err(e) = self.timers.schedule(&self.state, Timer::Trim, due).await {
            console_error!("trim not scheduled: {e}");
        }
    }

    /// The alarm: runs every due timer, each on its own, then arms the alarm again.
    /// `own` runs the object's own timers.
    pub async fn alarm(&self, own: &impl Hooks) -> Result<Response> {
        let now = now_ms();
        let sql = self.sql();
        for timer in self.timers.take_due(&sql, now)? {
            let next = match timer {
                Timer::Outbox => outbox::drain(&sql, &self.env, now).await,
                Timer::Grace => self.expire_grace(&sql, now),
                Timer::Presence => {
                    self.hub.flush_presence(now);
                    Ok(None)
                }
                Timer::Expiry => Ok(self.close_expired(now)),
                Timer::Trim => own.trim(&sql, now),
                Timer::Sessions => own.sessions(now).await,
                Timer::Webhooks => self.webhooks(own, now).await,
                Timer::Push => own.push(now).await,
            };
            let next = next.unwrap_or_else(|e| {
                console_error!(
                    "{} timer failed, retrying in {RETRY_MS} ms: {e}",
                    timer.name()
                );
                Some(now + RETRY_MS)
            });
            if let Some(at) = next {
                timers::queue(&sql, timer, at)?;
            }
        }
        self.timers.rearm(&self.state).await?;
        Response::ok("")
    }

    /// [`Timer::Grace`]: users whose grace ran out go offline (held with other presence).
    fn expire_grace(&self, sql: &SqlStorage, now: i64) -> NextRun {
        let window = (now, self.settings.presence_batch_ms);
        let (next, flush_at) = hub::expire(&self.state, &self.hub, sql, window);
        if let Some(at) = flush_at {
            timers::queue(sql, Timer::Presence, at)?;
        }
        Ok(next)
    }

    /// A presence change that is not a socket's (a session's devices): sent or held as
    /// [`hub::Hub::announce`] decides, with the flush scheduled.
    pub async fn announce(&self, status: (String, Option<&str>), now: i64) -> Result<()> {
        let window = self.settings.presence_batch_ms;
        match self.hub.announce(status, None, now, window) {
            Some(at) => self.timers.schedule(&self.state, Timer::Presence, at).await,
            None => Ok(()),
        }
    }

    /// [`Timer::Webhooks`]: the object's own events first, then the queue; runs again at the
    /// earlier of the two.
    async fn webhooks(&self, own: &impl Hooks, now: i64) -> NextRun {
        let own_next = own.webhook_events(now)?;
        let source = format!("{}:{}", self.schema.name, self.stream_id());
        let hooks = &self.settings.webhooks;
        let next = webhooks::deliver(&self.storage(), hooks, &source, now).await?;
        Ok(match (own_next, next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// Closes every socket whose token has expired (4001); returns the next expiry.
    fn close_expired(&self, now: i64) -> Option<i64> {
        let mut next: Option<i64> = None;
        for (ws, att) in socket::sockets(&self.state) {
            if att.who.expired_at(now) {
                socket::close(&ws, Close::Unauthorized);
            } else {
                let at = att.who.expires_at_ms();
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }

    /// Closes `user`'s sockets for which `still_allowed` says no (4003). From this call on
    /// a closed socket gets nothing more: the runtime refuses sends on a closing socket, so
    /// broadcasts skip it at once.
    pub fn revoke(&self, user: &str, still_allowed: impl Fn(&Attachment) -> bool) -> usize {
        let mut closed = 0;
        for ws in self.state.get_websockets_with_tag(user) {
            let att = Attachment::of(&ws);
            if !att.as_ref().is_some_and(&still_allowed) {
                socket::close(&ws, Close::Forbidden);
                closed += 1;
            }
        }
        closed
    }
}
