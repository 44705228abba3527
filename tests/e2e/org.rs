//! Organization hub cases (SPEC §4 "Organization events", §5): access by claim and by API
//! membership, delivery to members only, `delivered`, the bounded resume window (on connect
//! and by frame), idempotency and the D1 copies. Presence is in `org_presence`.

use serde_json::{json, Value};

use crate::common::{
    api_key, error_code, token, token_with, trial, unique, with_token, Server, TestResult, Ws,
    ORG_EVENT_RETENTION,
};
use crate::inbox::post;
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("org::access_by_api_membership", org_membership),
        trial("org::events_reach_members_only", org_delivery),
        trial("org::resume_inside_and_beyond_window", org_resume),
        trial("org::resume_frame_and_resync", org_resume_frame),
        trial("org::idempotency_key_and_errors", org_idempotent),
        trial("org::events_and_members_copied_to_d1", org_d1_copies),
    ]
}

/// `POST /api/orgs/{org}/events` without a key.
pub fn publish(s: &Server, org: &str, event_type: &str) -> (u16, Value) {
    let body = json!({"event_type": event_type, "data": {"v": 2}});
    post(s, &format!("/api/orgs/{org}/events"), &body, None)
}

pub fn events_socket(s: &Server, org: &str, tok: &str, query: &str) -> Result<Ws, String> {
    Ws::connect(&s.ws_url(&with_token(&format!("/ws/events/{org}/{query}"), tok)))
}

pub fn set_org_member(s: &Server, org: &str, user: &str, method: &str) -> u16 {
    let auth = format!("Bearer {}", api_key());
    s.request(
        method,
        &format!("/api/orgs/{org}/members/{user}"),
        &[("Authorization", &auth)],
        None,
    )
    .0
}

fn org_membership(s: &Server) -> TestResult {
    let (org, u, claimed) = (unique("org"), unique("ann"), unique("cy"));
    events_socket(s, &org, &token(&u), "")?.expect_close(4003)?;
    assert_eq!(set_org_member(s, &org, &u, "PUT"), 201);
    let mut member = events_socket(s, &org, &token(&u), "")?;
    assert_eq!(
        member.recv_type("connection.established")?["org_id"],
        org.as_str()
    );
    let mut by_claim = events_socket(
        s,
        &org,
        &token_with(json!({"sub": claimed, "orgs": [org]})),
        "",
    )?;
    by_claim.recv_type("connection.established")?;
    assert_eq!(set_org_member(s, &org, &u, "DELETE"), 200);
    member.expect_close(4003)?;
    assert_eq!(set_org_member(s, &org, &claimed, "DELETE"), 200);
    let (status, ev) = post(
        s,
        &format!("/api/orgs/{org}/events"),
        &json!({"event_type": "still", "data": {}}),
        None,
    );
    assert_eq!(status, 201, "{ev}");
    assert_eq!(
        by_claim.recv_until("event")?["event_type"],
        "still",
        "the claim still admits"
    );
    Ok(())
}

fn org_delivery(s: &Server) -> TestResult {
    let [org, other, u, outsider] = ["org", "org", "ann", "eve"].map(unique);
    let (status, body) = publish(s, &org, "nobody");
    assert_eq!(
        (status, body["delivered"].as_u64()),
        (201, Some(0)),
        "stored with no socket open: {body}"
    );
    let tok = token_with(json!({"sub": u, "orgs": [org, other]}));
    let mut phone = events_socket(s, &org, &tok, "")?;
    phone.recv_type("connection.established")?;
    let mut laptop = events_socket(s, &org, &tok, "")?;
    laptop.recv_type("connection.established")?;
    let mut theirs = events_socket(s, &other, &tok, "")?;
    theirs.recv_type("connection.established")?;
    let only_other = token_with(json!({"sub": outsider, "orgs": [other]}));
    let mut outside = events_socket(s, &other, &only_other, "")?;
    outside.recv_type("connection.established")?;
    let (status, body) = publish(s, &org, "deploy");
    assert_eq!(
        (status, body["delivered"].as_u64(), body["seq"].as_u64()),
        (201, Some(2), Some(2)),
        "both sockets of the member: {body}"
    );
    for ws in [&mut phone, &mut laptop] {
        let e = ws.recv_until("event")?;
        assert_eq!(
            (e["id"].clone(), e["event_type"].as_str(), e["data"].clone()),
            (body["id"].clone(), Some("deploy"), json!({"v": 2}))
        );
    }
    publish(s, &other, "marker");
    for ws in [&mut theirs, &mut outside] {
        assert_eq!(
            ws.recv_until("event")?["event_type"],
            "marker",
            "the other org saw only its own event"
        );
    }
    Ok(())
}

fn org_resume(s: &Server) -> TestResult {
    let (org, u) = (unique("org"), unique("ann"));
    let tok = token_with(json!({"sub": u, "orgs": [org]}));
    let total = ORG_EVENT_RETENTION + 3;
    for i in 1..=total {
        post(
            s,
            &format!("/api/orgs/{org}/events"),
            &json!({"event_type": format!("e{i}")}),
            None,
        );
    }
    let mut inside = events_socket(s, &org, &tok, &format!("?since={}", total - 2))?;
    inside.recv_type("connection.established")?;
    assert_eq!(
        inside.recv_type("event")?["event_type"],
        format!("e{}", total - 1)
    );
    assert_eq!(
        inside.recv_type("event")?["event_type"],
        format!("e{total}")
    );
    assert_eq!(inside.recv_type("resumed")?["last_seq"], total);
    let mut beyond = events_socket(s, &org, &tok, "?since=1")?;
    beyond.recv_type("connection.established")?;
    assert_eq!(
        beyond.recv()?,
        json!({"type": "resync_required", "last_seq": total})
    );
    Ok(())
}

fn org_resume_frame(s: &Server) -> TestResult {
    let (org, u) = (unique("org"), unique("ann"));
    let mut ws = events_socket(s, &org, &token_with(json!({"sub": u, "orgs": [org]})), "")?;
    ws.recv_type("connection.established")?;
    publish(s, &org, "e1");
    publish(s, &org, "e2");
    ws.recv_until("event")?;
    ws.recv_until("event")?;
    ws.send_json(&json!({"type": "resume", "since": 1}))?;
    let replayed = ws.recv_type("event")?;
    assert_eq!(
        (replayed["seq"].as_u64(), replayed["event_type"].as_str()),
        (Some(2), Some("e2"))
    );
    assert_eq!(
        ws.recv_type("resumed")?,
        json!({"type": "resumed", "since": 1, "last_seq": 2})
    );
    ws.send_json(&json!({"type": "resume", "since": 3}))?;
    assert_eq!(
        ws.recv_type("resync_required")?,
        json!({"type": "resync_required", "last_seq": 2})
    );
    Ok(())
}

fn org_idempotent(s: &Server) -> TestResult {
    let (org, key) = (unique("org"), unique("e-key"));
    let path = format!("/api/orgs/{org}/events");
    let body = json!({"event_type": "billing", "data": {"plan": "pro"}});
    let (_, first) = post(s, &path, &body, Some(&key));
    let (status, again) = post(s, &path, &body, Some(&key));
    assert_eq!((status, &again), (201, &first));
    let other = json!({"event_type": "billing", "data": {"plan": "free"}});
    let (status, clash) = post(s, &path, &other, Some(&key));
    assert_eq!((status, error_code(&clash)?.as_str()), (409, "conflict"));
    let (_, next) = publish(s, &org, "next");
    assert_eq!(
        next["seq"],
        first["seq"].as_u64().unwrap() + 1,
        "neither the repeat nor the conflict stored anything"
    );
    let (status, e) = post(s, &path, &json!({"data": {}}), None);
    assert_eq!((status, error_code(&e)?.as_str()), (422, "unprocessable"));
    let (status, e) = s.request(
        "POST",
        &path,
        &[("Authorization", &format!("Bearer {}", api_key()))],
        Some("x"),
    );
    assert_eq!(
        (status, error_code(&e)?.as_str()),
        (415, "unsupported_media_type")
    );
    Ok(())
}

fn org_d1_copies(s: &Server) -> TestResult {
    let (org, u) = (unique("org"), unique("ann"));
    assert_eq!(set_org_member(s, &org, &u, "PUT"), 201);
    post(
        s,
        &format!("/api/orgs/{org}/events"),
        &json!({"event_type": "copied", "data": {"n": 1}}),
        None,
    );
    let query = format!(
        "SELECT e.event_type, e.seq, e.data, m.user_id FROM org_events e JOIN org_members m ON m.org_id = e.org_id WHERE e.org_id = '{org}'"
    );
    for _ in 0..60 {
        let rows = s.d1_query(&query)?;
        if let Some(row) = rows.first() {
            assert_eq!(
                (
                    row["event_type"].as_str(),
                    row["seq"].as_u64(),
                    row["user_id"].as_str()
                ),
                (Some("copied"), Some(1), Some(u.as_str()))
            );
            assert_eq!(row["data"], r#"{"n":1}"#);
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    Err("org event and membership never reached D1".into())
}
