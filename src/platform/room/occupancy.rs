//! `conversation.occupied` / `conversation.vacated` (SPEC §10): whether anyone is online in
//! the room (its sockets, the session devices following it, users inside their grace
//! window), compared with the flag last reported (`counters.occupied`). Checked after every
//! presence change, so the first user online makes it occupied and the end of the last
//! grace window makes it vacated; a reconnect within the grace changes nothing.

use serde_json::json;
use worker::console_error;

use super::ConversationRoom;
use crate::domain::webhook::Kind;
use crate::platform::object::outbox::counter;
use crate::platform::object::transaction::atomically;
use crate::platform::object::webhooks;
use crate::platform::runtime::now_ms;

const KINDS: [Kind; 2] = [Kind::ConversationOccupied, Kind::ConversationVacated];

impl ConversationRoom {
    /// Stores the event when occupancy changed (flag and event in one transaction).
    pub(super) async fn occupancy(&self) {
        let hooks = &self.core.settings.webhooks;
        if !hooks.wants_any(&KINDS) {
            return;
        }
        let users: Vec<String> = self.presence().into_iter().map(|p| p.user_id).collect();
        let occupied = !users.is_empty();
        let sql = self.core.sql();
        if occupied == (counter(&sql, "occupied") == 1) {
            return;
        }
        let (kind, data) = match occupied {
            true => (
                Kind::ConversationOccupied,
                json!({"conversation_id": self.conversation_id(), "users": users}),
            ),
            false => (
                Kind::ConversationVacated,
                json!({"conversation_id": self.conversation_id()}),
            ),
        };
        let stored = self.core.ensure_written().and_then(|_| {
            atomically(&self.core.storage(), || {
                sql.exec(
                    "INSERT INTO counters (k, n) VALUES ('occupied', ?) \
                     ON CONFLICT(k) DO UPDATE SET n = excluded.n",
                    Some(vec![i64::from(occupied).into()]),
                )?;
                webhooks::record(&sql, hooks, kind, data, now_ms())
            })
        });
        match stored {
            Ok(true) => self.core.webhooks_soon().await,
            Ok(false) => {}
            Err(e) => console_error!("{} not stored: {e}", kind.name()),
        }
    }
}
