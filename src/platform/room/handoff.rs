//! The room → session hand-off (SPEC §9). Everything the room broadcasts to its own sockets
//! is also kept by the hub (`Hub::take_spilled`); after each commit the room hands what was
//! kept to every subscribed session, all subscribers at once and one round at a time, so
//! that what piles up during a round goes out together in the next (batches under load,
//! one frame per hand-off when quiet). Each hand-off carries the room's `last_seq`: a
//! session behind it pulls the rest, so a hand-off that is lost is repaired by the next one,
//! by the retry a failure schedules, or at the latest by the session's lease renewal.

use std::cell::Cell;

use crate::platform::join::all as join_all;
use worker::console_error;

use super::ConversationRoom;
use crate::domain::ids::{Id, StreamKey};
use crate::domain::session::{tag, Delivered, Delivery, Event};
use crate::domain::stream::EventLog;
use crate::platform::internal;
use crate::platform::object::hub::Spilled;
use crate::platform::object::subscribers;
use crate::platform::object::timers::Timer;
use crate::platform::runtime::now_ms;

/// Frames per hand-off at most.
const BATCH: usize = 200;
/// Rounds one caller drives before it leaves the rest to the alarm, so that no request
/// waits on the hand-off for ever under a steady stream of commits.
const ROUNDS: usize = 16;
/// How soon a failed hand-off is retried.
const RETRY_MS: i64 = 1_000;

pub const DELIVER_PATH: &str = "/session/deliver";
pub const REMOVED_PATH: &str = "/session/removed";

/// Whether a hand-off round is running, and whether one failed since the last retry.
#[derive(Default)]
pub struct Relay {
    running: Cell<bool>,
    failed: Cell<bool>,
}

impl Relay {
    /// Takes the failure flag (the retry timer pokes every subscriber once).
    pub fn take_failed(&self) -> bool {
        self.failed.replace(false)
    }
}

impl ConversationRoom {
    /// Hands what was broadcast on to the subscribed sessions. A caller that finds a round
    /// running returns at once: the running one takes its frames too.
    pub(super) async fn relay(&self) {
        if self.relay.running.replace(true) {
            return;
        }
        let mut left = false;
        for round in 0..=ROUNDS {
            let batch = self.core.hub.take_spilled(BATCH);
            if batch.is_empty() {
                break;
            }
            if round == ROUNDS {
                self.core.hub.put_back(batch);
                left = true;
                break;
            }
            self.hand_off(&batch, false).await;
        }
        self.relay.running.set(false);
        if left || self.relay.failed.get() {
            // What is left goes out from the alarm at once; a failure waits a little.
            self.retry_soon(if left { 0 } else { RETRY_MS }).await;
        }
    }

    async fn retry_soon(&self, after_ms: i64) {
        let at = now_ms() + after_ms;
        let state = &self.core.state;
        if let Err(e) = self.core.timers.schedule(state, Timer::Sessions, at).await {
            console_error!("hand-off retry not scheduled: {e}");
        }
    }

    /// One hand-off to every live subscriber (`poke`: also to those with nothing to get,
    /// so that each compares its position with the room's `last_seq`).
    pub(super) async fn hand_off(&self, batch: &[Spilled], poke: bool) {
        let now = now_ms();
        let subs: Vec<_> = subscribers::all(&self.core.sql())
            .into_iter()
            .filter(|r| r.lease_until > now)
            .collect();
        if subs.is_empty() {
            // Nobody follows by session any more: stop keeping broadcasts (a join starts
            // again; nothing awaits between this read and this write).
            self.core.hub.keep_while(false);
            return;
        }
        let conv = self.conversation_id();
        let last_seq = self.store().last_seq();
        let dropped = &self.core.settings.drop_handoff_seqs;
        let tagged: Vec<(Option<&str>, Event)> = batch
            .iter()
            .filter(|s| !s.event.seq.is_some_and(|q| dropped.contains(&q)))
            .map(|s| {
                let event = Event {
                    seq: s.event.seq,
                    frame: tag(&s.event.frame, &conv),
                };
                (s.except_user.as_deref(), event)
            })
            .collect();
        // One body for every subscriber that gets every frame (typing is the exception: not
        // to the typer), written once instead of once per subscriber.
        let body = |events: Vec<Event>| {
            let d = Delivery {
                conversation_id: conv.clone(),
                last_seq,
                events,
            };
            serde_json::to_string(&d).unwrap_or_default()
        };
        let all: Vec<Event> = tagged.iter().map(|(_, e)| e.clone()).collect();
        let shared = body(all);
        let sends = subs.iter().filter_map(|row| {
            let excluded = tagged
                .iter()
                .any(|(except, _)| *except == Some(row.user_id.as_str()));
            let text = match excluded {
                false if tagged.is_empty() && !poke => return None,
                false => shared.clone(),
                true => {
                    let mine: Vec<Event> = tagged
                        .iter()
                        .filter(|(except, _)| *except != Some(row.user_id.as_str()))
                        .map(|(_, e)| e.clone())
                        .collect();
                    if mine.is_empty() && !poke {
                        return None;
                    }
                    body(mine)
                }
            };
            Some(async move { (row, self.deliver_to(&row.user_id, text).await) })
        });
        for (row, result) in join_all(sends).await {
            match result {
                Ok(Some(0)) => self.session_gone(&row.user_id, now).await,
                Ok(_) => {}
                Err(e) => {
                    console_error!("hand-off to a session failed, retrying: {e}");
                    self.relay.failed.set(true);
                }
            }
        }
    }

    /// Sends one delivery to `user`'s inbox; returns the devices it says still follow.
    async fn deliver_to(&self, user: &str, body: String) -> worker::Result<Option<u32>> {
        let id = Id::parse(user).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let stream = StreamKey::User(id);
        let mut resp = internal::post_text(&self.core.env, &stream, DELIVER_PATH, body).await?;
        if resp.status_code() != 200 {
            let status = resp.status_code();
            return Err(worker::Error::RustError(format!("inbox answered {status}")));
        }
        Ok(resp.json::<Delivered>().await?.devices)
    }
}
