//! A faithful fake Discord gateway for offline tests, demos, load and fault testing.
//!
//! The emulator behaves like Discord's gateway as documented in `shared/protocol/GATEWAY.md`
//! (its §14 checklist): Hello, heartbeats and closing silent connections, Identify validation
//! with the real close codes, READY and one GUILD_CREATE per guild, Resume with in-order
//! replay, op 7, op 9, the 120/60 s limit, identify concurrency buckets and the session-start
//! budget, intent filtering and MESSAGE_CONTENT stripping, Request Guild Members chunking,
//! zlib-stream and zstd-stream. It also serves the REST routes clients call before connecting,
//! and control routes, all on one port. It is liberal in what it accepts (any path, JSON in
//! text or binary frames, missing query parameters, any key order), so any conforming client
//! library, in any language, works against it unmodified.
//!
//! ```no_run
//! # async fn demo() -> Result<(), discordgateway_emulator::StartError> {
//! use discordgateway_emulator::{Emulator, EmulatorConfig};
//!
//! let emulator = Emulator::start("127.0.0.1:0", EmulatorConfig::default()).await?;
//! println!("{}", emulator.url()); // ws://127.0.0.1:PORT
//! emulator.shutdown();
//! # Ok(()) }
//! ```
//!
//! Module map: `http` (one port, routing, REST and control), `conn` (one gateway
//! connection), `state` (sessions, limits, stats), `commands` (ops 8, 31, 43), `compress`
//! (transport compression), `wire` (numbers and frame writers), `workload` (the seeded world
//! and event streams), `scenario` (scripted steps), `ledger` (which tags each session was
//! sent, which sessions were invalidated).
//!
//! For soaks: [`EmulatorHandle::ledger`], [`EmulatorHandle::restart`] (lose every session),
//! [`EmulatorHandle::refuse_connections`] (an outage) and
//! [`EmulatorHandle::inject_fault_live`] (a fault that never waits for a later connection).

mod cache;
mod commands;
mod compress;
mod config;
mod conn;
pub mod faults;
mod http;
mod inject;
pub mod ledger;
mod replay;
mod runner;
pub mod scenario;
mod state;
mod wire;
pub mod workload;
mod zstd_blocks;

use std::{net::SocketAddr, sync::Arc};

use tokio::{
    net::{TcpListener, ToSocketAddrs},
    sync::watch,
    time::Instant,
};

use crate::state::{Control, Shared};
pub use crate::{
    config::EmulatorConfig,
    faults::Fault,
    ledger::{Invalidation, SessionRecord},
    state::{IdentifyOutcome, IdentifyRecord, SEND_IDLE, SessionInfo, Stats, Violations},
};

/// Starting the emulator failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The listening socket could not be bound.
    #[error("could not listen on the given address: {source}; pick a free port or use port 0")]
    Bind {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The workload configuration cannot generate a world.
    #[error("invalid emulator workload: {source}")]
    Workload {
        /// What is wrong with it.
        #[source]
        source: crate::workload::WorkloadConfigError,
    },
}

/// The emulator: start it with [`Emulator::start`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Emulator;

impl Emulator {
    /// Binds `addr` (port 0 picks a free port) and serves the gateway, REST and control
    /// routes on it from a spawned task, until [`EmulatorHandle::shutdown`] or the handle's
    /// last clone is dropped.
    ///
    /// # Errors
    ///
    /// [`StartError::Bind`] when the address cannot be bound; [`StartError::Workload`] when
    /// the workload configuration is invalid.
    pub async fn start(
        addr: impl ToSocketAddrs,
        config: EmulatorConfig,
    ) -> Result<EmulatorHandle, StartError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartError::Bind { source })?;
        let shared =
            Arc::new(Shared::new(config, local).map_err(|source| StartError::Workload { source })?);
        let (stop_tx, mut stop_rx) = watch::channel(false);
        runner::spawn(&shared, &stop_rx);
        let accept_shared = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((tcp, _)) = accepted {
                            if accept_shared.refuses(Instant::now()) {
                                // An outage: close at once, before any byte is read.
                                drop(tcp);
                            } else {
                                tokio::spawn(http::serve(Arc::clone(&accept_shared), tcp));
                            }
                        }
                    }
                    _ = stop_rx.changed() => return,
                }
            }
        });
        Ok(EmulatorHandle {
            shared,
            stop: Arc::new(stop_tx),
        })
    }
}

/// A running emulator: its URLs, fault and event injection, and observation.
#[derive(Clone)]
pub struct EmulatorHandle {
    /// State shared with the connections.
    shared: Arc<Shared>,
    /// Stops the accept loop when set (or dropped with the last handle).
    stop: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    /// The gateway URL, `ws://HOST:PORT` (any path works; add `?v=10&encoding=json`).
    #[must_use]
    pub fn url(&self) -> String {
        self.shared.ws_url()
    }

    /// The REST base URL, `http://HOST:PORT` (routes work with or without `/api/v10`).
    #[must_use]
    pub fn http_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The bound address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Injects `fault` into every live connection of shard `shard`; returns how many got
    /// it. With none live, the fault waits for the next new connection (a Reconnect then
    /// arrives before Hello).
    pub fn inject_fault(&self, shard: u32, fault: Fault) -> usize {
        self.shared
            .to_shard(shard, || Control::Fault(fault.clone()))
    }

    /// Injects `fault` into every live connection of shard `shard`, like
    /// [`inject_fault`](Self::inject_fault), but never queues it: with no live connection the
    /// fault is dropped and 0 returned. A soak uses this so that every fault it counts hits
    /// the shard it names: a queued fault lands on the next new connection of *any* shard,
    /// before it identifies or resumes (an op 9 `false` there makes a client drop a session
    /// the server never ended).
    pub fn inject_fault_live(&self, shard: u32, fault: Fault) -> usize {
        self.shared
            .to_shard_or(shard, false, || Control::Fault(fault.clone()))
    }

    /// Injects the dispatch `event` with payload `data` to the sessions it routes to:
    /// `shard` if given, else by `data.guild_id` (`(guild_id >> 22) % total`), else shard 0.
    /// Intent filtering and MESSAGE_CONTENT stripping apply per session. Returns how many
    /// connections got it.
    pub fn dispatch(&self, event: &str, data: &serde_json::Value, shard: Option<u32>) -> usize {
        let ev = inject::outbound(self.shared.world.bot().id(), event, data, None, None);
        self.shared.route(&ev, shard)
    }

    /// A snapshot of the counters (as served by `GET /emulator/stats`).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shared.stats(Instant::now())
    }

    /// Every Identify so far, with its time, shard and outcome.
    #[must_use]
    pub fn identify_log(&self) -> Vec<IdentifyRecord> {
        self.shared.identify_log()
    }

    /// The violation counters.
    #[must_use]
    pub fn violations(&self) -> Violations {
        self.shared.violations()
    }

    /// Per-session counters of frames and commands.
    #[must_use]
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.sessions()
    }

    /// Every session so far with the stream positions it was sent and whether the server
    /// invalidated it (see [`ledger`]): the exact accounting a soak needs to tell events
    /// Discord would not replay from real losses.
    #[must_use]
    pub fn ledger(&self) -> Vec<SessionRecord> {
        self.shared.ledger()
    }

    /// Simulates a restart of the gateway that loses all state: cuts every live connection
    /// (no close frame) and forgets every session, so each Resume gets op 9 `false`. The port,
    /// the identify limits, the counters and the ledger are kept. Returns how many
    /// connections were cut.
    pub fn restart(&self) -> usize {
        self.shared.restart()
    }

    /// An outage: for `duration` (tokio's clock) every new TCP connection, gateway or REST,
    /// is reset as soon as it is accepted; [`Stats::refused_connections`] counts them. Live
    /// connections are untouched (combine with [`restart`](Self::restart) to cut them too).
    pub fn refuse_connections(&self, duration: std::time::Duration) {
        self.shared.refuse_until(Instant::now() + duration);
    }

    /// Stops accepting connections. Live connections end when their clients leave.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}
