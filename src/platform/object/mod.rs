//! What the three Durable Objects share.

pub mod event_log;
pub mod hub;
pub mod idempotency;
pub mod outbox;
pub mod socket;
pub mod transaction;
