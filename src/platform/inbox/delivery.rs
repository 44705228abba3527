//! Deliveries to a session's sockets (SPEC §9): a room's hand-off (`/session/deliver`), the
//! event of a forwarded frame and a catch-up poke all end here, one at a time per
//! conversation (`domain::lanes`). Each socket gets its conversation's durable events in
//! `seq` order with no gap and no duplicate (`domain::session::plan`); a gap is filled by one
//! pull from the room first. Also the removal of a member (`/session/removed`).

use worker::*;

use super::joins;
use super::session::call;
use super::UserInbox;
use crate::domain::protocol::ServerFrame;
use crate::domain::session::{plan, Delivered, Delivery, Pull, Pulled, Removed};
use crate::platform::object::socket;

impl UserInbox {
    pub(super) async fn drain(&self, conv: &str) {
        while let Some(delivery) = self.lanes.next(conv) {
            self.process(delivery).await;
        }
    }

    /// A room's hand-off (`/session/deliver`): delivered now, or after what is under way.
    pub(super) async fn delivered(&self, delivery: Delivery) -> Delivered {
        let conv = delivery.conversation_id.clone();
        let busy = self.lanes.busy(&conv);
        if self.lanes.push(delivery) {
            self.drain(&conv).await;
        }
        let devices = (!busy).then(|| joins::devices(&self.core.sql(), &conv));
        Delivered { devices }
    }

    /// Delivers one batch to every socket following its conversation, pulling first when
    /// any of them would see a gap.
    async fn process(&self, d: Delivery) {
        let sql = self.core.sql();
        let conv = d.conversation_id.as_str();
        let followers = joins::sockets_of(&sql, conv);
        if followers.is_empty() {
            return;
        }
        let gapped = followers
            .iter()
            .filter(|(_, pos)| plan(*pos, &d.events, d.last_seq).gap)
            .map(|(_, pos)| *pos)
            .min();
        let (mut events, mut room_last, mut resync) = (d.events, d.last_seq, None);
        if let Some(since) = gapped {
            match self.pull(conv, since).await {
                Some(p) if p.resync.is_some() => resync = p.resync.map(|r| (r, p.last_seq)),
                Some(p) => {
                    room_last = room_last.max(p.last_seq);
                    events = p.events.into_iter().chain(events).collect();
                }
                None => {}
            }
        }
        let sockets = socket::sockets(&self.core.state);
        for (sid, _) in followers {
            // Read again: the socket may have left or been removed during the pull.
            let Some(pos) = joins::position(&sql, sid, conv) else {
                continue;
            };
            let Some((ws, _)) = sockets.iter().find(|(_, a)| a.sid == sid) else {
                continue;
            };
            let p = plan(pos, &events, room_last);
            let position = match (&resync, p.gap) {
                (Some((text, last)), true) => {
                    socket::send_texts(ws, [text.clone()]);
                    *last
                }
                _ => {
                    socket::send_texts(ws, p.send.iter().map(|i| events[*i].frame.clone()));
                    p.position
                }
            };
            if let Err(e) = joins::advance(&sql, sid, conv, position) {
                console_error!("session position not stored: {e}");
            }
        }
    }

    async fn pull(&self, conv: &str, since: u64) -> Option<Pulled> {
        let pull = Pull {
            user_id: self.core.stream_id(),
            since,
        };
        match call::<Pulled>(&self.core.env, conv, "/session/pull", &pull).await {
            Ok(p) => p,
            Err(e) => {
                console_error!("missed events not pulled: {e}");
                None
            }
        }
    }

    /// The user was removed from a conversation (`/session/removed`).
    pub(super) fn removed(&self, r: Removed) {
        let sql = self.core.sql();
        let conv = r.conversation_id;
        let sockets = socket::sockets(&self.core.state);
        for (sid, _) in joins::sockets_of(&sql, &conv) {
            let _ = joins::remove(&sql, sid, &conv);
            if let Some((ws, _)) = sockets.iter().find(|(_, a)| a.sid == sid) {
                let left = ServerFrame::Left {
                    conversation_id: conv.clone(),
                    reason: Some("removed".into()),
                };
                socket::send(ws, &left);
            }
        }
    }
}
