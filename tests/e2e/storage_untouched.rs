//! Refused joins and reads of unknown streams write nothing: an object that was only asked
//! (a non-member's join, history, presence, members, a removal of nobody, an inbox list)
//! creates no table in its SQLite. Checked in the objects' files on the server's state dir,
//! found by object name (see `common::objects`).

use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{api_key, token, trial, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{auth, room_with};
use crate::org::{events_socket, set_org_member};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![trial(
        "storage::refused_joins_and_unknown_reads_write_nothing",
        refused_and_unknown,
    )]
}

/// `GET path` with the server key must answer 200 with `want`.
fn read(s: &Server, path: &str, want: serde_json::Value) {
    let (status, body) = s.get(path, Some(&api_key()));
    assert_eq!((status, body), (200, want), "GET {path}");
}

/// Everything a client or backend may ask of a conversation it is not in, or that does
/// not exist, and of an org and an inbox nobody ever wrote to.
fn ask_without_writing(s: &Server, ghost: &str, org: &str, user: &str, eve: &str) -> TestResult {
    let chat = format!("/ws/chat/{ghost}/");
    Ws::connect(&s.ws_url(&with_token(&chat, &token(eve))))?.expect_close(4003)?;
    let conv = format!("/api/conversations/{ghost}");
    read(
        s,
        &format!("{conv}/messages"),
        json!({"messages": [], "last_seq": 0, "has_more": false}),
    );
    read(s, &format!("{conv}/presence"), json!({"users": []}));
    read(
        s,
        &format!("{conv}/members"),
        json!({"conversation_id": ghost, "members": []}),
    );
    let (status, body) = s.request(
        "DELETE",
        &format!("{conv}/members/{eve}"),
        &[("Authorization", &auth())],
        None,
    );
    assert_eq!((status, &body["removed"]), (200, &json!(false)), "{body}");
    events_socket(s, org, &token(eve), "")?.expect_close(4003)?;
    read(
        s,
        &format!("/api/orgs/{org}/presence"),
        json!({"users": []}),
    );
    assert_eq!(set_org_member(s, org, eve, "DELETE"), 200);
    let (status, page) = s.get(
        &format!("/api/users/{user}/notifications"),
        Some(&api_key()),
    );
    assert_eq!(
        (status, &page["notifications"], &page["last_seq"]),
        (200, &json!([]), &json!(0)),
        "{page}"
    );
    Ok(())
}

/// The tables object `name` of `class` created, once its file is listed (the listing skips
/// a file being written at that instant, so it is asked again for a few seconds).
fn tables_of(s: &Server, class: &str, name: &str) -> Result<Vec<String>, String> {
    let start = Instant::now();
    loop {
        if let Some(tables) = s.object_tables(class)?.remove(name) {
            return Ok(tables);
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(format!("no SQLite file of {class} {name:?}"));
        }
        sleep(Duration::from_millis(500));
    }
}

fn refused_and_unknown(s: &Server) -> TestResult {
    let (member, eve, user) = (unique("ann"), unique("eve"), unique("cy"));
    let (ghost, org) = (unique("room"), unique("org"));
    // A room that was written: the check sees its tables.
    let written = room_with(s, &[&member]);
    let tables = tables_of(s, "ConversationRoom", &format!("conversation:{written}"))?;
    assert!(tables.iter().any(|t| t == "schema_version"), "{tables:?}");
    ask_without_writing(s, &ghost, &org, &user, &eve)?;
    for (class, name) in [
        ("ConversationRoom", format!("conversation:{ghost}")),
        ("OrgHub", format!("org:{org}")),
        ("UserInbox", format!("user:{user}")),
    ] {
        let tables = tables_of(s, class, &name)?;
        assert!(
            tables.is_empty(),
            "{name} was only asked, yet has tables {tables:?}"
        );
    }
    Ok(())
}
