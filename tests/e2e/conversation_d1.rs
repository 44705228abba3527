//! The D1 copy of conversations: every kind of row arrives, and an outage of D1 (its
//! `messages` table renamed away) delays the copy without blocking or losing chat.

use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{api_key, error_code, trial, unique, Server, TestResult};
use crate::conversation::{join, room_with, say, send, users2};
use crate::conversation_api::{contents, history_until};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("durability::d1_outage_loses_nothing", d1_outage),
        trial("durability::d1_gets_every_kind_of_row", d1_every_kind),
    ]
}

/// Polls the wrangler log until it contains `text` (the outbox logs each failed copy).
fn wait_for_log(s: &Server, text: &str) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if s.log_tail(2_000).contains(text) {
            return Ok(());
        }
        sleep(Duration::from_millis(250));
    }
    Err(format!("no {text:?} in the wrangler log"))
}

/// On a server of its own: the outage renames D1's `messages` table, which would fail every
/// other trial's D1 copies (and keep their objects' alarms, so their objects, awake).
fn d1_outage(_: &Server) -> TestResult {
    let own = Server::try_start(&[])?;
    let s = &own;
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let (mut wa, _) = join(s, &room, &a)?;
    say(&mut wa, "d1 up")?;
    let path = format!("/api/conversations/{room}/messages");
    history_until(s, &path, &api_key(), |b| contents(b) == ["d1 up"])?;
    s.d1_execute("ALTER TABLE messages RENAME TO messages_down")?;
    let (status, body) = s.get(&path, Some(&api_key()));
    assert_eq!(
        (status, error_code(&body)?.as_str()),
        (503, "unavailable"),
        "D1 is down for the Worker: history cannot be read"
    );
    let acks: Vec<Value> = (1..=3)
        .map(|i| say(&mut wa, &format!("during {i}")))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        acks.iter()
            .map(|a| a["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![2, 3, 4],
        "acks keep coming"
    );
    let copied = s.d1_query(&format!(
        "SELECT seq FROM messages_down WHERE conversation_id = '{room}'"
    ))?;
    assert_eq!(
        copied,
        vec![json!({"seq": 1})],
        "nothing reached D1 meanwhile"
    );
    wait_for_log(s, "D1 copy failed")?;
    s.d1_execute("ALTER TABLE messages_down RENAME TO messages")?;
    let page = history_until(s, &path, &api_key(), |b| contents(b).len() == 4)?;
    assert_eq!(
        contents(&page),
        ["d1 up", "during 1", "during 2", "during 3"],
        "every row once, in order"
    );
    Ok(())
}

/// Polls D1 until `sql` returns `want` rows (the outbox copies asynchronously).
fn d1_rows(s: &Server, sql: &str, want: usize) -> Result<Vec<Value>, String> {
    s.d1_until(sql, |rows| rows.len() == want)
}

fn d1_every_kind(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let (mut wb, _) = join(s, &room, &b)?;
    let mid = say(&mut wa, "copied")?["message_id"].clone();
    send(&mut wb, json!({"type": "read_receipt", "message_id": mid}))?;
    send(
        &mut wb,
        json!({"type": "message_reaction", "message_id": mid, "emoji": "✅"}),
    )?;
    wb.recv_until("ack")?;
    wb.recv_until("ack")?;
    let mid = mid.as_str().ok_or("the ack has no message_id")?;
    let members = d1_rows(
        s,
        &format!("SELECT user_id FROM conversation_members WHERE conversation_id = '{room}' ORDER BY user_id"),
        2,
    )?;
    let mut want = [a.clone(), b.clone()];
    want.sort();
    assert_eq!(
        members,
        want.map(|u| json!({"user_id": u})),
        "both members, by id"
    );
    let receipt = d1_rows(
        s,
        &format!("SELECT user_id, seq FROM read_receipts WHERE message_id = '{mid}'"),
        1,
    )?;
    assert_eq!(
        (receipt[0]["user_id"].as_str(), receipt[0]["seq"].as_u64()),
        (Some(b.as_str()), Some(2))
    );
    let reaction = d1_rows(
        s,
        &format!("SELECT emoji FROM reactions WHERE message_id = '{mid}'"),
        1,
    )?;
    assert_eq!(reaction[0]["emoji"], "✅");
    Ok(())
}
