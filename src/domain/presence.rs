//! Presence per user, not per socket. Who is online is derived from the open sockets (which
//! survive hibernation) plus users inside their reconnect grace window (kept in storage), so
//! nothing about who is online lives only in memory.
//!
//! The changes themselves (`user_status` frames) are ephemeral, and a burst of them is sent
//! together ([`Window`]): when a full room reconnects after a deploy, each join telling every
//! socket already there made filling a room of N cost N²/2 frames; held for a short window,
//! a socket that asked for batches (`?presence=batch`) gets one `presence_update` per window.

use std::collections::BTreeMap;

use super::protocol::PresenceEntry;

/// What a socket opening means for its user's presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOpen {
    /// First device and not in grace: tell the room the user came online.
    AnnounceOnline,
    /// Back within the grace window: cancel the pending offline, say nothing.
    CancelGrace,
    /// Another device is already open: nothing changes.
    Nothing,
}

pub fn on_open(other_devices: usize, in_grace: bool) -> OnOpen {
    match (other_devices, in_grace) {
        (0, false) => OnOpen::AnnounceOnline,
        (_, true) => OnOpen::CancelGrace,
        _ => OnOpen::Nothing,
    }
}

/// A socket closed: `Some(deadline)` starts the grace window when it was the user's last.
pub fn on_close(remaining_devices: usize, now_ms: i64, grace_ms: i64) -> Option<i64> {
    (remaining_devices == 0).then_some(now_ms + grace_ms)
}

/// Whether a presence change goes out now or waits for the window to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// The room was quiet for a window: send it at once.
    Now,
    /// Hold it with the others; `Some(at)` when a flush at `at` must be scheduled (the first
    /// change held), `None` when one already is.
    Hold(Option<i64>),
}

/// The coalescing window of one object: the first change after a quiet `window_ms` goes out
/// at once (no delay in a quiet room); the ones that follow within `window_ms` of a send are
/// held and sent together when it ends, or earlier, before any other broadcast (so a frame
/// never overtakes the presence change that happened before it).
#[derive(Debug, Clone, Default)]
pub struct Window {
    last_sent: Option<i64>,
    holding: bool,
}

impl Window {
    pub fn offer(&mut self, now: i64, window_ms: i64) -> Offer {
        if self.holding {
            return Offer::Hold(None);
        }
        match self.last_sent {
            Some(sent) if window_ms > 0 && now - sent < window_ms => {
                self.holding = true;
                Offer::Hold(Some(sent + window_ms))
            }
            _ => {
                self.last_sent = Some(now);
                Offer::Now
            }
        }
    }

    /// What was held went out at `now`.
    pub fn sent(&mut self, now: i64) {
        self.last_sent = Some(now);
        self.holding = false;
    }

    pub fn holding(&self) -> bool {
        self.holding
    }
}

/// The `presence_update` text for `user_status` texts, without parsing them again: the
/// entries are the very frames the other sockets get.
pub fn batch_text(statuses: &[String]) -> String {
    let mut text = String::with_capacity(statuses.iter().map(|s| s.len() + 1).sum::<usize>() + 40);
    text.push_str(r#"{"type":"presence_update","users":["#);
    for (i, s) in statuses.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(s);
    }
    text.push_str("]}");
    text
}

/// The presence list: users with open sockets (counted), then users in grace (0 devices),
/// who are still online as far as the room was told.
pub fn list<'a>(
    sockets: impl IntoIterator<Item = (&'a str, &'a str)>,
    in_grace: &[(String, String)],
) -> Vec<PresenceEntry> {
    let mut users: BTreeMap<&str, PresenceEntry> = BTreeMap::new();
    for (id, name) in sockets {
        users
            .entry(id)
            .or_insert_with(|| PresenceEntry {
                user_id: id.into(),
                user_name: name.into(),
                devices: 0,
            })
            .devices += 1;
    }
    for (id, name) in in_grace {
        users.entry(id.as_str()).or_insert_with(|| PresenceEntry {
            user_id: id.clone(),
            user_name: name.clone(),
            devices: 0,
        });
    }
    users.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_device_announces_second_does_not() {
        assert_eq!(on_open(0, false), OnOpen::AnnounceOnline);
        assert_eq!(on_open(1, false), OnOpen::Nothing);
    }

    #[test]
    fn reconnect_in_grace_is_silent() {
        assert_eq!(on_open(0, true), OnOpen::CancelGrace);
    }

    #[test]
    fn only_the_last_close_starts_grace() {
        assert_eq!(on_close(1, 1_000, 3_000), None);
        assert_eq!(on_close(0, 1_000, 3_000), Some(4_000));
    }

    #[test]
    fn a_quiet_room_sends_at_once_and_a_burst_is_held_until_the_window_ends() {
        let mut w = Window::default();
        assert_eq!(w.offer(1_000, 100), Offer::Now);
        assert_eq!(w.offer(1_010, 100), Offer::Hold(Some(1_100)));
        assert_eq!(w.offer(1_050, 100), Offer::Hold(None));
        assert!(w.holding());
        w.sent(1_100);
        assert!(!w.holding());
        // Right after a flush the next change is held again; after a quiet window, not.
        assert_eq!(w.offer(1_150, 100), Offer::Hold(Some(1_200)));
        w.sent(1_200);
        assert_eq!(w.offer(1_300, 100), Offer::Now);
    }

    #[test]
    fn a_zero_window_sends_every_change_at_once() {
        let mut w = Window::default();
        assert_eq!(w.offer(1_000, 0), Offer::Now);
        assert_eq!(w.offer(1_000, 0), Offer::Now);
    }

    #[test]
    fn the_batch_is_the_frame_serde_writes() {
        use crate::domain::protocol::ServerFrame;
        let a = ServerFrame::user_status("a", ("ann", "Ann"), true, "t1".into());
        let b = ServerFrame::user_status("b", ("bob", "Bob"), false, "t2".into());
        let texts = [a.to_text(), b.to_text()];
        let frame = ServerFrame::PresenceUpdate { users: vec![a, b] };
        assert_eq!(batch_text(&texts), frame.to_text());
        assert_eq!(batch_text(&[]), r#"{"type":"presence_update","users":[]}"#);
    }

    #[test]
    fn list_counts_devices_per_user_and_keeps_grace_users() {
        let sockets = [("a", "Ann"), ("b", "Bob"), ("a", "Ann")];
        let grace = vec![
            ("c".to_string(), "Cy".to_string()),
            ("a".to_string(), "Ann".to_string()),
        ];
        let got = list(sockets, &grace);
        let summary: Vec<(&str, u32)> = got
            .iter()
            .map(|p| (p.user_id.as_str(), p.devices))
            .collect();
        assert_eq!(summary, vec![("a", 2), ("b", 1), ("c", 0)]);
    }
}
