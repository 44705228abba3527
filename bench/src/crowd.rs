//! One client of a connect or reconnect storm: a task per user that opens its socket when
//! told, reads everything that arrives (so no socket's buffer backs up during a storm),
//! drops the connection abruptly when told (no close frame: a network drop), reconnects
//! with `?since=<last seq it saw>` and, where the target replays, waits for `resumed`. It
//! keeps what it saw across both connections, so that lost and duplicated durable messages
//! are counted per user, not per connection.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;

use crate::common::now_ns;
use crate::ws::{bench_message, bench_seq, Ws};

/// Phases the coordinator steps through (a `watch` channel carries the current one).
pub const CONNECT: u8 = 0;
pub const DROP: u8 = 1;
pub const RECONNECT: u8 = 2;
pub const STOP: u8 = 3;

/// How long one open (handshake, `connection.established`, replay up to `resumed`) may take
/// in a storm, where the last of a thousand sockets waits for all the others.
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);

/// What a client tells the coordinator about one open (or the drop).
pub struct Event {
    pub phase: u8,
    /// `(own start, established at, ready at)`: ready is `resumed` where the target replays,
    /// else the same as established. Clock: [`now_ns`].
    pub result: Result<(u64, u64, u64), String>,
}

/// How one client connects.
#[derive(Clone)]
pub struct Client {
    pub url: String,
    /// Wait for `resumed` after a `?since=` reconnect (the service replays; the baseline does not).
    pub resume: bool,
    /// Limits how many open at once (None: all at once).
    pub gate: Option<Arc<Semaphore>>,
}

/// What one user saw over both connections.
pub struct Tally {
    /// Receipts of each durable message `n` (content `b:<n>:…`).
    pub got: Vec<u32>,
    /// The highest `seq` seen (message or `connection.established`'s `last_seq`).
    pub last_seq: u64,
    /// First receipts whose `seq` was not above the previous one.
    pub out_of_order: u64,
    pub error_frames: u64,
    /// Both connections opened (the delivery checks cover only such users).
    pub whole: bool,
    pub failure: Option<String>,
}

/// Runs one client through the phases; `firsts[n]` counts users that got message `n`.
pub async fn run(
    c: Client,
    mut ctl: watch::Receiver<u8>,
    ev: mpsc::UnboundedSender<Event>,
    firsts: Arc<Vec<AtomicU32>>,
) -> Tally {
    let mut t = Tally {
        got: vec![0; firsts.len()],
        last_seq: 0,
        out_of_order: 0,
        error_frames: 0,
        whole: false,
        failure: None,
    };
    let Some(ws) = open_phase(&c, CONNECT, &c.url, false, &mut t, &firsts, &ev).await else {
        return t;
    };
    let Some(ws) = read_until(ws, DROP, &mut ctl, &mut t, &firsts).await else {
        // Ended before the drop: say so, so the coordinator does not wait for this one.
        let failure = t.failure.clone().unwrap_or_default();
        let _ = ev.send(Event {
            phase: DROP,
            result: Err(failure),
        });
        return t;
    };
    drop(ws);
    let _ = ev.send(Event {
        phase: DROP,
        result: Ok((now_ns(), now_ns(), now_ns())),
    });
    if wait_for(&mut ctl, RECONNECT).await == STOP {
        return t;
    }
    let url = format!("{}&since={}", c.url, t.last_seq);
    let Some(ws) = open_phase(&c, RECONNECT, &url, c.resume, &mut t, &firsts, &ev).await else {
        return t;
    };
    t.whole = true;
    let _ws = read_until(ws, STOP, &mut ctl, &mut t, &firsts).await;
    t
}

/// Opens (under the gate), reports the outcome as an [`Event`] of `phase`.
async fn open_phase(
    c: &Client,
    phase: u8,
    url: &str,
    resume: bool,
    t: &mut Tally,
    firsts: &[AtomicU32],
    ev: &mpsc::UnboundedSender<Event>,
) -> Option<Ws> {
    let _permit = match &c.gate {
        Some(g) => Some(g.clone().acquire_owned().await.ok()?),
        None => None,
    };
    let start = now_ns();
    let opened = tokio::time::timeout(OPEN_TIMEOUT, open(url, resume, t, firsts))
        .await
        .unwrap_or_else(|_| Err(format!("open timed out after {OPEN_TIMEOUT:?}")));
    let (ws, result) = match opened {
        Ok((ws, est, ready)) => (Some(ws), Ok((start, est, ready))),
        Err(e) => {
            t.failure = Some(e.clone());
            (None, Err(e))
        }
    };
    let _ = ev.send(Event { phase, result });
    ws
}

/// Handshake, `connection.established`, and with `resume` the replay up to `resumed`.
async fn open(
    url: &str,
    resume: bool,
    t: &mut Tally,
    firsts: &[AtomicU32],
) -> Result<(Ws, u64, u64), String> {
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut established = None;
    loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(f))) => return Err(format!("closed while opening: {f:?}")),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("eof while opening".into()),
        };
        if established.is_none() {
            if text.contains("connection.established") {
                established = Some(now_ns());
                if !resume {
                    // Live frames follow from here; with a replay, its frames carry the seqs.
                    let last = number_after(&text, r#""last_seq":"#).unwrap_or(0);
                    t.last_seq = t.last_seq.max(last);
                    break;
                }
            }
            continue;
        }
        if text.contains(r#""type":"resumed""#) {
            break;
        }
        if text.contains(r#""type":"resync_required""#) {
            return Err(format!("resync_required: {text}"));
        }
        on_text(&text, t, firsts);
    }
    let est = established.unwrap_or_else(now_ns);
    Ok((ws, est, now_ns()))
}

/// Reads until the phase reaches `until` (returns the socket) or the socket ends (None).
async fn read_until(
    mut ws: Ws,
    until: u8,
    ctl: &mut watch::Receiver<u8>,
    t: &mut Tally,
    firsts: &[AtomicU32],
) -> Option<Ws> {
    loop {
        if *ctl.borrow() >= until {
            return Some(ws);
        }
        let frame = tokio::select! {
            f = ws.next() => f,
            changed = ctl.changed() => match changed {
                Ok(()) => continue,
                // The coordinator is gone (its bound hit): stop here.
                Err(_) => return None,
            },
        };
        match frame {
            Some(Ok(Message::Text(text))) => on_text(&text, t, firsts),
            Some(Ok(Message::Close(f))) => {
                t.failure = Some(format!("closed: {f:?}"));
                return None;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                t.failure = Some(format!("read: {e}"));
                return None;
            }
            None => {
                t.failure = Some("eof".into());
                return None;
            }
        }
    }
}

/// Waits until the phase is at least `phase`; returns the phase reached (STOP when the
/// coordinator is gone).
async fn wait_for(ctl: &mut watch::Receiver<u8>, phase: u8) -> u8 {
    loop {
        let now = *ctl.borrow();
        if now >= phase {
            return now;
        }
        if ctl.changed().await.is_err() {
            return STOP;
        }
    }
}

/// Counts one frame: a durable benchmark message (first receipt or duplicate) or an error.
fn on_text(text: &str, t: &mut Tally, firsts: &[AtomicU32]) {
    let Some((n, _)) = bench_message(text) else {
        if text.contains(r#""type":"error""#) {
            t.error_frames += 1;
        }
        return;
    };
    let Some(slot) = t.got.get_mut(n) else { return };
    *slot += 1;
    if *slot > 1 {
        return;
    }
    firsts[n].fetch_add(1, Ordering::Relaxed);
    let seq = bench_seq(text).unwrap_or(0);
    if seq <= t.last_seq {
        t.out_of_order += 1;
    }
    t.last_seq = t.last_seq.max(seq);
}

/// Whether the target answers `?since=` with a replay that ends in `resumed`: one socket
/// opened at `url` (which carries `since`) waits up to 3 s for it after
/// `connection.established`.
pub async fn replays(url: &str) -> bool {
    let mut t = Tally {
        got: Vec::new(),
        last_seq: 0,
        out_of_order: 0,
        error_frames: 0,
        whole: false,
        failure: None,
    };
    let probe = open(url, true, &mut t, &[]);
    matches!(
        tokio::time::timeout(Duration::from_secs(3), probe).await,
        Ok(Ok(_))
    )
}

/// The whole number right after `key` in `text`.
pub fn number_after(text: &str, key: &str) -> Option<u64> {
    let rest = &text[text.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}
