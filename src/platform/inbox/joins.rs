//! Which session socket has which conversation joined, and the last `seq` it was given there
//! (SPEC §9), in the inbox's SQLite: a socket's attachment is too small for a hundred
//! conversations, and a position must survive hibernation. Rows are keyed by the socket's
//! `sid` (from its attachment) and leave with the socket.

use worker::{Result, SqlStorage, SqlStorageValue};

use crate::platform::object::rows::{row, Rows};

/// Schema v3 of inboxes.
pub const SCHEMA_V3: &str = "CREATE TABLE joins (sid INTEGER NOT NULL,
  conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (sid, conversation_id))";

fn s(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_string())
}

fn n(v: u64) -> SqlStorageValue {
    SqlStorageValue::Integer(v as i64)
}

row! {
    struct Position {
        sid: i64,
        seq: i64,
    }
}

row! {
    struct Conversation {
        conversation_id: String,
    }
}

row! {
    struct Count {
        n: i64,
    }
}

pub fn put(sql: &SqlStorage, sid: u64, conv: &str, seq: u64) -> Result<()> {
    sql.exec(
        "INSERT OR REPLACE INTO joins (sid, conversation_id, seq) VALUES (?, ?, ?)",
        Some(vec![n(sid), s(conv), n(seq)]),
    )?;
    Ok(())
}

/// Moves a socket's position on (never back: a late answer cannot rewind it).
pub fn advance(sql: &SqlStorage, sid: u64, conv: &str, seq: u64) -> Result<()> {
    sql.exec(
        "UPDATE joins SET seq = max(seq, ?) WHERE sid = ? AND conversation_id = ?",
        Some(vec![n(seq), n(sid), s(conv)]),
    )?;
    Ok(())
}

pub fn remove(sql: &SqlStorage, sid: u64, conv: &str) -> Result<()> {
    sql.exec(
        "DELETE FROM joins WHERE sid = ? AND conversation_id = ?",
        Some(vec![n(sid), s(conv)]),
    )?;
    Ok(())
}

/// Whether socket `sid` has `conv` joined.
pub fn is_joined(sql: &SqlStorage, sid: u64, conv: &str) -> bool {
    position(sql, sid, conv).is_some()
}

pub fn position(sql: &SqlStorage, sid: u64, conv: &str) -> Option<u64> {
    sql.rows::<Position>(
        "SELECT sid, seq FROM joins WHERE sid = ? AND conversation_id = ?",
        Some(vec![n(sid), s(conv)]),
    )
    .ok()
    .and_then(|rows| rows.first().map(|r| r.seq.max(0) as u64))
}

/// How many conversations socket `sid` has joined.
pub fn count(sql: &SqlStorage, sid: u64) -> usize {
    one_count(
        sql,
        "SELECT count(*) AS n FROM joins WHERE sid = ?",
        vec![n(sid)],
    )
}

/// How many of this user's session sockets have `conv` joined.
pub fn devices(sql: &SqlStorage, conv: &str) -> u32 {
    let q = "SELECT count(*) AS n FROM joins WHERE conversation_id = ?";
    one_count(sql, q, vec![s(conv)]) as u32
}

fn one_count(sql: &SqlStorage, q: &str, args: Vec<SqlStorageValue>) -> usize {
    sql.rows::<Count>(q, Some(args))
        .ok()
        .and_then(|rows| rows.first().map(|r| r.n.max(0) as usize))
        .unwrap_or(0)
}

/// (sid, position) of every socket that has `conv` joined.
pub fn sockets_of(sql: &SqlStorage, conv: &str) -> Vec<(u64, u64)> {
    sql.rows::<Position>(
        "SELECT sid, seq FROM joins WHERE conversation_id = ?",
        Some(vec![s(conv)]),
    )
    .unwrap_or_default()
    .into_iter()
    .map(|r| (r.sid as u64, r.seq.max(0) as u64))
    .collect()
}

/// The conversations socket `sid` has joined, in the order joined.
pub fn of_socket(sql: &SqlStorage, sid: u64) -> Vec<String> {
    sql.rows::<Conversation>(
        "SELECT conversation_id FROM joins WHERE sid = ? ORDER BY rowid",
        Some(vec![n(sid)]),
    )
    .unwrap_or_default()
    .into_iter()
    .map(|r| r.conversation_id)
    .collect()
}

/// Every conversation some socket here has joined.
pub fn conversations(sql: &SqlStorage) -> Vec<String> {
    sql.rows::<Conversation>("SELECT DISTINCT conversation_id FROM joins", None)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.conversation_id)
        .collect()
}

/// Forgets every row of a socket that is gone; returns the conversations it had joined.
pub fn remove_socket(sql: &SqlStorage, sid: u64) -> Result<Vec<String>> {
    let convs = of_socket(sql, sid);
    sql.exec("DELETE FROM joins WHERE sid = ?", Some(vec![n(sid)]))?;
    Ok(convs)
}

/// Every socket id that has some conversation joined.
pub fn sids(sql: &SqlStorage) -> Vec<u64> {
    row! {
        struct Sid {
            sid: i64,
        }
    }
    sql.rows::<Sid>("SELECT DISTINCT sid FROM joins", None)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.sid as u64)
        .collect()
}
