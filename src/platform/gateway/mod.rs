//! The stateless Worker: every request enters at [`entry`], which checks the Origin and the
//! token before any object is touched; [`api`] serves `/api/*`; [`notify`] fans a
//! notification out to inboxes; [`webhooks`] lists and retries failed webhook events.
//! notification out to inboxes; [`push`] serves the Web Push key and subscriptions.

pub mod api;
pub mod dev;
pub mod entry;
pub mod notify;
pub mod push;
pub mod webhooks;
