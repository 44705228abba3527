//! Frame rules of the object core: `rate_limited` echoes the refused frame's `request_id`,
//! a resume's replay is paid from the socket's rate bucket, typing is not shown in the
//! typer's other tabs, and `mark_all_read` is one marker event however many it covers.

use serde_json::{json, Value};

use crate::common::{trial, unique, Server, TestResult, Ws};
use crate::conversation::{join, room_with, say, send, users2};
use crate::conversation_api::post;
use crate::conversation_limits::{tuned, BURST};
use crate::inbox::{inbox, notify};
use libtest_mimic::Trial;

/// Events a resume replays in [`resume_is_paid`]: at 100 per token, five tokens, the whole
/// burst of its server.
const REPLAYED: u64 = 500;
/// The server of [`resume_is_paid`]: the tuned server's bucket with the default resume window
/// (the tuned server's is 3 events).
const PACED: &[(&str, &str)] = &[("RATE_BURST", "5"), ("RATE_PER_SEC", "0.01")];

pub fn trials() -> Vec<Trial> {
    vec![
        tuned(
            "limits::rate_limited_echoes_the_request_id",
            rate_limited_request_id,
        ),
        trial(
            "limits::resume_replay_is_paid_from_the_rate_bucket",
            resume_is_paid,
        ),
        trial(
            "chat::typing_reaches_other_users_not_the_typers_other_tabs",
            typing_skips_own_tabs,
        ),
        trial(
            "inbox::mark_all_read_is_one_marker_event",
            mark_all_read_marker,
        ),
    ]
}

fn rate_limited_request_id(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut ws, _) = join(s, &room, &a)?;
    for i in 0..BURST {
        send(
            &mut ws,
            json!({"type": "ping", "timestamp": i, "request_id": format!("p{i}")}),
        )?;
        assert_eq!(ws.recv_type("pong")?["timestamp"], i);
    }
    // The burst is spent: a valid frame and one the server cannot even take are refused,
    // each with its own request_id.
    send(
        &mut ws,
        json!({"type": "chat_message", "content": "x", "request_id": "over"}),
    )?;
    send(
        &mut ws,
        json!({"type": "no_such_frame", "request_id": "odd"}),
    )?;
    for id in ["over", "odd"] {
        let e = ws.recv_type("error")?;
        assert_eq!(
            (e["code"].as_str(), e["request_id"].as_str()),
            (Some("rate_limited"), Some(id)),
            "{e}"
        );
    }
    Ok(())
}

/// Sends `resume` and reads the replay up to `resumed`; returns how many events came.
fn resume(ws: &mut Ws, since: u64, last: u64) -> Result<u64, String> {
    send(
        ws,
        json!({"type": "resume", "since": since, "request_id": "r"}),
    )?;
    let mut n = 0;
    loop {
        let f = ws.recv()?;
        match f["type"].as_str() {
            Some("chat_message") => n += 1,
            Some("resumed")
                if f == json!({"type": "resumed", "since": since, "last_seq": last}) =>
            {
                return Ok(n)
            }
            _ => return Err(format!("unexpected frame in the replay: {f}")),
        }
    }
}

/// A ping with a request id; returns the answer (`pong` or `error`).
fn ping(ws: &mut Ws, id: &str) -> Result<Value, String> {
    send(
        ws,
        json!({"type": "ping", "timestamp": 1, "request_id": id}),
    )?;
    ws.recv()
}

fn resume_is_paid(_: &Server) -> TestResult {
    let server = Server::try_start(PACED)?;
    let outcome = paced_resumes(&server);
    server.stop(outcome.is_err());
    Ok(outcome?)
}

fn paced_resumes(s: &Server) -> Result<(), String> {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    std::thread::scope(|scope| {
        for part in 0..4 {
            let (room, a) = (room.as_str(), a.as_str());
            scope.spawn(move || {
                for i in (part..REPLAYED).step_by(4) {
                    let body = json!({"sender": {"id": a}, "content": format!("m{i}")});
                    assert_eq!(post(s, room, &body, None).0, 201);
                }
            });
        }
    });
    // One event replayed costs a hundredth of a token: the next frame still passes.
    let (mut cheap, _) = join(s, &room, &a)?;
    assert_eq!(resume(&mut cheap, REPLAYED - 1, REPLAYED)?, 1);
    let pong = ping(&mut cheap, "after-one")?;
    assert_eq!(pong["type"], "pong", "{pong}");
    // 500 events cost the five tokens the resume frame left (four): the bucket is empty.
    let (mut costly, _) = join(s, &room, &a)?;
    assert_eq!(resume(&mut costly, 0, REPLAYED)?, REPLAYED);
    let refused = ping(&mut costly, "after-all")?;
    assert_eq!(
        (refused["code"].as_str(), refused["request_id"].as_str()),
        (Some("rate_limited"), Some("after-all")),
        "{refused}"
    );
    Ok(())
}

fn typing_skips_own_tabs(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wb, _) = join(s, &room, &b)?;
    let (mut tab1, _) = join(s, &room, &a)?;
    let (mut tab2, _) = join(s, &room, &a)?;
    assert_eq!(wb.recv_type("user_status")?["user_id"], a.as_str());
    send(
        &mut tab1,
        json!({"type": "typing_indicator", "is_typing": true}),
    )?;
    let t = wb.recv_type("typing_indicator")?;
    assert_eq!(t["user_id"], a.as_str(), "another user sees it: {t}");
    say(&mut tab1, "marker")?;
    let next = tab2.recv()?;
    assert_eq!(
        (next["type"].as_str(), next["message"]["content"].as_str()),
        (Some("chat_message"), Some("marker")),
        "the typer's other tab got no typing: {next}"
    );
    Ok(())
}

fn mark_all_read_marker(s: &Server) -> TestResult {
    let u = unique("ann");
    let (mut phone, _) = inbox(s, &u, "")?;
    let (mut laptop, _) = inbox(s, &u, "")?;
    for title in ["one", "two", "three"] {
        assert_eq!(notify(s, &u, title).0, 201);
    }
    for ws in [&mut phone, &mut laptop] {
        for _ in 0..3 {
            ws.recv_type("notification")?;
            ws.recv_type("unread_count")?;
        }
    }
    send(
        &mut phone,
        json!({"type": "mark_all_read", "request_id": "all"}),
    )?;
    assert_eq!(
        phone.recv_type("ack")?,
        json!({"type": "ack", "request_id": "all", "seq": 4})
    );
    let marker = json!({"type": "notification_read", "seq": 4, "notification_ids": [], "all": true, "up_to_seq": 3});
    for ws in [&mut phone, &mut laptop] {
        assert_eq!(ws.recv_type("notification_read")?, marker);
        assert_eq!(
            ws.recv_type("unread_count")?,
            json!({"type": "unread_count", "count": 0})
        );
        // One marker for the three: the next frame answers this ping.
        assert_eq!(ping(ws, "p")?["type"], "pong");
    }
    let (mut later, _) = inbox(s, &u, "?since=3")?;
    assert_eq!(later.recv()?, marker, "replayed as it was sent");
    let sql = format!("SELECT is_read FROM notifications WHERE user_id = '{u}' ORDER BY seq");
    s.d1_until(&sql, |rows| {
        rows.iter().filter(|r| r["is_read"] == 1).count() == 3
    })?;
    Ok(())
}
