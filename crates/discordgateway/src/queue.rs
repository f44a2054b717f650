//! Identify coordination: the [`IdentifyQueue`] trait and the in-process [`LocalIdentifyQueue`].
//!
//! Discord limits session starts in two ways (GATEWAY.md §5, "Identify limits"):
//!
//! - **concurrency**: each shard belongs to the bucket `shard_id % max_concurrency`, and at most
//!   one Identify per bucket may be sent per 5 s;
//! - **the daily budget**: `session_start_limit.total` Identifies per `reset_after` window,
//!   across all shards; going over it kills every session and resets the token.
//!
//! A shard asks its queue for an [`IdentifyPermit`] before it identifies and holds it until
//! READY or failure; dropping the permit releases it. Resumes never ask.
//!
//! # Why the trait is object-safe
//!
//! [`IdentifyQueue::acquire`] returns a boxed future instead of being an `async fn`, so a shard
//! config can hold an `Arc<dyn IdentifyQueue>`: a queue shared through a store (Redis, in another
//! crate) plugs in without making every shard type generic. The box costs one allocation per
//! Identify, which happens at most once per 5 s per bucket.
//!
//! # The local algorithm
//!
//! Each bucket is a fair (FIFO) async mutex holding the instant the bucket may next identify.
//! `acquire` locks its bucket, sleeps until that instant, takes one session start from the
//! budget (waiting for the reset if it must) and returns a permit that owns the lock. Every wait
//! is an `.await` on the lock or a tokio sleep, and all state changes happen after the last
//! `.await`, so dropping an `acquire` future at any point leaks nothing.
//!
//! **The window starts at the release, not at the grant.** Discord measures the spacing of
//! Identifies by when they *arrive*. A grant says nothing about when the Identify reaches the
//! wire: the shard may be polled late (a busy runtime, a slow TLS handshake), so a late
//! Identify followed by a prompt one could arrive less than a window apart even though their
//! grants were a window apart, and Discord answers op 9. The permit is dropped when READY
//! arrives (or the attempt fails), which is after the Identify reached the server whenever it
//! was sent at all; so the lock sets the bucket's next instant to *release + window*, and the
//! next Identify in the bucket arrives at least one window after the previous one, whatever
//! the delays. The cost is one READY round trip per round of a startup (milliseconds on top of
//! each 5 s window).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, warn};

use crate::error::IdentifyQueueError;
use crate::gateway_info::SessionStartLimit;

/// The future returned by [`IdentifyQueue::acquire`].
pub type AcquireFuture<'a> =
    Pin<Box<dyn Future<Output = Result<IdentifyPermit, IdentifyQueueError>> + Send + 'a>>;

/// Grants shards permission to Identify, one bucket at a time.
///
/// Implementations must make the returned future cancel-safe: dropping it before it completes
/// must leave the queue as if `acquire` had never been called.
pub trait IdentifyQueue: fmt::Debug + Send + Sync {
    /// Waits until the shard `shard_id` may send Identify and returns the permit, which the shard
    /// holds until READY (or failure) and then drops.
    ///
    /// # Errors
    ///
    /// A queue backed by a shared store returns an error when the store fails; the shard
    /// reports it and asks again on the next poll.
    fn acquire(&self, shard_id: u32) -> AcquireFuture<'_>;
}

/// Permission to send one Identify; dropping it tells the queue the attempt is over.
#[must_use = "dropping the permit releases it at once"]
pub struct IdentifyPermit {
    /// Runs once when the permit is dropped.
    release: Option<Box<dyn FnOnce() + Send>>,
}

impl IdentifyPermit {
    /// A permit that runs `release` when dropped (queue implementations build these).
    ///
    /// `release` runs synchronously inside `drop`; a queue that must do async work to release
    /// should hand that work to a task from here.
    pub fn new(release: impl FnOnce() + Send + 'static) -> Self {
        Self {
            release: Some(Box::new(release)),
        }
    }

    /// A permit with nothing to release, for queues that only pace grants.
    pub fn unguarded() -> Self {
        Self { release: None }
    }
}

impl Drop for IdentifyPermit {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release();
        }
    }
}

impl fmt::Debug for IdentifyPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentifyPermit")
            .field("guarded", &self.release.is_some())
            .finish()
    }
}

/// The concurrency window Discord documents: one Identify per bucket per 5 s.
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);

/// How long a budget window lasts when Discord has not said (24 h, GATEWAY.md §3.4).
const BUDGET_PERIOD: Duration = Duration::from_secs(24 * 60 * 60);

/// An in-process [`IdentifyQueue`] for the shards of one process.
///
/// Buckets are `shard_id % max_concurrency`, one Identify per bucket per [`IDENTIFY_WINDOW`]
/// (configurable, so tests and the emulator can shorten it), granted in the order the shards
/// asked. With a [`SessionStartLimit`] it also keeps the daily budget.
///
/// **The reserve.** It never spends the last identifies of the budget: when `remaining` is at
/// or below the reserve, an `acquire` waits for the reset instead, and logs a `warn!` saying how
/// long. The default reserve is 1 % of `total`, at least 1 (10 of Discord's usual 1000), so a
/// restart loop or a second process on the same token cannot push the bot over the limit that
/// resets its token. Change it with [`LocalIdentifyQueueBuilder::reserve`].
///
/// Clones share the same buckets and budget.
#[derive(Clone)]
pub struct LocalIdentifyQueue {
    /// State shared by clones.
    inner: Arc<Inner>,
}

/// The shared state of a [`LocalIdentifyQueue`].
struct Inner {
    /// One fair lock per bucket, holding the earliest instant of the bucket's next Identify.
    buckets: Box<[Arc<AsyncMutex<Option<Instant>>>]>,
    /// Minimum spacing between a permit's release and the next grant in its bucket.
    window: Duration,
    /// The session-start budget, if known.
    budget: Mutex<Option<Budget>>,
    /// Identifies kept back (see the type docs); `None` = 1 % of total, at least 1.
    reserve: Option<u32>,
}

/// The daily session-start budget.
#[derive(Debug, Clone, Copy)]
struct Budget {
    /// Session starts per window.
    total: u32,
    /// Session starts left in this window.
    remaining: u32,
    /// When the window resets.
    resets_at: Instant,
}

/// Builds a [`LocalIdentifyQueue`].
#[derive(Debug, Clone)]
#[must_use = "call `build` to get the queue"]
pub struct LocalIdentifyQueueBuilder {
    /// Number of buckets.
    max_concurrency: u32,
    /// Spacing between grants in a bucket.
    window: Duration,
    /// The budget, if known.
    limit: Option<SessionStartLimit>,
    /// Explicit reserve.
    reserve: Option<u32>,
}

impl LocalIdentifyQueueBuilder {
    /// Identifies allowed at once (Discord's `max_concurrency`). Default 1; 0 is treated as 1.
    pub fn max_concurrency(mut self, max_concurrency: u32) -> Self {
        self.max_concurrency = max_concurrency.max(1);
        self
    }

    /// Spacing between a permit's release (READY or failure) and the next grant in its bucket
    /// (see the module docs for why it counts from the release). Default [`IDENTIFY_WINDOW`]
    /// (5 s); shorten it only against an emulator configured the same way.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The budget from `GET /gateway/bot`. Also sets `max_concurrency` from it. Default: no
    /// budget is kept (grants are only paced by buckets).
    pub fn session_start_limit(mut self, limit: SessionStartLimit) -> Self {
        self.max_concurrency = limit.max_concurrency.max(1);
        self.limit = Some(limit);
        self
    }

    /// Identifies never spent from the budget. Default 1 % of `total`, at least 1.
    pub fn reserve(mut self, reserve: u32) -> Self {
        self.reserve = Some(reserve);
        self
    }

    /// The queue, with its budget window starting now.
    pub fn build(self) -> LocalIdentifyQueue {
        let buckets = (0..self.max_concurrency)
            .map(|_| Arc::new(AsyncMutex::new(None)))
            .collect();
        let queue = LocalIdentifyQueue {
            inner: Arc::new(Inner {
                buckets,
                window: self.window,
                budget: Mutex::new(None),
                reserve: self.reserve,
            }),
        };
        if let Some(limit) = self.limit {
            queue.update_session_start_limit(&limit);
        }
        queue
    }
}

impl LocalIdentifyQueue {
    /// A queue with `max_concurrency` buckets, the 5 s window and no budget.
    pub fn new(max_concurrency: u32) -> Self {
        Self::builder().max_concurrency(max_concurrency).build()
    }

    /// A builder with the defaults (one bucket, 5 s, no budget).
    pub fn builder() -> LocalIdentifyQueueBuilder {
        LocalIdentifyQueueBuilder {
            max_concurrency: 1,
            window: IDENTIFY_WINDOW,
            limit: None,
            reserve: None,
        }
    }

    /// Replaces the budget with fresh numbers from `GET /gateway/bot` (its `reset_after` counts
    /// from now). `max_concurrency` is fixed at build time and is not changed here.
    pub fn update_session_start_limit(&self, limit: &SessionStartLimit) {
        let budget = Budget {
            total: limit.total,
            remaining: limit.remaining,
            resets_at: Instant::now() + limit.reset_after,
        };
        *self.lock_budget() = Some(budget);
    }

    /// Session starts left in the current window, if a budget is known.
    #[must_use]
    pub fn remaining(&self) -> Option<u32> {
        self.lock_budget().map(|b| b.remaining)
    }

    /// The number of buckets (`max_concurrency`).
    #[must_use]
    pub fn max_concurrency(&self) -> u32 {
        u32::try_from(self.inner.buckets.len()).unwrap_or(u32::MAX)
    }

    /// Locks the budget; a poisoned lock still holds consistent plain data.
    fn lock_budget(&self) -> std::sync::MutexGuard<'_, Option<Budget>> {
        self.inner
            .budget
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The reserve for a budget of `total`.
    fn reserve_for(&self, total: u32) -> u32 {
        self.inner.reserve.unwrap_or((total / 100).max(1))
    }

    /// Takes one session start, or says until when to wait. Synchronous, so it cannot be
    /// interrupted halfway.
    fn try_take(&self, now: Instant) -> Result<(), Instant> {
        let mut guard = self.lock_budget();
        let Some(budget) = guard.as_mut() else {
            return Ok(());
        };
        if now >= budget.resets_at {
            budget.remaining = budget.total;
            budget.resets_at = now + BUDGET_PERIOD;
        }
        let reserve = self.reserve_for(budget.total);
        if budget.remaining > reserve {
            budget.remaining -= 1;
            Ok(())
        } else {
            Err(budget.resets_at)
        }
    }

    /// The body of [`IdentifyQueue::acquire`].
    async fn acquire_local(&self, shard_id: u32) -> IdentifyPermit {
        let index = usize::try_from(shard_id).unwrap_or(usize::MAX) % self.inner.buckets.len();
        let bucket = Arc::clone(&self.inner.buckets[index]);
        let guard: OwnedMutexGuard<Option<Instant>> = bucket.lock_owned().await;
        if let Some(next) = *guard {
            sleep_until(next).await;
        }
        loop {
            match self.try_take(Instant::now()) {
                Ok(()) => break,
                Err(resets_at) => {
                    let wait = resets_at.saturating_duration_since(Instant::now());
                    warn!(
                        shard_id,
                        wait_secs = wait.as_secs(),
                        reserve = self.lock_budget().map(|b| self.reserve_for(b.total)),
                        "session start budget exhausted down to the reserve: waiting for the reset \
                         instead of risking a token reset"
                    );
                    sleep_until(resets_at).await;
                }
            }
        }
        debug!(shard_id, bucket = index, "identify permit granted");
        let window = self.inner.window;
        IdentifyPermit::new(move || {
            // The Identify (if sent) has arrived by now: the window counts from here.
            let mut guard = guard;
            *guard = Some(Instant::now() + window);
        })
    }
}

impl IdentifyQueue for LocalIdentifyQueue {
    fn acquire(&self, shard_id: u32) -> AcquireFuture<'_> {
        Box::pin(async move { Ok(self.acquire_local(shard_id).await) })
    }
}

impl fmt::Debug for LocalIdentifyQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalIdentifyQueue")
            .field("max_concurrency", &self.inner.buckets.len())
            .field("window", &self.inner.window)
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex as StdMutex;

    /// Seconds since `start`, rounded down.
    fn secs(start: Instant) -> u64 {
        start.elapsed().as_secs()
    }

    /// A budget with one identify bucket.
    fn limit(total: u32, remaining: u32, reset_secs: u64) -> SessionStartLimit {
        SessionStartLimit {
            total,
            remaining,
            reset_after: Duration::from_secs(reset_secs),
            max_concurrency: 1,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_identify_per_bucket_per_window() {
        const CASES: &[(&str, u32, u32, u64)] = &[
            // name, max_concurrency, second shard, expected wait of the second grant (s)
            ("same bucket waits a window", 1, 1, 5),
            ("same bucket with k=2 waits", 2, 2, 5),
            ("other bucket goes at once", 2, 1, 0),
            ("shard 16 shares bucket 0 of 16", 16, 16, 5),
        ];
        for &(name, k, second, want) in CASES {
            let queue = LocalIdentifyQueue::new(k);
            let start = Instant::now();
            drop(queue.acquire(0).await.expect("local queue never fails"));
            assert_eq!(secs(start), 0, "case {name}: first grant is immediate");
            drop(
                queue
                    .acquire(second)
                    .await
                    .expect("local queue never fails"),
            );
            assert_eq!(secs(start), want, "case {name}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn grants_in_request_order_one_window_apart() {
        let queue = LocalIdentifyQueue::new(1);
        let log = Arc::new(StdMutex::new(Vec::new()));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for shard in [3_u32, 1, 2, 0] {
            let (queue, log) = (queue.clone(), Arc::clone(&log));
            tasks.push(tokio::spawn(async move {
                let permit = queue.acquire(shard).await;
                log.lock().expect("test lock").push((shard, secs(start)));
                drop(permit);
            }));
            tokio::task::yield_now().await; // let it join the queue before the next asks
        }
        for task in tasks {
            task.await.expect("task");
        }
        let got = log.lock().expect("test lock").clone();
        assert_eq!(got, vec![(3, 0), (1, 5), (2, 10), (0, 15)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_permit_blocks_its_bucket_past_the_window() {
        let queue = LocalIdentifyQueue::new(1);
        let start = Instant::now();
        let permit = queue.acquire(0).await.expect("grant");
        let waiter = {
            let queue = queue.clone();
            tokio::spawn(async move {
                let _permit = queue.acquire(0).await;
                secs(start)
            })
        };
        tokio::time::sleep(Duration::from_secs(8)).await; // READY is slow
        drop(permit);
        assert_eq!(
            waiter.await.expect("task"),
            13,
            "a window after the release"
        );
    }

    /// The startup-bench bug: grants a window apart, but the first Identify reaches the server
    /// late, so the second arrived less than a window after it and Discord answered op 9.
    #[tokio::test(start_paused = true)]
    async fn identifies_arrive_a_window_apart_even_when_one_is_sent_late() {
        const WINDOW: Duration = Duration::from_millis(500);
        const CASES: &[(&str, u64)] = &[
            // name, how late the first Identify is sent after its grant (ms); READY 10 ms later
            ("prompt", 0),
            ("late by half a window", 250),
            ("late by almost a window", 490),
            ("late by more than a window", 700),
        ];
        for &(name, late_ms) in CASES {
            let queue = LocalIdentifyQueue::builder().window(WINDOW).build();
            let first = queue.acquire(0).await.expect("grant");
            let second = {
                let queue = queue.clone();
                tokio::spawn(async move {
                    let permit = queue.acquire(0).await;
                    (Instant::now(), permit) // sent at once, arrives at once (loopback)
                })
            };
            tokio::time::sleep(Duration::from_millis(late_ms)).await;
            let first_arrival = Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await; // READY
            drop(first);
            let (second_arrival, _permit) = second.await.expect("task");
            let gap = second_arrival.duration_since(first_arrival);
            assert!(
                gap >= WINDOW,
                "case {name}: identifies arrived {gap:?} apart, less than the {WINDOW:?} window"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_reset_instead_of_spending_the_reserve() {
        let queue = LocalIdentifyQueue::builder()
            .session_start_limit(limit(100, 3, 600))
            .window(Duration::from_secs(1))
            .build();
        let start = Instant::now();
        // reserve = max(100 / 100, 1) = 1: two grants, then the third waits for the reset.
        drop(queue.acquire(0).await.expect("grant"));
        drop(queue.acquire(0).await.expect("grant"));
        assert_eq!((secs(start), queue.remaining()), (1, Some(1)));
        drop(queue.acquire(0).await.expect("grant"));
        assert_eq!(secs(start), 600, "waited for the budget reset");
        assert_eq!(
            queue.remaining(),
            Some(99),
            "budget refilled then spent one"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_explicit_reserve_is_kept() {
        let queue = LocalIdentifyQueue::builder()
            .session_start_limit(limit(1000, 10, 60))
            .reserve(10)
            .build();
        let start = Instant::now();
        drop(queue.acquire(0).await.expect("grant"));
        assert_eq!(secs(start), 60, "remaining == reserve: wait for the reset");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_acquire_leaks_nothing() {
        let queue = LocalIdentifyQueue::new(1);
        let start = Instant::now();
        let held = queue.acquire(0).await.expect("grant");
        // Waiting on the lock, then cancelled.
        let cancelled = tokio::time::timeout(Duration::from_secs(1), queue.acquire(0)).await;
        assert!(cancelled.is_err(), "still waiting when cancelled");
        drop(held); // at 1 s: the bucket's next grant is at 6 s
        // Sleeping until the window ends, then cancelled.
        let cancelled = tokio::time::timeout(Duration::from_secs(2), queue.acquire(0)).await;
        assert!(cancelled.is_err(), "still sleeping when cancelled");
        // The bucket is free and its slot unchanged: the next grant lands at 6 s, not later.
        drop(queue.acquire(0).await.expect("grant"));
        assert_eq!(secs(start), 6);
    }

    #[test]
    fn the_queue_is_object_safe_and_shareable() {
        let queue: Arc<dyn IdentifyQueue> = Arc::new(LocalIdentifyQueue::new(4));
        assert!(format!("{queue:?}").contains("max_concurrency: 4"));
    }
}
