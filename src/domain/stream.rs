//! What every durable stream shares (conversation, inbox, org): an ordered log of stored
//! frames under a contiguous `seq`, and the resume rule over it.

use super::protocol::ServerFrame;

/// A stream's stored event frames.
pub trait EventLog {
    fn last_seq(&self) -> u64;
    /// Stored frames with seq > `since`, in order, at most `limit`.
    fn events_after(&self, since: u64, limit: u64) -> Vec<String>;
}

/// What a resuming client gets after `connection.established`: every stored frame after
/// `since`, then `resumed`; or `resync_required` when `since` is ahead of the stream or
/// more than `window` events behind it.
pub fn resume(log: &impl EventLog, since: u64, window: u64) -> Vec<String> {
    let last_seq = log.last_seq();
    if since > last_seq || last_seq - since > window {
        return vec![ServerFrame::ResyncRequired { last_seq }.to_text()];
    }
    let mut frames = log.events_after(since, window);
    frames.push(ServerFrame::Resumed { since, last_seq }.to_text());
    frames
}
