//! Startup order: an [`IdentifyQueue`] wrapper that makes a set of shards enter the real queue
//! in shard order within each bucket.
//!
//! Discord starts buckets in order (GATEWAY.md §5, §6): with `max_concurrency` K, shards
//! `0..K` identify in the first window, `K..2K` in the second, and so on. The manager spawns
//! one task per shard, and the runtime may poll those tasks in any order, so shard 4 could reach
//! bucket 0's queue before shard 0. The gate hands each shard that starts by identifying a
//! ticket `(bucket, position)` and lets it call the inner queue only once every shard before it
//! in its bucket has got its permit (or has left without identifying: it resumed, stopped or
//! failed). After its first permit a shard passes straight through, so re-identifies later in
//! the shard's life are not held back.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use crate::queue::{AcquireFuture, IdentifyQueue};

/// The order in which the shards of one startup enter the identify queue.
#[derive(Debug)]
pub(crate) struct StartupGate {
    /// Per bucket: how many tickets have passed, plus the positions done out of order.
    buckets: Box<[Bucket]>,
}

/// One bucket's progress.
#[derive(Debug)]
struct Bucket {
    /// Positions that finished before their turn.
    early: Mutex<BTreeSet<u32>>,
    /// The position whose turn it is.
    turn: watch::Sender<u32>,
}

impl StartupGate {
    /// A gate over `buckets` buckets.
    pub(crate) fn new(buckets: u32) -> Arc<Self> {
        let buckets = (0..buckets.max(1))
            .map(|_| Bucket {
                early: Mutex::new(BTreeSet::new()),
                turn: watch::Sender::new(0),
            })
            .collect();
        Arc::new(Self { buckets })
    }

    /// Marks `position` of `bucket` done and moves the turn past every done position.
    fn done(&self, bucket: u32, position: u32) {
        let Some(b) = self.buckets.get(bucket as usize) else {
            return;
        };
        let mut early = b.early.lock().unwrap_or_else(PoisonError::into_inner);
        early.insert(position);
        b.turn.send_modify(|turn| {
            while early.remove(turn) {
                *turn += 1;
            }
        });
    }

    /// Waits until it is `position`'s turn in `bucket`.
    async fn wait_turn(&self, bucket: u32, position: u32) {
        if let Some(b) = self.buckets.get(bucket as usize) {
            let mut rx = b.turn.subscribe();
            // The sender lives in `self`, so `wait_for` only fails if the gate is gone.
            let _ = rx.wait_for(|turn| *turn >= position).await;
        }
    }
}

/// A shard's place in the startup order; dropping it (the shard task ended) releases the turn.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// The gate.
    gate: Arc<StartupGate>,
    /// The shard's bucket.
    bucket: u32,
    /// Its position among the gated shards of the bucket.
    position: u32,
    /// Whether the turn has been released.
    used: AtomicBool,
}

impl Ticket {
    /// Ticket `position` in `bucket`.
    pub(crate) fn new(gate: Arc<StartupGate>, bucket: u32, position: u32) -> Arc<Self> {
        Arc::new(Self {
            gate,
            bucket,
            position,
            used: AtomicBool::new(false),
        })
    }

    /// Releases the turn once.
    pub(crate) fn release(&self) {
        if !self.used.swap(true, Ordering::AcqRel) {
            self.gate.done(self.bucket, self.position);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.release();
    }
}

/// The queue a gated shard is configured with: waits its turn once, then asks `inner`.
pub(crate) struct GatedQueue {
    /// The real queue, shared by all shards.
    pub(crate) inner: Arc<dyn IdentifyQueue>,
    /// The shard's ticket (passed straight through once used).
    pub(crate) ticket: Arc<Ticket>,
}

impl fmt::Debug for GatedQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatedQueue")
            .field("inner", &self.inner)
            .field("bucket", &self.ticket.bucket)
            .field("position", &self.ticket.position)
            .finish()
    }
}

impl IdentifyQueue for GatedQueue {
    fn acquire(&self, shard_id: u32) -> AcquireFuture<'_> {
        Box::pin(async move {
            if !self.ticket.used.load(Ordering::Acquire) {
                self.ticket
                    .gate
                    .wait_turn(self.ticket.bucket, self.ticket.position)
                    .await;
            }
            let permit = self.inner.acquire(shard_id).await?;
            // Granted: the next shard of the bucket may queue behind us now.
            self.ticket.release();
            Ok(permit)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn turns_advance_in_order_and_skip_early_leavers() {
        let gate = StartupGate::new(1);
        let t0 = Ticket::new(Arc::clone(&gate), 0, 0);
        let t1 = Ticket::new(Arc::clone(&gate), 0, 1);
        let t2 = Ticket::new(Arc::clone(&gate), 0, 2);
        // Position 2 leaves early (e.g. it resumed): the turn must not stop at it later.
        drop(t2);
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.wait_turn(0, 3).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "position 3 waits for 0 and 1");
        t1.release();
        tokio::task::yield_now().await;
        assert!(
            !waiter.is_finished(),
            "1 done out of order; 0 still holds the turn"
        );
        t0.release();
        waiter
            .await
            .expect("position 3 gets its turn once 0, 1 and 2 are done");
        assert_eq!(*gate.buckets[0].turn.borrow(), 3);
    }
}
