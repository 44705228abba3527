//! What every durable stream shares (conversation, inbox, org): an ordered log of stored
//! frames under a contiguous `seq`, and the resume rule over it.

use super::protocol::ServerFrame;

/// A stream's stored event frames.
pub trait EventLog {
    fn last_seq(&self) -> u64;
    /// The oldest seq still stored. A log that drops old events (an org hub's) must say
    /// so; one that keeps everything starts at 1.
    fn first_seq(&self) -> u64 {
        1
    }
    /// Stored frames with seq > `since`, in order, at most `limit`.
    fn events_after(&self, since: u64, limit: u64) -> Vec<String>;
}

/// What a resuming client gets after `connection.established`: every stored frame after
/// `since`, then `resumed`; or `resync_required` when `since` is ahead of the stream, more
/// than `window` events behind it, or behind the oldest stored event (the window is only
/// configuration; what was dropped is what counts).
pub fn resume(log: &impl EventLog, since: u64, window: u64) -> Vec<String> {
    match missed(log, since, window) {
        Missed::Events { frames, last_seq } => {
            let mut frames = frames;
            frames.push(ServerFrame::Resumed { since, last_seq }.to_text());
            frames
        }
        Missed::TooMany { last_seq } => vec![ServerFrame::ResyncRequired { last_seq }.to_text()],
    }
}

/// What a stream holds after `since`: the frames (seq `since + 1` onwards, in order), or too
/// many (or unknown) ones to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missed {
    Events { frames: Vec<String>, last_seq: u64 },
    TooMany { last_seq: u64 },
}

/// The rule behind [`resume`], for callers that are not a client's resume (a session's
/// pull of what a lost hand-off missed).
pub fn missed(log: &impl EventLog, since: u64, window: u64) -> Missed {
    let last_seq = log.last_seq();
    let dropped = since < last_seq && since + 1 < log.first_seq();
    if since > last_seq || last_seq - since > window || dropped {
        return Missed::TooMany { last_seq };
    }
    let frames = log.events_after(since, window);
    Missed::Events { frames, last_seq }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events `first..=last`, as an org hub holds them after trimming.
    struct Kept {
        first: u64,
        last: u64,
    }
    impl EventLog for Kept {
        fn last_seq(&self) -> u64 {
            self.last
        }
        fn first_seq(&self) -> u64 {
            self.first
        }
        fn events_after(&self, since: u64, limit: u64) -> Vec<String> {
            (since.max(self.first - 1) + 1..=self.last)
                .take(limit as usize)
                .map(|s| format!("e{s}"))
                .collect()
        }
    }

    #[test]
    fn resuming_behind_the_oldest_kept_event_asks_for_a_resync() {
        // Kept 4..=6 under a window of 1000 (say, retention was raised after trimming).
        let log = Kept { first: 4, last: 6 };
        let resync = vec![r#"{"type":"resync_required","last_seq":6}"#.to_string()];
        assert_eq!(resume(&log, 2, 1000), resync, "seq 3 is gone");
        assert_eq!(
            resume(&log, 3, 1000),
            vec![
                "e4",
                "e5",
                "e6",
                r#"{"type":"resumed","since":3,"last_seq":6}"#
            ]
        );
        assert_eq!(
            resume(&log, 6, 1000),
            vec![r#"{"type":"resumed","since":6,"last_seq":6}"#]
        );
    }
}
