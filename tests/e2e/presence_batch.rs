//! Presence changes held for a window and sent together (`PRESENCE_BATCH_MS`): a socket that
//! asked with `?presence=batch` gets `presence_update` frames, every other socket the same
//! `user_status` frames as before, and no frame overtakes a presence change before it.

use serde_json::{json, Value};

use crate::common::{token, trial, tuned_server, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{join, room_with, users2};
use crate::conversation_limits::VARS;
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "presence::a_batch_socket_gets_presence_update_for_a_join_and_a_leave",
            batch_socket_join_and_leave,
        ),
        trial(
            "presence::a_burst_of_joins_is_one_update_and_comes_before_the_next_message",
            burst_is_one_update,
        ),
    ]
}

/// Opens `/ws/chat/{room}/?presence=batch` as `user`, after `connection.established`.
fn join_batched(s: &Server, room: &str, user: &str) -> Result<(Ws, Value), String> {
    let path = format!("/ws/chat/{room}/?presence=batch");
    let mut ws = Ws::connect(&s.ws_url(&with_token(&path, &token(user))))?;
    let hello = ws.recv_type("connection.established")?;
    Ok((ws, hello))
}

/// `(user_id, status)` of each `user_status` in a `presence_update`.
fn entries(update: &Value) -> Vec<(String, String)> {
    update["users"]
        .as_array()
        .map(|users| {
            users
                .iter()
                .map(|u| {
                    assert_eq!(u["type"], "user_status", "{update}");
                    let field = |k: &str| u[k].as_str().unwrap_or_default().to_string();
                    (field("user_id"), field("status"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn online(users: &[&str]) -> Vec<(String, String)> {
    users
        .iter()
        .map(|u| (u.to_string(), "online".to_string()))
        .collect()
}

/// On the shared server (the default window): one join, one leave, each a `presence_update`
/// of one `user_status`, and never a bare `user_status` on this socket.
fn batch_socket_join_and_leave(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join_batched(s, &room, &a)?;
    let (wb, _) = join(s, &room, &b)?;
    let update = wa.recv()?;
    assert_eq!(update["type"], "presence_update", "{update}");
    assert_eq!(entries(&update), online(&[&b]));
    let status = &update["users"][0];
    assert_eq!(status["online_status"], true);
    assert!(status["username"].is_string() && status["timestamp"].is_string());
    wb.close();
    // After the grace window: b's offline, batched as well.
    let update = wa.recv()?;
    assert_eq!(update["type"], "presence_update", "{update}");
    let offline = vec![(b.clone(), "offline".to_string())];
    assert_eq!(entries(&update), offline);
    // Any other value of `presence` is refused like a malformed `since`.
    let path = format!("/ws/chat/{room}/?presence=all");
    Ws::connect(&s.ws_url(&with_token(&path, &token(&a))))?.expect_close(4400)?;
    Ok(())
}

/// On the tuned server, whose window is long enough that joins are only flushed by the next
/// broadcast: four joins after the first are one `presence_update` on the batch socket, the
/// same `user_status` frames one by one on a plain socket (each socket only those after its
/// own join), and all of it before the message that follows.
fn burst_is_one_update(_: &Server) -> TestResult {
    let s = tuned_server(VARS);
    let first = unique("ann");
    let joiners: Vec<String> = (0..4).map(|i| unique(&format!("u{i}"))).collect();
    let mut everyone: Vec<&str> = vec![&first];
    everyone.extend(joiners.iter().map(String::as_str));
    let room = room_with(s, &everyone);
    // The first change after a quiet window goes out at once (to nobody here).
    let (mut batch, _) = join_batched(s, &room, &first)?;
    let mut plain = Vec::new();
    for u in &joiners {
        let (ws, hello) = join(s, &room, u)?;
        // The list is current even while the changes are held.
        let listed = hello["presence"].as_array().map_or(0, Vec::len);
        assert_eq!(listed, plain.len() + 2, "{hello}");
        plain.push(ws);
    }
    batch.send_json(&json!({"type": "chat_message", "content": "after the burst"}))?;
    // The sender's ack is its own reply, sent before the broadcast; the broadcast flushes
    // what was held first.
    assert_eq!(batch.recv()?["type"], "ack");
    let update = batch.recv()?;
    assert_eq!(update["type"], "presence_update", "{update}");
    let names: Vec<&str> = joiners.iter().map(String::as_str).collect();
    assert_eq!(
        entries(&update),
        online(&names),
        "one update, in join order"
    );
    assert_eq!(batch.recv()?["type"], "chat_message");
    for (i, ws) in plain.iter_mut().enumerate() {
        for later in &joiners[i + 1..] {
            let status = ws.recv()?;
            assert_eq!(
                (status["type"].as_str(), status["user_id"].as_str()),
                (Some("user_status"), Some(later.as_str())),
                "socket {i}: {status}"
            );
        }
        let next = ws.recv()?;
        assert_eq!(next["type"], "chat_message", "socket {i}: {next}");
        assert_eq!(next["message"]["content"], "after the burst");
    }
    Ok(())
}
