//! Organization hub cases (SPEC §4 "Organization events", §5): access by claim and by API
//! membership, delivery to members only, the bounded resume window, idempotency, and the
//! app-wide `/ws/online/` presence.

use serde_json::json;

use crate::common::{
    api_key, token, token_with, trial, unique, with_token, Server, TestResult, Ws,
    ORG_EVENT_RETENTION,
};
use crate::inbox::post;
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("org::access_by_api_membership", org_membership),
        trial("org::events_reach_members_only", org_delivery),
        trial("org::resume_inside_and_beyond_window", org_resume),
        trial("org::idempotency_key_and_errors", org_idempotent),
        trial("org::events_and_members_copied_to_d1", org_d1_copies),
        trial("online::presence_across_users", online_presence),
    ]
}

fn events_socket(s: &Server, org: &str, tok: &str, query: &str) -> Result<Ws, String> {
    Ws::connect(&s.ws_url(&with_token(&format!("/ws/events/{org}/{query}"), tok)))
}

fn set_org_member(s: &Server, org: &str, user: &str, method: &str) -> u16 {
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
    let (org, other, u) = (unique("org"), unique("org"), unique("ann"));
    let tok = token_with(json!({"sub": u, "orgs": [org, other]}));
    let mut mine = events_socket(s, &org, &tok, "")?;
    mine.recv_type("connection.established")?;
    let mut theirs = events_socket(s, &other, &tok, "")?;
    theirs.recv_type("connection.established")?;
    let (status, body) = post(
        s,
        &format!("/api/orgs/{org}/events"),
        &json!({"event_type": "deploy", "data": {"v": 2}}),
        None,
    );
    assert_eq!(
        (status, body["delivered"].as_u64(), body["seq"].as_u64()),
        (201, Some(1), Some(1)),
        "{body}"
    );
    let e = mine.recv_type("event")?;
    assert_eq!(
        (e["id"].clone(), e["event_type"].as_str(), e["data"].clone()),
        (body["id"].clone(), Some("deploy"), json!({"v": 2}))
    );
    post(
        s,
        &format!("/api/orgs/{other}/events"),
        &json!({"event_type": "marker"}),
        None,
    );
    assert_eq!(
        theirs.recv_type("event")?["event_type"],
        "marker",
        "the other org saw only its own event"
    );
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

fn org_idempotent(s: &Server) -> TestResult {
    let org = unique("org");
    let path = format!("/api/orgs/{org}/events");
    let body = json!({"event_type": "billing", "data": {"plan": "pro"}});
    let (_, first) = post(s, &path, &body, Some("e-key"));
    let (status, again) = post(s, &path, &body, Some("e-key"));
    assert_eq!((status, &again), (201, &first));
    let (_, next) = post(s, &path, &json!({"event_type": "next"}), None);
    assert_eq!(
        next["seq"],
        first["seq"].as_u64().unwrap() + 1,
        "the repeat stored nothing"
    );
    let (status, e) = post(s, &path, &json!({"data": {}}), None);
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("unprocessable"))
    );
    let (status, _) = s.request(
        "POST",
        &path,
        &[("Authorization", &format!("Bearer {}", api_key()))],
        Some("x"),
    );
    assert_eq!(status, 415);
    Ok(())
}

fn online_presence(s: &Server) -> TestResult {
    let (a, b) = (unique("ann"), unique("bob"));
    let mut wa = Ws::connect(&s.ws_url(&with_token("/ws/online/", &token(&a))))?;
    assert_eq!(wa.recv_type("connection.established")?["org_id"], "_online");
    let mut wb = Ws::connect(&s.ws_url(&with_token("/ws/online/", &token(&b))))?;
    let hello = wb.recv_type("connection.established")?;
    assert!(
        hello["online"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u == a.as_str()),
        "{hello}"
    );
    let status = loop {
        let f = wa.recv_until("user_status")?;
        if f["user_id"] == b.as_str() {
            break f;
        }
    };
    assert_eq!(
        (
            status["status"].as_str(),
            status["online_status"].as_bool(),
            status["username"].as_str()
        ),
        (Some("online"), Some(true), Some(b.as_str()))
    );
    let (code, body) = s.get("/api/orgs/_online/presence", Some(&api_key()));
    assert_eq!(code, 200);
    assert!(body["users"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["user_id"] == b.as_str()));
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
