//! A slow consumer: the application stops reading the merged stream while every shard keeps
//! receiving dispatches. The merged channel fills, so the shard tasks wait on it, yet they keep
//! their shards alive (per-shard buffer, then `Shard::keepalive` once it is full, `task.rs`):
//! every shard keeps heartbeating (the emulator closes silent connections and counts it), none
//! reconnects, and every dispatch arrives exactly once when the consumer reads again.

mod manager_common;

use std::time::Duration;

use discordgateway_emulator::EmulatorConfig;
use discordgateway_emulator::workload::{Mix, WorkloadConfig};
use manager_common::*;

/// The emulator's heartbeat interval (it closes a connection silent for 1.5 × this).
const HEARTBEAT: Duration = Duration::from_secs(1);
#[tokio::test(start_paused = true)]
async fn shards_keep_heartbeating_while_the_consumer_stalls_and_nothing_is_lost() {
    // 160 dispatches (40 per shard) over 10 heartbeat intervals into a merged channel of 16
    // and the default per-shard buffer of 64: the buffers absorb the stall.
    stall(16, None, 160, Duration::from_millis(50)).await;
}

#[tokio::test(start_paused = true)]
async fn shards_keep_heartbeating_through_a_stall_longer_than_every_buffer() {
    // 400 dispatches (100 per shard) over 30 heartbeat intervals into a merged channel of 2 and
    // per-shard buffers of 2: the buffers fill within the first second, and the shards must
    // stay alive for the rest of the stall without reading (keepalive).
    stall(2, Some(2), 400, Duration::from_millis(75)).await;
}

/// Starts 4 shards, stalls the consumer while `tags` dispatches arrive one per `tick`, then
/// checks that nothing was lost or duplicated, nothing stopped heartbeating and nothing
/// reconnected.
async fn stall(capacity: usize, shard_buffer: Option<usize>, tags: u64, tick: Duration) {
    let emulator = emulator_with(EmulatorConfig {
        max_concurrency: 4,
        heartbeat_interval: HEARTBEAT,
        workload: WorkloadConfig {
            guilds: 8,
            // Only MESSAGE_CREATE, so every generated dispatch is one the tests declare.
            mix: Mix {
                message_create: 1.0,
                ..Mix::none()
            },
            ..EmulatorConfig::default().workload
        },
        ..EmulatorConfig::default()
    })
    .await;
    let mut manager = builder(&emulator, 4, 4).event_capacity(capacity);
    if let Some(n) = shard_buffer {
        manager = manager.shard_buffer(n);
    }
    let mut manager = manager.start().await.expect("start");
    until_all_ready(&mut manager).await;

    // The consumer stalls while the dispatches arrive (and a little longer).
    let producer = {
        let emulator = emulator.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(tick);
            for tag in 0..tags {
                tick.tick().await;
                assert_eq!(
                    dispatch_tag(&emulator, tag, 8),
                    1,
                    "tag {tag} sent to its shard"
                );
            }
        })
    };
    tokio::time::sleep(tick * u32::try_from(tags).expect("few tags") + HEARTBEAT).await;
    assert!(
        producer.is_finished(),
        "the whole workload was sent during the stall"
    );
    producer.await.expect("producer");

    let mut counts = vec![0u32; usize::try_from(tags).expect("few tags")];
    let consume = async {
        let mut received = 0;
        while received < tags {
            if let Some(tag) = tag_of(&next_ok(&mut manager).await) {
                counts[tag as usize] += 1;
                received += 1;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), consume)
        .await
        .expect("every dispatch delivered after the stall");
    assert_each_once(&counts);

    let stats = emulator.stats();
    assert_eq!(
        stats.violations.heartbeat_timeout, 0,
        "no shard stopped heartbeating"
    );
    assert_eq!((stats.identifies, stats.resumes), (4, 0), "no reconnect");
    let status = manager.status();
    assert!(
        status.shards.iter().all(|s| s.stats.reconnects == 0),
        "no shard reconnected: {status:?}"
    );
    assert!(status.all_ready(), "{status:?}");
}
