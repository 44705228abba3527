//! Stored state across versions: a server started on a state dir written by an earlier
//! build (`tests/fixtures/state-v1.tar.gz`, made by `make-state-v1.sh`; `state-v1.json` is
//! what that build answered while making it) serves every row it stored, through the same
//! endpoints a client uses, and numbers new events after them. Run on today's code it proves
//! the harness and fixture; after a schema change it proves the migration lost nothing.

use std::path::Path;

use serde_json::{json, Value};

use crate::common::{api_key, token, trial, unpack_fixture, with_token, Server, TestResult, Ws};
use crate::conversation::say;
use crate::conversation_api::history_until;
use crate::inbox::{notify, poll_d1_list};
use crate::org::{events_socket, publish};
use libtest_mimic::Trial;

const ARCHIVE: &str = "state-v1.tar.gz";
const MANIFEST: &str = "state-v1.json";

pub fn trials() -> Vec<Trial> {
    vec![trial(
        "storage::upgrade_from_v1_state",
        upgrade_from_v1_state,
    )]
}

/// `state-v1.json`: what the v1 server answered while the fixture was made.
pub fn manifest() -> Result<Value, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path:?}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path:?}: {e}"))
}

/// A server of its own on an unpacked copy of the fixture (the shared one is not used).
fn upgrade_from_v1_state(_: &Server) -> TestResult {
    let fx = manifest()?;
    let server = Server::try_start_on(unpack_fixture(ARCHIVE)?, &[])?;
    let outcome = room_history(&server, &fx["conversation"])
        .and_then(|()| room_replay_and_next(&server, &fx["conversation"]))
        .and_then(|()| inbox_state(&server, &fx["inbox"]))
        .and_then(|()| org_resumes(&server, &fx["org"]));
    server.stop(outcome.is_err());
    Ok(outcome?)
}

/// Where `actual` lacks a field of `recorded` or differs in it (`None`: it has them all with
/// the same values; fields a later version adds are allowed).
fn missing(actual: &Value, recorded: &Value, at: &str) -> Option<String> {
    match (actual, recorded) {
        (Value::Object(a), Value::Object(r)) => r.iter().find_map(|(k, rv)| {
            let av = a.get(k).unwrap_or(&Value::Null);
            missing(av, rv, &format!("{at}.{k}"))
        }),
        _ if actual == recorded => None,
        _ => Some(format!("{at}: recorded {recorded}, now {actual}")),
    }
}

/// The frames after `connection.established` up to `resumed`, each checked against the
/// recorded replay (which ends with `resumed` too).
fn expect_replay(ws: &mut Ws, recorded: &Value) -> Result<Vec<Value>, String> {
    let recorded = recorded.as_array().ok_or("the manifest has no replay")?;
    let mut got = Vec::new();
    for (i, want) in recorded.iter().enumerate() {
        let frame = ws.recv()?;
        if let Some(diff) = missing(&frame, want, &format!("replay[{i}]")) {
            return Err(format!("{diff}\nframe: {frame}"));
        }
        got.push(frame);
    }
    Ok(got)
}

fn room_history(s: &Server, fx: &Value) -> Result<(), String> {
    let room = fx["id"].as_str().ok_or("no conversation id")?;
    let path = format!("/api/conversations/{room}/messages");
    let page = history_until(s, &path, &api_key(), |p| p["messages"].as_array().is_some())?;
    let got: Vec<Value> = page["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            json!([
                m["id"],
                m["seq"],
                m["sender"]["id"],
                m["content"],
                m["is_edited"]
            ])
        })
        .collect();
    let want: Vec<Value> = fx["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let edited = m.get("edited_to").is_some();
            let content = m.get("edited_to").unwrap_or(&m["content"]);
            json!([m["id"], m["seq"], m["sender"], content, edited])
        })
        .collect();
    assert_eq!(want.len(), 3, "the manifest's messages");
    assert_eq!(got, want, "history: every message, its seq and the edit");
    assert_eq!(
        (page["last_seq"].clone(), page["has_more"].clone()),
        (fx["last_seq"].clone(), json!(false))
    );
    room_d1_rows(s, fx)
}

/// The reaction and the read receipt are still in D1 (no API lists them).
fn room_d1_rows(s: &Server, fx: &Value) -> Result<(), String> {
    let (r, rr) = (&fx["reaction"], &fx["read_receipt"]);
    let reactions = s.d1_query(
        "SELECT message_id, user_id, emoji FROM reactions WHERE conversation_id = 'fixture-room'",
    )?;
    let want = json!({"message_id": r["message_id"], "user_id": r["user_id"], "emoji": r["emoji"]});
    assert_eq!(reactions, [want]);
    let receipts = s.d1_query(
        "SELECT message_id, user_id, seq FROM read_receipts WHERE conversation_id = 'fixture-room'",
    )?;
    let want = json!({"message_id": rr["message_id"], "user_id": rr["user_id"], "seq": rr["seq"]});
    assert_eq!(receipts, [want]);
    Ok(())
}

fn room_replay_and_next(s: &Server, fx: &Value) -> Result<(), String> {
    let room = fx["id"].as_str().ok_or("no conversation id")?;
    let last = fx["last_seq"].as_u64().ok_or("no last_seq")?;
    assert_eq!(last, 6, "3 messages, an edit, a reaction, a receipt");
    let path = format!("/ws/chat/{room}/?since=0");
    let mut ann = Ws::connect(&s.ws_url(&with_token(&path, &token("fx-ann"))))?;
    let hello = ann.recv_type("connection.established")?;
    assert_eq!(hello["last_seq"], last, "{hello}");
    let replay = expect_replay(&mut ann, &fx["replay"])?;
    let kinds: Vec<(&str, u64)> = replay
        .iter()
        .map(|f| {
            (
                f["type"].as_str().unwrap_or("?"),
                f["seq"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want = [
        "chat_message",
        "chat_message",
        "chat_message",
        "message_edit",
    ];
    let want = want.iter().chain(&["message_reaction", "read_receipt"]);
    let want: Vec<(&str, u64)> = want.copied().zip(1..).collect();
    assert_eq!(kinds[..6], want[..], "every stored event, in order");
    assert_eq!(
        replay[6],
        json!({"type": "resumed", "since": 0, "last_seq": last})
    );
    // fx-bob is still a member; a new message continues the numbering.
    let bob_path = format!("/ws/chat/{room}/");
    let mut bob = Ws::connect(&s.ws_url(&with_token(&bob_path, &token("fx-bob"))))?;
    assert_eq!(bob.recv_type("connection.established")?["last_seq"], last);
    let ack = say(&mut ann, "after the upgrade")?;
    assert_eq!(ack["seq"], last + 1, "{ack}");
    let live = bob.recv_until("chat_message")?;
    assert_eq!(
        (&live["seq"], &live["message"]["content"]),
        (&json!(last + 1), &json!("after the upgrade"))
    );
    Ok(())
}

fn inbox_state(s: &Server, fx: &Value) -> Result<(), String> {
    let user = fx["user_id"].as_str().ok_or("no inbox user")?;
    let (last, unread) = (&fx["last_seq"], &fx["unread_count"]);
    assert_eq!(
        (last, unread),
        (&json!(4), &json!(2)),
        "the manifest's inbox"
    );
    let path = with_token("/ws/notifications/?since=0", &token(user));
    let mut ws = Ws::connect(&s.ws_url(&path))?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(
        (&hello["last_seq"], &hello["unread_count"]),
        (last, unread),
        "{hello}"
    );
    expect_replay(&mut ws, &fx["replay"])?;
    let page = poll_d1_list(s, user, "", |p| p["notifications"].is_array())?;
    let listed: Vec<(Value, Value)> = page["notifications"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| (n["id"].clone(), n["read"].clone()))
        .collect();
    let ids: Vec<Value> = fx["notifications"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| n["id"].clone())
        .collect();
    assert_eq!(ids.len(), 3, "the manifest's notifications");
    let read_id = &fx["read"]["notification_id"];
    let want: Vec<(Value, Value)> = ids
        .iter()
        .rev()
        .map(|id| (id.clone(), json!(id == read_id)))
        .collect();
    assert_eq!(listed, want, "from D1, newest first, the first one read");
    assert_eq!((&page["last_seq"], &page["unread_count"]), (last, unread));
    let (status, body) = notify(s, user, "after the upgrade");
    assert_eq!((status, &body["notifications"][0]["seq"]), (201, &json!(5)));
    assert_eq!(ws.recv_type("notification")?["seq"], 5);
    assert_eq!(ws.recv_type("unread_count")?["count"], 3);
    Ok(())
}

fn org_resumes(s: &Server, fx: &Value) -> Result<(), String> {
    let org = fx["id"].as_str().ok_or("no org id")?;
    let last = fx["last_seq"].as_u64().ok_or("no org last_seq")?;
    assert_eq!(last, 2, "the manifest's org");
    // No `orgs` claim: only the stored API membership admits fx-ann.
    let mut ws = events_socket(s, org, &token("fx-ann"), "?since=0")?;
    let hello = ws.recv_type("connection.established")?;
    assert_eq!(hello["last_seq"], last, "{hello}");
    let replay = expect_replay(&mut ws, &fx["replay"])?;
    let ids: Vec<&Value> = replay[..2].iter().map(|e| &e["id"]).collect();
    let want: Vec<&Value> = fx["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids, want, "both events, in order");
    let (status, body) = publish(s, org, "after.upgrade");
    assert_eq!(
        (status, &body["seq"], &body["delivered"]),
        (201, &json!(last + 1), &json!(1)),
        "{body}"
    );
    let live = ws.recv_until("event")?;
    assert_eq!(
        (&live["seq"], &live["event_type"]),
        (&json!(last + 1), &json!("after.upgrade"))
    );
    Ok(())
}
