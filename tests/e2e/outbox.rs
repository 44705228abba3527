//! The outbox's dead letters: a row D1 keeps refusing while D1 itself answers (a poison
//! row) must not block the rows behind it. After a few failed batches the outbox tries the
//! head row alone, and after a few failed lone attempts it keeps the row as a dead letter
//! (logged with its kind and D1's error) and goes on.

use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{trial, unique, Server, TestResult};
use crate::conversation::{join, room_with, say};
use crate::reads::{create_trigger, fetch_page};
use libtest_mimic::Trial;

/// Giving a row up takes about a minute (3 failed batches, then 5 lone attempts with a
/// backoff capped at 10 s, all jittered); this is the hang guard.
const GIVE_UP_WAIT: Duration = Duration::from_secs(240);

pub fn trials() -> Vec<Trial> {
    vec![trial(
        "outbox::poison_row_becomes_a_dead_letter_and_the_rest_reach_d1",
        poison_row,
    )]
}

fn poison_row(s: &Server) -> TestResult {
    let a = unique("ann");
    let room = room_with(s, &[&a]);
    let poison = format!("poison-{room}");
    let trigger = format!("poison_{room}");
    // D1 refuses exactly this row, with an error naming this room.
    create_trigger(
        s,
        &format!(
            "CREATE TRIGGER \"{trigger}\" BEFORE INSERT ON messages WHEN NEW.content = '{poison}' \
             BEGIN SELECT RAISE(ABORT, 'poisoned {room}'); END"
        ),
    )?;
    let outcome = around_the_poison(s, &room, &a, &poison);
    let dropped = s.d1_execute(&format!("DROP TRIGGER \"{trigger}\""));
    outcome?;
    dropped?;
    Ok(())
}

/// Sends the four messages, then checks D1, the log and the history page (errors, not
/// panics, so the trigger is dropped whatever happens).
fn around_the_poison(s: &Server, room: &str, user: &str, poison: &str) -> Result<(), String> {
    let (mut ws, _) = join(s, room, user)?;
    let mut seqs = Vec::new();
    for text in ["before", poison, "after-1", "after-2"] {
        seqs.push(say(&mut ws, text)?["seq"].clone());
    }
    expect(seqs == [1, 2, 3, 4], format!("acks in order: {seqs:?}"))?;
    let sql =
        format!("SELECT seq, content FROM messages WHERE conversation_id = '{room}' ORDER BY seq");
    let rows = poll_d1(s, &sql, 3)?;
    let want = [(1, "before"), (3, "after-1"), (4, "after-2")]
        .map(|(seq, content)| json!({"seq": seq, "content": content}));
    expect(
        rows == want,
        format!("D1 has every row but the poison: {rows:?}"),
    )?;
    let entry = dead_letter_line(s, room)?;
    expect(
        entry.contains("kept as a dead letter: INSERT INTO messages"),
        format!("the log names the statement's kind: {entry}"),
    )?;
    // Given up on, the poison no longer holds the page back: it is complete up to seq 4.
    let page = fetch_page(s, &format!("/api/conversations/{room}/messages"))?;
    let seqs: Vec<&Value> = page["messages"]
        .as_array()
        .map_or(vec![], |m| m.iter().map(|m| &m["seq"]).collect());
    expect(
        page["last_seq"] == 4 && seqs == [1, 3, 4],
        format!("history after the dead letter: {page}"),
    )
}

fn expect(ok: bool, why: String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(why)
    }
}

/// Polls D1 until `sql` returns `n` rows (or [`GIVE_UP_WAIT`] passes).
fn poll_d1(s: &Server, sql: &str, n: usize) -> Result<Vec<Value>, String> {
    let start = Instant::now();
    loop {
        // An error is D1's `messages` table renamed away by another trial for a moment.
        let rows = s.d1_query(sql).unwrap_or_default();
        if rows.len() == n {
            return Ok(rows);
        }
        if start.elapsed() > GIVE_UP_WAIT {
            return Err(format!("D1 never had {n} rows for {sql}: {rows:?}"));
        }
        sleep(Duration::from_secs(1));
    }
}

/// The wrangler log entry about the dead letter whose D1 error names `room`: the line
/// that says so, with the error on the lines after it (wrangler prints the error's cause
/// below its message).
fn dead_letter_line(s: &Server, room: &str) -> Result<String, String> {
    let error = format!("poisoned {room}");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let log = std::fs::read_to_string(s.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let found = (0..lines.len()).find_map(|i| {
            let entry = lines[i..lines.len().min(i + 6)].join("\n");
            let ours = lines[i].contains("dead letter") && entry.contains(&error);
            ours.then_some(entry)
        });
        if let Some(entry) = found {
            return Ok(entry);
        }
        sleep(Duration::from_millis(500));
    }
    Err(format!("no dead letter with {error:?} in the wrangler log"))
}
