//! What each durable change becomes in D1. Objects queue these statements in an outbox in
//! their own SQLite and an alarm copies them to D1 in order. Every statement is idempotent
//! (upsert keyed by stream and seq, or by natural key), so a retried batch changes nothing.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::protocol::{MessageView, NotificationView, ReactionAction};
use super::room::Change;

/// One parameterized D1 statement, as queued in an outbox row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub sql: String,
    pub args: Vec<Value>,
}

fn stmt(sql: &str, args: Vec<Value>) -> Statement {
    Statement {
        sql: sql.to_string(),
        args,
    }
}

/// The D1 statements for a room change committed under `seq`.
pub fn room_change(conversation_id: &str, seq: u64, change: &Change) -> Vec<Statement> {
    match change {
        Change::Message(m) => vec![insert_message(m)],
        Change::Receipt { message_id, user_id, at } => vec![stmt(
            "INSERT INTO read_receipts (conversation_id, message_id, user_id, seq, read_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
            vec![json!(conversation_id), json!(message_id), json!(user_id), json!(seq), json!(at)],
        )],
        Change::Reaction { message_id, user_id, emoji, action: ReactionAction::Added, at } => vec![stmt(
            "INSERT INTO reactions (conversation_id, message_id, user_id, emoji, created_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
            vec![json!(conversation_id), json!(message_id), json!(user_id), json!(emoji), json!(at)],
        )],
        Change::Reaction { message_id, user_id, emoji, action: ReactionAction::Removed, .. } => vec![stmt(
            "DELETE FROM reactions WHERE conversation_id = ? AND message_id = ? AND user_id = ? AND emoji = ?",
            vec![json!(conversation_id), json!(message_id), json!(user_id), json!(emoji)],
        )],
        Change::Edit { message_id, content, at } => vec![stmt(
            "UPDATE messages SET content = ?, edited_at = ? WHERE conversation_id = ? AND id = ? AND is_deleted = 0",
            vec![json!(content), json!(at), json!(conversation_id), json!(message_id)],
        )],
        Change::Delete { message_id } => vec![stmt(
            "UPDATE messages SET content = NULL, is_deleted = 1 WHERE conversation_id = ? AND id = ?",
            vec![json!(conversation_id), json!(message_id)],
        )],
    }
}

fn insert_message(m: &MessageView) -> Statement {
    stmt(
        "INSERT INTO messages (conversation_id, seq, id, sender_id, sender, content, parent_message_id, client_msg_id, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        vec![
            json!(m.conversation_id),
            json!(m.seq),
            json!(m.id),
            json!(m.sender.id),
            json!(serde_json::to_string(&m.sender).unwrap_or_default()),
            json!(m.content),
            json!(m.parent_message_id),
            json!(m.client_msg_id),
            json!(m.created_at),
        ],
    )
}

/// Membership changes of a conversation.
pub fn conversation_member(
    conversation_id: &str,
    user_id: &str,
    added_at: Option<&str>,
) -> Statement {
    match added_at {
        Some(at) => stmt(
            "INSERT INTO conversation_members (conversation_id, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            vec![json!(conversation_id), json!(user_id), json!(at)],
        ),
        None => stmt(
            "DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ?",
            vec![json!(conversation_id), json!(user_id)],
        ),
    }
}

/// A stored notification.
pub fn notification(user_id: &str, seq: u64, n: &NotificationView) -> Statement {
    stmt(
        "INSERT INTO notifications (user_id, seq, id, notification_type, title, body, message, actor, data, is_read, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING",
        vec![
            json!(user_id),
            json!(seq),
            json!(n.id),
            json!(n.notification_type),
            json!(n.title),
            json!(n.body),
            json!(n.message),
            json!(n.actor.to_string()),
            json!(n.data.to_string()),
            json!(n.created_at),
        ],
    )
}

/// Notifications marked read.
pub fn notifications_read(user_id: &str, ids: &[String]) -> Vec<Statement> {
    ids.iter()
        .map(|id| {
            stmt(
                "UPDATE notifications SET is_read = 1 WHERE user_id = ? AND id = ?",
                vec![json!(user_id), json!(id)],
            )
        })
        .collect()
}

/// `mark_all_read`: one statement however many notifications it covers.
pub fn notifications_read_all(user_id: &str, up_to_seq: u64) -> Statement {
    stmt(
        "UPDATE notifications SET is_read = 1 WHERE user_id = ? AND seq <= ? AND is_read = 0",
        vec![json!(user_id), json!(up_to_seq)],
    )
}

/// Membership changes of an organization.
pub fn org_member(org_id: &str, user_id: &str, added_at: Option<&str>) -> Statement {
    match added_at {
        Some(at) => stmt(
            "INSERT INTO org_members (org_id, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            vec![json!(org_id), json!(user_id), json!(at)],
        ),
        None => stmt("DELETE FROM org_members WHERE org_id = ? AND user_id = ?", vec![json!(org_id), json!(user_id)]),
    }
}

/// An org event (D1 keeps every event; the hub keeps only the retention window).
pub fn org_event(
    org_id: &str,
    seq: u64,
    id: &str,
    event_type: &str,
    data: &Value,
    at: &str,
) -> Statement {
    stmt(
        "INSERT INTO org_events (org_id, seq, id, event_type, data, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        vec![json!(org_id), json!(seq), json!(id), json!(event_type), json!(data.to_string()), json!(at)],
    )
}

/// Backoff before retrying a failed outbox batch: doubling from 500 ms, at most `max_ms`.
pub fn backoff_ms(failures: u32, max_ms: i64) -> i64 {
    (500i64 << failures.min(20)).min(max_ms)
}

/// `ms` spread over its upper half by the random `r`, so objects that failed together do
/// not all retry at the same instant.
pub fn jittered(ms: i64, r: u64) -> i64 {
    let half = (ms / 2).max(0);
    half + (r % (half as u64 + 1)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_the_upper_half() {
        assert_eq!(jittered(1_000, 0), 500);
        assert_eq!(jittered(1_000, 500), 1_000);
        assert_eq!(jittered(1_000, 501), 500);
        assert!((0..1_000).all(|r| (500..=1_000).contains(&jittered(1_000, r))));
    }

    #[test]
    fn every_statement_is_idempotent_and_fully_bound() {
        let changes = [
            Change::Receipt {
                message_id: "m".into(),
                user_id: "u".into(),
                at: "t".into(),
            },
            Change::Reaction {
                message_id: "m".into(),
                user_id: "u".into(),
                emoji: "x".into(),
                action: ReactionAction::Added,
                at: "t".into(),
            },
            Change::Reaction {
                message_id: "m".into(),
                user_id: "u".into(),
                emoji: "x".into(),
                action: ReactionAction::Removed,
                at: "t".into(),
            },
            Change::Edit {
                message_id: "m".into(),
                content: "c".into(),
                at: "t".into(),
            },
            Change::Delete {
                message_id: "m".into(),
            },
        ];
        for change in &changes {
            for s in room_change("c1", 3, change) {
                let upsert =
                    s.sql.contains("ON CONFLICT DO NOTHING") || !s.sql.starts_with("INSERT");
                assert!(upsert, "{}", s.sql);
                assert_eq!(s.sql.matches('?').count(), s.args.len(), "{}", s.sql);
            }
        }
    }

    #[test]
    fn delete_erases_content_in_d1() {
        let s = &room_change(
            "c1",
            9,
            &Change::Delete {
                message_id: "m".into(),
            },
        )[0];
        assert!(s.sql.contains("content = NULL"));
    }

    #[test]
    fn backoff_doubles_to_a_cap() {
        assert_eq!(backoff_ms(0, 10_000), 500);
        assert_eq!(backoff_ms(1, 10_000), 1_000);
        assert_eq!(backoff_ms(10, 10_000), 10_000);
        assert_eq!(backoff_ms(99, 10_000), 10_000);
    }
}
