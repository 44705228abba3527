//! The conversation room's SQLite behind [`RoomStore`]: the event log, messages, receipts,
//! reactions, members, presence grace and idempotency keys, and the room's schema versions.
//! Every write of one change runs in one storage transaction.

use worker::{SqlStorage, SqlStorageValue, Storage};

use crate::domain::protocol::{MessageView, ReactionAction};
use crate::domain::replica;
use crate::domain::room::{
    erase_edit_frame, erase_message_frame, erase_message_response, Change, RoomStore, StoreError,
    StoredMessage,
};
use crate::domain::stream::EventLog;
use crate::domain::webhook::{Kind, WebhookSettings};

use crate::platform::object::event_log::SqlLog;
use crate::platform::object::rows::{row, FromRow, Rows};
use crate::platform::object::schema::Schema;
use crate::platform::object::transaction::atomically;
use crate::platform::object::{hub, idempotency, outbox, subscribers, timers, webhooks};

/// The room's schema versions (see `object::schema`); never edit an entry, append one.
pub static SCHEMA: Schema = Schema {
    name: "room",
    migrations: &[
        &[V1, outbox::SCHEMA_V1, idempotency::SCHEMA, hub::SCHEMA],
        &[V2, outbox::SCHEMA_V2, timers::SCHEMA_V2],
        &[subscribers::SCHEMA_V3],
        &[webhooks::SCHEMA],
    ],
};

/// v2: one event log for every object (`ref_id`) and one stream key (`meta.stream`).
const V2: &str = "ALTER TABLE events RENAME COLUMN message_id TO ref_id;
INSERT OR IGNORE INTO meta (k, v) SELECT 'stream', v FROM meta WHERE k = 'conversation_id';
DELETE FROM meta WHERE k = 'conversation_id'";

/// The room schema before versioning (v1), exactly as it was created then.
const V1: &str = "
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, message_id TEXT, frame TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_message ON events (message_id);
CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, sender_id TEXT NOT NULL,
  client_msg_id TEXT, deleted INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client ON messages (sender_id, client_msg_id);
CREATE TABLE IF NOT EXISTS receipts (message_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (message_id, user_id));
CREATE TABLE IF NOT EXISTS reactions (message_id TEXT NOT NULL, user_id TEXT NOT NULL, emoji TEXT NOT NULL,
  PRIMARY KEY (message_id, user_id, emoji));
CREATE TABLE IF NOT EXISTS members (user_id TEXT PRIMARY KEY, added_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
";

pub struct SqliteRoom {
    /// Which webhook events to store with the changes (SPEC §10).
    pub hooks: WebhookSettings,
    pub sql: SqlStorage,
    /// The storage `sql` belongs to, for its transactions.
    pub storage: Storage,
    pub conversation_id: String,
}

row! {
    struct MsgRow {
        id: String,
        seq: i64,
        sender_id: String,
        deleted: i64,
    }
}
row! {
    struct UserRow {
        user_id: String,
    }
}

fn s(v: &str) -> SqlStorageValue {
    SqlStorageValue::String(v.to_string())
}

impl SqliteRoom {
    fn rows<T: FromRow>(&self, query: &str, args: Vec<SqlStorageValue>) -> Vec<T> {
        self.sql.rows(query, Some(args)).unwrap_or_default()
    }

    /// Everything one committed change writes: its event, its row, its D1 copy.
    fn apply(&self, seq: u64, frame: &str, change: &Change) -> worker::Result<()> {
        self.insert_event(seq, frame, change)?;
        match change {
            Change::Message(m) => {
                self.insert_message(seq, m)?;
                let data = serde_json::to_value(m)?;
                let now = crate::platform::runtime::now_ms();
                webhooks::record(&self.sql, &self.hooks, Kind::MessageCreated, data, now)?;
            }
            Change::Receipt {
                message_id,
                user_id,
                ..
            } => self.insert_receipt(message_id, user_id)?,
            Change::Reaction {
                message_id,
                user_id,
                emoji,
                action,
                ..
            } => self.toggle_reaction(message_id, user_id, emoji, *action)?,
            // The event frame is the edit; the outbox carries it to D1.
            Change::Edit { .. } => {}
            Change::Delete { message_id } => self.delete_message(message_id)?,
        }
        self.enqueue(seq, change)
    }

    fn insert_event(&self, seq: u64, frame: &str, change: &Change) -> worker::Result<()> {
        let (kind, message_id) = match change {
            Change::Message(m) => ("chat_message", m.id.as_str()),
            Change::Receipt { message_id, .. } => ("read_receipt", message_id.as_str()),
            Change::Reaction { message_id, .. } => ("message_reaction", message_id.as_str()),
            Change::Edit { message_id, .. } => ("message_edit", message_id.as_str()),
            Change::Delete { message_id } => ("message_delete", message_id.as_str()),
        };
        self.log().append(seq, kind, message_id, frame)
    }

    pub fn log(&self) -> SqlLog<'_> {
        SqlLog(&self.sql)
    }

    fn insert_message(&self, seq: u64, m: &MessageView) -> worker::Result<()> {
        self.sql.exec(
            "INSERT INTO messages (id, seq, sender_id, client_msg_id) VALUES (?, ?, ?, ?)",
            Some(vec![
                s(&m.id),
                (seq as i64).into(),
                s(&m.sender.id),
                m.client_msg_id.as_deref().map(s).into(),
            ]),
        )?;
        Ok(())
    }

    fn insert_receipt(&self, message_id: &str, user_id: &str) -> worker::Result<()> {
        self.sql.exec(
            "INSERT OR IGNORE INTO receipts (message_id, user_id) VALUES (?, ?)",
            Some(vec![s(message_id), s(user_id)]),
        )?;
        Ok(())
    }

    fn toggle_reaction(
        &self,
        message_id: &str,
        user_id: &str,
        emoji: &str,
        action: ReactionAction,
    ) -> worker::Result<()> {
        let q = match action {
            ReactionAction::Added => {
                "INSERT OR IGNORE INTO reactions (message_id, user_id, emoji) VALUES (?, ?, ?)"
            }
            ReactionAction::Removed => {
                "DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ?"
            }
        };
        self.sql
            .exec(q, Some(vec![s(message_id), s(user_id), s(emoji)]))?;
        Ok(())
    }

    /// Marks the message deleted and erases its content wherever this object stored it.
    fn delete_message(&self, message_id: &str) -> worker::Result<()> {
        self.erase(message_id)?;
        // The needle narrows the scan; the parse checks it is this message's response
        // (a sender whose id happens to equal the message id matches the needle too).
        let needle = format!("\"id\":{}", serde_json::Value::from(message_id));
        idempotency::rewrite_bodies(&self.sql, &needle, |body| {
            erase_message_response(body, message_id)
        })?;
        self.sql.exec(
            "UPDATE messages SET deleted = 1 WHERE id = ?",
            Some(vec![s(message_id)]),
        )?;
        Ok(())
    }

    fn enqueue(&self, seq: u64, change: &Change) -> worker::Result<()> {
        outbox::enqueue(
            &self.sql,
            &replica::room_change(&self.conversation_id, seq, change),
            Some(seq),
        )
    }

    /// Rewrites the stored frames of a deleted message so its content is gone everywhere.
    fn erase(&self, message_id: &str) -> worker::Result<()> {
        row! {
            struct Row {
                seq: i64,
                kind: String,
                frame: String,
            }
        }
        // Unlike reads for checks, a failed read here must fail the delete: the content
        // would stay.
        let rows: Vec<Row> = self
            .sql
            .rows(
                "SELECT seq, kind, frame FROM events WHERE ref_id = ? AND kind IN ('chat_message', 'message_edit')",
                Some(vec![s(message_id)]),
            )?;
        for row in rows {
            let erased = if row.kind == "chat_message" {
                erase_message_frame(&row.frame)
            } else {
                erase_edit_frame(&row.frame)
            };
            if let Some(frame) = erased {
                self.sql.exec(
                    "UPDATE events SET frame = ? WHERE seq = ?",
                    Some(vec![s(&frame), row.seq.into()]),
                )?;
            }
        }
        Ok(())
    }

    pub fn frame_at(&self, seq: u64) -> Option<String> {
        self.log().frame_at(seq)
    }

    pub fn is_member(&self, user_id: &str) -> bool {
        !self
            .rows::<UserRow>(
                "SELECT user_id FROM members WHERE user_id = ?",
                vec![s(user_id)],
            )
            .is_empty()
    }

    pub fn members(&self) -> Vec<String> {
        self.rows::<UserRow>("SELECT user_id FROM members ORDER BY user_id", vec![])
            .into_iter()
            .map(|r| r.user_id)
            .collect()
    }

    /// Adds a member; false when already one.
    pub fn add_member(&self, user_id: &str, at: &str) -> worker::Result<bool> {
        self.change_member(user_id, Some(at))
    }

    /// Removes a member; false when not one.
    pub fn remove_member(&self, user_id: &str) -> worker::Result<bool> {
        self.change_member(user_id, None)
    }

    /// Adds (`added_at`) or removes a member together with its D1 copy.
    fn change_member(&self, user_id: &str, added_at: Option<&str>) -> worker::Result<bool> {
        atomically(&self.storage, || {
            let c = match added_at {
                Some(at) => self.sql.exec(
                    "INSERT OR IGNORE INTO members (user_id, added_at) VALUES (?, ?)",
                    Some(vec![s(user_id), s(at)]),
                )?,
                None => self.sql.exec(
                    "DELETE FROM members WHERE user_id = ?",
                    Some(vec![s(user_id)]),
                )?,
            };
            let changed = c.rows_written() > 0;
            if changed {
                let copy = replica::conversation_member(&self.conversation_id, user_id, added_at);
                outbox::enqueue(&self.sql, &[copy], None)?;
            }
            Ok(changed)
        })
    }
}

impl EventLog for SqliteRoom {
    fn last_seq(&self) -> u64 {
        self.log().last_seq()
    }

    fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
        self.log().events_after(since, limit)
    }
}

impl RoomStore for SqliteRoom {
    fn message(&self, id: &str) -> Option<StoredMessage> {
        let rows: Vec<MsgRow> = self.rows(
            "SELECT id, seq, sender_id, deleted FROM messages WHERE id = ?",
            vec![s(id)],
        );
        rows.into_iter().next().map(|r| StoredMessage {
            id: r.id,
            seq: r.seq as u64,
            sender_id: r.sender_id,
            deleted: r.deleted != 0,
        })
    }

    fn by_client_msg_id(&self, sender_id: &str, client_msg_id: &str) -> Option<StoredMessage> {
        let rows: Vec<MsgRow> = self.rows(
            "SELECT id, seq, sender_id, deleted FROM messages WHERE sender_id = ? AND client_msg_id = ?",
            vec![s(sender_id), s(client_msg_id)],
        );
        rows.into_iter().next().map(|r| StoredMessage {
            id: r.id,
            seq: r.seq as u64,
            sender_id: r.sender_id,
            deleted: r.deleted != 0,
        })
    }

    fn has_receipt(&self, message_id: &str, user_id: &str) -> bool {
        !self
            .rows::<UserRow>(
                "SELECT user_id FROM receipts WHERE message_id = ? AND user_id = ?",
                vec![s(message_id), s(user_id)],
            )
            .is_empty()
    }

    fn has_reaction(&self, message_id: &str, user_id: &str, emoji: &str) -> bool {
        !self
            .rows::<UserRow>(
                "SELECT user_id FROM reactions WHERE message_id = ? AND user_id = ? AND emoji = ?",
                vec![s(message_id), s(user_id), s(emoji)],
            )
            .is_empty()
    }

    fn commit(&mut self, seq: u64, frame: &str, change: &Change) -> Result<(), StoreError> {
        atomically(&self.storage, || self.apply(seq, frame, change)).map_err(|e| {
            worker::console_error!("room commit failed: {e}");
            StoreError
        })
    }
}
