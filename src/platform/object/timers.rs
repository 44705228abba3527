//! The timer queue behind an object's single alarm. Every delayed piece of work (outbox drain,
//! presence grace and batches, token expiry, retention trims, webhooks) is a named timer with a due time in the
//! object's SQLite; the alarm is always set for the earliest one. When the alarm fires, each
//! due timer runs on its own: one that fails is logged and tried again a little later, and the
//! alarm is armed again whatever happened, so no timer can stop the others.

use std::cell::{Cell, RefCell};

use worker::{SqlStorage, State};

use crate::platform::object::rows::{row, Rows};

/// Every kind of delayed work an object does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Copy queued rows to D1.
    Outbox,
    /// End presence grace windows that ran out.
    Grace,
    /// Close sockets whose token expired.
    Expiry,
    /// Drop what is past its retention (idempotency keys, dead letters).
    Trim,
    /// Sessions (SPEC §9): a room ends leases that ran out and retries failed hand-offs;
    /// an inbox renews its leases and catches up on what it missed.
    Sessions,
    /// Deliver queued webhook events (SPEC §10); an inbox also ends its app-wide presence
    /// grace here.
    Webhooks,
    /// Web Push (SPEC §11): an inbox sends queued pushes and retries failed ones.
    Push,
    /// Send the presence changes held for their window (`object::coalesce`).
    Presence,
}

impl Timer {
    pub const ALL: [Timer; 8] = [
        Timer::Outbox,
        Timer::Grace,
        Timer::Expiry,
        Timer::Trim,
        Timer::Sessions,
        Timer::Webhooks,
        Timer::Push,
        Timer::Presence,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Timer::Outbox => "outbox",
            Timer::Grace => "grace",
            Timer::Expiry => "expiry",
            Timer::Trim => "trim",
            Timer::Sessions => "sessions",
            Timer::Webhooks => "webhooks",
            Timer::Push => "push",
            Timer::Presence => "presence",
        }
    }

    fn from_name(name: &str) -> Option<Timer> {
        Timer::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The queue's table (schema v2 of every object).
pub const SCHEMA_V2: &str = "CREATE TABLE timers (name TEXT PRIMARY KEY, due INTEGER NOT NULL)";

/// How long a failed timer waits before it runs again.
pub const RETRY_MS: i64 = 5_000;

row! {
    struct Row {
        name: String,
        due: i64,
    }
}

/// Puts `timer` on the queue for `at` (an earlier due time stays), without arming the alarm:
/// the alarm run queues what its timers ask for, then arms once ([`Timers::rearm`]).
pub fn queue(sql: &SqlStorage, timer: Timer, at: i64) -> worker::Result<()> {
    sql.exec(
        "INSERT INTO timers (name, due) VALUES (?, ?) \
         ON CONFLICT(name) DO UPDATE SET due = min(due, excluded.due)",
        Some(vec![timer.name().into(), at.into()]),
    )?;
    Ok(())
}

/// An object's timers, with what this instance already knows is scheduled, so the hot path
/// (a timer per message) usually costs no storage call at all.
#[derive(Default)]
pub struct Timers {
    known: RefCell<Vec<(Timer, i64)>>,
    alarm_at: Cell<Option<i64>>,
}

impl Timers {
    /// Makes sure `timer` runs no later than `at` (an earlier due time stays).
    pub async fn schedule(&self, state: &State, timer: Timer, at: i64) -> worker::Result<()> {
        if self.known_due(timer).is_some_and(|due| due <= at) {
            return Ok(());
        }
        queue(&state.storage().sql(), timer, at)?;
        self.remember(timer, at);
        self.arm(state, at).await
    }

    fn known_due(&self, timer: Timer) -> Option<i64> {
        let known = self.known.borrow();
        known.iter().find(|(t, _)| *t == timer).map(|(_, due)| *due)
    }

    fn remember(&self, timer: Timer, at: i64) {
        let mut known = self.known.borrow_mut();
        match known.iter_mut().find(|(t, _)| *t == timer) {
            Some((_, due)) => *due = (*due).min(at),
            None => known.push((timer, at)),
        }
    }

    /// Sets the alarm for `at` unless it already fires no later.
    async fn arm(&self, state: &State, at: i64) -> worker::Result<()> {
        if self.alarm_at.get().is_some_and(|set| set <= at) {
            return Ok(());
        }
        let storage = state.storage();
        let set = match storage.get_alarm().await? {
            Some(current) if current <= at => current,
            _ => {
                // An i64 would be an offset from now; the absolute time is a DateTime.
                let when = chrono::DateTime::from_timestamp_millis(at).unwrap_or_default();
                storage.set_alarm(when).await?;
                at
            }
        };
        self.alarm_at.set(Some(set));
        Ok(())
    }

    /// Takes the timers due at `now` off the queue (the alarm that fired is spent).
    pub fn take_due(&self, sql: &SqlStorage, now: i64) -> worker::Result<Vec<Timer>> {
        self.alarm_at.set(None);
        let rows: Vec<Row> = sql.rows(
            "SELECT name, due FROM timers WHERE due <= ? ORDER BY due",
            Some(vec![now.into()]),
        )?;
        sql.exec("DELETE FROM timers WHERE due <= ?", Some(vec![now.into()]))?;
        self.known.borrow_mut().clear();
        Ok(rows
            .iter()
            .filter_map(|r| Timer::from_name(&r.name))
            .collect())
    }

    /// Arms the alarm for the earliest timer still queued (after a run).
    pub async fn rearm(&self, state: &State) -> worker::Result<()> {
        let rows: Vec<Row> = state
            .storage()
            .sql()
            .rows("SELECT name, due FROM timers ORDER BY due", None)?;
        for r in &rows {
            if let Some(t) = Timer::from_name(&r.name) {
                self.remember(t, r.due);
            }
        }
        match rows.first() {
            Some(first) => self.arm(state, first.due).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Timer;

    #[test]
    fn every_timer_name_reads_back() {
        for t in Timer::ALL {
            assert_eq!(Timer::from_name(t.name()), Some(t));
        }
        assert_eq!(Timer::from_name("nope"), None);
    }
}
