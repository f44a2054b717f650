//! The tokio driver of **discordgateway**.
//!
//! A [`Shard`] drives the sans-IO [`discordgateway_proto`] core over a real WebSocket inside
//! the user's own `.await`: [`Shard::next_event`] connects, reads, heartbeats, identifies
//! through an [`IdentifyQueue`] and reconnects, and spawns nothing. Other tasks send commands
//! through a [`ShardSender`]. [`fetch_gateway_info`] reads `/gateway/bot` for the URL and the
//! session-start budget that a shared [`LocalIdentifyQueue`] keeps.
//!
//! # Example
//!
//! Read `/gateway/bot`, share one identify queue built from its budget, then poll the shard
//! from its own task while another task sends commands:
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use discordgateway::proto::config::Config;
//! use discordgateway::proto::payload::{Status, UpdatePresence};
//! use discordgateway::{
//!     ConnectOptions, DEFAULT_API_BASE, Event, EventSet, EventType, GatewayUrl,
//!     LocalIdentifyQueue, Shard, ShardConfig, Token, fetch_gateway_info,
//! };
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let token = Token::new(std::env::var("DISCORD_TOKEN")?)?;
//! let info = fetch_gateway_info(DEFAULT_API_BASE, &token, &ConnectOptions::default()).await?;
//! // One queue for every shard of the bot: buckets and the daily session-start budget.
//! let queue = Arc::new(
//!     LocalIdentifyQueue::builder()
//!         .max_concurrency(info.session_start_limit.max_concurrency)
//!         .session_start_limit(info.session_start_limit)
//!         .build(),
//! );
//! let core = Config::builder(token)
//!     .guild_events(EventSet::from_slice(&[EventType::from_wire("MESSAGE_CREATE")]))
//!     .default_url(GatewayUrl::parse(&info.url)?)
//!     .build()?;
//! let mut shard = Shard::new(ShardConfig::builder(core).identify_queue(queue).build()?);
//!
//! let sender = shard.sender(); // cloneable; a command sent before READY waits for it
//! tokio::spawn(async move { sender.send(UpdatePresence::new(Status::Idle)).await });
//!
//! loop {
//!     // All the work (heartbeats included) happens inside this await: keep polling.
//!     match shard.next_event().await? {
//!         Event::Dispatch(d) => println!("{} #{}", d.kind().name(), d.sequence()),
//!         Event::Notice(n) => println!("{n:?}"),
//!     }
//! }
//! # }
//! ```
//!
//! The protocol crate is re-exported as [`proto`], and the items a bot needs every day
//! ([`Event`], [`Command`], [`Token`], [`EventType`], …) are re-exported at the root.
//!
//! | module | what it holds |
//! | --- | --- |
//! | `shard` | [`Shard`], [`ShardSender`], [`CloseKind`], counters and latency |
//! | `driver` | the cancel-safe poll loop behind `next_event` |
//! | `config` | [`ShardConfig`]: the core config plus timeouts, TLS policy, queue |
//! | `connect`, `transport` | TCP/TLS/WebSocket setup and the poll-based socket |
//! | `queue` | [`IdentifyQueue`], [`LocalIdentifyQueue`] |
//! | `gateway_info` | [`fetch_gateway_info`] |
//! | [`error`] | every public error, as a struct plus a kind |

mod config;
mod connect;
mod driver;
// `#[macro_use]`: the manager and the session store stamp their errors with `driver_error!`.
#[macro_use]
pub mod error;
mod gateway_info;
mod queue;

pub use error::{
    BoxError, ConfigError, ConfigErrorKind, ConnectError, ConnectErrorKind, GatewayInfoError,
    GatewayInfoErrorKind, IdentifyQueueError, IdentifyQueueErrorKind, SendError, SendErrorKind,
    ShardError, ShardErrorKind,
};

mod shard;
mod transport;

pub use config::{
    DEFAULT_COMMAND_QUEUE_CAPACITY, DEFAULT_HELLO_TIMEOUT, DEFAULT_READY_TIMEOUT, ShardConfig,
    ShardConfigBuilder,
};
pub use connect::ConnectOptions;
pub use discordgateway_proto::event::{Dispatch, Event, Notice};
pub use discordgateway_proto::payload::Command;
pub use discordgateway_proto::state::{Phase, ResumeError, Session};
pub use discordgateway_proto::{
    ClientClose, CloseCode, EventSet, EventType, GatewayUrl, Intents, ShardId, Token,
};
pub use gateway_info::{
    DEFAULT_API_BASE, GatewayInfo, MAX_RESPONSE, SessionStartLimit, fetch_gateway_info,
};
pub use queue::{
    AcquireFuture, IDENTIFY_WINDOW, IdentifyPermit, IdentifyQueue, LocalIdentifyQueue,
    LocalIdentifyQueueBuilder,
};
pub use shard::{CloseKind, Latency, Shard, ShardSender, ShardStats};

mod manager;
pub mod metrics;
pub mod session_store;

pub use manager::{
    DEFAULT_DEDUP_WINDOW, DEFAULT_EVENT_CAPACITY, DEFAULT_GUILD_BURST_QUIET, DEFAULT_SHARD_BUFFER,
    ManagerBuilder, ManagerError, ManagerErrorKind, ManagerStatus, ShardEvent, ShardFailure,
    ShardManager, ShardStatus, StatusWatch,
};

pub use session_store::{
    FileSessionStore, SessionStore, SessionStoreError, SessionStoreErrorKind, StoreFuture,
};

/// The sans-IO protocol crate, re-exported.
pub use discordgateway_proto as proto;
