//! A slow consumer: the application stops reading the merged stream for ten heartbeat
//! intervals while every shard keeps receiving dispatches. The merged channel fills, so the
//! shard tasks wait on it, yet they keep polling their shards (per-shard buffer, `task.rs`):
//! every shard keeps heartbeating (the emulator closes silent connections and counts it), none
//! reconnects, and every dispatch arrives exactly once when the consumer reads again.

mod manager_common;

use std::time::Duration;

use discordgateway_emulator::EmulatorConfig;
use discordgateway_emulator::workload::{Mix, WorkloadConfig};
use manager_common::*;

/// The emulator's heartbeat interval (it closes a connection silent for 1.5 × this).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Tagged dispatches injected while the consumer sleeps.
const TAGS: u64 = 160;
/// Capacity of the merged channel: far below `TAGS`, so back-pressure reaches the shards.
const CAPACITY: usize = 16;

#[tokio::test(start_paused = true)]
async fn shards_keep_heartbeating_while_the_consumer_stalls_and_nothing_is_lost() {
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
    let mut manager = builder(&emulator, 4, 4)
        .event_capacity(CAPACITY)
        .start()
        .await
        .expect("start");
    until_all_ready(&mut manager).await;

    // The consumer stalls for 10 heartbeat intervals; 40 dispatches per shard arrive meanwhile.
    let producer = {
        let emulator = emulator.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            for tag in 0..TAGS {
                tick.tick().await;
                assert_eq!(
                    dispatch_tag(&emulator, tag, 8),
                    1,
                    "tag {tag} sent to its shard"
                );
            }
        })
    };
    tokio::time::sleep(HEARTBEAT * 10).await;
    assert!(
        producer.is_finished(),
        "the whole workload was sent during the stall"
    );
    producer.await.expect("producer");

    let mut counts = vec![0u32; TAGS as usize];
    let consume = async {
        let mut received = 0;
        while received < TAGS {
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
