//! The three Durable Object classes. Each is a thin shell: it decodes what arrives, asks
//! the domain what to do, and carries that out on its sockets and storage.

pub mod conversation;
mod conversation_api;
mod history;
pub mod inbox;
pub mod org;
