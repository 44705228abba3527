//! `connect`: N authenticated sockets of distinct members opened into one room, `parallel`
//! at a time: connects/s and per-socket latency (the storms are in `storm.rs`, idle sockets
//! in `idle.rs`).

use serde_json::{json, Value};

use crate::common::{now_ns, run_id, Target};
use crate::stats::{rate, Lat};
use crate::ws::{open_many, Ws};

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
