//! Presence on org hubs (SPEC §4 "Organization events"): who is online in a regular org
//! (`connection.established.online`, `user_status`, the presence API) and on the app-wide
//! `/ws/online/` hub, which API membership changes never close.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::common::{
    api_key, token, token_with, trial, unique, with_token, Server, TestResult, Ws,
};
use crate::org::{events_socket, set_org_member};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("org::presence_online_and_offline", org_presence),
        trial("online::presence_across_users", online_presence),
        trial(
            "online::member_removal_keeps_sockets_open",
            online_removal_keeps_sockets,
        ),
    ]
}

/// The next `user_status` about `user` (frames about other users are skipped).
fn status_of(ws: &mut Ws, user: &str) -> Result<Value, String> {
    loop {
        let frame = ws.recv_until("user_status")?;
        if frame["user_id"] == user {
            return Ok(frame);
        }
    }
}

fn ids(list: &Value, field: Option<&str>) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| field.map_or(v, |f| &v[f]).as_str().map(String::from))
        .collect()
}

fn presence_ids(s: &Server, org: &str) -> BTreeSet<String> {
    let (status, body) = s.get(&format!("/api/orgs/{org}/presence"), Some(&api_key()));
    assert_eq!(status, 200, "{body}");
    ids(&body["users"], Some("user_id"))
}

fn org_presence(s: &Server) -> TestResult {
    let (org, a, b) = (unique("org"), unique("ann"), unique("bob"));
    let member = |u: &str| token_with(json!({"sub": u, "orgs": [org]}));
    let mut wa = events_socket(s, &org, &member(&a), "")?;
    let hello = wa.recv_type("connection.established")?;
    assert_eq!(hello["online"], json!([a]), "{hello}");
    let mut wb = events_socket(s, &org, &member(&b), "")?;
    let hello = wb.recv_type("connection.established")?;
    let both = BTreeSet::from([a.clone(), b.clone()]);
    assert_eq!(ids(&hello["online"], None), both, "{hello}");
    let online = status_of(&mut wa, &b)?;
    assert_eq!(
        (online["status"].as_str(), online["online_status"].as_bool()),
        (Some("online"), Some(true))
    );
    assert_eq!(presence_ids(s, &org), both);
    wb.close();
    // After the grace window (PRESENCE_GRACE_MS) the hub announces b offline.
    let offline = status_of(&mut wa, &b)?;
    assert_eq!(
        (
            offline["status"].as_str(),
            offline["online_status"].as_bool()
        ),
        (Some("offline"), Some(false))
    );
    assert_eq!(presence_ids(s, &org), BTreeSet::from([a]));
    Ok(())
}

fn online_presence(s: &Server) -> TestResult {
    let (a, b) = (unique("ann"), unique("bob"));
    let mut wa = Ws::connect(&s.ws_url(&with_token("/ws/online/", &token(&a))))?;
    assert_eq!(wa.recv_type("connection.established")?["org_id"], "_online");
    let mut wb = Ws::connect(&s.ws_url(&with_token("/ws/online/", &token(&b))))?;
    let hello = wb.recv_type("connection.established")?;
    assert!(ids(&hello["online"], None).contains(&a), "{hello}");
    let status = status_of(&mut wa, &b)?;
    assert_eq!(
        (
            status["status"].as_str(),
            status["online_status"].as_bool(),
            status["username"].as_str()
        ),
        (Some("online"), Some(true), Some(b.as_str()))
    );
    assert!(presence_ids(s, "_online").contains(&b));
    Ok(())
}

fn online_removal_keeps_sockets(s: &Server) -> TestResult {
    let u = unique("ann");
    let mut ws = Ws::connect(&s.ws_url(&with_token("/ws/online/", &token(&u))))?;
    ws.recv_type("connection.established")?;
    assert_eq!(set_org_member(s, "_online", &u, "PUT"), 201);
    assert_eq!(set_org_member(s, "_online", &u, "DELETE"), 200);
    // The DELETE answered after any close it caused, so a close would come before the pong.
    ws.send_json(&json!({"type": "ping", "timestamp": 7}))?;
    assert_eq!(
        ws.recv_until("pong")?,
        json!({"type": "pong", "timestamp": 7}),
        "`_online` admits everyone, so removal closes nothing"
    );
    Ok(())
}
