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
//!   [`domain::auth`] (JWT and API keys), [`domain::identity`], [`domain::protocol`]
//!   (every frame), [`domain::errors`] (error frames, close codes, HTTP errors),
//!   [`domain::config`] (limits), [`domain::limits`] (rate bucket), [`domain::time`].
//! * [`platform`]: the Workers runtime. [`platform::entry`] (fetch), [`platform::api`]
//!   (HTTP API), [`platform::objects`] (the three Durable Objects), [`platform::socket`]
//!   (the shared socket shell), [`platform::internal`] (Worker → object requests),
//!   [`platform::config`], [`platform::http`].
//!
//! The contract is `docs/protocol.md`; the README has the quick start.

pub mod domain;
pub mod platform;
