//! `fanout`: S subscribers in one room and one publisher socket sending M messages at R/s;
//! latency from send to receipt at every subscriber, deliveries/s, lost and errors.
//!
//! `--mode room` (default): the subscribers are room sockets (`/ws/chat/{room}/`).
//! `--mode session`: they are session sockets (`/ws/chat/`, SPEC §9) held by each user's
//! inbox, which `join_conversation` the room; the room hands each commit to every session's
//! inbox. The publisher is a room socket in both modes. With workerd pids, the server's CPU
//! time (utime + stime from /proc) over the publish phase is measured too.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{now_ns, run_id, Target};
use crate::cpu;
use crate::stats::{rate, Lat};
use crate::ws::{chat_frame, open, open_many_joined, subscribe_checked, Expect, Seen, Ws};

/// What the subscribers are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Room sockets, `/ws/chat/{room}/`.
    Room,
    /// Session sockets, `/ws/chat/` + `join_conversation`.
    Session,
}

impl Mode {
    pub fn parse(s: &str) -> Result<Mode, String> {
        match s {
            "room" => Ok(Mode::Room),
            "session" | "sessions" => Ok(Mode::Session),
            _ => Err(format!("--mode: room or session, not {s}")),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Mode::Room => "room",
            Mode::Session => "session",
        }
    }
}

/// Parameters of one fan-out run.
#[derive(Clone, Debug)]
pub struct Opts {
    pub subs: usize,
    pub messages: usize,
    pub rate: f64,
    pub parallel: usize,
    /// How long after the last send subscribers may still receive.
    pub drain: Duration,
    pub mode: Mode,
    /// workerd processes whose CPU time is measured over the publish phase (empty: none).
    pub pids: Vec<u32>,
}

type SubTask = JoinHandle<(Seen, Ws)>;

/// Runs the scenario and returns its JSON result.
pub async fn run(t: &Target, o: &Opts) -> Result<Value, String> {
    // Fresh users per run: a session's inbox object carries nothing over from an earlier run.
    let id = run_id();
    let room = format!("fanout-{}-{}-{id}", o.mode.name(), o.subs);
    let mut users: Vec<String> = (0..o.subs).map(|i| format!("u{i}-{id}")).collect();
    users.push(format!("pub-{id}"));
    let setup = now_ns();
    t.add_members(&room, &users, 16).await?;
    let members_ms = (now_ns() - setup) / 1_000_000;
    let (urls, join) = match o.mode {
        Mode::Room => (
            users[..o.subs]
                .iter()
                .map(|u| t.chat_url(&room, u))
                .collect(),
            None,
        ),
        Mode::Session => (
            users[..o.subs].iter().map(|u| t.session_url(u)).collect(),
            Some(room.clone()),
        ),
    };
    let opened = open_many_joined(urls, o.parallel, join.clone()).await;
    let connect_ms = (now_ns() - setup) / 1_000_000 - members_ms;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut failures = Vec::new();
    let mut subs: Vec<SubTask> = Vec::new();
    let expect = Expect {
        messages: o.messages,
        conversation: join,
    };
    for r in opened {
        match r {
            Ok((ws, _)) => subs.push(tokio::spawn(subscribe_checked(
                ws,
                expect.clone(),
                stop_rx.clone(),
            ))),
            Err(e) => failures.push(e),
        }
    }
    let publisher = open(&t.chat_url(&room, &users[o.subs])).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The joins' presence frames (hand-offs too, in session mode) must be done before the
    // CPU window opens: wait for a quiet server, and keep the quiet rate as the idle rate.
    let idle = cpu::quiet(&o.pids).await;
    let cpu_start = cpu::ticks(&o.pids);
    let gen_start = cpu::self_ticks();
    let (first, last_send, pub_stats) = publish(publisher, o, stop_rx.clone()).await?;
    let stop_tx = std::sync::Arc::new(stop_tx);
    let (timer_tx, drain) = (stop_tx.clone(), o.drain);
    let timer = tokio::spawn(async move {
        tokio::time::sleep(drain).await;
        let _ = timer_tx.send(true);
    });
    let seen = collect(subs).await;
    timer.abort();
    let collected = now_ns();
    let gen_end = cpu::self_ticks();
    // What the server still does for these messages after the last receipt (D1 copies,
    // hand-off bookkeeping) belongs to them: one more second in the window.
    tokio::time::sleep(cpu::TAIL).await;
    let cpu_end = cpu::ticks(&o.pids);
    let window_ns = now_ns() - first;
    let mut out = summarize(o, &seen.0, first, last_send, failures);
    out["mode"] = json!(o.mode.name());
    out["cpu"] = cpu::summary(
        &o.pids,
        cpu_start,
        cpu_end,
        window_ns,
        idle,
        o.messages as u64,
        out["deliveries"].as_u64().unwrap_or(0),
    );
    out["generator_cpu_ms"] = json!(match (gen_start, gen_end) {
        (Some(a), Some(b)) => json!(cpu::ms(b - a)),
        _ => json!(null),
    });
    out["generator_busy"] = json!(match (gen_start, gen_end) {
        (Some(a), Some(b)) if collected > first => {
            json!((cpu::ms(b - a) / ((collected - first) as f64 / 1e6) * 1000.0).round() / 1000.0)
        }
        _ => json!(null),
    });
    let pub_stats = tokio::time::timeout(Duration::from_secs(2), pub_stats).await;
    let _ = stop_tx.send(true);
    out["members_ms"] = json!(members_ms);
    out["connect_ms"] = json!(connect_ms);
    out["publisher"] = pub_stats.ok().and_then(Result::ok).unwrap_or(json!(null));
    let acked = out["publisher"]["acks"].as_u64().unwrap_or(0) as usize;
    out["lost_acked"] = json!(lost_acked(&seen.0, acked.min(o.messages)));
    drop(seen.1);
    Ok(out)
}

/// Sends M frames at the configured rate; returns first/last send time and the publisher's
/// reader (acks and errors), which ends when `stop` flips.
async fn publish(
    ws: Ws,
    o: &Opts,
    mut stop: watch::Receiver<bool>,
) -> Result<(u64, u64, JoinHandle<Value>), String> {
    let (mut tx, mut rx) = ws.split();
    let expect = o.messages as u64;
    let reader = tokio::spawn(async move {
        let (mut acks, mut errors) = (0u64, 0u64);
        while acks + errors < expect {
            let frame = tokio::select! { f = rx.next() => f, _ = stop.changed() => break };
            match frame {
                Some(Ok(Message::Text(t))) if t.contains(r#""type":"ack""#) => acks += 1,
                Some(Ok(Message::Text(t))) if t.contains(r#""type":"error""#) => errors += 1,
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        json!({"acks": acks, "errors": errors})
    });
    let period = Duration::from_secs_f64(1.0 / o.rate.max(0.001));
    let mut tick = tokio::time::interval(period);
    let first = now_ns();
    for n in 0..o.messages {
        tick.tick().await;
        tx.send(Message::text(chat_frame(n)))
            .await
            .map_err(|e| format!("publish: {e}"))?;
    }
    // Dropping the sink half sends no close frame; the reader keeps the socket open.
    Ok((first, now_ns(), reader))
}

/// Deliveries missing of the first `acked` messages, over every subscriber: messages the
/// server had acked to the publisher (so stored and broadcast; one socket's frames are handled
/// in order) and still did not deliver, as against messages it had not got to by the end.
fn lost_acked(seen: &[Seen], acked: usize) -> u64 {
    seen.iter()
        .map(|s| s.seqs.iter().take(acked).filter(|&&q| q == 0).count() as u64)
        .sum()
}

/// Joins every subscriber; returns what they saw and their sockets (closed on drop).
async fn collect(subs: Vec<SubTask>) -> (Vec<Seen>, Vec<Ws>) {
    let mut seen = Vec::with_capacity(subs.len());
    let mut socks = Vec::with_capacity(subs.len());
    for task in subs {
        match task.await {
            Ok((s, ws)) => {
                seen.push(s);
                socks.push(ws);
            }
            Err(e) => seen.push(Seen {
                failure: Some(e.to_string()),
                ..Seen::default()
            }),
        }
    }
    (seen, socks)
}

fn summarize(o: &Opts, seen: &[Seen], first: u64, last_send: u64, failures: Vec<String>) -> Value {
    let mut lat = Lat::default();
    let (mut unique, mut dups, mut errors, mut last) = (0, 0, 0, last_send);
    let (mut out_of_order, mut malformed, mut complete) = (0, 0, 0);
    let mut closed = Vec::new();
    for s in seen {
        lat.merge(&s.lat);
        unique += s.unique;
        dups += s.dups;
        errors += s.errors;
        out_of_order += s.out_of_order;
        malformed += s.malformed;
        complete += u64::from(s.unique == o.messages as u64);
        last = last.max(s.last_ns);
        closed.extend(s.failure.clone());
    }
    // Every socket that saw message n must have seen it with the same seq.
    let seq_mismatch = (0..o.messages)
        .filter(|&n| {
            let mut seqs = seen
                .iter()
                .filter_map(|s| s.seqs.get(n))
                .filter(|&&q| q > 0);
            let first = seqs.next();
            seqs.any(|q| Some(q) != first)
        })
        .count();
    let expected = (seen.len() * o.messages) as u64;
    let lost = expected.saturating_sub(unique);
    let exact = lost == 0
        && dups == 0
        && out_of_order == 0
        && malformed == 0
        && seq_mismatch == 0
        && seen.len() == o.subs;
    json!({
        "subs_complete": complete, "out_of_order": out_of_order, "malformed": malformed,
        "seq_mismatch": seq_mismatch, "exactly_once_in_order": exact,
        "subs": o.subs, "subs_connected": seen.len(), "messages": o.messages, "rate": o.rate,
        "offered_deliveries_per_s": o.rate * o.subs as f64,
        "deliveries": unique, "expected": expected, "lost": lost,
        "duplicates": dups, "error_frames": errors,
        "connect_failures": failures.len(), "first_connect_failure": failures.first(),
        "socket_failures": closed.len(), "first_socket_failure": closed.first(),
        "send_s": (last_send - first) as f64 / 1e9,
        "deliveries_per_s": rate(unique, last - first),
        "latency": lat.summary(),
    })
}
