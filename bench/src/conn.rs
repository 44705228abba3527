//! `connect` (N authenticated sockets opened as fast as possible: connects/s and latency) and
//! `idle` (N idle sockets held: workerd RSS per socket, and a wake-up probe after idling).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{now_ns, run_id, Target};
use crate::stats::{rate, Lat};
use crate::ws::{bench_message, chat_frame, open_many, Ws};

/// Opens `n` sockets of distinct users in one room, `parallel` at a time.
async fn open_room(
    t: &Target,
    tag: &str,
    n: usize,
    parallel: usize,
) -> Result<(Vec<Ws>, Lat, u64, Vec<String>), String> {
    let room = format!("{tag}-{n}-{}", run_id());
    let users: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
    t.add_members(&room, &users, 16).await?;
    let urls = users.iter().map(|u| t.chat_url(&room, u)).collect();
    let start = now_ns();
    let opened = open_many(urls, parallel).await;
    let wall = now_ns() - start;
    let (mut socks, mut lat, mut errs) = (Vec::new(), Lat::default(), Vec::new());
    for r in opened {
        match r {
            Ok((ws, ns)) => {
                lat.record_ns(ns);
                socks.push(ws);
            }
            Err(e) => errs.push(e),
        }
    }
    Ok((socks, lat, wall, errs))
}

/// `connect`: connects/s over the whole batch and per-socket handshake+established latency.
pub async fn connect(t: &Target, n: usize, parallel: usize) -> Result<Value, String> {
    let (socks, lat, wall, errs) = open_room(t, "connect", n, parallel).await?;
    let ok = socks.len() as u64;
    drop(socks);
    Ok(json!({
        "sockets": n, "parallel": parallel, "connected": ok, "failures": errs.len(),
        "first_failure": errs.first(), "connects_per_s": rate(ok, wall),
        "latency": lat.summary(),
    }))
}

/// Sum of VmRSS (KiB) over `pids`, from /proc.
pub fn rss_kib(pids: &[u32]) -> Option<u64> {
    let mut total = 0;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        total += line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// `idle`: RSS before and after opening N sockets, after `idle_for` of silence, and the
/// latency of the first message after the silence next to a few warm ones.
pub async fn idle(
    t: &Target,
    n: usize,
    parallel: usize,
    idle_for: Duration,
    pids: &[u32],
) -> Result<Value, String> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pids);
    let (mut socks, _, _, errs) = open_room(t, "idle", n, parallel).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = rss_kib(pids);
    tokio::time::sleep(idle_for).await;
    let after_idle = rss_kib(pids);
    let connected = socks.len();
    let probe = wake_probe(&mut socks).await?;
    let per_socket = match (before, held) {
        (Some(b), Some(h)) if connected > 0 => {
            json!(((h as f64 - b as f64) / connected as f64 * 10.0).round() / 10.0)
        }
        _ => json!(null),
    };
    Ok(json!({
        "sockets": n, "connected": connected, "failures": errs.len(), "first_failure": errs.first(),
        "workerd_pids": pids, "rss_kib_before": before, "rss_kib_held": held,
        "rss_kib_after_idle": after_idle, "idle_s": idle_for.as_secs_f64(),
        "rss_kib_per_socket": per_socket, "wake_probe": probe,
    }))
}

/// Sends 6 messages one at a time from socket 0 and times each to socket 1: the first
/// follows the idle period (a woken object pays its start-up), the rest are warm.
async fn wake_probe(socks: &mut Vec<Ws>) -> Result<Value, String> {
    if socks.len() < 2 {
        return Ok(json!(null));
    }
    let reader = socks.remove(1);
    let mut ms = Vec::new();
    let mut reader = Some(reader);
    for n in 0..6 {
        let (stop_tx, stop_rx) = watch::channel(false);
        let sub = tokio::spawn(subscribe_one(reader.take().expect("reader"), n, stop_rx));
        let start = now_ns();
        socks[0]
            .send(Message::text(chat_frame(n)))
            .await
            .map_err(|e| e.to_string())?;
        let guard = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            let _ = stop_tx.send(true);
        });
        let (got, ws) = sub.await.map_err(|e| e.to_string())?;
        guard.abort();
        ms.push(got.then(|| ((now_ns() - start) as f64 / 1e4).round() / 100.0));
        reader = Some(ws);
    }
    Ok(json!({"first_after_idle_ms": ms[0], "warm_ms": &ms[1..]}))
}

/// Waits for benchmark message `n` on `ws`, or until `stop` flips.
async fn subscribe_one(mut ws: Ws, n: usize, mut stop: watch::Receiver<bool>) -> (bool, Ws) {
    loop {
        let frame = tokio::select! { f = ws.next() => f, _ = stop.changed() => return (false, ws) };
        match frame {
            Some(Ok(Message::Text(t))) if bench_message(&t).is_some_and(|(k, _)| k == n) => {
                return (true, ws)
            }
            Some(Ok(_)) => {}
            _ => return (false, ws),
        }
    }
}
