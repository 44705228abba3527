//! `publish`: backend HTTP publishes (`POST /api/conversations/{room}/messages`) at
//! concurrency C, with one subscriber socket in the room; request latency and
//! publish→socket delivery latency.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::common::{now_ns, run_id, Target};
use crate::stats::{rate, Lat};
use crate::ws::{open, subscribe};

/// Parameters of one publish run.
#[derive(Clone, Debug)]
pub struct Opts {
    pub concurrency: usize,
    pub per_task: usize,
    pub drain: Duration,
}

/// Runs the scenario and returns its JSON result.
pub async fn run(t: &Target, o: &Opts) -> Result<Value, String> {
    let room = format!("publish-{}", run_id());
    t.add_members(&room, &["sub".into(), "pub".into()], 2)
        .await?;
    let ws = open(&t.chat_url(&room, "sub")).await?;
    let total = o.concurrency * o.per_task;
    let (stop_tx, stop_rx) = watch::channel(false);
    let sub = tokio::spawn(subscribe(ws, total, stop_rx));
    let start = now_ns();
    let tasks: Vec<_> = (0..o.concurrency)
        .map(|c| {
            let (t, room, per) = (t.clone(), room.clone(), o.per_task);
            tokio::spawn(async move { post_loop(&t, &room, c * per, per).await })
        })
        .collect();
    let (mut req, mut failed, mut first_err) = (Lat::default(), 0u64, None);
    for task in tasks {
        let (lat, errs) = task.await.map_err(|e| e.to_string())?;
        req.merge(&lat);
        failed += errs.len() as u64;
        first_err = first_err.or(errs.into_iter().next());
    }
    let elapsed = now_ns() - start;
    let drain = o.drain;
    let timer = tokio::spawn(async move {
        tokio::time::sleep(drain).await;
        let _ = stop_tx.send(true);
    });
    let (seen, _ws) = sub.await.map_err(|e| e.to_string())?;
    timer.abort();
    Ok(json!({
        "concurrency": o.concurrency, "requests": total, "failed_requests": failed,
        "first_failure": first_err, "requests_per_s": rate(req.count(), elapsed),
        "request_latency": req.summary(),
        "deliveries": seen.unique, "lost": (total as u64 - failed).saturating_sub(seen.unique),
        "duplicates": seen.dups, "socket_failure": seen.failure,
        "delivery_latency": seen.lat.summary(),
    }))
}

/// `count` sequential publishes numbered from `first`; latencies and error texts.
async fn post_loop(t: &Target, room: &str, first: usize, count: usize) -> (Lat, Vec<String>) {
    let path = format!("/api/conversations/{room}/messages");
    let (mut lat, mut errs) = (Lat::default(), Vec::new());
    for n in first..first + count {
        let sent = now_ns();
        let body = format!(r#"{{"sender":{{"id":"pub"}},"content":"b:{n}:{sent}"}}"#);
        match t.api("POST", &path, Some(&body)).await {
            Ok((201, _)) => lat.record_ns(now_ns() - sent),
            Ok((s, b)) => errs.push(format!("{s} {}", b.chars().take(160).collect::<String>())),
            Err(e) => errs.push(e),
        }
    }
    (lat, errs)
}
