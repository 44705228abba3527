//! Everything that touches the Workers runtime, and the only code that imports `worker`.
//!
//! * [`gateway`]: the stateless Worker (fetch entry, HTTP API, notification fan-out).
//! * [`object`]: what the three Durable Objects share (shell core, timer queue, schema
//!   migrations, socket hub, event log, outbox, idempotency, transactions).
//! * [`room`], [`inbox`], [`org`]: one Durable Object each, the same shape: `mod.rs` the
//!   shell, `store.rs` its SQLite behind the domain's store trait.
//! * Shared by both sides: [`internal`] (the Worker → object hop), [`http`] (responses and
//!   the one error mapping), [`config`] (the environment), [`runtime`] (clock, ids).
//! * [`jwks`]: the Worker's key set fetched from `JWT_JWKS_URL`, kept per isolate;
//!   [`webcrypto`]: public-key JWT signatures checked by the runtime's WebCrypto.
//! * [`webhook_http`]: one webhook delivery attempt (objects' queues, the retry endpoint).

pub mod config;
pub mod gateway;
pub mod http;
pub mod inbox;
pub mod internal;
pub mod join;
pub mod jwks;
pub mod object;
pub mod org;
pub mod room;
pub mod runtime;
pub mod webcrypto;
pub mod webhook_http;
