//! Conversation HTTP API cases (SPEC §5): posting messages with Idempotency-Key, history
//! pages read from D1, deleted content gone from history, resume and Idempotency-Key
//! replays, and presence.

use std::thread::sleep;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{api_key, token, trial, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{ack_for, auth, join, room_with, say, send, users2};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("api::post_message_and_idempotency_key", api_post_message),
        trial(
            "api::idempotent_replay_after_delete_has_no_content",
            replay_after_delete,
        ),
        trial("api::history_pages_from_d1", history_pages),
        trial(
            "api::deleted_content_gone_from_history",
            deleted_gone_from_history,
        ),
        trial("api::presence_endpoint", presence_endpoint),
    ]
}

/// `POST /api/conversations/{room}/messages` with the API key (and `Idempotency-Key`).
pub fn post(s: &Server, room: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
    let auth = auth();
    let mut headers = vec![
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    if let Some(k) = key {
        headers.push(("Idempotency-Key", k));
    }
    s.request(
        "POST",
        &format!("/api/conversations/{room}/messages"),
        &headers,
        Some(&body.to_string()),
    )
}

fn api_post_message(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wb, _) = join(s, &room, &b)?;
    let body = json!({"sender": {"id": a, "name": "Ann"}, "content": "from the backend"});
    let (status, first) = post(s, &room, &body, Some("idem-1"));
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["message"]["content"], "from the backend");
    assert_eq!(first["message"]["sender"]["name"], "Ann");
    let (status, again) = post(s, &room, &body, Some("idem-1"));
    assert_eq!(
        (status, &again),
        (201, &first),
        "the same key returns the first response"
    );
    let (status, clash) = post(
        s,
        &room,
        &json!({"sender": {"id": a}, "content": "other"}),
        Some("idem-1"),
    );
    assert_eq!(
        (status, clash["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let live = wb.recv_until("chat_message")?;
    assert_eq!(live["message"]["id"], first["message"]["id"]);
    let (_, second) = post(
        s,
        &room,
        &json!({"sender": {"id": a}, "content": "second"}),
        None,
    );
    assert_eq!(
        wb.recv_type("chat_message")?["message"]["id"],
        second["message"]["id"],
        "one broadcast per key"
    );
    let (status, e) = post(
        s,
        &room,
        &json!({"sender": {"id": unique("eve")}, "content": "x"}),
        None,
    );
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let (status, _) = post(s, &room, &json!({"content": "no sender"}), None);
    assert_eq!(status, 422);
    let (status, _) = s.request(
        "POST",
        &format!("/api/conversations/{room}/messages"),
        &[("Authorization", &auth()), ("Content-Type", "text/plain")],
        Some("hi"),
    );
    assert_eq!(status, 415);
    Ok(())
}

fn replay_after_delete(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    let body = json!({"sender": {"id": a}, "content": "posted in haste"});
    let (status, first) = post(s, &room, &body, Some("idem-del"));
    assert_eq!(status, 201, "{first}");
    let mid = first["message"]["id"].clone();
    send(
        &mut wa,
        json!({"type": "message_delete", "message_id": mid, "request_id": "d"}),
    )?;
    assert_eq!(ack_for(&mut wa, "d")?["seq"], 2);
    let (status, again) = post(s, &room, &body, Some("idem-del"));
    assert_eq!(status, 201, "still the first response's status: {again}");
    let m = &again["message"];
    assert_eq!(
        (&m["id"], &m["seq"], &m["sender"]),
        (&mid, &first["message"]["seq"], &first["message"]["sender"]),
        "the first response, replayed"
    );
    assert_eq!(
        (&m["content"], &m["is_deleted"]),
        (&Value::Null, &json!(true))
    );
    assert!(!again.to_string().contains("haste"), "{again}");
    let path = format!("/api/conversations/{room}/messages");
    let page = history_until(s, &path, &api_key(), |b| {
        b["messages"][0]["is_deleted"] == true
    })?;
    assert_eq!(
        (
            page["messages"].as_array().map(Vec::len),
            page["last_seq"].as_u64()
        ),
        (Some(1), Some(2)),
        "the retry created nothing: {page}"
    );
    Ok(())
}

/// Polls the history API until `ready` holds (D1 is copied asynchronously by the outbox).
pub fn history_until(
    s: &Server,
    path: &str,
    bearer: &str,
    ready: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    for _ in 0..120 {
        let (status, body) = s.get(path, Some(bearer));
        if status == 200 && ready(&body) {
            return Ok(body);
        }
        sleep(Duration::from_millis(250));
    }
    Err(format!("history never became ready: {path}"))
}

pub fn contents(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|x| x["content"].as_str().unwrap_or("<null>").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn history_pages(s: &Server) -> TestResult {
    let (a, eve) = users2();
    let room = room_with(s, &[&a]);
    for i in 1..=5 {
        post(
            s,
            &room,
            &json!({"sender": {"id": a}, "content": format!("m{i}")}),
            None,
        );
    }
    let base = format!("/api/conversations/{room}/messages");
    let all = history_until(s, &base, &api_key(), |b| {
        b["messages"].as_array().is_some_and(|m| m.len() == 5)
    })?;
    assert_eq!(contents(&all), ["m1", "m2", "m3", "m4", "m5"]);
    assert_eq!(
        (all["last_seq"].as_u64(), all["has_more"].as_bool()),
        (Some(5), Some(false))
    );
    let (_, newest) = s.get(&format!("{base}?limit=2"), Some(&token(&a)));
    assert_eq!(
        (contents(&newest), newest["has_more"].as_bool()),
        (vec!["m4".to_string(), "m5".into()], Some(true))
    );
    let (_, older) = s.get(&format!("{base}?limit=2&before_seq=4"), Some(&api_key()));
    assert_eq!(contents(&older), ["m2", "m3"]);
    let (_, after) = s.get(&format!("{base}?limit=2&after_seq=1"), Some(&api_key()));
    assert_eq!(contents(&after), ["m2", "m3"]);
    let (status, _) = s.get(&base, Some(&token(&eve)));
    assert_eq!(status, 403, "a non-member's JWT");
    let (status, _) = s.get(&format!("{base}?limit=500"), Some(&api_key()));
    assert_eq!(status, 400);
    Ok(())
}

fn deleted_gone_from_history(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    let mid = say(&mut wa, "top secret")?["message_id"].clone();
    send(
        &mut wa,
        json!({"type": "message_delete", "message_id": mid}),
    )?;
    wa.recv_until("message_delete")?;
    let path = format!("/api/conversations/{room}/messages");
    let page = history_until(s, &path, &api_key(), |b| {
        b["messages"][0]["is_deleted"] == true
    })?;
    assert_eq!(page["messages"][0]["content"], Value::Null);
    assert!(!page.to_string().contains("top secret"));
    let mut again = Ws::connect(&s.ws_url(&with_token(
        &format!("/ws/chat/{room}/?since=0"),
        &token(&a),
    )))?;
    again.recv_type("connection.established")?;
    let replayed = again.recv_type("chat_message")?;
    assert_eq!(
        (
            replayed["message"]["content"].clone(),
            replayed["message"]["is_deleted"].clone()
        ),
        (Value::Null, json!(true))
    );
    Ok(())
}

fn presence_endpoint(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (_w1, _) = join(s, &room, &a)?;
    let (_w2, _) = join(s, &room, &a)?;
    let (status, body) = s.get(
        &format!("/api/conversations/{room}/presence"),
        Some(&api_key()),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body["users"],
        json!([{"user_id": a, "user_name": a, "devices": 2}])
    );
    Ok(())
}
