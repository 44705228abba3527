//! # edge-realtime
//!
//! Real-time chat, presence and notifications as one Cloudflare Worker. Browsers and apps
//! open WebSockets on `/ws/*`; the Worker checks the Origin and the JWT, then hands the
//! socket to a Durable Object: one `ConversationRoom` per conversation, one `UserInbox`
//! per user, one `OrgHub` per organization. Objects hold sockets with the Hibernation API,
//! store durable events in their own SQLite before anyone sees them, and copy rows to D1.
//! Backends publish through the HTTP API on `/api/*`.
//!
//! ## Layout
//!
//! * [`domain`]: pure Rust, no `worker` imports, unit-tested natively.
//!   [`domain::ids`] (ids and object names), [`domain::routes`] (the endpoint table),
//!   [`domain::auth`] (JWT and API keys), [`domain::keys`] (JSON Web Key Sets),
//!   [`domain::jwks`] (when the `JWT_JWKS_URL` set is fetched), [`domain::identity`],
//!   [`domain::protocol`] (every frame), [`domain::errors`] (error frames, close codes, HTTP
//!   errors), [`domain::config`] (limits), [`domain::health`] (`/healthz?deep=1`),
//!   [`domain::limits`] (rate bucket), [`domain::time`].
//! * [`platform`]: the Workers runtime, the only code that imports `worker`.
//!   [`platform::gateway`] is the stateless Worker (fetch entry, HTTP API, notification
//!   fan-out); [`platform::room`], [`platform::inbox`] and [`platform::org`] are the three
//!   Durable Objects, each a shell (`mod.rs`) over its store (`store.rs`); [`platform::object`]
//!   is what they share; [`platform::internal`], [`platform::http`], [`platform::config`]
//!   and [`platform::runtime`] serve both sides; [`platform::jwks`] keeps the Worker's
//!   fetched key set.
//!
//! The contract is `docs/protocol.md`; the README has the quick start.

pub mod domain;
pub mod platform;
