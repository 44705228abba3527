//! Consistent reads (SPEC §12): a history or inbox page and its `last_seq` agree, so a client
//! that shows the page and resumes with `?since=<last_seq>` misses nothing and sees nothing
//! twice, whether D1 is up to date, lags by the outbox delay, or refuses the stream's rows.
//!
//! Each round stores one event (its ack or 201 is back), reads the page at once, then
//! resumes from the page's `last_seq`: page + replay must be every event so far, once each.

use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{api_key, token, trial, unique, with_token, Server, TestResult, Ws};
use crate::conversation::{join, room_with, say, users2};
use crate::conversation_api::history_until;
use crate::inbox::{notify, poll_d1_list};
use libtest_mimic::Trial;

const ROUNDS: usize = 30;
/// Rounds before D1 starts refusing, and while it refuses (short of the minute after which
/// the outbox gives a refused row up as a dead letter).
const UP_ROUNDS: usize = 5;
const DOWN_ROUNDS: usize = 15;

pub fn trials() -> Vec<Trial> {
    vec![
        trial("reads::history_page_then_resume_is_exact", history_exact),
        trial(
            "reads::history_page_then_resume_while_d1_refuses",
            history_d1_refuses,
        ),
        trial("reads::inbox_page_then_resume_is_exact", inbox_exact),
        trial(
            "reads::inbox_page_then_resume_while_d1_refuses",
            inbox_d1_refuses,
        ),
    ]
}

/// A durable event as (id, seq).
type Event = (String, u64);

/// One read: the page's events (oldest first), its `last_seq`, and what resuming from that
/// `last_seq` replayed.
struct Read {
    page: Vec<Event>,
    last_seq: u64,
    replay: Vec<Event>,
}

/// The page ends at or before its `last_seq`, and page + replay is `sent`, each once.
fn check_exact(read: &Read, sent: &[Event]) -> Result<(), String> {
    let page_max = read.page.iter().map(|e| e.1).max().unwrap_or(0);
    if page_max > read.last_seq {
        return Err(format!(
            "page has seq {page_max} > last_seq {}",
            read.last_seq
        ));
    }
    let mut union: Vec<Event> = read.page.iter().chain(&read.replay).cloned().collect();
    union.sort_by_key(|e| e.1);
    if union != sent {
        return Err(format!(
            "page {:?} (last_seq {}) + replay {:?} is not every event once: {sent:?}",
            read.page, read.last_seq, read.replay
        ));
    }
    Ok(())
}

/// Opens `path?since=<since>` as `user` and collects the replayed `kind` frames as events up
/// to `resumed`, which must name `since` and `last`. The close handshake completes before
/// returning, so the object has let go of the socket (sockets per user are capped).
fn replay(s: &Server, path: &str, user: &str, since: u64, last: u64) -> Result<Vec<Event>, String> {
    let url = with_token(&format!("{path}?since={since}"), &token(user));
    let mut ws = Ws::connect(&s.ws_url(&url))?;
    ws.recv_type("connection.established")?;
    let mut events = Vec::new();
    loop {
        let f = ws.recv()?;
        let body = match f["type"].as_str() {
            Some("resumed")
                if f == json!({"type": "resumed", "since": since, "last_seq": last}) =>
            {
                break
            }
            Some("chat_message") => &f["message"],
            Some("notification") => &f["notification"],
            _ => return Err(format!("unexpected frame in the replay: {f}")),
        };
        let id = body["id"].as_str().ok_or(format!("no id in {f}"))?;
        events.push((id.to_string(), f["seq"].as_u64().unwrap_or(0)));
    }
    ws.close_handshake()?;
    Ok(events)
}

/// `GET path` (server key) until it answers 200. A 503 means D1 cannot be read right now
/// (another trial renames D1's `messages` table for a few seconds); a page read later is
/// just as good a test, since nothing is sent in between.
pub fn fetch_page(s: &Server, path: &str) -> Result<Value, String> {
    let start = Instant::now();
    loop {
        let (status, page) = s.get(path, Some(&api_key()));
        match status {
            200 => return Ok(page),
            503 if start.elapsed() < Duration::from_secs(60) => sleep(Duration::from_millis(250)),
            _ => return Err(format!("GET {path}: {status} {page}")),
        }
    }
}

/// `(id, seq)` of each message of a history page.
fn page_events(page: &Value) -> Vec<Event> {
    page["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let id = m["id"].as_str().unwrap_or("?").to_string();
            (id, m["seq"].as_u64().unwrap_or(0))
        })
        .collect()
}

fn history_path(room: &str) -> String {
    format!("/api/conversations/{room}/messages?limit=200")
}

/// Sends message `i` from `ws`, then reads the history page and resumes after it as `reader`.
fn room_round(
    s: &Server,
    room: &str,
    ws: &mut Ws,
    reader: &str,
    sent: &mut Vec<Event>,
) -> Result<Read, String> {
    let ack = say(ws, &format!("m{}", sent.len() + 1))?;
    let id = ack["message_id"].as_str().ok_or(format!("ack: {ack}"))?;
    sent.push((id.to_string(), ack["seq"].as_u64().unwrap_or(0)));
    let page = fetch_page(s, &history_path(room))?;
    let last_seq = page["last_seq"]
        .as_u64()
        .ok_or(format!("no last_seq: {page}"))?;
    let path = format!("/ws/chat/{room}/");
    let last = sent.len() as u64;
    let read = Read {
        page: page_events(&page),
        last_seq,
        replay: replay(s, &path, reader, last_seq, last)?,
    };
    check_exact(&read, sent).map_err(|e| format!("after message {last}: {e}"))?;
    Ok(read)
}

fn history_exact(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let mut sent = Vec::new();
    let mut behind = 0;
    for _ in 0..ROUNDS {
        let read = room_round(s, &room, &mut wa, &b, &mut sent)?;
        behind += usize::from(read.last_seq < sent.len() as u64);
    }
    eprintln!("reads: the history page lagged the live stream in {behind} of {ROUNDS} rounds");
    Ok(())
}

/// Makes D1 refuse new rows of `table` whose `column` is `value` (a trigger, so every other
/// trial on the server, and reads, go on as before); returns the trigger's name.
pub fn refuse_rows(s: &Server, table: &str, column: &str, value: &str) -> Result<String, String> {
    let name = format!("refuse_{value}");
    let sql = format!(
        "CREATE TRIGGER \"{name}\" BEFORE INSERT ON {table} WHEN NEW.{column} = '{value}' \
         BEGIN SELECT RAISE(ABORT, 'refused for {value}'); END"
    );
    create_trigger(s, &sql)?;
    Ok(name)
}

/// Runs `sql` (a `CREATE TRIGGER`), again for up to a minute while its table is missing
/// (another trial renames D1's `messages` table for a few seconds).
pub fn create_trigger(s: &Server, sql: &str) -> Result<(), String> {
    let start = Instant::now();
    loop {
        match s.d1_execute(sql) {
            Err(e) if e.contains("no such table") && start.elapsed() < Duration::from_secs(60) => {
                sleep(Duration::from_secs(1))
            }
            done => return done,
        }
    }
}

/// Runs `body` while D1 refuses the rows `refuse_rows` names, and lets D1 take them again
/// afterwards, whatever `body` did.
fn while_refused(
    s: &Server,
    (table, column, value): (&str, &str, &str),
    body: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let name = refuse_rows(s, table, column, value)?;
    let outcome = body();
    let dropped = s.d1_execute(&format!("DROP TRIGGER \"{name}\""));
    outcome.and(dropped)
}

/// While D1 refuses, the page stays what D1 had: `had`, with `last_seq` at its end (not
/// an assert: the trigger must be dropped whatever happens).
fn frozen(read: &Read, had: &[Event]) -> Result<(), String> {
    let end = had.last().map_or(0, |e| e.1);
    match read.last_seq == end && read.page == had {
        true => Ok(()),
        false => Err(format!(
            "while D1 refuses the page should stay {had:?} up to {end}: got {:?} up to {}",
            read.page, read.last_seq
        )),
    }
}

fn history_d1_refuses(s: &Server) -> TestResult {
    let (a, b) = users2();
    let room = room_with(s, &[&a, &b]);
    let (mut wa, _) = join(s, &room, &a)?;
    let mut sent = Vec::new();
    for _ in 0..UP_ROUNDS {
        room_round(s, &room, &mut wa, &b, &mut sent)?;
    }
    let up = UP_ROUNDS as u64;
    history_until(s, &history_path(&room), &api_key(), |p| p["last_seq"] == up)?;
    while_refused(s, ("messages", "conversation_id", &room), || {
        for _ in 0..DOWN_ROUNDS {
            let read = room_round(s, &room, &mut wa, &b, &mut sent)?;
            frozen(&read, &sent[..UP_ROUNDS])?;
        }
        Ok(())
    })?;
    let all = sent.len() as u64;
    let page = history_until(s, &history_path(&room), &api_key(), |p| {
        p["last_seq"] == all
    })?;
    assert_eq!(page_events(&page), sent, "D1 caught up: every message once");
    room_round(s, &room, &mut wa, &b, &mut sent)?;
    Ok(())
}

/// Publishes notification `i` to `user`, then reads the inbox page and resumes after it.
fn inbox_round(s: &Server, user: &str, sent: &mut Vec<Event>) -> Result<Read, String> {
    let (status, body) = notify(s, user, &format!("n{}", sent.len() + 1));
    let n = &body["notifications"][0];
    match (status, n["id"].as_str(), n["seq"].as_u64()) {
        (201, Some(id), Some(seq)) => sent.push((id.to_string(), seq)),
        _ => return Err(format!("publish: {status} {body}")),
    }
    let path = format!("/api/users/{user}/notifications?limit=200");
    let page = fetch_page(s, &path)?;
    let last_seq = page["last_seq"]
        .as_u64()
        .ok_or(format!("no last_seq: {page}"))?;
    let last = sent.len() as u64;
    let read = Read {
        page: inbox_events(&page, sent)?,
        last_seq,
        replay: replay(s, "/ws/notifications/", user, last_seq, last)?,
    };
    check_exact(&read, sent).map_err(|e| format!("after notification {last}: {e}"))?;
    Ok(read)
}

/// The inbox page (newest first, without seqs) as events, oldest first: seqs from what was
/// published. An id never published is an error.
fn inbox_events(page: &Value, sent: &[Event]) -> Result<Vec<Event>, String> {
    let ids = page["notifications"].as_array().ok_or(format!("{page}"))?;
    let mut events = ids
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap_or("?");
            let seq = sent.iter().find(|e| e.0 == id).map(|e| e.1);
            seq.map(|seq| (id.to_string(), seq))
                .ok_or(format!("the page lists {id}, never published"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    events.reverse();
    Ok(events)
}

fn inbox_exact(s: &Server) -> TestResult {
    let u = unique("ann");
    let mut sent = Vec::new();
    let mut behind = 0;
    for _ in 0..ROUNDS {
        let read = inbox_round(s, &u, &mut sent)?;
        behind += usize::from(read.last_seq < sent.len() as u64);
    }
    eprintln!("reads: the inbox page lagged the live stream in {behind} of {ROUNDS} rounds");
    Ok(())
}

fn inbox_d1_refuses(s: &Server) -> TestResult {
    let u = unique("ann");
    let mut sent = Vec::new();
    for _ in 0..UP_ROUNDS {
        inbox_round(s, &u, &mut sent)?;
    }
    let up = UP_ROUNDS as u64;
    poll_d1_list(s, &u, "?limit=200", |p| p["last_seq"] == up)?;
    while_refused(s, ("notifications", "user_id", &u), || {
        for _ in 0..DOWN_ROUNDS {
            let read = inbox_round(s, &u, &mut sent)?;
            frozen(&read, &sent[..UP_ROUNDS])?;
        }
        Ok(())
    })?;
    let all = sent.len() as u64;
    let page = poll_d1_list(s, &u, "?limit=200", |p| p["last_seq"] == all)?;
    assert_eq!(
        inbox_events(&page, &sent)?,
        sent,
        "D1 caught up: every notification once"
    );
    inbox_round(s, &u, &mut sent)?;
    Ok(())
}
