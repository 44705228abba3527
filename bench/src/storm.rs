//! `connect_all_sS` and `storm_sS`: S sockets of distinct member users opened into ONE room
//! all at once (not a few at a time), timed until the last has its `connection.established`;
//! the storm then publishes durable messages (backend `POST …/messages`), drops every socket
//! at once (no close frame), publishes more while all are down, reconnects every socket at
//! once with `?since=<last seq it saw>` (more messages go out during the reconnect), and
//! publishes again once all are back. It reports the time until every socket is back (its
//! `resumed` where the target replays), connects/s, failures, and per user whether each
//! durable message arrived exactly once across both connections.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

use crate::common::{now_ns, run_id, Target};
use crate::crowd::{self, Client, Event, Tally, CONNECT, DROP, RECONNECT, STOP};
use crate::stats::{rate, Lat};

/// Parameters of one storm (or connect-all) run.
#[derive(Clone, Debug)]
pub struct Opts {
    pub subs: usize,
    /// Sockets opening at once (0 = all S at once).
    pub parallel: usize,
    /// Durable messages: before the drop, while all are down, during the reconnect (paced
    /// at `during_gap`), after everyone is back.
    pub before: usize,
    pub gap: usize,
    pub during: usize,
    pub during_gap: Duration,
    pub after: usize,
    /// The target answers `?since=` with a replay ending in `resumed` (the service); None:
    /// find out with a probe socket before the storm ([`crowd::replays`]).
    pub resume: Option<bool>,
    /// Open the sockets with `?presence=batch`, as the project's JavaScript client does.
    pub presence_batch: bool,
    /// How long to wait for a batch of messages to reach every socket.
    pub drain: Duration,
}

struct Run {
    room: String,
    ctl: watch::Sender<u8>,
    events: mpsc::UnboundedReceiver<Event>,
    firsts: Arc<Vec<AtomicU32>>,
    tasks: Vec<JoinHandle<Tally>>,
    /// When the clients were spawned (they start opening at once).
    started: u64,
    /// Whether the clients wait for `resumed` after reconnecting.
    resume: bool,
}

/// `connect_all_sS`: opens S sockets at once and closes them; the connect part of a storm.
pub async fn connect_all(t: &Target, o: &Opts) -> Result<Value, String> {
    let (mut run, members_ms) = start(t, o, "connect-all", 0).await?;
    let connect = gather(&mut run.events, o.subs, CONNECT, run.started).await;
    let _ = run.ctl.send(STOP);
    for task in std::mem::take(&mut run.tasks) {
        let _ = task.await;
    }
    let mut out = connect.json(o.subs, o.parallel);
    out["members_ms"] = json!(members_ms);
    Ok(out)
}

/// `storm_sS`: connect all, drop all, reconnect all with `since`; see the module doc.
pub async fn storm(t: &Target, o: &Opts) -> Result<Value, String> {
    let total = o.before + o.gap + o.during + o.after;
    let (mut run, members_ms) = start(t, o, "storm", total).await?;
    let connect = gather(&mut run.events, o.subs, CONNECT, run.started).await;
    let live = connect.ok;
    publish(t, &run.room, 0..o.before).await?;
    run.settle(o.before, live, o.drain).await;
    let _ = run.ctl.send(DROP);
    let dropped = gather(&mut run.events, live, DROP, now_ns()).await;
    let gap_start = o.before;
    publish(t, &run.room, gap_start..gap_start + o.gap).await?;
    let r_start = now_ns();
    let _ = run.ctl.send(RECONNECT);
    let during_start = gap_start + o.gap;
    let during = tokio::spawn(publish_paced(
        t.clone(),
        run.room.clone(),
        during_start..during_start + o.during,
        o.during_gap,
    ));
    let reconnect = gather(&mut run.events, dropped.ok, RECONNECT, r_start).await;
    during.await.map_err(|e| e.to_string())??;
    publish(t, &run.room, total - o.after..total).await?;
    run.settle(total, reconnect.ok, o.drain).await;
    let _ = run.ctl.send(STOP);
    let mut tallies = Vec::new();
    for task in std::mem::take(&mut run.tasks) {
        tallies.extend(task.await.ok());
    }
    let mut rec = reconnect.json(dropped.ok, 0);
    rec["ended_before_the_drop"] = json!(dropped.failures.len());
    rec["waits_for_resumed"] = json!(run.resume);
    Ok(json!({
        "subs": o.subs, "members_ms": members_ms, "connect": connect.json(o.subs, o.parallel),
        "reconnect": rec, "messages": {"before": o.before, "while_down": o.gap,
        "during_reconnect": o.during, "after": o.after},
        "deliveries": deliveries(o, &tallies),
    }))
}

/// Members, then the clients' tasks, which all start opening at once.
async fn start(t: &Target, o: &Opts, tag: &str, total: usize) -> Result<(Run, u64), String> {
    let id = run_id();
    let room = format!("{tag}-{}-{id}", o.subs);
    let mut users: Vec<String> = (0..o.subs).map(|i| format!("u{i}-{id}")).collect();
    users.push("pub".into());
    let setup = now_ns();
    t.add_members(&room, &users, 16).await?;
    let members_ms = (now_ns() - setup) / 1_000_000;
    let query = if o.presence_batch {
        "&presence=batch"
    } else {
        ""
    };
    let resume = match o.resume {
        Some(r) => r,
        None if total == 0 => false,
        None => crowd::replays(&format!("{}&since=0", t.chat_url(&room, "pub"))).await,
    };
    let (ctl, ctl_rx) = watch::channel(CONNECT);
    let (ev_tx, events) = mpsc::unbounded_channel();
    let firsts: Arc<Vec<AtomicU32>> = Arc::new((0..total).map(|_| AtomicU32::new(0)).collect());
    let gate = (o.parallel > 0).then(|| Arc::new(Semaphore::new(o.parallel)));
    let started = now_ns();
    let tasks = users[..o.subs]
        .iter()
        .map(|u| {
            let c = Client {
                url: format!("{}{query}", t.chat_url(&room, u)),
                resume,
                gate: gate.clone(),
            };
            tokio::spawn(crowd::run(c, ctl_rx.clone(), ev_tx.clone(), firsts.clone()))
        })
        .collect();
    let run = Run {
        room,
        ctl,
        events,
        firsts,
        tasks,
        started,
        resume,
    };
    Ok((run, members_ms))
}

/// A run cut short (its bound hit) ends its clients too.
impl Drop for Run {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Run {
    /// Waits until message `count - 1` reached `want` users, or `drain` passed. Frames
    /// arrive in seq order on each socket, so the last message in means all earlier are in.
    async fn settle(&self, count: usize, want: usize, drain: Duration) {
        let Some(last) = count.checked_sub(1) else {
            return;
        };
        let until = now_ns() + drain.as_nanos() as u64;
        while (self.firsts[last].load(Ordering::Relaxed) as usize) < want && now_ns() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What one phase's opens came to.
struct Phase {
    ok: usize,
    failures: Vec<String>,
    /// Per socket, from its own start to ready (handshake + established [+ replay]).
    lat: Lat,
    /// From the phase start to the last established / ready.
    established_all_ns: u64,
    ready_all_ns: u64,
}

/// Collects `n` events of `phase` (a client that failed earlier sends none for later phases).
async fn gather(
    events: &mut mpsc::UnboundedReceiver<Event>,
    n: usize,
    phase: u8,
    start: u64,
) -> Phase {
    let mut p = Phase {
        ok: 0,
        failures: Vec::new(),
        lat: Lat::default(),
        established_all_ns: 0,
        ready_all_ns: 0,
    };
    let mut seen = 0;
    while seen < n {
        let Some(ev) = events.recv().await else { break };
        if ev.phase != phase {
            continue;
        }
        seen += 1;
        match ev.result {
            Ok((own, est, ready)) => {
                p.ok += 1;
                p.lat.record_ns(ready.saturating_sub(own));
                p.established_all_ns = p.established_all_ns.max(est.saturating_sub(start));
                p.ready_all_ns = p.ready_all_ns.max(ready.saturating_sub(start));
            }
            Err(e) => p.failures.push(e),
        }
    }
    p
}

impl Phase {
    fn json(&self, sockets: usize, parallel: usize) -> Value {
        let ms = |ns: u64| (ns as f64 / 1e4).round() / 100.0;
        json!({
            "sockets": sockets, "parallel": if parallel == 0 { json!("all") } else { json!(parallel) },
            "connected": self.ok, "failures": self.failures.len(),
            "first_failure": self.failures.first(),
            "established_all_ms": ms(self.established_all_ns), "all_ms": ms(self.ready_all_ns),
            "per_s": rate(self.ok as u64, self.ready_all_ns), "latency": self.lat.summary(),
        })
    }
}

/// Backend publishes numbered `range`, one after another (each acknowledged: stored).
async fn publish(t: &Target, room: &str, range: std::ops::Range<usize>) -> Result<(), String> {
    let path = format!("/api/conversations/{room}/messages");
    for n in range {
        let body = format!(
            r#"{{"sender":{{"id":"pub"}},"content":"b:{n}:{}"}}"#,
            now_ns()
        );
        match t.api("POST", &path, Some(&body)).await? {
            (201, _) => {}
            (s, b) => return Err(format!("POST {path}: {s} {}", &b[..b.len().min(160)])),
        }
    }
    Ok(())
}

/// [`publish`], one message every `gap`.
async fn publish_paced(
    t: Target,
    room: String,
    range: std::ops::Range<usize>,
    gap: Duration,
) -> Result<(), String> {
    let mut tick = tokio::time::interval(gap);
    for n in range {
        tick.tick().await;
        publish(&t, &room, n..n + 1).await?;
    }
    Ok(())
}

/// Lost / duplicated / out-of-order durable messages over users whose both connections
/// opened, with the lost split by when the message went out.
fn deliveries(o: &Opts, tallies: &[Tally]) -> Value {
    let whole: Vec<&Tally> = tallies.iter().filter(|t| t.whole).collect();
    let bounds = [
        ("before", 0, o.before),
        ("while_down", o.before, o.before + o.gap),
        (
            "during_reconnect",
            o.before + o.gap,
            o.before + o.gap + o.during,
        ),
        (
            "after",
            o.before + o.gap + o.during,
            o.before + o.gap + o.during + o.after,
        ),
    ];
    let mut lost_by = serde_json::Map::new();
    for (name, a, b) in bounds {
        let lost: usize = whole
            .iter()
            .map(|t| t.got[a..b].iter().filter(|&&c| c == 0).count())
            .sum();
        lost_by.insert(name.into(), json!(lost));
    }
    let total = o.before + o.gap + o.during + o.after;
    let sum = |f: &dyn Fn(&Tally) -> u64| whole.iter().map(|t| f(t)).sum::<u64>();
    let unique = sum(&|t| t.got.iter().filter(|&&c| c > 0).count() as u64);
    let dups = sum(&|t| t.got.iter().map(|&c| u64::from(c.saturating_sub(1))).sum());
    let expected = (whole.len() * total) as u64;
    let lost = expected - unique;
    let ooo = sum(&|t| t.out_of_order);
    let later = tallies
        .iter()
        .filter(|t| t.whole && t.failure.is_some())
        .count();
    json!({
        "users_checked": whole.len(), "expected": expected, "deliveries": unique, "lost": lost,
        "duplicates": dups, "out_of_order": ooo, "error_frames": sum(&|t| t.error_frames),
        "lost_by_phase": lost_by, "sockets_ended_after_reconnect": later,
        "exactly_once_in_order": lost == 0 && dups == 0 && ooo == 0 && whole.len() == o.subs,
    })
}

/// What `all` runs of this file: `connect_all_sS` for each S, then `storm_sS` (whose
/// connect part is the connect-all at its S).
#[derive(Clone, Debug)]
pub struct Plan {
    pub connect_all: Vec<usize>,
    /// Room size of the reconnect storm (0: none).
    pub storm_subs: usize,
    /// Everything else (subs is set per run).
    pub opts: Opts,
}

/// Runs the plan into `out`.
pub async fn scenarios(
    t: &Target,
    plan: &Plan,
    bound: Duration,
    out: &mut serde_json::Map<String, Value>,
) {
    let with = |subs| Opts {
        subs,
        ..plan.opts.clone()
    };
    for &subs in &plan.connect_all {
        let r = crate::run::bounded_for(bound, "connect-all", connect_all(t, &with(subs))).await;
        out.insert(format!("connect_all_s{subs}"), r);
        tokio::time::sleep(SETTLE).await;
    }
    if plan.storm_subs > 0 {
        // Two opens of every socket, each up to the open timeout: twice the bound.
        let o = with(plan.storm_subs);
        let r = crate::run::bounded_for(bound * 2, "storm", storm(t, &o)).await;
        out.insert(format!("storm_s{}", plan.storm_subs), r);
        tokio::time::sleep(SETTLE).await;
    }
}

/// Lets the closed sockets and presence of one run settle before the next.
const SETTLE: Duration = Duration::from_secs(3);

/// Table rows of this file's scenarios: (scenario, metric, JSON pointer), for the plan's
/// connect-all sizes and storm.
pub fn report_rows(plan: &Value) -> Vec<(String, &'static str, &'static str)> {
    let mut rows = Vec::new();
    for s in plan["connect_all"].as_array().into_iter().flatten() {
        let sc = format!("connect_all_s{s}");
        rows.push((sc.clone(), "all connected ms", "/all_ms"));
        rows.push((sc.clone(), "connects/s", "/per_s"));
        rows.push((sc.clone(), "connect p99 ms", "/latency/p99_ms"));
        rows.push((sc, "failures", "/failures"));
    }
    if let Some(s) = plan["storm"].as_u64().filter(|&s| s > 0) {
        let sc = format!("storm_s{s}");
        for (label, ptr) in [
            ("connect: all connected ms", "/connect/all_ms"),
            ("connect: connects/s", "/connect/per_s"),
            ("connect: failures", "/connect/failures"),
            ("reconnect: all back ms", "/reconnect/all_ms"),
            (
                "reconnect: all established ms",
                "/reconnect/established_all_ms",
            ),
            ("reconnect: reconnects/s", "/reconnect/per_s"),
            ("reconnect p99 ms", "/reconnect/latency/p99_ms"),
            ("reconnect: failures", "/reconnect/failures"),
            ("lost", "/deliveries/lost"),
            ("lost while down", "/deliveries/lost_by_phase/while_down"),
            ("duplicates", "/deliveries/duplicates"),
        ] {
            rows.push((sc.clone(), label, ptr));
        }
    }
    rows
}
