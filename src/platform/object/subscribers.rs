//! A room's session subscribers (SPEC §9), in its SQLite: one row per user whose session has
//! the conversation joined, with how many of that user's session devices follow it and a
//! lease the session renews. A row whose lease ran out is a session that vanished: it is
//! dropped and stops costing anything.
//!
//! The same rows could later name fan-out objects instead of users, to spread a very large
//! room (see `docs/architecture.md`); nothing here is specific to inboxes but the key.

use worker::{Result, SqlStorage, SqlStorageValue};

use crate::domain::identity::Identity;
use crate::platform::object::rows::{row, Rows};

/// Schema v3 of rooms.
pub const SCHEMA_V3: &str = "CREATE TABLE sessions (user_id TEXT PRIMARY KEY,
  user_name TEXT NOT NULL, username TEXT NOT NULL, devices INTEGER NOT NULL,
  lease_until INTEGER NOT NULL)";

row! {
    pub struct Row {
        pub user_id: String,
        pub user_name: String,
        pub username: String,
        pub devices: i64,
        pub lease_until: i64,
    }
}

fn s(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_string())
}

/// Subscribes `who` with `devices` devices until `lease_until` (0 devices unsubscribes).
pub fn set(sql: &SqlStorage, who: &Identity, devices: u32, lease_until: i64) -> Result<()> {
    if devices == 0 {
        return remove(sql, &who.user_id);
    }
    sql.exec(
        "INSERT OR REPLACE INTO sessions (user_id, user_name, username, devices, lease_until) \
         VALUES (?, ?, ?, ?, ?)",
        Some(vec![
            s(&who.user_id),
            s(who.display_name()),
            s(who.username()),
            (devices as i64).into(),
            lease_until.into(),
        ]),
    )?;
    Ok(())
}

pub fn remove(sql: &SqlStorage, user: &str) -> Result<()> {
    sql.exec(
        "DELETE FROM sessions WHERE user_id = ?",
        Some(vec![s(user)]),
    )?;
    Ok(())
}

pub fn all(sql: &SqlStorage) -> Vec<Row> {
    sql.rows(
        "SELECT user_id, user_name, username, devices, lease_until FROM sessions",
        None,
    )
    .unwrap_or_default()
}

pub fn get(sql: &SqlStorage, user: &str) -> Option<Row> {
    sql.rows::<Row>(
        "SELECT user_id, user_name, username, devices, lease_until FROM sessions WHERE user_id = ?",
        Some(vec![s(user)]),
    )
    .ok()
    .and_then(|rows| rows.into_iter().next())
}

/// `user`'s session devices following this room.
pub fn devices(sql: &SqlStorage, user: &str) -> u32 {
    get(sql, user).map_or(0, |r| r.devices.max(0) as u32)
}

/// (user id, display name) once per session device, for the presence list.
pub fn devices_by_user(sql: &SqlStorage) -> Vec<(String, String)> {
    all(sql)
        .into_iter()
        .flat_map(|r| {
            let n = r.devices.max(0) as usize;
            std::iter::repeat_n((r.user_id, r.user_name), n)
        })
        .collect()
}

/// Takes off the rows whose lease ran out and returns them.
pub fn expire(sql: &SqlStorage, now: i64) -> Result<Vec<Row>> {
    let gone: Vec<Row> = all(sql)
        .into_iter()
        .filter(|r| r.lease_until <= now)
        .collect();
    sql.exec(
        "DELETE FROM sessions WHERE lease_until <= ?",
        Some(vec![now.into()]),
    )?;
    Ok(gone)
}

/// The earliest lease still running.
pub fn next_lease_end(sql: &SqlStorage) -> Option<i64> {
    all(sql).iter().map(|r| r.lease_until).min()
}
