//! Sessions keep each conversation's stream exact (SPEC §9): resume per conversation, a lost
//! hand-off repaired, both objects hibernated, a join beyond the resume window, and frames
//! sent back to back answered in order.

use serde_json::json;

use crate::common::{token, trial, with_token, Server, TestResult, Ws};
use crate::conversation::{room_with, users2};
use crate::conversation_limits::tuned;
use crate::session::{join_on, post, say_on, session, untagged};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    let mut trials = trials! {
        "session" => [
            resume_per_conversation_replays_what_a_room_socket_would,
            hibernation_of_both_objects_loses_nothing,
            frames_sent_back_to_back_are_answered_in_order,
        ],
    };
    trials.push(tuned(
        "session::a_dropped_handoff_is_repaired_without_gap_or_duplicate",
        dropped_handoff_is_repaired,
    ));
    trials.push(tuned(
        "session::a_join_beyond_the_resume_window_gets_resync_required",
        join_beyond_the_window_resyncs,
    ));
    trials
}

fn resume_per_conversation_replays_what_a_room_socket_would(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let (a, b) = (room_with(s, &[&ann, &bob]), room_with(s, &[&ann, &bob]));
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &a, None)?;
    join_on(&mut sess, &b, None)?;
    post(s, &a, &bob, "a1");
    post(s, &b, &bob, "b1");
    let (mut seen_a, mut seen_b) = (0, 0);
    while seen_a + seen_b < 2 {
        let f = sess.recv_type("chat_message")?;
        match f["conversation_id"].as_str() {
            Some(c) if c == a => seen_a = f["seq"].as_u64().unwrap_or(0),
            _ => seen_b = f["seq"].as_u64().unwrap_or(0),
        }
    }
    sess.close();
    for i in 2..5 {
        post(s, &a, &bob, &format!("a{i}"));
    }
    post(s, &b, &bob, "b2");
    // Reconnect: rejoin each with its own since; compare with a plain room socket's replay.
    let (mut sess, _) = session(s, &ann)?;
    let joined = join_on(&mut sess, &a, Some(seen_a))?;
    assert_eq!(joined["last_seq"], 4);
    let mut replay_a = Vec::new();
    loop {
        let f = sess.recv()?;
        let done = f["type"] == "resumed";
        assert_eq!(f["conversation_id"], a.as_str(), "{f}");
        replay_a.push(untagged(f));
        if done {
            break;
        }
    }
    let plain_url = with_token(&format!("/ws/chat/{a}/?since={seen_a}"), &token(&ann));
    let mut plain = Ws::connect(&s.ws_url(&plain_url))?;
    plain.recv_type("connection.established")?;
    let mut replay_plain = Vec::new();
    for _ in 0..replay_a.len() {
        replay_plain.push(plain.recv()?);
    }
    assert_eq!(replay_a, replay_plain, "the same replay, frame for frame");
    assert_eq!(replay_a.len(), 4, "a2..a4 then resumed");
    join_on(&mut sess, &b, Some(seen_b))?;
    let b2 = sess.recv_type("chat_message")?;
    assert_eq!(
        (&b2["seq"], &b2["message"]["content"]),
        (&json!(2), &json!("b2"))
    );
    let resumed = sess.recv_type("resumed")?;
    assert_eq!(
        (&resumed["conversation_id"], &resumed["last_seq"]),
        (&json!(b), &json!(2))
    );
    Ok(())
}

/// On the tuned server every room's hand-off of seq 2 is dropped: the session notices the
/// gap at seq 3 and pulls 2 from the room before it delivers 3. Then a probe message shows
/// nothing arrived twice.
fn dropped_handoff_is_repaired(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let room = room_with(s, &[&ann, &bob]);
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &room, None)?;
    for i in 1..=4 {
        post(s, &room, &bob, &format!("m{i}"));
    }
    let got = messages(&mut sess, 4)?;
    let want: Vec<(String, u64, String)> = (1..=4)
        .map(|i| (room.clone(), i, format!("m{i}")))
        .collect();
    assert_eq!(got, want);
    post(s, &room, &bob, "probe");
    assert_eq!(
        messages(&mut sess, 1)?,
        vec![(room.clone(), 5, "probe".into())]
    );
    Ok(())
}

/// The room and the inbox both hibernate (their `x-rt-instance` changes) while a session
/// has the conversation joined; afterwards the session still gets every event in order,
/// and a message sent on it is acked with the next seq.
fn hibernation_of_both_objects_loses_nothing(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let room = room_with(s, &[&ann, &bob]);
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &room, None)?;
    post(s, &room, &bob, "before");
    assert_eq!(
        messages(&mut sess, 1)?,
        vec![(room.clone(), 1, "before".into())]
    );
    s.wait_evicted(&format!("/api/conversations/{room}/presence"))?;
    s.wait_evicted(&format!("/api/users/{ann}/notifications"))?;
    post(s, &room, &bob, "after 1");
    post(s, &room, &bob, "after 2");
    let got = messages(&mut sess, 2)?;
    assert_eq!(
        got,
        vec![
            (room.clone(), 2, "after 1".into()),
            (room.clone(), 3, "after 2".into())
        ]
    );
    let ack = say_on(&mut sess, &room, "from the woken session")?;
    assert_eq!(ack["seq"], 4);
    Ok(())
}

/// On the tuned server (`RESUME_LIMIT` 3), a join whose `since` is 5 events behind gets
/// `joined`, then `resync_required` for that conversation and no replay; live events follow.
fn join_beyond_the_window_resyncs(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let room = room_with(s, &[&ann, &bob]);
    for i in 1..=5 {
        post(s, &room, &bob, &format!("m{i}"));
    }
    let (mut sess, _) = session(s, &ann)?;
    assert_eq!(join_on(&mut sess, &room, Some(0))?["last_seq"], 5);
    let resync = sess.recv()?;
    assert_eq!(
        resync,
        json!({"conversation_id": room, "type": "resync_required", "last_seq": 5})
    );
    post(s, &room, &bob, "live");
    assert_eq!(
        messages(&mut sess, 1)?,
        vec![(room.clone(), 6, "live".into())]
    );
    Ok(())
}

/// A join, a message and a leave sent without waiting: answered in the order sent (the
/// message is acked after `joined`, `left` comes last), and nothing of the conversation
/// follows the `left`.
fn frames_sent_back_to_back_are_answered_in_order(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let (room, probe) = (room_with(s, &[&ann, &bob]), room_with(s, &[&ann, &bob]));
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &probe, None)?;
    for frame in [
        json!({"type": "join_conversation", "conversation_id": room}),
        json!({"type": "chat_message", "conversation_id": room, "content": "quick", "request_id": "q"}),
        json!({"type": "leave_conversation", "conversation_id": room}),
    ] {
        sess.send_json(&frame)?;
    }
    let mut kinds = Vec::new();
    while kinds.last().map(String::as_str) != Some("left") {
        let f = sess.recv()?;
        if f["conversation_id"] == room.as_str() {
            kinds.push(f["type"].as_str().unwrap_or_default().to_string());
        }
    }
    let acked = kinds.iter().position(|k| k == "ack");
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("joined"),
        "{kinds:?}"
    );
    assert!(acked.is_some(), "{kinds:?}");
    post(s, &room, &bob, "after the leave");
    post(s, &probe, &bob, "probe");
    let next = sess.recv_type("chat_message")?;
    assert_eq!(next["conversation_id"], probe.as_str(), "{next}");
    Ok(())
}

/// Chat messages on `ws` until `n` arrived: (conversation, seq, content) in arrival order.
pub fn messages(ws: &mut Ws, n: usize) -> Result<Vec<(String, u64, String)>, String> {
    let mut got = Vec::new();
    while got.len() < n {
        let f = ws.recv()?;
        if f["type"] == "chat_message" {
            let text = f["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let conv = f["conversation_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            got.push((conv, f["seq"].as_u64().unwrap_or(0), text));
        }
    }
    Ok(got)
}
