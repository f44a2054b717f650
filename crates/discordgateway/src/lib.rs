//! The tokio driver of **discordgateway**.
//!
//! It will hold the `Shard` that drives the sans-IO [`discordgateway_proto`] core over a real
//! WebSocket inside the user's own `.await`, identify queues, and the shard manager. For now it
//! re-exports the protocol crate, so `discordgateway::proto` is the one path users need.

// Until the Shard (which needs the sans-IO core) lands, parts of `connect` have no caller.
#[allow(dead_code)]
mod connect;
pub mod error;
mod gateway_info;
mod queue;

pub use error::{
    BoxError, ConfigError, ConfigErrorKind, ConnectError, ConnectErrorKind, GatewayInfoError,
    GatewayInfoErrorKind, IdentifyQueueError, IdentifyQueueErrorKind, SendError, SendErrorKind,
    ShardError, ShardErrorKind,
};

#[allow(dead_code)]
mod transport;

pub use connect::ConnectOptions;
pub use gateway_info::{
    DEFAULT_API_BASE, GatewayInfo, MAX_RESPONSE, SessionStartLimit, fetch_gateway_info,
};
pub use queue::{
    AcquireFuture, IDENTIFY_WINDOW, IdentifyPermit, IdentifyQueue, LocalIdentifyQueue,
    LocalIdentifyQueueBuilder,
};

/// The sans-IO protocol crate, re-exported.
pub use discordgateway_proto as proto;
