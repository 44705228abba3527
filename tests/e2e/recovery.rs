//! D1 catching up after what production will meet: a D1 table missing for longer than the
//! outbox's poison-row budget (about a minute), and a deploy that finds rows of the old
//! schema still queued in an object's outbox.
//!
//! Both once failed (found while writing the `reads`/`outbox` trials):
//!
//! * a D1 table missing for 90 s: the outbox's D1 probe (`SELECT 1`) succeeds, so every row
//!   of the outage was charged as a poison row and dead-lettered. Now a row is charged only
//!   when the row behind it goes through alone (or an earlier attempt proved D1 works for
//!   others), so an outage of a whole table charges nothing;
//! * v1 rows still queued at the upgrade: the watermark stayed 0 and nothing scheduled their
//!   drain. Now an object that starts with queued rows schedules the drain on its first
//!   request, and an empty outbox moves the watermark to the last event.

use std::thread::sleep;
use std::time::Duration;

use serde_json::json;

use crate::common::{api_key, trial, unique, unpack_fixture, write_object, Server, TestResult};
use crate::conversation::{join, room_with, say};
use crate::conversation_api::{contents, history_until};
use crate::storage::manifest;
use libtest_mimic::Trial;

/// Longer than the outbox takes to give a refused row up (3 batches, then 5 lone attempts).
const OUTAGE: Duration = Duration::from_secs(90);

pub fn trials() -> Vec<Trial> {
    vec![
        trial("outbox::long_d1_table_outage_loses_no_row", long_outage),
        trial(
            "storage::upgrade_with_a_queued_v1_row_serves_history",
            queued_v1_row,
        ),
    ]
}

/// On a server of its own: the shared one's D1 must not lose its `messages` table for long.
fn long_outage(_: &Server) -> TestResult {
    let s = Server::try_start(&[])?;
    let a = unique("ann");
    let room = room_with(&s, &[&a]);
    let (mut wa, _) = join(&s, &room, &a)?;
    say(&mut wa, "up")?;
    let path = format!("/api/conversations/{room}/messages");
    history_until(&s, &path, &api_key(), |p| p["last_seq"] == 1)?;
    s.d1_execute("ALTER TABLE messages RENAME TO messages_down")?;
    say(&mut wa, "during 1")?;
    say(&mut wa, "during 2")?;
    sleep(OUTAGE);
    s.d1_execute("ALTER TABLE messages_down RENAME TO messages")?;
    let page = history_until(&s, &path, &api_key(), |p| p["last_seq"] == 3)?;
    assert_eq!(
        contents(&page),
        ["up", "during 1", "during 2"],
        "D1 caught up after the outage: {page}"
    );
    Ok(())
}

/// The fixture's room (v1) with the D1 copy of its last event (the read receipt, seq 6)
/// still queued in its outbox, as a deploy during a slow D1 would find it.
fn queued_v1_row(_: &Server) -> TestResult {
    let rr = manifest()?["conversation"]["read_receipt"].clone();
    let dir = unpack_fixture("state-v1.tar.gz")?;
    let receipt = json!({
        "sql": "INSERT INTO read_receipts (conversation_id, message_id, user_id, seq, read_at) \
                VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        "args": ["fixture-room", rr["message_id"], rr["user_id"], rr["seq"], "2026-12-01T00:00:00.000Z"]
    });
    let room = ("ConversationRoom", "conversation:fixture-room");
    write_object(
        &dir,
        room,
        "INSERT INTO outbox (stmt) VALUES (?)",
        &receipt.to_string(),
    )?;
    let s = Server::try_start_on(dir, &[])?;
    s.d1_execute("DELETE FROM read_receipts WHERE conversation_id = 'fixture-room'")?;
    let path = "/api/conversations/fixture-room/messages";
    let page = history_until(&s, path, &api_key(), |p| p["last_seq"] == 6);
    let copied = s.d1_until(
        "SELECT seq FROM read_receipts WHERE conversation_id = 'fixture-room'",
        |rows| rows.len() == 1,
    );
    s.stop(page.is_err() || copied.is_err());
    let page = page?;
    assert_eq!(
        contents(&page).len(),
        3,
        "the three stored messages: {page}"
    );
    copied?;
    Ok(())
}
