//! The aggregate "all ready" cannot latch: a shard that loses its session during startup makes
//! it false until that shard is READY again, even after as many READYs as shards were seen.
//! And the status leads the stream: [`StatusWatch::wait_all_ready`] completes with nobody
//! consuming, and every READY notice is still delivered afterwards.

mod manager_common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use discordgateway::{
    AcquireFuture, Event, IdentifyQueue, LocalIdentifyQueue, Notice, Phase, ShardEvent,
};
use discordgateway_emulator::Fault;
use manager_common::*;
use tokio::sync::Semaphore;

/// A queue that holds shard `shard`'s second Identify until the test adds a permit to `gate`.
#[derive(Debug)]
struct HoldSecond {
    /// The real queue.
    inner: LocalIdentifyQueue,
    /// The shard held back.
    shard: u32,
    /// Its acquires so far.
    asked: AtomicU32,
    /// Opened by the test.
    gate: Arc<Semaphore>,
}

impl IdentifyQueue for HoldSecond {
    fn acquire(&self, shard_id: u32) -> AcquireFuture<'_> {
        Box::pin(async move {
            if shard_id == self.shard && self.asked.fetch_add(1, Ordering::SeqCst) >= 1 {
                self.gate.acquire().await.expect("gate open").forget();
            }
            self.inner.acquire(shard_id).await
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_shard_losing_its_session_during_startup_keeps_all_ready_false() {
    let emulator = emulator(2, 8).await;
    let gate = Arc::new(Semaphore::new(0));
    let queue = HoldSecond {
        inner: LocalIdentifyQueue::builder()
            .max_concurrency(2)
            .window(WINDOW)
            .build(),
        shard: 0,
        asked: AtomicU32::new(0),
        gate: Arc::clone(&gate),
    };
    let mut manager = builder(&emulator, 4, 2)
        .identify_queue(Arc::new(queue), 2)
        .start()
        .await
        .expect("start");
    let mut watch = manager.watch();
    let waiter = tokio::spawn(async move { watch.wait_all_ready().await });

    // Shard 0 is READY in round 0; its session is invalidated before round 1 (shards 2, 3).
    let mut readies = Vec::new();
    let mut others_ready = BTreeSet::new();
    let mut shard0_lost = false;
    let startup = async {
        while !(shard0_lost && others_ready.len() == 3) {
            let ev = next_ok(&mut manager).await;
            match (&ev.event, ev.shard.number()) {
                (Event::Notice(Notice::Ready { .. }), 0) if readies.is_empty() => {
                    emulator.inject_fault(0, Fault::InvalidSession { resumable: false });
                }
                (Event::Notice(Notice::Ready { .. }), n) if n != 0 => {
                    others_ready.insert(n);
                }
                (Event::Notice(Notice::InvalidSession { .. }), 0) => shard0_lost = true,
                _ => {}
            }
            if let Event::Notice(Notice::Ready { .. }) = ev.event {
                readies.push(ev.shard.number());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), startup)
        .await
        .expect("shards 1..4 ready and shard 0 lost its session");
    // Give shard 0 all the time it wants: it cannot identify while the gate is shut.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let status = manager.status();
    assert_eq!(readies.len(), 4, "as many READYs as shards: {readies:?}");
    assert_eq!(status.ready(), 3, "{status:?}");
    assert_ne!(status.shards[0].phase, Phase::Active, "{status:?}");
    assert!(!status.all_ready(), "all_ready latched: {status:?}");
    assert!(!waiter.is_finished(), "wait_all_ready must not return yet");

    gate.add_permits(1);
    until_notice(&mut manager, |shard, n| {
        shard == 0 && matches!(n, Notice::Ready { .. })
    })
    .await;
    let seen = waiter.await.expect("waiter").expect("manager alive");
    assert!(seen.all_ready(), "{seen:?}");
    assert_eq!(seen.shards[0].stats.identifies, 2, "{seen:?}");
    assert!(manager.status().all_ready());
}

#[tokio::test(start_paused = true)]
async fn wait_all_ready_needs_no_consumer_and_the_ready_notices_still_arrive() {
    let emulator = emulator(4, 16).await;
    let mut manager = builder(&emulator, 8, 4).start().await.expect("start");
    let mut watch = manager.watch();
    let status = tokio::time::timeout(Duration::from_secs(60), watch.wait_all_ready())
        .await
        .expect("all ready without a consumer")
        .expect("manager alive");
    assert_eq!(status.ready(), 8, "{status:?}");
    // The status led the stream: every READY is still waiting for the consumer.
    let mut readies = BTreeSet::new();
    let drain = async {
        while readies.len() < 8 {
            if let ShardEvent {
                event: Event::Notice(Notice::Ready { .. }),
                shard,
            } = next_ok(&mut manager).await
            {
                readies.insert(shard.number());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .expect("every READY delivered after the status showed it");
}
