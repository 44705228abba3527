//! Notification inbox cases (SPEC §4 "Notifications", §5): publish and live_devices, read
//! state across devices, the inbox API from D1 (filters, limits) and bad requests. Resume,
//! hibernation and idempotency are in `inbox_sync`.

use std::thread::sleep;
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{
    api_key, error_code, token, trial, unique, with_token, Server, TestResult, Ws,
};
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
        trial("inbox::api_limit_and_bad_limits", inbox_api_limit),
        trial("inbox::bad_bodies", inbox_bad_bodies),
        trial("inbox::publish_needs_json_and_the_server_key", publish_auth),
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

/// Publishes one notification to `user`; returns (status, body).
pub fn notify(s: &Server, user: &str, title: &str) -> (u16, Value) {
    post(
        s,
        "/api/notifications",
        &json!({"user_id": user, "notification": {"title": title, "notification_type": "mention", "data": {"k": 1}}}),
        None,
    )
}

/// Opens `user`'s inbox socket; returns it with its `connection.established`.
pub fn inbox(s: &Server, user: &str, query: &str) -> Result<(Ws, Value), String> {
    let mut ws = Ws::connect(&s.ws_url(&with_token(
        &format!("/ws/notifications/{query}"),
        &token(user),
    )))?;
    let hello = ws.recv_type("connection.established")?;
    Ok((ws, hello))
}

/// The inbox's `last_seq`, read live from the object (its `connection.established`, not the
/// inbox API, whose `last_seq` is how far D1 has caught up): how many durable events the
/// user's inbox holds.
pub fn last_seq(s: &Server, user: &str) -> Option<u64> {
    let (ws, hello) = inbox(s, user, "").unwrap_or_else(|e| panic!("inbox of {user}: {e}"));
    ws.close();
    hello["last_seq"].as_u64()
}

/// Polls the D1-backed inbox API until `done(page)` holds (30 s hang guard).
pub fn poll_d1_list(
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

fn listed(page: &Value) -> usize {
    page["notifications"].as_array().map_or(0, Vec::len)
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
    laptop.send_json(&json!({"type": "mark_all_read", "request_id": "all"}))?;
    assert_eq!(
        laptop.recv_type("ack")?,
        json!({"type": "ack", "request_id": "all", "seq": 4})
    );
    for ws in [&mut laptop, &mut phone] {
        assert_eq!(
            ws.recv_type("notification_read")?,
            json!({"type": "notification_read", "seq": 4, "notification_ids": [], "all": true, "up_to_seq": 3}),
            "one marker: everything up to seq 3 is read"
        );
        assert_eq!(ws.recv_type("unread_count")?["count"], 0);
    }
    phone.send_json(&json!({"type": "mark_read", "notification_id": "nope", "request_id": "x"}))?;
    let e = phone.recv_until("error")?;
    assert_eq!(
        (e["code"].as_str(), e["request_id"].as_str()),
        (Some("not_found"), Some("x"))
    );
    Ok(())
}

fn inbox_api(s: &Server) -> TestResult {
    let (u, other) = (unique("ann"), unique("eve"));
    let first = notify(s, &u, "first").1["notifications"][0]["id"].clone();
    notify(s, &u, "second");
    let (mut ws, _) = inbox(s, &u, "")?;
    ws.send_json(&json!({"type": "mark_read", "notification_id": first}))?;
    ws.recv_until("ack")?;
    poll_d1_list(s, &u, "?unread=true", |p| listed(p) == 1)?;
    let path = format!("/api/users/{u}/notifications?unread=true");
    let (status, page) = s.get(&path, Some(&token(&u)));
    assert_eq!(status, 200, "the user's own JWT reads the list: {page}");
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
    assert_eq!((status, listed(&all)), (200, 2));
    let (status, body) = s.get(&path, Some(&token(&other)));
    assert_eq!((status, error_code(&body)?.as_str()), (403, "forbidden"));
    Ok(())
}

fn inbox_api_limit(s: &Server) -> TestResult {
    let u = unique("ann");
    for title in ["a", "b", "c"] {
        assert_eq!(notify(s, &u, title).0, 201);
    }
    poll_d1_list(s, &u, "", |p| listed(p) == 3)?;
    let (status, page) = s.get(
        &format!("/api/users/{u}/notifications?limit=2"),
        Some(&token(&u)),
    );
    assert_eq!(status, 200, "{page}");
    let titles: Vec<&str> = page["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["title"].as_str())
        .collect();
    assert_eq!(titles, ["c", "b"], "the newest two, newest first");
    assert_eq!(page["last_seq"], 3);
    for bad in ["0", "201", "-1", "ten", ""] {
        let (status, body) = s.get(
            &format!("/api/users/{u}/notifications?limit={bad}"),
            Some(&api_key()),
        );
        assert_eq!(
            (status, error_code(&body)?.as_str()),
            (400, "bad_request"),
            "limit={bad}: {body}"
        );
    }
    Ok(())
}

fn inbox_bad_bodies(s: &Server) -> TestResult {
    let cases = [
        json!({"notification": {"title": "nobody"}}),
        json!({"user_id": "a b", "notification": {}}),
        json!({"user_id": "x", "notification": {"title": 5}}),
        json!({"user_id": "x", "user_ids": ["y"], "notification": {}}),
        json!({"user_ids": [], "notification": {}}),
        json!({"user_id": "x", "notification": {"titel": "typo"}}),
    ];
    for body in cases {
        let (status, resp) = post(s, "/api/notifications", &body, None);
        assert_eq!(
            (status, error_code(&resp)?.as_str()),
            (422, "unprocessable"),
            "{body}"
        );
    }
    let (status, resp) = s.request(
        "POST",
        "/api/notifications",
        &[
            ("Authorization", &format!("Bearer {}", api_key())),
            ("Content-Type", "application/json"),
        ],
        Some("{not json"),
    );
    assert_eq!((status, error_code(&resp)?.as_str()), (400, "bad_request"));
    Ok(())
}

fn publish_auth(s: &Server) -> TestResult {
    let u = unique("ann");
    let body = json!({"user_id": u, "notification": {"title": "x"}}).to_string();
    let key = format!("Bearer {}", api_key());
    let (status, resp) = s.request(
        "POST",
        "/api/notifications",
        &[("Authorization", &key), ("Content-Type", "text/plain")],
        Some(&body),
    );
    assert_eq!(
        (status, error_code(&resp)?.as_str()),
        (415, "unsupported_media_type")
    );
    let json_type = ("Content-Type", "application/json");
    for bearer in [token(&u), "wrong".to_string()] {
        let auth = format!("Bearer {bearer}");
        let (status, resp) = s.request(
            "POST",
            "/api/notifications",
            &[("Authorization", &auth), json_type],
            Some(&body),
        );
        assert_eq!(
            (status, error_code(&resp)?.as_str()),
            (401, "unauthorized"),
            "a user JWT never grants the server API"
        );
    }
    assert_eq!(last_seq(s, &u), Some(0), "none of them stored anything");
    Ok(())
}
