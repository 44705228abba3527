//! `fanout`: S subscribers in one room and one publisher socket sending M messages at R/s;
//! latency from send to receipt at every subscriber, deliveries/s, lost and errors.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{now_ns, run_id, Target};
use crate::stats::{rate, Lat};
use crate::ws::{chat_frame, open, open_many, subscribe, Seen, Ws};

/// Parameters of one fan-out run.
#[derive(Clone, Debug)]
pub struct Opts {
    pub subs: usize,
    pub messages: usize,
    pub rate: f64,
    pub parallel: usize,
    /// How long after the last send subscribers may still receive.
    pub drain: Duration,
}

type SubTask = JoinHandle<(Seen, Ws)>;

/// Runs the scenario and returns its JSON result.
pub async fn run(t: &Target, o: &Opts) -> Result<Value, String> {
    let room = format!("fanout-{}-{}", o.subs, run_id());
    let mut users: Vec<String> = (0..o.subs).map(|i| format!("u{i}")).collect();
    users.push("pub".into());
    let setup = now_ns();
    t.add_members(&room, &users, 16).await?;
    let members_ms = (now_ns() - setup) / 1_000_000;
    let urls = users[..o.subs]
        .iter()
        .map(|u| t.chat_url(&room, u))
        .collect();
    let opened = open_many(urls, o.parallel).await;
    let connect_ms = (now_ns() - setup) / 1_000_000 - members_ms;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut failures = Vec::new();
    let mut subs: Vec<SubTask> = Vec::new();
    for r in opened {
        match r {
            Ok((ws, _)) => subs.push(tokio::spawn(subscribe(ws, o.messages, stop_rx.clone()))),
            Err(e) => failures.push(e),
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let publisher = open(&t.chat_url(&room, "pub")).await?;
    let (first, last_send, pub_stats) = publish(publisher, o, stop_rx.clone()).await?;
    let stop_tx = std::sync::Arc::new(stop_tx);
    let (timer_tx, drain) = (stop_tx.clone(), o.drain);
    let timer = tokio::spawn(async move {
        tokio::time::sleep(drain).await;
        let _ = timer_tx.send(true);
    });
    let seen = collect(subs).await;
    timer.abort();
    let mut out = summarize(o, &seen.0, first, last_send, failures);
    let pub_stats = tokio::time::timeout(Duration::from_secs(2), pub_stats).await;
    let _ = stop_tx.send(true);
    out["members_ms"] = json!(members_ms);
    out["connect_ms"] = json!(connect_ms);
    out["publisher"] = pub_stats.ok().and_then(Result::ok).unwrap_or(json!(null));
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
    let mut closed = Vec::new();
    for s in seen {
        lat.merge(&s.lat);
        unique += s.unique;
        dups += s.dups;
        errors += s.errors;
        last = last.max(s.last_ns);
        closed.extend(s.failure.clone());
    }
    let expected = (seen.len() * o.messages) as u64;
    json!({
        "subs": o.subs, "subs_connected": seen.len(), "messages": o.messages, "rate": o.rate,
        "offered_deliveries_per_s": o.rate * o.subs as f64,
        "deliveries": unique, "expected": expected, "lost": expected.saturating_sub(unique),
        "duplicates": dups, "error_frames": errors,
        "connect_failures": failures.len(), "first_connect_failure": failures.first(),
        "socket_failures": closed.len(), "first_socket_failure": closed.first(),
        "send_s": (last_send - first) as f64 / 1e9,
        "deliveries_per_s": rate(unique, last - first),
        "latency": lat.summary(),
    })
}
