//! Crashes: `kill -9` of wrangler and workerd in the middle of a burst of messages, then a
//! restart on the same state dir. An `ack` promises the event is stored: every acked message
//! must come back, with its seq, on resume and in the D1 history, and the numbering must go
//! on without a gap or a duplicate.

use serde_json::{json, Value};

use crate::common::{
    api_key, new_state_dir, token, trial, unique, with_token, Killed, Server, TestResult, Ws,
};
use crate::conversation::{join, say};
use crate::conversation_api::history_until;
use libtest_mimic::Trial;

/// Messages sent at once, and how many acks arrive before the kill.
const BURST: usize = 60;
const KILL_AFTER: usize = 20;
/// A rate bucket that takes the whole burst (the default refuses beyond 30 frames).
const VARS: &[(&str, &str)] = &[("RATE_BURST", "1000"), ("RATE_PER_SEC", "1000")];

pub fn trials() -> Vec<Trial> {
    vec![trial(
        "durability::kill9_mid_burst_loses_no_acked_message",
        kill9_mid_burst,
    )]
}

/// One acked message: which one of the burst (its request id), its id and seq.
#[derive(Debug, Clone, PartialEq)]
struct Acked {
    request_id: String,
    message_id: Value,
    seq: u64,
}

fn kill9_mid_burst(_: &Server) -> TestResult {
    let (room, user) = (unique("room"), unique("ann"));
    let server = Server::try_start_on(new_state_dir("crash")?, VARS)?;
    server.add_member(&room, &user);
    let (acked, killed) = burst_then_kill(server, &room, &user)?;
    let server = killed.restart()?;
    let outcome = check_after_restart(&server, &room, &user, &acked);
    server.stop(outcome.is_err());
    Ok(outcome?)
}

/// Sends the burst without waiting, reads acks as they come and kills the server after
/// [`KILL_AFTER`] of them; the acks already on their way are read too.
fn burst_then_kill(server: Server, room: &str, user: &str) -> Result<(Vec<Acked>, Killed), String> {
    let (mut ws, _) = join(&server, room, user)?;
    for i in 0..BURST {
        let frame = json!({"type": "chat_message", "content": format!("burst {i}"), "request_id": format!("b{i}")});
        ws.send_json(&frame)?;
    }
    let mut acked = Vec::new();
    while acked.len() < KILL_AFTER {
        read_ack(&mut ws, &mut acked)?;
    }
    let killed = server.kill9()?;
    // What the server sent before it died is still in our socket buffer; then the read fails.
    while acked.len() < BURST && read_ack(&mut ws, &mut acked).is_ok() {}
    eprintln!(
        "kill9 test: {} of {BURST} messages acked before the kill",
        acked.len()
    );
    Ok((acked, killed))
}

/// Reads one frame; an `ack` is recorded, other frames (the broadcasts) are skipped.
fn read_ack(ws: &mut Ws, acked: &mut Vec<Acked>) -> Result<(), String> {
    let frame = ws.recv()?;
    match frame["type"].as_str() {
        Some("ack") => acked.push(Acked {
            request_id: frame["request_id"].as_str().unwrap_or("?").to_string(),
            message_id: frame["message_id"].clone(),
            seq: frame["seq"]
                .as_u64()
                .ok_or(format!("ack without seq: {frame}"))?,
        }),
        Some("chat_message") => {}
        _ => return Err(format!("unexpected frame during the burst: {frame}")),
    }
    Ok(())
}

fn check_after_restart(s: &Server, room: &str, user: &str, acked: &[Acked]) -> Result<(), String> {
    // Acks come in the order the burst was sent, numbered from 1.
    let want: Vec<(String, u64)> = (0..acked.len())
        .map(|i| (format!("b{i}"), i as u64 + 1))
        .collect();
    let got: Vec<(String, u64)> = acked
        .iter()
        .map(|a| (a.request_id.clone(), a.seq))
        .collect();
    assert_eq!(got, want, "acks before the kill");
    let stored = replay(s, room, user)?;
    let n = stored.len();
    eprintln!("kill9 test: {n} stored after the restart");
    assert!(
        (acked.len()..=BURST).contains(&n),
        "{n} stored, {} acked",
        acked.len()
    );
    // Stored: a prefix of the burst, seqs 1..=n, every acked message with its id and seq.
    for (i, (seq, id, content)) in stored.iter().enumerate() {
        assert_eq!(
            (*seq, content.as_str()),
            (i as u64 + 1, format!("burst {i}").as_str())
        );
        if let Some(a) = acked.get(i) {
            assert_eq!(id, &a.message_id, "acked {} as seq {}", a.request_id, a.seq);
        }
    }
    history_matches(s, room, &stored)?;
    let (mut ws, _) = join(s, room, user)?;
    assert_eq!(
        say(&mut ws, "after the crash")?["seq"],
        n as u64 + 1,
        "numbering goes on"
    );
    Ok(())
}

/// Polls the D1-backed history until it has caught up, then checks that it holds exactly the
/// stored messages: the same seqs and ids.
fn history_matches(s: &Server, room: &str, stored: &[(u64, Value, String)]) -> Result<(), String> {
    let n = stored.len();
    let path = format!("/api/conversations/{room}/messages?limit=100");
    let page = history_until(s, &path, &api_key(), |p| {
        p["messages"].as_array().is_some_and(|m| m.len() >= n)
    })?;
    let history: Vec<(u64, Value)> = page["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| (m["seq"].as_u64().unwrap_or(0), m["id"].clone()))
        .collect();
    let replayed: Vec<(u64, Value)> = stored
        .iter()
        .map(|(seq, id, _)| (*seq, id.clone()))
        .collect();
    assert_eq!(
        history, replayed,
        "D1 caught up with exactly the stored messages"
    );
    Ok(())
}

/// `?since=0` after the restart: every stored chat message as (seq, id, content), checked
/// to end with `resumed` at the last one and to agree with `connection.established`.
fn replay(s: &Server, room: &str, user: &str) -> Result<Vec<(u64, Value, String)>, String> {
    let path = with_token(&format!("/ws/chat/{room}/?since=0"), &token(user));
    let mut ws = Ws::connect(&s.ws_url(&path))?;
    let last = ws.recv_type("connection.established")?["last_seq"].clone();
    let mut stored = Vec::new();
    loop {
        let f = ws.recv()?;
        if f["type"] == "resumed" {
            assert_eq!(f, json!({"type": "resumed", "since": 0, "last_seq": last}));
            assert_eq!(last, stored.len(), "last_seq counts the replayed messages");
            return Ok(stored);
        }
        if f["type"] != "chat_message" || f["seq"] != f["message"]["seq"] {
            return Err(format!("unexpected frame in the replay: {f}"));
        }
        let content = f["message"]["content"].as_str().unwrap_or("").to_string();
        stored.push((
            f["seq"].as_u64().unwrap_or(0),
            f["message"]["id"].clone(),
            content,
        ));
    }
}
