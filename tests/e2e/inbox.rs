//! Notification inbox cases (SPEC §4 "Notifications", §5): publish and live_devices, read
//! state across devices, the inbox API from D1, resume, idempotency and bad bodies.

use std::thread::sleep;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{api_key, token, trial, unique, with_token, Server, TestResult, Ws};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "inbox::publish_pushes_notification_then_count",
            publish_pushes,
        ),
        trial("inbox::live_devices_counts_sockets", live_devices),
        trial("inbox::user_ids_fan_out", user_ids_fan_out),
        trial("inbox::mark_read_syncs_devices", mark_read_syncs),
        trial("inbox::api_lists_from_d1_for_owner_only", inbox_api),
        trial("inbox::resume_since", inbox_resume),
        trial("inbox::idempotency_key_publishes_once", inbox_idempotent),
        trial("inbox::bad_bodies", inbox_bad_bodies),
        trial(
            "inbox::mark_read_after_hibernation_reaches_d1",
            read_after_wake,
        ),
    ]
}

pub fn headers(key: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("Authorization", format!("Bearer {}", api_key())),
        ("Content-Type", "application/json".to_string()),
    ];
    if let Some(k) = key {
        h.push(("Idempotency-Key", k.to_string()));
    }
    h
}

pub fn post(s: &Server, path: &str, body: &Value, key: Option<&str>) -> (u16, Value) {
    let h = headers(key);
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    s.request("POST", path, &h, Some(&body.to_string()))
}

fn notify(s: &Server, user: &str, title: &str) -> (u16, Value) {
    post(
        s,
        "/api/notifications",
        &json!({"user_id": user, "notification": {"title": title, "notification_type": "mention", "data": {"k": 1}}}),
        None,
    )
}

fn inbox(s: &Server, user: &str, query: &str) -> Result<(Ws, Value), String> {
    let mut ws = Ws::connect(&s.ws_url(&with_token(
        &format!("/ws/notifications/{query}"),
        &token(user),
    )))?;
    let hello = ws.recv_type("connection.established")?;
    Ok((ws, hello))
}

fn publish_pushes(s: &Server) -> TestResult {
    let u = unique("ann");
    let (mut ws, hello) = inbox(s, &u, "")?;
    assert_eq!(
        (hello["unread_count"].as_u64(), hello["last_seq"].as_u64()),
        (Some(0), Some(0))
    );
    let (status, body) = notify(s, &u, "Hello");
    assert_eq!(status, 201, "{body}");
    let n = ws.recv_type("notification")?;
    assert_eq!(n["seq"], 1);
    let v = &n["notification"];
    assert_eq!(
        (
            v["title"].as_str(),
            v["notification_type"].as_str(),
            v["read"].as_bool()
        ),
        (Some("Hello"), Some("mention"), Some(false))
    );
    assert_eq!(v["data"], json!({"k": 1}));
    assert_eq!(body["notifications"][0]["id"], v["id"]);
    assert_eq!(
        ws.recv_type("unread_count")?,
        json!({"type": "unread_count", "count": 1})
    );
    Ok(())
}

fn live_devices(s: &Server) -> TestResult {
    let u = unique("ann");
    let devices = |s: &Server| notify(s, &u, "x").1["notifications"][0]["live_devices"].clone();
    assert_eq!(devices(s), 0);
    let (_a, _) = inbox(s, &u, "")?;
    assert_eq!(devices(s), 1);
    let (_b, _) = inbox(s, &u, "")?;
    assert_eq!(devices(s), 2);
    Ok(())
}

fn user_ids_fan_out(s: &Server) -> TestResult {
    let (a, b) = (unique("ann"), unique("bob"));
    let (mut wa, _) = inbox(s, &a, "")?;
    let (mut wb, _) = inbox(s, &b, "")?;
    let (status, body) = post(
        s,
        "/api/notifications",
        &json!({"user_ids": [a, b], "notification": {"title": "all"}}),
        None,
    );
    assert_eq!(status, 201, "{body}");
    let users: Vec<&str> = body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, vec![a.as_str(), b.as_str()]);
    assert_eq!(
        wa.recv_type("notification")?["notification"]["title"],
        "all"
    );
    assert_eq!(
        wb.recv_type("notification")?["notification"]["title"],
        "all"
    );
    Ok(())
}

fn mark_read_syncs(s: &Server) -> TestResult {
    let u = unique("ann");
    let (mut phone, _) = inbox(s, &u, "")?;
    let (mut laptop, _) = inbox(s, &u, "")?;
    let id = notify(s, &u, "one").1["notifications"][0]["id"].clone();
    notify(s, &u, "two");
    for ws in [&mut phone, &mut laptop] {
        ws.recv_until("notification")?;
        ws.recv_until("notification")?;
        ws.recv_type("unread_count")?;
    }
    phone.send_json(&json!({"type": "mark_read", "notification_id": id, "request_id": "m1"}))?;
    assert_eq!(phone.recv_type("ack")?["request_id"], "m1");
    // Every device, the sender too, gets the read event and the new count.
    assert_eq!(
        phone.recv_type("notification_read")?["notification_ids"],
        json!([id])
    );
    assert_eq!(phone.recv_type("unread_count")?["count"], 1);
    let read = laptop.recv_type("notification_read")?;
    assert_eq!(read["notification_ids"], json!([id]));
    assert_eq!(laptop.recv_type("unread_count")?["count"], 1);
    laptop.send_json(&json!({"type": "mark_all_read"}))?;
    phone.recv_type("notification_read")?;
    assert_eq!(phone.recv_type("unread_count")?["count"], 0);
    phone.send_json(&json!({"type": "mark_read", "notification_id": "nope", "request_id": "x"}))?;
    assert_eq!(phone.recv_until("error")?["code"], "not_found");
    Ok(())
}

fn inbox_api(s: &Server) -> TestResult {
    let (u, other) = (unique("ann"), unique("eve"));
    let first = notify(s, &u, "first").1["notifications"][0]["id"].clone();
    notify(s, &u, "second");
    let (mut ws, _) = inbox(s, &u, "")?;
    ws.send_json(&json!({"type": "mark_read", "notification_id": first}))?;
    ws.recv_until("ack")?;
    let path = format!("/api/users/{u}/notifications?unread=true");
    let mut page = Value::Null;
    for _ in 0..120 {
        let (status, body) = s.get(&path, Some(&token(&u)));
        assert_eq!(status, 200, "{body}");
        if body["notifications"]
            .as_array()
            .is_some_and(|n| n.len() == 1)
        {
            page = body;
            break;
        }
        sleep(Duration::from_millis(250));
    }
    assert_eq!(
        page["notifications"][0]["title"], "second",
        "only unread, from D1: {page}"
    );
    assert_eq!(
        (page["unread_count"].as_u64(), page["last_seq"].as_u64()),
        (Some(1), Some(3))
    );
    let read = s.d1_query(&format!(
        "SELECT is_read FROM notifications WHERE user_id = '{u}' ORDER BY seq"
    ))?;
    assert_eq!(
        read,
        vec![json!({"is_read": 1}), json!({"is_read": 0})],
        "read state copied to D1"
    );
    let (status, all) = s.get(&format!("/api/users/{u}/notifications"), Some(&api_key()));
    assert_eq!(
        (status, all["notifications"].as_array().map(Vec::len)),
        (200, Some(2))
    );
    let (status, body) = s.get(&path, Some(&token(&other)));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    Ok(())
}

fn inbox_resume(s: &Server) -> TestResult {
    let u = unique("ann");
    notify(s, &u, "a");
    notify(s, &u, "b");
    let (mut ws, hello) = inbox(s, &u, "?since=1")?;
    assert_eq!(hello["unread_count"], 2);
    assert_eq!(ws.recv_type("notification")?["notification"]["title"], "b");
    assert_eq!(
        ws.recv_type("resumed")?,
        json!({"type": "resumed", "since": 1, "last_seq": 2})
    );
    Ok(())
}

fn inbox_idempotent(s: &Server) -> TestResult {
    let u = unique("ann");
    let (mut ws, _) = inbox(s, &u, "")?;
    let body = json!({"user_id": u, "notification": {"title": "once"}});
    let (s1, first) = post(s, "/api/notifications", &body, Some("n-key"));
    let (s2, again) = post(s, "/api/notifications", &body, Some("n-key"));
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, again, "the first response again");
    let (s3, clash) = post(
        s,
        "/api/notifications",
        &json!({"user_id": u, "notification": {"title": "other"}}),
        Some("n-key"),
    );
    assert_eq!(
        (s3, clash["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    ws.recv_type("notification")?;
    ws.recv_type("unread_count")?;
    notify(s, &u, "marker");
    assert_eq!(
        ws.recv_type("notification")?["notification"]["title"],
        "marker",
        "the repeat pushed nothing"
    );
    Ok(())
}

fn inbox_bad_bodies(s: &Server) -> TestResult {
    let cases = [
        json!({"notification": {"title": "nobody"}}),
        json!({"user_id": "a b", "notification": {}}),
        json!({"user_id": "x", "notification": {"title": 5}}),
        json!({"user_id": "x", "user_ids": ["y"], "notification": {}}),
    ];
    for body in cases {
        let (status, resp) = post(s, "/api/notifications", &body, None);
        assert_eq!(
            (status, resp["error"]["code"].as_str()),
            (422, Some("unprocessable")),
            "{body}"
        );
        assert!(resp["error"]["message"].is_string());
    }
    let h = [("Authorization", format!("Bearer {}", api_key()))];
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _) = s.request(
        "POST",
        "/api/notifications",
        &[h[0], ("Content-Type", "application/json")],
        Some("{not json"),
    );
    assert_eq!(status, 400);
    let (status, _) = s.request(
        "POST",
        "/api/notifications",
        &[("Authorization", "Bearer wrong")],
        Some("{}"),
    );
    assert_eq!(status, 401);
    Ok(())
}

/// Polls the D1-backed inbox API until `done(page)` holds (30 s hang guard).
fn poll_d1_list(
    s: &Server,
    user: &str,
    query: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    let path = format!("/api/users/{user}/notifications{query}");
    let mut last = Value::Null;
    for _ in 0..120 {
        let (status, body) = s.get(&path, Some(&api_key()));
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return Ok(body);
        }
        last = body;
        sleep(Duration::from_millis(250));
    }
    Err(format!(
        "GET {path} never reached the expected state; last: {last}"
    ))
}

fn read_after_wake(s: &Server) -> TestResult {
    let u = unique("ann");
    let (mut ws, _) = inbox(s, &u, "")?;
    let id = notify(s, &u, "sleepy").1["notifications"][0]["id"].clone();
    ws.recv_type("notification")?;
    ws.recv_type("unread_count")?;
    poll_d1_list(s, &u, "?unread=true", |p| p["notifications"][0]["id"] == id)?;
    // Idle long enough for local workerd to hibernate the inbox (about 10 s).
    sleep(Duration::from_secs(12));
    ws.send_json(&json!({"type": "mark_read", "notification_id": id, "request_id": "w1"}))?;
    assert_eq!(ws.recv_type("ack")?["request_id"], "w1");
    let page = poll_d1_list(s, &u, "?unread=true", |p| {
        p["notifications"].as_array().is_some_and(Vec::is_empty)
    })?;
    assert_eq!(page["unread_count"], 0, "{page}");
    Ok(())
}
