//! Pure domain logic: no `worker` imports, so everything here is unit-tested natively.

pub mod auth;
pub mod config;
pub mod decode;
pub mod errors;
pub mod header;
pub mod health;
pub mod identity;
pub mod ids;
pub mod inbox;
pub mod jwks;
pub mod jwt;
pub mod keys;
pub mod lanes;
pub mod limits;
pub mod org;
pub mod presence;
pub mod protocol;
pub mod push;
pub mod query;
pub mod replica;
pub mod room;
pub mod routes;
pub mod session;
pub mod stream;
#[cfg(test)]
pub mod test_crypto;
pub mod time;
pub mod webhook;
