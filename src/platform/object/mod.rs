//! What the three Durable Objects share: [`core`] (the shell every object is built on),
//! [`timers`] (the queue behind the alarm), [`schema`] (versioned storage), [`hub`] (sockets
//! and presence), [`socket`] (attachment and frame screening), [`event_log`], [`outbox`] (the
//! D1 copy with dead letters), [`idempotency`], [`transaction`], [`d1`] (reads for the HTTP API),
//! [`rows`] (typed rows of every query),
//! [`subscribers`] (the sessions following a room) and [`webhooks`] (the webhook queue).

pub mod coalesce;
pub mod core;
pub mod d1;
pub mod event_log;
pub mod hub;
pub mod idempotency;
pub mod outbox;
pub mod rows;
pub mod schema;
pub mod socket;
pub mod subscribers;
pub mod timers;
pub mod transaction;
pub mod webhooks;
