//! The org hub's SQLite behind [`OrgStore`]: the bounded event log, API membership, and the
//! hub's schema versions.

use worker::{console_error, Result, SqlStorage, Storage};

use crate::domain::org::{OrgChange, OrgStore};
use crate::domain::replica;
use crate::domain::room::StoreError;
use crate::domain::stream::EventLog;
use crate::platform::object::event_log::{self, SqlLog};
use crate::platform::object::rows::{row, Rows};
use crate::platform::object::schema::Schema;
use crate::platform::object::transaction::atomically;
use crate::platform::object::{hub, idempotency, outbox, timers};

/// The hub's schema versions (see `object::schema`); never edit an entry, append one.
pub static SCHEMA: Schema = Schema {
    name: "org",
    migrations: &[
        &[
            event_log::SCHEMA_V1,
            MEMBERS_V1,
            outbox::SCHEMA_V1,
            idempotency::SCHEMA,
            hub::SCHEMA,
        ],
        &[event_log::COLUMNS_V2, outbox::SCHEMA_V2, timers::SCHEMA_V2],
    ],
};

const MEMBERS_V1: &str =
    "CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY, added_at TEXT NOT NULL)";

pub struct SqliteOrg<'a> {
    pub storage: Storage,
    pub sql: &'a SqlStorage,
    pub org_id: &'a str,
    /// Events kept for resume (`ORG_EVENT_RETENTION`).
    pub retention: u64,
}

row! {
    struct UserRow {
        #[allow(dead_code)]
        user_id: String,
    }
}

impl EventLog for SqliteOrg<'_> {
    fn last_seq(&self) -> u64 {
        SqlLog(self.sql).last_seq()
    }
    fn first_seq(&self) -> u64 {
        SqlLog(self.sql).first_seq()
    }
    fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
        SqlLog(self.sql).events_after(since, limit)
    }
}

impl OrgStore for SqliteOrg<'_> {
    fn is_member(&self, user_id: &str) -> bool {
        self.sql
            .rows::<UserRow>(
                "SELECT user_id FROM members WHERE user_id = ?",
                Some(vec![user_id.into()]),
            )
            .is_ok_and(|rows| !rows.is_empty())
    }

    fn set_member(&mut self, user_id: &str, added_at: Option<&str>) -> Result<bool, StoreError> {
        atomically(&self.storage, || self.write_member(user_id, added_at)).map_err(|e| {
            console_error!("org membership change failed: {e}");
            StoreError
        })
    }

    fn commit(&mut self, seq: u64, frame: &str, change: &OrgChange) -> Result<(), StoreError> {
        let OrgChange::Event {
            id,
            event_type,
            data,
            at,
        } = change;
        let row = replica::org_event(self.org_id, seq, id, event_type, data, at);
        let log = SqlLog(self.sql);
        atomically(&self.storage, || {
            log.append(seq, "event", id, frame)?;
            log.trim(self.retention)?;
            outbox::enqueue(self.sql, &[row], Some(seq))
        })
        .map_err(|e| {
            console_error!("org commit failed: {e}");
            StoreError
        })
    }
}

impl SqliteOrg<'_> {
    fn write_member(&self, user_id: &str, added_at: Option<&str>) -> Result<bool> {
        let cursor = match added_at {
            Some(at) => self.sql.exec(
                "INSERT OR IGNORE INTO members (user_id, added_at) VALUES (?, ?)",
                Some(vec![user_id.into(), at.into()]),
            )?,
            None => self.sql.exec(
                "DELETE FROM members WHERE user_id = ?",
                Some(vec![user_id.into()]),
            )?,
        };
        let changed = cursor.rows_written() > 0;
        if changed {
            let row = replica::org_member(self.org_id, user_id, added_at);
            outbox::enqueue(self.sql, &[row], None)?;
        }
        Ok(changed)
    }
}
