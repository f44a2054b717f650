//! The status view: per-shard phase, latency and counters, and the aggregate "all ready".
//!
//! The aggregate is computed from the shards' current phases every time it is asked for, never
//! counted from READY events, so it cannot latch: a shard that reconnects during startup (or
//! at any time) is not ready until it is `Active` again, and "all ready" becomes false with it.
//!
//! **The status leads the stream.** A shard's status is its connection's state as its task saw
//! it, updated the moment the task receives an event, not when the application consumes it. So
//! a shard reads ready while its READY notice may still wait in the merged channel: after
//! `while !status().all_ready() { next_event() }` some READY notices are still to come, and
//! code that wants to see every READY (the `demo` progress lines) counts the notices instead.
//! In return the status needs no consumer: [`StatusWatch::wait_all_ready`] completes while
//! nobody reads events (each shard's task buffers its few pre-READY notices), which is what a
//! health endpoint or a startup gate in another task wants.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::task::Slot;
use crate::proto::shard::ShardId;
use crate::proto::state::Phase;
use crate::shard::{Latency, ShardStats};

/// One shard as the manager sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardStatus {
    /// The shard.
    pub id: ShardId,
    /// Where its connection is, as of its last event.
    pub phase: Phase,
    /// Heartbeat round trips.
    pub latency: Latency,
    /// Its counters.
    pub stats: ShardStats,
    /// Whether its task runs (false after `stop`, a fatal error, or shutdown).
    pub running: bool,
}

impl ShardStatus {
    /// Whether the shard is connected with a session (READY or RESUMED) and its task runs.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.running && self.phase == Phase::Active
    }
}

/// A snapshot of every shard of the current set, as the shard tasks see them (ahead of the
/// events the application has consumed; see the [manager docs](super)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerStatus {
    /// The shard count of the current set.
    pub total: u32,
    /// The shards this manager runs, by number.
    pub shards: Vec<ShardStatus>,
    /// The total being resharded to, while a resharding is under way.
    pub resharding_to: Option<u32>,
}

impl ManagerStatus {
    /// How many shards are ready.
    #[must_use]
    pub fn ready(&self) -> usize {
        self.shards.iter().filter(|s| s.is_ready()).count()
    }

    /// Whether every shard is ready right now.
    #[must_use]
    pub fn all_ready(&self) -> bool {
        !self.shards.is_empty() && self.shards.iter().all(ShardStatus::is_ready)
    }

    /// The mean of the shards' last heartbeat round trips, if any has one.
    #[must_use]
    pub fn mean_latency(&self) -> Option<std::time::Duration> {
        let samples: Vec<_> = self.shards.iter().filter_map(|s| s.latency.last).collect();
        let n = u32::try_from(samples.len()).ok().filter(|n| *n > 0)?;
        Some(samples.iter().sum::<std::time::Duration>() / n)
    }
}

/// What the manager and its [`StatusWatch`]es share.
#[derive(Debug)]
pub(crate) struct View {
    /// The current set: its total, slots, and the resharding target.
    pub(crate) current: Mutex<(u32, Vec<Arc<Slot>>, Option<u32>)>,
    /// Nudged by every shard task after each event and on set changes.
    pub(crate) changed: Arc<watch::Sender<()>>,
}

impl View {
    /// A snapshot.
    pub(crate) fn status(&self) -> ManagerStatus {
        let (total, slots, resharding_to) = self.get();
        ManagerStatus {
            total,
            shards: slots.iter().map(|s| status_of(s)).collect(),
            resharding_to,
        }
    }

    /// The current set.
    pub(crate) fn get(&self) -> (u32, Vec<Arc<Slot>>, Option<u32>) {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the current set.
    pub(crate) fn set(&self, total: u32, slots: Vec<Arc<Slot>>, resharding_to: Option<u32>) {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) =
            (total, slots, resharding_to);
        self.changed.send_replace(());
    }
}

/// The status of one slot.
pub(crate) fn status_of(slot: &Slot) -> ShardStatus {
    let s = slot.get();
    ShardStatus {
        id: slot.id,
        phase: s.phase,
        latency: s.latency,
        stats: s.stats,
        running: s.running,
    }
}

/// A cloneable handle to watch the manager's status from another task (a progress bar, a
/// health endpoint) while the owner of the [`ShardManager`](super::ShardManager) consumes events.
#[derive(Debug, Clone)]
pub struct StatusWatch {
    /// The shared view.
    pub(crate) view: Arc<View>,
    /// Change notifications.
    pub(crate) rx: watch::Receiver<()>,
}

impl StatusWatch {
    /// A snapshot of every shard.
    #[must_use]
    pub fn status(&self) -> ManagerStatus {
        self.view.status()
    }

    /// Waits for the next status change (any shard event, or a set change).
    ///
    /// Returns `false` when the manager is gone.
    pub async fn changed(&mut self) -> bool {
        self.rx.changed().await.is_ok()
    }

    /// Waits until every shard of the current set is ready at the same moment; returns the
    /// snapshot that showed it, or `None` when the manager is gone first.
    ///
    /// Needs no concurrent consumer to get there (see the module docs: the status leads the
    /// stream). Shards that stay unconsumed afterwards stop polling once their buffers are
    /// full, so start consuming soon after it returns.
    pub async fn wait_all_ready(&mut self) -> Option<ManagerStatus> {
        loop {
            let status = self.status();
            if status.all_ready() {
                return Some(status);
            }
            if !self.changed().await {
                return None;
            }
        }
    }
}
