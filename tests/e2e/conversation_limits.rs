//! Conversation limits that need other `[vars]` than the shared server: the resume window
//! (`RESUME_LIMIT`), sockets per user (`MAX_SOCKETS_PER_USER`) and a rate bucket that barely
//! refills, to see that hibernation keeps its state. One tuned server serves these trials.

use serde_json::{json, Value};

use crate::common::{token, trial, tuned_server, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{join, room_with};
use crate::conversation_api::post;
use libtest_mimic::Trial;

/// A window of 3 events, 2 sockets per user, and 5 frames of burst refilling at one frame
/// per 100 s: a socket that used its burst stays limited for the rest of a trial. Also an
/// unparsable `MAX_FRAME_BYTES` (its default applies) for `gateway`'s configuration trial,
/// and every room's hand-off of seq 2 to its sessions dropped (the test-only switch), for
/// `session`'s gap repair trial.
pub const VARS: &[(&str, &str)] = &[
    ("RESUME_LIMIT", "3"),
    ("MAX_SOCKETS_PER_USER", "2"),
    ("RATE_PER_SEC", "0.01"),
    ("RATE_BURST", "5"),
    ("MAX_FRAME_BYTES", "lots"),
    ("TEST_DROP_HANDOFF_SEQS", "2"),
    // Presence changes after the first are held until the next broadcast flushes them
    // (`presence_batch::burst_is_one_update`).
    ("PRESENCE_BATCH_MS", "10000"),
];
pub const BURST: u64 = 5;

pub fn trials() -> Vec<Trial> {
    vec![
        tuned("limits::resync_beyond_resume_limit", resync_beyond_limit),
        tuned("limits::third_socket_of_a_user_4429", third_socket_4429),
        tuned(
            "durability::rate_state_survives_hibernation",
            rate_survives_hibernation,
        ),
    ]
}

/// A trial on the tuned server (started by the first trial that needs it).
pub fn tuned(name: &str, body: fn(&Server) -> TestResult) -> Trial {
    trial(name, move |_| body(tuned_server(VARS)))
}

/// Posts `n` messages through the API (not a socket: no rate tokens spent).
fn post_messages(s: &Server, room: &str, sender: &str, n: usize) {
    for i in 1..=n {
        let body = json!({"sender": {"id": sender}, "content": format!("m{i}")});
        let (status, reply) = post(s, room, &body, None);
        assert_eq!(status, 201, "{reply}");
    }
}

fn chat_socket(s: &Server, room: &str, user: &str, since: u64) -> Result<Ws, String> {
    let path = format!("/ws/chat/{room}/?since={since}");
    let mut ws = Ws::connect(&s.ws_url(&with_token(&path, &token(user))))?;
    ws.recv_type("connection.established")?;
    Ok(ws)
}

fn resync_beyond_limit(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    post_messages(s, &room, &a, 5);
    // Exactly RESUME_LIMIT events missing: still replayed.
    let mut near = chat_socket(s, &room, &a, 2)?;
    let seqs: Vec<Value> = (0..3)
        .map(|_| near.recv_type("chat_message").map(|f| f["seq"].clone()))
        .collect::<Result<_, _>>()?;
    assert_eq!(seqs, [json!(3), json!(4), json!(5)]);
    assert_eq!(
        near.recv()?,
        json!({"type": "resumed", "since": 2, "last_seq": 5})
    );
    // One more missing: the client must reload instead.
    let mut far = chat_socket(s, &room, &a, 1)?;
    assert_eq!(
        far.recv()?,
        json!({"type": "resync_required", "last_seq": 5})
    );
    far.send_json(&json!({"type": "resume", "since": 0}))?;
    assert_eq!(
        far.recv()?,
        json!({"type": "resync_required", "last_seq": 5}),
        "the resume frame has the same window"
    );
    Ok(())
}

fn third_socket_4429(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut first, _) = join(s, &room, &a)?;
    let (mut second, _) = join(s, &room, &a)?;
    let mut third = Ws::connect(&s.ws_url(&with_token(&format!("/ws/chat/{room}/"), &token(&a))))?;
    third.expect_close(4429)?;
    post_messages(s, &room, &a, 1);
    for (n, ws) in [(1, &mut first), (2, &mut second)] {
        let m = ws.recv_until("chat_message")?;
        assert_eq!(m["message"]["content"], "m1", "socket {n} is still open");
    }
    Ok(())
}

/// The next `pong` or `error` frame (presence frames may come in between).
fn answer(ws: &mut Ws) -> Result<Value, String> {
    loop {
        let frame = ws.recv()?;
        if frame["type"] == "pong" || frame["type"] == "error" {
            return Ok(frame);
        }
    }
}

fn rate_survives_hibernation(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut ws, _) = join(s, &room, &a)?;
    for i in 0..BURST {
        ws.send_json(&json!({"type": "ping", "timestamp": i}))?;
        assert_eq!(answer(&mut ws)?, json!({"type": "pong", "timestamp": i}));
    }
    // Idle until local workerd has evicted the room (a new instance answers). A bucket
    // rebuilt from scratch on wake-up would be full again; the stored one has gained at
    // most 0.01 token per second of the wait (under a minute: less than one token).
    s.wait_evicted(&format!("/api/conversations/{room}/presence"))?;
    ws.send_json(&json!({"type": "ping", "timestamp": 99}))?;
    let limited = answer(&mut ws)?;
    assert_eq!(
        (limited["type"].as_str(), limited["code"].as_str()),
        (Some("error"), Some("rate_limited")),
        "the burst stays spent across hibernation: {limited}"
    );
    Ok(())
}
