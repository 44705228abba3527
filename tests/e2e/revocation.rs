//! Revocation reaches sockets that only listen (SPEC §12): a conversation member or an org
//! member removed through the API, and a socket whose token expires while it is open, are
//! closed (4003 / 4001) before anything else reaches them. Each listener's next frame after
//! the revocation must be the close, although events are sent to the stream right after it.
//!
//! The close of a revocation is sent outside the listener's own socket event; on local
//! workerd it arrived within tens of milliseconds in our runs, but listeners read with a
//! longer hang guard in case it comes late. The assertions are about order, not time.

use std::thread::sleep;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::common::{
    api_key, token, token_with, trial, unique, with_token, Server, TestResult, Ws,
};
use crate::conversation::{auth, join, room_with, say, users2};
use crate::inbox::{inbox, notify};
use crate::org::{events_socket, publish, set_org_member};
use libtest_mimic::Trial;

/// How long a revoked listener may wait for its close (a hang guard).
const CLOSE_GUARD: Duration = Duration::from_secs(60);
/// A token's life left when it is minted, counted past the 60 s leeway.
const LIFE_SECS: i64 = 4;

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "revocation::removed_member_gets_the_close_before_the_next_message",
            removed_member,
        ),
        trial(
            "revocation::removed_org_member_gets_the_close_before_the_next_event",
            removed_org_member,
        ),
        trial(
            "revocation::expired_token_closes_listening_sockets_4001",
            expired_token,
        ),
        trial(
            "presence::removed_member_leaves_presence",
            removed_member_presence,
        ),
    ]
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `DELETE /api/conversations/{room}/members/{user}` with the server key: must be 200 and
/// say it removed someone.
fn remove_member(s: &Server, room: &str, user: &str) {
    let path = format!("/api/conversations/{room}/members/{user}");
    let (status, body) = s.request("DELETE", &path, &[("Authorization", &auth())], None);
    assert_eq!((status, &body["removed"]), (200, &json!(true)), "{body}");
}

fn removed_member(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    wa.recv_until("user_status")?; // b came online: both sockets are in the room
    wb.set_hang_guard(CLOSE_GUARD)?;
    remove_member(s, &room, &b);
    say(&mut wa, "after the removal")?;
    let m = wa.recv_until("chat_message")?;
    assert_eq!(
        m["message"]["content"], "after the removal",
        "it was broadcast"
    );
    wb.expect_close_next(4003)?;
    Ok(())
}

fn removed_org_member(s: &Server) -> TestResult {
    let (org, u, c) = (unique("org"), unique("ann"), unique("cy"));
    assert_eq!(set_org_member(s, &org, &u, "PUT"), 201);
    let mut member = events_socket(s, &org, &token(&u), "")?;
    member.recv_type("connection.established")?;
    let claim = token_with(json!({"sub": c, "orgs": [org]}));
    let mut by_claim = events_socket(s, &org, &claim, "")?;
    by_claim.recv_type("connection.established")?;
    // c coming online is the member's last frame before the removal.
    assert_eq!(member.recv_type("user_status")?["user_id"], c.as_str());
    member.set_hang_guard(CLOSE_GUARD)?;
    assert_eq!(set_org_member(s, &org, &u, "DELETE"), 200);
    let (status, ev) = publish(s, &org, "after.removal");
    assert_eq!(status, 201, "{ev}");
    assert_eq!(ev["delivered"], 1, "only the claim's socket took it: {ev}");
    let got = by_claim.recv_until("event")?;
    assert_eq!(got["event_type"], "after.removal");
    member.expect_close_next(4003)?;
    Ok(())
}

/// b's listeners, one per object kind, with a token that has [`LIFE_SECS`] left; each is
/// opened last on its stream, so nothing is due to reach it before the expiry.
fn short_lived_listeners(
    s: &Server,
    b: &str,
    room: &str,
    org: &str,
) -> Result<(i64, Vec<Ws>), String> {
    let exp = now_secs() - 60 + LIFE_SECS;
    let short = |orgs: &[&str]| token_with(json!({"sub": b, "exp": exp, "orgs": orgs}));
    let mut listeners = vec![
        Ws::connect(&s.ws_url(&with_token(&format!("/ws/chat/{room}/"), &short(&[]))))?,
        Ws::connect(&s.ws_url(&with_token("/ws/notifications/", &short(&[]))))?,
        events_socket(s, org, &short(&[org]), "")?,
    ];
    for ws in &mut listeners {
        ws.recv_type("connection.established")?;
        ws.set_hang_guard(CLOSE_GUARD)?;
    }
    Ok((exp, listeners))
}

/// For each object kind, a socket with a long token sees the event sent after the expiry;
/// the expired listener's next frame is the 4001 close.
fn expired_token(s: &Server) -> TestResult {
    let (a, b, org) = (unique("ann"), unique("bob"), unique("org"));
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut b_inbox, _) = inbox(s, &b, "")?;
    let mut a_org = events_socket(s, &org, &token_with(json!({"sub": a, "orgs": [org]})), "")?;
    a_org.recv_type("connection.established")?;
    let (exp, mut listeners) = short_lived_listeners(s, &b, &room, &org)?;
    // Past the expiry (exp + leeway) with a margin, so the objects' timers have run.
    let expiry = exp + 60 + 1;
    sleep(Duration::from_secs((expiry - now_secs() + 3).max(0) as u64));
    say(&mut wa, "after the expiry")?;
    assert_eq!(notify(s, &b, "after the expiry").0, 201);
    assert_eq!(publish(s, &org, "after.expiry").0, 201);
    let m = wa.recv_until("chat_message")?;
    assert_eq!(m["message"]["content"], "after the expiry");
    let n = b_inbox.recv_type("notification")?;
    assert_eq!(n["notification"]["title"], "after the expiry");
    assert_eq!(a_org.recv_until("event")?["event_type"], "after.expiry");
    for (ws, what) in listeners
        .iter_mut()
        .zip(["chat", "notifications", "events"])
    {
        ws.expect_close_next(4001)
            .map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(())
}

fn presence_users(s: &Server, room: &str) -> Vec<String> {
    let (status, body) = s.get(
        &format!("/api/conversations/{room}/presence"),
        Some(&api_key()),
    );
    assert_eq!(status, 200, "{body}");
    let users = body["users"].as_array().cloned().unwrap_or_default();
    users
        .iter()
        .filter_map(|u| u["user_id"].as_str().map(String::from))
        .collect()
}

fn removed_member_presence(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    wa.recv_until("user_status")?;
    let mut both = presence_users(s, &room);
    both.sort();
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(both, want, "both online before the removal");
    wb.set_hang_guard(CLOSE_GUARD)?;
    remove_member(s, &room, &b);
    wb.expect_close_next(4003)?;
    let offline = wa.recv_until("user_status")?;
    assert_eq!(
        (offline["user_id"].as_str(), offline["status"].as_str()),
        (Some(b.as_str()), Some("offline"))
    );
    // By the time the others heard b went offline, presence no longer lists b.
    let users = presence_users(s, &room);
    assert_eq!(users, [a.as_str()], "only a is online after b's removal");
    Ok(())
}
