//! The tokio driver of **discordgateway**.
//!
//! It will hold the `Shard` that drives the sans-IO [`discordgateway_proto`] core over a real
//! WebSocket inside the user's own `.await`, identify queues, and the shard manager. For now it
//! re-exports the protocol crate, so `discordgateway::proto` is the one path users need.

// Until the manager (which needs the Shard) lands, the per-shard handles have no caller.
#[allow(dead_code)]
pub mod metrics;
pub mod session_store;

pub use session_store::{
    FileSessionStore, SessionStore, SessionStoreError, SessionStoreErrorKind, StoreFuture,
};

/// The sans-IO protocol crate, re-exported.
pub use discordgateway_proto as proto;
