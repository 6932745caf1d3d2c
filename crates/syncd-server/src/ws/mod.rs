//! The WebSocket endpoint (SPEC §6): [`upgrade`] authenticates the upgrade (header or
//! `?token=`) and starts a session; the session loop (`session`) reads frames, the hub queue,
//! pings and deadlines; `handlers` answer each client message, parsed into the types of
//! `messages`.

mod handlers;
mod messages;
mod session;
mod upgrade;

pub use upgrade::upgrade;
