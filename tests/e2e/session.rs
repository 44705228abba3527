//! Sessions (SPEC §9): one socket per device on `/ws/chat/` or `/ws/`, held by the user's
//! inbox, joining many conversations. Every trial compares what a session gets with what a
//! plain room socket gets, frame for frame, and asserts order and content.

use serde_json::{json, Value};

use crate::common::{token, trial, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{auth, join, room_with, say, users2};
use crate::inbox::notify;
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    trials! {
        "session" => [
            session_follows_three_conversations_in_order,
            message_on_the_session_reaches_a_room_socket_acked_once,
            room_socket_message_reaches_the_session,
            client_msg_id_retry_over_the_session_is_idempotent,
            joining_a_foreign_conversation_is_forbidden_and_the_socket_stays,
            frame_for_a_conversation_not_joined_is_invalid,
            leave_stops_delivery,
            removal_sends_left_removed_and_nothing_more,
            notifications_arrive_on_the_session,
            the_join_limit_is_enforced,
            session_is_a_device_in_presence,
            quick_reconnect_of_a_session_emits_nothing,
            a_closed_session_leaves_presence_after_the_grace,
            typing_crosses_both_ways_but_not_to_the_typer,
            slash_ws_is_a_session_and_ws_id_is_the_dm,
        ],
    }
}

/// Opens `/ws/chat/` (the session) as `user`; returns it after `connection.established`.
pub fn session(s: &Server, user: &str) -> Result<(Ws, Value), String> {
    session_at(s, "/ws/chat/", user)
}

pub fn session_at(s: &Server, path: &str, user: &str) -> Result<(Ws, Value), String> {
    let mut ws = Ws::connect(&s.ws_url(&with_token(path, &token(user))))?;
    let hello = ws.recv_type("connection.established")?;
    Ok((ws, hello))
}

/// `join_conversation`; returns the `joined` frame.
pub fn join_on(ws: &mut Ws, conv: &str, since: Option<u64>) -> Result<Value, String> {
    let mut frame = json!({"type": "join_conversation", "conversation_id": conv});
    if let Some(k) = since {
        frame["since"] = json!(k);
    }
    ws.send_json(&frame)?;
    let joined = ws.recv_type("joined")?;
    assert_eq!(joined["conversation_id"], conv, "{joined}");
    Ok(joined)
}

/// Sends a message on the session for `conv` and returns its ack.
pub fn say_on(ws: &mut Ws, conv: &str, text: &str) -> Result<Value, String> {
    ws.send_json(&json!({"type": "chat_message", "conversation_id": conv,
        "content": text, "request_id": "say"}))?;
    ws.recv_until("ack")
}

/// Bob on a plain room socket, then Ann's session joining the same room: the start of the
/// trials that watch a session from a room socket.
struct Watched {
    ann: String,
    bob: String,
    room: String,
    plain: Ws,
    sess: Ws,
    /// Ann's `joined` frame.
    joined: Value,
}

fn watched(s: &Server) -> Result<Watched, String> {
    let (ann, bob) = users2();
    let room = room_with(s, &[&ann, &bob]);
    let (plain, _) = join(s, &room, &bob)?;
    let (mut sess, _) = session(s, &ann)?;
    let joined = join_on(&mut sess, &room, None)?;
    Ok(Watched {
        ann,
        bob,
        room,
        plain,
        sess,
        joined,
    })
}

/// A message through the server API.
pub fn post(s: &Server, conv: &str, sender: &str, text: &str) -> Value {
    let body = json!({"sender": {"id": sender}, "content": text});
    let path = format!("/api/conversations/{conv}/messages");
    let (status, resp) = s.post_json(&path, Some(&crate::common::api_key()), &body);
    assert_eq!(status, 201, "{resp}");
    resp
}

/// The frame without `conversation_id` (a session frame against a room socket's).
pub fn untagged(mut v: Value) -> Value {
    v.as_object_mut().map(|m| m.remove("conversation_id"));
    v
}

fn session_follows_three_conversations_in_order(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let rooms: Vec<String> = (0..3).map(|_| room_with(s, &[&ann, &bob])).collect();
    let (mut sess, hello) = session(s, &ann)?;
    assert_eq!(hello["conversations"], json!([]), "{hello}");
    assert!(hello["unread_count"].is_u64(), "{hello}");
    for r in &rooms {
        assert_eq!(join_on(&mut sess, r, None)?["last_seq"], 0);
    }
    for round in 0..2 {
        for r in &rooms {
            post(s, r, &bob, &format!("{r}-{round}"));
        }
    }
    let mut seen: Vec<(String, u64, String)> = Vec::new();
    while seen.len() < 6 {
        let f = sess.recv()?;
        if f["type"] == "chat_message" {
            assert_eq!(f["conversation_id"], f["message"]["conversation_id"], "{f}");
            let conv = f["conversation_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let text = f["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            seen.push((conv, f["seq"].as_u64().unwrap_or(0), text));
        }
    }
    for r in &rooms {
        let mine: Vec<(u64, String)> = seen
            .iter()
            .filter(|(c, _, _)| c == r)
            .map(|(_, q, t)| (*q, t.clone()))
            .collect();
        assert_eq!(mine, vec![(1, format!("{r}-0")), (2, format!("{r}-1"))]);
    }
    Ok(())
}

fn message_on_the_session_reaches_a_room_socket_acked_once(s: &Server) -> TestResult {
    let Watched {
        room,
        mut plain,
        mut sess,
        ..
    } = watched(s)?;
    let ack = say_on(&mut sess, &room, "from the session")?;
    assert_eq!(
        (&ack["seq"], &ack["request_id"]),
        (&json!(1), &json!("say"))
    );
    assert_eq!(ack["conversation_id"], room.as_str(), "{ack}");
    // The sender's own copy follows its ack, once, and nothing else about it.
    let own = sess.recv_type("chat_message")?;
    let got = plain.recv_until("chat_message")?;
    assert_eq!(
        untagged(own.clone()),
        got,
        "the same event on both kinds of socket"
    );
    assert_eq!(own["message"]["content"], "from the session");
    say_on(&mut sess, &room, "second")?;
    let next = sess.recv_type("chat_message")?;
    assert_eq!(next["seq"], 2, "seq 1 came once: {next}");
    Ok(())
}

fn room_socket_message_reaches_the_session(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let room = room_with(s, &[&ann, &bob]);
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &room, None)?;
    let (mut plain, _) = join(s, &room, &bob)?;
    let ack = say(&mut plain, "from the room socket")?;
    let own = plain.recv_type("chat_message")?;
    let got = sess.recv_until("chat_message")?;
    assert_eq!(ack["seq"], 1);
    assert_eq!(got["conversation_id"], room.as_str());
    assert_eq!(untagged(got), own);
    Ok(())
}

fn client_msg_id_retry_over_the_session_is_idempotent(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let room = room_with(s, &[&ann, &bob]);
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &room, None)?;
    let frame = json!({"type": "chat_message", "conversation_id": room, "content": "once",
        "client_msg_id": "k-1", "request_id": "r"});
    sess.send_json(&frame)?;
    let first = sess.recv_type("ack")?;
    assert_eq!(sess.recv_type("chat_message")?["seq"], 1);
    sess.send_json(&frame)?;
    let again = sess.recv_type("ack")?;
    assert_eq!(
        (&again["seq"], &again["message_id"]),
        (&first["seq"], &first["message_id"])
    );
    say_on(&mut sess, &room, "after")?;
    assert_eq!(
        sess.recv_type("chat_message")?["seq"],
        2,
        "the retry broadcast nothing"
    );
    Ok(())
}

fn joining_a_foreign_conversation_is_forbidden_and_the_socket_stays(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let theirs = room_with(s, &[&bob]);
    let mine = room_with(s, &[&ann]);
    let (mut sess, _) = session(s, &ann)?;
    sess.send_json(
        &json!({"type": "join_conversation", "conversation_id": theirs,
        "request_id": "j"}),
    )?;
    let err = sess.recv_type("error")?;
    assert_eq!(
        (&err["code"], &err["request_id"], &err["conversation_id"]),
        (&json!("forbidden"), &json!("j"), &json!(theirs))
    );
    assert_eq!(
        join_on(&mut sess, &mine, None)?["last_seq"],
        0,
        "still open"
    );
    Ok(())
}

fn frame_for_a_conversation_not_joined_is_invalid(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let room = room_with(s, &[&ann, &bob]);
    let (mut sess, _) = session(s, &ann)?;
    sess.send_json(&json!({"type": "chat_message", "conversation_id": room,
        "content": "x", "request_id": "n"}))?;
    let err = sess.recv_type("error")?;
    assert_eq!(
        (&err["code"], &err["request_id"]),
        (&json!("invalid_request"), &json!("n"))
    );
    sess.send_json(&json!({"type": "chat_message", "content": "no id", "request_id": "m"}))?;
    assert_eq!(sess.recv_type("error")?["code"], "invalid_request");
    Ok(())
}

fn leave_stops_delivery(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let (left, kept) = (room_with(s, &[&ann, &bob]), room_with(s, &[&ann, &bob]));
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &left, None)?;
    join_on(&mut sess, &kept, None)?;
    sess.send_json(&json!({"type": "leave_conversation", "conversation_id": left}))?;
    assert_eq!(
        sess.recv_type("left")?,
        json!({"type": "left", "conversation_id": left})
    );
    post(s, &left, &bob, "not for the session");
    post(s, &kept, &bob, "for the session");
    let next = sess.recv_type("chat_message")?;
    assert_eq!(next["conversation_id"], kept.as_str(), "{next}");
    Ok(())
}

fn removal_sends_left_removed_and_nothing_more(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let (room, other) = (room_with(s, &[&ann, &bob]), room_with(s, &[&ann, &bob]));
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &room, None)?;
    join_on(&mut sess, &other, None)?;
    let path = format!("/api/conversations/{room}/members/{ann}");
    let (status, _) = s.request("DELETE", &path, &[("Authorization", &auth())], None);
    assert_eq!(status, 200);
    let left = sess.recv()?;
    assert_eq!(
        left,
        json!({"type": "left", "conversation_id": room, "reason": "removed"})
    );
    post(s, &room, &bob, "after the removal");
    post(s, &other, &bob, "still here");
    let next = sess.recv_type("chat_message")?;
    assert_eq!(next["conversation_id"], other.as_str(), "{next}");
    sess.send_json(&json!({"type": "join_conversation", "conversation_id": room}))?;
    assert_eq!(sess.recv_type("error")?["code"], "forbidden");
    Ok(())
}

fn notifications_arrive_on_the_session(s: &Server) -> TestResult {
    let ann = unique("ann");
    let (mut sess, _) = session(s, &ann)?;
    let (status, _) = notify(s, &ann, "hello");
    assert_eq!(status, 201);
    let n = sess.recv_type("notification")?;
    assert_eq!(n["notification"]["title"], "hello", "{n}");
    assert_eq!(sess.recv_type("unread_count")?["count"], 1);
    Ok(())
}

fn the_join_limit_is_enforced(s: &Server) -> TestResult {
    let ann = unique("ann");
    let max = 100;
    let (mut sess, _) = session(s, &ann)?;
    let dms: Vec<String> = (0..=max)
        .map(|i| format!("dm:{ann}:{}", unique(&format!("p{i}"))))
        .collect();
    // All at once, as a reconnecting app rejoins: a join costs a tenth of a frame, so the
    // hundred fit in the rate burst of 30.
    for dm in &dms[..max] {
        sess.send_json(&json!({"type": "join_conversation", "conversation_id": dm}))?;
    }
    let mut joined: Vec<String> = (0..max)
        .map(|_| {
            sess.recv_type("joined")
                .map(|j| j["conversation_id"].to_string())
        })
        .collect::<Result<_, _>>()?;
    joined.sort();
    let mut want: Vec<String> = dms[..max].iter().map(|d| json!(d).to_string()).collect();
    want.sort();
    assert_eq!(joined, want, "every one of the hundred joined");
    sess.send_json(&json!({"type": "join_conversation", "conversation_id": dms[max]}))?;
    let err = sess.recv_type("error")?;
    assert_eq!(err["code"], "invalid_request", "{err}");
    join_on(&mut sess, &dms[0], None)?; // a rejoin is not a new join
    Ok(())
}

fn session_is_a_device_in_presence(s: &Server) -> TestResult {
    let Watched {
        ann,
        bob,
        mut plain,
        joined,
        ..
    } = watched(s)?;
    let mut names: Vec<(String, u64)> = joined["presence"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["user_id"].as_str().unwrap_or("").to_string(),
                p["devices"].as_u64().unwrap_or(9),
            )
        })
        .collect();
    names.sort();
    let mut want = vec![(ann.clone(), 1), (bob.clone(), 1)];
    want.sort();
    assert_eq!(names, want, "{joined}");
    let online = plain.recv_type("user_status")?;
    assert_eq!(
        (&online["user_id"], &online["status"]),
        (&json!(ann), &json!("online"))
    );
    Ok(())
}

fn quick_reconnect_of_a_session_emits_nothing(s: &Server) -> TestResult {
    let Watched {
        ann,
        bob,
        room,
        mut plain,
        sess,
        ..
    } = watched(s)?;
    assert_eq!(plain.recv_type("user_status")?["status"], "online");
    sess.close();
    let (mut sess, _) = session(s, &ann)?;
    join_on(&mut sess, &room, None)?;
    // The next frame bob gets is the message, not an offline/online pair.
    post(s, &room, &bob, "after the reconnect");
    let next = plain.recv()?;
    assert_eq!(next["type"], "chat_message", "{next}");
    Ok(())
}

fn typing_crosses_both_ways_but_not_to_the_typer(s: &Server) -> TestResult {
    let Watched {
        ann,
        bob,
        room,
        mut plain,
        mut sess,
        ..
    } = watched(s)?;
    plain.recv_type("user_status")?;
    sess.send_json(&json!({"type": "typing", "conversation_id": room, "is_typing": true}))?;
    let t = plain.recv_type("typing_indicator")?;
    assert_eq!(
        (&t["user_id"], &t["is_typing"]),
        (&json!(ann), &json!(true))
    );
    plain.send_json(&json!({"type": "typing", "is_typing": true}))?;
    let t = sess.recv_type("typing_indicator")?;
    assert_eq!(
        (&t["user_id"], &t["conversation_id"]),
        (&json!(bob), &json!(room))
    );
    // The typer's own session saw nothing of its own typing: the next frame is the message.
    post(s, &room, &bob, "m");
    assert_eq!(sess.recv()?["type"], "chat_message");
    Ok(())
}

fn slash_ws_is_a_session_and_ws_id_is_the_dm(s: &Server) -> TestResult {
    let (ann, bob) = users2();
    let (mut sess, hello) = session_at(s, "/ws/", &ann)?;
    assert_eq!(hello["conversations"], json!([]));
    let (mut alias, hello) = session_at(s, &format!("/ws/{bob}/"), &ann)?;
    let dm = crate::common::dm_id(&ann, &bob);
    assert_eq!(hello["conversation_id"], dm.as_str(), "{hello}");
    join_on(&mut sess, &dm, None)?;
    say(&mut alias, "over the alias")?;
    let got = sess.recv_until("chat_message")?;
    assert_eq!(
        (&got["conversation_id"], &got["message"]["content"]),
        (&json!(dm), &json!("over the alias"))
    );
    Ok(())
}

/// When the session's socket closes, the room ends its subscription: after the grace window
/// the next frame a room socket gets is the user's `user_status` offline, and the presence
/// API no longer lists them.
fn a_closed_session_leaves_presence_after_the_grace(s: &Server) -> TestResult {
    let Watched {
        ann,
        bob,
        room,
        mut plain,
        sess,
        ..
    } = watched(s)?;
    assert_eq!(plain.recv_type("user_status")?["status"], "online");
    sess.close();
    let offline = plain.recv()?;
    assert_eq!(
        (&offline["type"], &offline["user_id"], &offline["status"]),
        (&json!("user_status"), &json!(ann), &json!("offline")),
        "{offline}"
    );
    let (status, body) = s.get(
        &format!("/api/conversations/{room}/presence"),
        Some(&crate::common::api_key()),
    );
    assert_eq!(status, 200);
    let users: Vec<&str> = body["users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["user_id"].as_str())
        .collect();
    assert_eq!(users, vec![bob.as_str()], "{body}");
    Ok(())
}
