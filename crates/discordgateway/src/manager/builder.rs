//! [`ManagerBuilder`]: which shards to run and how, and the code that builds each [`Shard`].

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ShardConfig, ShardConfigBuilder};
use crate::gateway_info::GatewayInfo;
use crate::proto::config::ConfigBuilder;
use crate::proto::shard::ShardId;
use crate::proto::state::Session;
use crate::queue::{IDENTIFY_WINDOW, IdentifyQueue, LocalIdentifyQueue};
use crate::session_store::SessionStore;
use crate::shard::Shard;

use super::{ManagerError, ManagerErrorKind, ShardManager};

/// Default [`ManagerBuilder::event_capacity`]: 1024 events.
pub const DEFAULT_EVENT_CAPACITY: usize = 1024;
/// Default [`ManagerBuilder::shard_buffer`]: 64 events.
pub const DEFAULT_SHARD_BUFFER: usize = 64;
/// Default [`ManagerBuilder::guild_burst_quiet`]: 2 s.
pub const DEFAULT_GUILD_BURST_QUIET: Duration = Duration::from_secs(2);
/// Default [`ManagerBuilder::dedup_window`]: 65 536 dispatches.
pub const DEFAULT_DEDUP_WINDOW: usize = 65_536;

/// Adjusts each shard's [`ShardConfigBuilder`] (timeouts, TLS policy, seed…).
pub(crate) type Configure = Arc<dyn Fn(ShardConfigBuilder) -> ShardConfigBuilder + Send + Sync>;

/// Builds a [`ShardManager`]; [`start`](Self::start) checks everything and starts the shards.
#[must_use = "call `start` to run the shards"]
pub struct ManagerBuilder {
    /// What every shard shares.
    pub(crate) factory: Factory,
    /// The shards to run: `range` of `total`.
    pub(crate) range: Range<u32>,
    /// The shard count.
    pub(crate) total: u32,
    /// Where sessions are saved on shutdown and loaded on start.
    pub(crate) store: Option<Arc<dyn SessionStore>>,
    /// Capacity of the merged channel.
    pub(crate) event_capacity: usize,
    /// Events each shard task buffers while the merged channel is full.
    pub(crate) shard_buffer: usize,
    /// Quiet period that ends a new shard's guild burst when resharding.
    pub(crate) guild_burst_quiet: Duration,
    /// Bound of the resharding deduplication.
    pub(crate) dedup_window: usize,
}

impl fmt::Debug for ManagerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagerBuilder")
            .field("factory", &self.factory)
            .field("range", &self.range)
            .field("total", &self.total)
            .field("store", &self.store)
            .field("event_capacity", &self.event_capacity)
            .field("shard_buffer", &self.shard_buffer)
            .finish_non_exhaustive()
    }
}

impl ManagerBuilder {
    /// A builder from a core configuration template (token, events, URL, compression…); its
    /// shard setting is replaced for each shard. Defaults: one shard, `max_concurrency` 1.
    pub fn new(core: ConfigBuilder) -> Self {
        Self {
            factory: Factory {
                core,
                configure: Arc::new(|b| b),
                queue: Arc::new(LocalIdentifyQueue::new(1)),
                max_concurrency: 1,
            },
            range: 0..1,
            total: 1,
            store: None,
            event_capacity: DEFAULT_EVENT_CAPACITY,
            shard_buffer: DEFAULT_SHARD_BUFFER,
            guild_burst_quiet: DEFAULT_GUILD_BURST_QUIET,
            dedup_window: DEFAULT_DEDUP_WINDOW,
        }
    }

    /// Run all `total` shards (default 1).
    pub fn total(mut self, total: u32) -> Self {
        self.total = total;
        self.range = 0..total;
        self
    }

    /// Run only shards `range` of `total`, so several processes can split one bot, e.g.
    /// `0..8` of 16 here and `8..16` elsewhere. Checked by [`start`](Self::start).
    pub fn range(mut self, range: Range<u32>, total: u32) -> Self {
        self.total = total;
        self.range = range;
        self
    }

    /// Use `/gateway/bot`'s answer: the recommended shard count (all shards), and a
    /// [`LocalIdentifyQueue`] keeping its session-start budget and `max_concurrency`.
    /// Set the core's `default_url` from `info.url` yourself.
    pub fn gateway_info(mut self, info: &GatewayInfo) -> Self {
        let limit = info.session_start_limit;
        self.factory.max_concurrency = limit.max_concurrency.max(1);
        self.factory.queue = Arc::new(
            LocalIdentifyQueue::builder()
                .session_start_limit(limit)
                .build(),
        );
        self.total(info.shards.max(1))
    }

    /// Discord's `max_concurrency` for a private [`LocalIdentifyQueue`] with the standard
    /// 5 s window (default 1). Replaces the queue; see [`identify_queue`](Self::identify_queue)
    /// to share one.
    pub fn max_concurrency(self, max_concurrency: u32) -> Self {
        self.identify_window(max_concurrency, IDENTIFY_WINDOW)
    }

    /// Like [`max_concurrency`](Self::max_concurrency) with a custom window: only for an
    /// emulator configured with the same shortened window.
    pub fn identify_window(mut self, max_concurrency: u32, window: Duration) -> Self {
        let max_concurrency = max_concurrency.max(1);
        self.factory.max_concurrency = max_concurrency;
        self.factory.queue = Arc::new(
            LocalIdentifyQueue::builder()
                .max_concurrency(max_concurrency)
                .window(window)
                .build(),
        );
        self
    }

    /// An identify queue shared with other managers or processes, and its `max_concurrency`
    /// (the manager uses it to start shards bucket by bucket, in order).
    pub fn identify_queue(mut self, queue: Arc<dyn IdentifyQueue>, max_concurrency: u32) -> Self {
        self.factory.queue = queue;
        self.factory.max_concurrency = max_concurrency.max(1);
        self
    }

    /// Where sessions are saved by [`ShardManager::shutdown`] and resumed from by the next
    /// start (default: none, every start identifies).
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Adjusts each shard's config builder (timeouts, TLS policy, seed…). The manager sets
    /// the identify queue afterwards, so setting one here has no effect.
    pub fn configure_shards(
        mut self,
        configure: impl Fn(ShardConfigBuilder) -> ShardConfigBuilder + Send + Sync + 'static,
    ) -> Self {
        self.factory.configure = Arc::new(configure);
        self
    }

    /// Capacity of the merged event channel (default [`DEFAULT_EVENT_CAPACITY`], at least 1).
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// Events each shard task holds while the merged channel is full; while it has room the
    /// shard keeps being polled and heartbeating (default [`DEFAULT_SHARD_BUFFER`], at least 1).
    pub fn shard_buffer(mut self, events: usize) -> Self {
        self.shard_buffer = events.max(1);
        self
    }

    /// When resharding, a new shard's guild burst is taken as done once no GUILD_CREATE has
    /// arrived on it for this long after READY (default [`DEFAULT_GUILD_BURST_QUIET`]).
    /// A quiet period, not a count of READY's guilds, because the guilds' GUILD_CREATEs are
    /// only visible when the application declared GUILD_CREATE.
    pub fn guild_burst_quiet(mut self, quiet: Duration) -> Self {
        self.guild_burst_quiet = quiet;
        self
    }

    /// Bound of the resharding deduplication window, in dispatches (default
    /// [`DEFAULT_DEDUP_WINDOW`]); see the guarantee in the manager docs.
    pub fn dedup_window(mut self, dispatches: usize) -> Self {
        self.dedup_window = dispatches.max(1);
        self
    }

    /// Checks the shard selection, loads saved sessions, and starts one task per shard.
    ///
    /// # Errors
    ///
    /// [`ManagerErrorKind::InvalidShards`] for an empty or out-of-range selection;
    /// [`ManagerErrorKind::Config`] when a shard's configuration is rejected. A session store
    /// that cannot be read is not an error: a `warn!` says so and every shard identifies.
    pub async fn start(self) -> Result<ShardManager, ManagerError> {
        check_range(&self.range, self.total)?;
        ShardManager::start(self).await
    }
}

/// Checks that `range` is a non-empty part of `0..total`.
pub(crate) fn check_range(range: &Range<u32>, total: u32) -> Result<(), ManagerError> {
    if total == 0 || range.start >= range.end || range.end > total {
        return Err(ManagerError::new(ManagerErrorKind::InvalidShards {
            start: range.start,
            end: range.end,
            total,
        }));
    }
    Ok(())
}

/// Builds the shards of the manager.
#[derive(Clone)]
pub(crate) struct Factory {
    /// The core template.
    pub(crate) core: ConfigBuilder,
    /// The per-shard adjustment.
    pub(crate) configure: Configure,
    /// The shared identify queue.
    pub(crate) queue: Arc<dyn IdentifyQueue>,
    /// Its `max_concurrency`.
    pub(crate) max_concurrency: u32,
}

impl fmt::Debug for Factory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Factory")
            .field("core", &self.core)
            .field("queue", &self.queue)
            .field("max_concurrency", &self.max_concurrency)
            .finish_non_exhaustive()
    }
}

impl Factory {
    /// Builds shard `id`, resuming `session` if given, identifying through `queue`.
    pub(crate) fn build(
        &self,
        id: ShardId,
        session: Option<Session>,
        queue: Arc<dyn IdentifyQueue>,
    ) -> Result<Shard, ManagerError> {
        let core =
            self.core.clone().shard(id).build().map_err(|e| {
                ManagerError::with_source(ManagerErrorKind::Config { shard: id }, e)
            })?;
        let config: ShardConfig = (self.configure)(ShardConfig::builder(core))
            .identify_queue(queue)
            .build()
            .map_err(|e| ManagerError::with_source(ManagerErrorKind::Config { shard: id }, e))?;
        Ok(match session {
            Some(session) => Shard::from_session(config, session),
            None => Shard::new(config),
        })
    }
}
