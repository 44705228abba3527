//! `idle`: what N idle sockets cost in workerd's memory, and whether their room hibernated.
//! It runs first on a fresh server process: after a warm-up (two sockets and a message in
//! another room, the idle room's members added) it samples workerd's VmRSS K times with 0
//! sockets, opens N/2 sockets of distinct members into one room, samples K times, opens the
//! other N/2, samples K times (awake), stays silent for `idle_for` (longer than workerd's
//! 10 s idle eviction) and samples K times again (idle). Per socket = (median with N −
//! median with 0) ÷ N, with the spread of the samples, and the second half's own
//! (N − N/2 sockets against N/2: no first-socket costs in it); nothing is clamped. Hibernation is observed, not assumed: the room's instance id
//! (`x-rt-instance` on `GET /api/conversations/{room}/presence`, random per object
//! instance, in the service and the baseline) is read before the silence and after the
//! first message that follows it; a new id with every socket still delivering means the
//! object was evicted and rebuilt around its hibernated sockets.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{now_ns, run_id, Target};
use crate::report::median;
use crate::ws::{bench_message, chat_frame, open, open_many, Ws};

/// Parameters of one idle run.
#[derive(Clone, Debug)]
pub struct Opts {
    pub n: usize,
    pub parallel: usize,
    pub idle_for: Duration,
    /// RSS samples per state (0 sockets, N awake, N idle), `SAMPLE_GAP` apart.
    pub samples: usize,
}

const SAMPLE_GAP: Duration = Duration::from_millis(250);
/// Quiet time before a set of samples (closed sockets and presence settle).
const SETTLE: Duration = Duration::from_secs(3);
/// Local workerd evicts an object after 10 s without events (workerd PR #1138).
const EVICT_AFTER_S: u64 = 10;

/// Runs the scenario against workerd processes `pids` (empty: no memory figures).
pub async fn idle(t: &Target, o: &Opts, pids: &[u32]) -> Result<Value, String> {
    let id = run_id();
    warm_up(t, &id).await?;
    let room = format!("idle-{}-{id}", o.n);
    let users: Vec<String> = (0..o.n).map(|i| format!("u{i}-{id}")).collect();
    t.add_members(&room, &users, 16).await?;
    let presence = format!("/api/conversations/{room}/presence");
    let instance_empty = instance(t, &presence).await;
    tokio::time::sleep(SETTLE).await;
    let zero = samples(pids, o.samples).await;
    let (mut socks, mut errs) = (Vec::new(), Vec::new());
    let urls: Vec<String> = users.iter().map(|u| t.chat_url(&room, u)).collect();
    let half = o.n / 2;
    open_into(urls[..half].to_vec(), o.parallel, &mut socks, &mut errs).await;
    let half_open = socks.len();
    tokio::time::sleep(SETTLE).await;
    let halfway = samples(pids, o.samples).await;
    open_into(urls[half..].to_vec(), o.parallel, &mut socks, &mut errs).await;
    // The last request before the silence: the idle timer starts here.
    let instance_before = instance(t, &presence).await;
    let silent_from = now_ns();
    tokio::time::sleep(SETTLE).await;
    let awake = samples(pids, o.samples).await;
    let elapsed = Duration::from_nanos(now_ns() - silent_from);
    tokio::time::sleep(o.idle_for.saturating_sub(elapsed)).await;
    let idle = samples(pids, o.samples).await;
    let silent_s = (now_ns() - silent_from) as f64 / 1e9;
    let connected = socks.len();
    let probe = wake_probe(&mut socks).await?;
    let instance_after = instance(t, &presence).await;
    let hibernation = hibernated(&instance_before, &instance_after, &probe);
    Ok(json!({
        "sockets": o.n, "connected": connected, "failures": errs.len(), "first_failure": errs.first(),
        "workerd_pids": pids, "samples_per_state": o.samples, "silent_s": silent_s,
        "rss_kib": {"zero": zero, "half": halfway, "awake": awake, "idle": idle},
        "kib_per_socket_awake": per_socket(&zero, &awake, connected),
        "kib_per_socket_second_half": per_socket(&halfway, &awake, connected - half_open),
        "kib_per_socket_idle": per_socket(&zero, &idle, connected),
        "instance": {"empty_room": instance_empty, "before_silence": instance_before,
            "after_first_message": instance_after},
        "hibernation": hibernation, "wake_probe": probe,
    }))
}

/// Opens `urls` (`parallel` at a time) into `socks`, failures into `errs`.
async fn open_into(
    urls: Vec<String>,
    parallel: usize,
    socks: &mut Vec<Ws>,
    errs: &mut Vec<String>,
) {
    for r in open_many(urls, parallel).await {
        match r {
            Ok((ws, _)) => socks.push(ws),
            Err(e) => errs.push(e),
        }
    }
}

/// Loads the code paths the sockets use (a socket pair and one message in another room),
/// so the 0-socket samples hold a warm isolate.
async fn warm_up(t: &Target, id: &str) -> Result<(), String> {
    let room = format!("idle-warm-{id}");
    let users = [format!("w0-{id}"), format!("w1-{id}")];
    t.add_members(&room, &users, 2).await?;
    let mut socks = vec![
        open(&t.chat_url(&room, &users[0])).await?,
        open(&t.chat_url(&room, &users[1])).await?,
    ];
    probe_once(&mut socks, 0).await?;
    Ok(())
}

/// `k` VmRSS samples (KiB, summed over `pids`), `SAMPLE_GAP` apart.
async fn samples(pids: &[u32], k: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(k);
    for i in 0..k {
        if i > 0 {
            tokio::time::sleep(SAMPLE_GAP).await;
        }
        out.extend(rss_kib(pids));
    }
    out
}

/// Sum of VmRSS (KiB) over `pids`, from /proc.
pub fn rss_kib(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    let mut total = 0;
    for pid in pids {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        total += line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// (median N − median 0) ÷ n, and the range the samples allow: (min N − max 0) ÷ n to
/// (max N − min 0) ÷ n. Not clamped: a negative value says the noise exceeds the signal.
fn per_socket(zero: &[u64], with: &[u64], n: usize) -> Value {
    let f = |xs: &[u64]| xs.iter().map(|&x| x as f64).collect::<Vec<_>>();
    let (z, w) = (f(zero), f(with));
    let (Some(mz), Some(mw)) = (median(z.clone()), median(w.clone())) else {
        return json!(null);
    };
    if n == 0 {
        return json!(null);
    }
    let min = |xs: &[f64]| xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |xs: &[f64]| xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let r = |x: f64| (x / n as f64 * 100.0).round() / 100.0;
    json!({
        "median": r(mw - mz), "low": r(min(&w) - max(&z)), "high": r(max(&w) - min(&z)),
        "held_kib": mw - mz,
    })
}

/// `yes` when the instance changed across the silence while the sockets still delivered.
fn hibernated(before: &Option<String>, after: &Option<String>, probe: &Value) -> Value {
    let delivered = probe["first_after_idle_ms"].is_number();
    let verdict = match (before, after) {
        (Some(b), Some(a)) if !delivered => format!("unknown: no delivery after idle ({b}, {a})"),
        (Some(b), Some(a)) if b != a => "yes".into(),
        (Some(_), Some(_)) => "no".into(),
        _ => "unknown: the target reports no instance id".into(),
    };
    json!({ "verdict": verdict, "evict_after_s": EVICT_AFTER_S,
        "evidence": "x-rt-instance of the room before the silence vs after the first message" })
}

/// The `x-rt-instance` header of `GET path` (server key), if the answer has one.
async fn instance(t: &Target, path: &str) -> Option<String> {
    let call = async {
        let mut s = TcpStream::connect(t.addr).await.ok()?;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            t.addr, t.api_key
        );
        s.write_all(head.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.ok()?;
        let text = String::from_utf8_lossy(&raw).to_string();
        let head = text.split("\r\n\r\n").next()?;
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.trim().eq_ignore_ascii_case("x-rt-instance"))
            })
            .map(|(_, v)| v.trim().to_string())
    };
    tokio::time::timeout(Duration::from_secs(20), call)
        .await
        .ok()
        .flatten()
}

/// Sends 6 messages one at a time from socket 0 and times each to socket 1: the first
/// follows the idle period (a woken object pays its start-up), the rest are warm.
async fn wake_probe(socks: &mut Vec<Ws>) -> Result<Value, String> {
    if socks.len() < 2 {
        return Ok(json!(null));
    }
    let mut ms = Vec::new();
    for n in 0..6 {
        ms.push(probe_once(socks, n).await?);
    }
    Ok(json!({"first_after_idle_ms": ms[0], "warm_ms": &ms[1..]}))
}

/// One message from socket 0 to socket 1: its latency in ms, None if it never came (10 s).
async fn probe_once(socks: &mut Vec<Ws>, n: usize) -> Result<Option<f64>, String> {
    let reader = socks.remove(1);
    let (stop_tx, stop_rx) = watch::channel(false);
    let sub = tokio::spawn(subscribe_one(reader, n, stop_rx));
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
    socks.insert(1, ws);
    Ok(got.then(|| ((now_ns() - start) as f64 / 1e4).round() / 100.0))
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

/// "hibernated: …" per target, every round's verdict, for the generated block.
pub fn hibernation_line(v: &Value, targets: &[String]) -> String {
    let rounds = v["rounds"].as_array().cloned().unwrap_or_default();
    let per: Vec<String> = targets
        .iter()
        .map(|who| {
            let verdicts: Vec<String> = rounds
                .iter()
                .map(
                    |r| match r[who]["idle"]["hibernation"]["verdict"].as_str() {
                        Some(s) => s.to_string(),
                        None => "–".into(),
                    },
                )
                .collect();
            format!("{who} **{}**", verdicts.join(" / "))
        })
        .collect();
    format!(
        "Idle room hibernated (its instance id changed across {} s of silence while its sockets kept delivering; per round): {}.",
        v["plan"]["idle_s"], per.join(", ")
    )
}

/// Table rows of `idle`: (metric, JSON pointer).
pub const ROWS: &[(&str, &str)] = &[
    ("RSS KiB/socket, awake", "/kib_per_socket_awake/median"),
    ("… spread low", "/kib_per_socket_awake/low"),
    ("… spread high", "/kib_per_socket_awake/high"),
    (
        "RSS KiB/socket, 2nd half",
        "/kib_per_socket_second_half/median",
    ),
    ("RSS KiB/socket, idle", "/kib_per_socket_idle/median"),
    ("… spread low", "/kib_per_socket_idle/low"),
    ("… spread high", "/kib_per_socket_idle/high"),
    ("first msg after idle ms", "/wake_probe/first_after_idle_ms"),
    ("warm msg ms", "/wake_probe/warm_ms/0"),
];
