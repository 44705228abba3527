//! Presence per user, not per socket. Who is online is derived from the open sockets (which
//! survive hibernation) plus users inside their reconnect grace window (kept in storage), so
//! nothing about presence lives only in memory.

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
