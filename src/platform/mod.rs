//! Everything that touches the Workers runtime: the fetch entry, the HTTP API, the three
//! Durable Objects and their sockets and storage. The only code that imports `worker`.

pub mod api;
pub mod config;
pub mod entry;
pub mod http;
pub mod internal;
pub mod objects;
pub mod socket;
