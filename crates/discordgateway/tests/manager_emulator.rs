//! The shard manager against the emulator over loopback, in tokio's paused time: bucket-ordered
//! startup, restart of one shard, shutdown then resume, and resharding under a tagged workload.

mod manager_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use discordgateway::{FileSessionStore, Notice};
use discordgateway_emulator::IdentifyOutcome;
use manager_common::*;

#[tokio::test(start_paused = true)]
async fn sixteen_shards_start_bucket_by_bucket_without_violations() {
    let emulator = emulator(4, 16).await;
    let mut manager = builder(&emulator, 16, 4).start().await.expect("start");
    until_all_ready(&mut manager).await;

    assert_eq!(
        emulator.violations().identify_concurrency,
        0,
        "no identify violations"
    );
    let log = emulator.identify_log();
    assert_eq!(log.len(), 16, "one identify per shard: {log:?}");
    assert!(
        log.iter().all(|r| r.outcome == IdentifyOutcome::Accepted),
        "{log:?}"
    );
    // Within each bucket: shard order, one window apart at least.
    let mut by_bucket: BTreeMap<u32, Vec<_>> = BTreeMap::new();
    for record in &log {
        by_bucket
            .entry(record.shard[0] % 4)
            .or_default()
            .push(*record);
    }
    for (bucket, records) in by_bucket {
        let order: Vec<u32> = records.iter().map(|r| r.shard[0]).collect();
        let want: Vec<u32> = (0..4).map(|k| bucket + 4 * k).collect();
        assert_eq!(order, want, "bucket {bucket} identifies in shard order");
        for pair in records.windows(2) {
            assert!(
                pair[1].at.duration_since(pair[0].at) >= WINDOW,
                "bucket {bucket}: identifies at least one window apart"
            );
        }
    }
    // Round k (shards 4k..4k+4) never starts before round k-1.
    let first_at = log.iter().map(|r| r.at).min().expect("log");
    for record in &log {
        let round = record.shard[0] / 4;
        assert!(
            record.at.duration_since(first_at) >= WINDOW * round,
            "shard {} is in round {round}",
            record.shard[0]
        );
    }
    assert_eq!(manager.status().ready(), 16);
}

#[tokio::test(start_paused = true)]
async fn restarting_one_shard_resumes_it_and_leaves_the_others() {
    let emulator = emulator(2, 4).await;
    let mut manager = builder(&emulator, 4, 2).start().await.expect("start");
    until_all_ready(&mut manager).await;
    let before = emulator.stats();

    manager.restart(2).expect("restart shard 2");
    let shard = until_notice(&mut manager, |_, n| matches!(n, Notice::Resumed { .. })).await;
    assert_eq!(shard, 2, "the restarted shard resumed");
    let after = emulator.stats();
    assert_eq!(after.identifies, before.identifies, "no new identify");
    assert_eq!(after.resumes, before.resumes + 1, "exactly one resume");
    let status = manager.status();
    assert_eq!(status.shards[2].stats.resumes, 1, "{status:?}");
    assert!(
        status
            .shards
            .iter()
            .filter(|s| s.id.number() != 2)
            .all(|s| s.stats.resumes == 0),
        "other shards untouched: {status:?}"
    );
    until_all_ready(&mut manager).await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_then_start_resumes_every_shard() {
    let emulator = emulator(2, 8).await;
    let dir = std::env::temp_dir().join(format!("dg-manager-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = Arc::new(FileSessionStore::new(dir.join("sessions.json")));

    let mut manager = builder(&emulator, 4, 2)
        .session_store(store.clone())
        .start()
        .await
        .expect("first start");
    until_all_ready(&mut manager).await;
    let saved = manager.shutdown().await.expect("shutdown");
    assert_eq!(saved, 4, "every shard's session saved");
    let identifies = emulator.stats().identifies;
    assert_eq!(identifies, 4);

    let mut manager = builder(&emulator, 4, 2)
        .session_store(store)
        .start()
        .await
        .expect("second start");
    until_all_ready(&mut manager).await;
    let status = manager.status();
    assert!(
        status
            .shards
            .iter()
            .all(|s| s.stats.resumes == 1 && s.stats.identifies == 0),
        "every shard resumed, none identified: {status:?}"
    );
    let stats = emulator.stats();
    assert_eq!(
        stats.identifies, identifies,
        "the emulator counts no new identify"
    );
    assert_eq!(stats.resumes, 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(start_paused = true)]
async fn resharding_four_to_eight_delivers_every_tag_exactly_once() {
    const TAGS: u64 = 600;
    let emulator = emulator(4, 16).await;
    let mut manager = builder(&emulator, 4, 4).start().await.expect("start");
    until_all_ready(&mut manager).await;

    // A continuous workload: one tagged MESSAGE_CREATE every 10 ms, spread over 16 guilds.
    let producer = {
        let emulator = emulator.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            for tag in 0..TAGS {
                tick.tick().await;
                dispatch_tag(&emulator, tag, 16);
            }
        })
    };
    let mut counts = vec![0u32; TAGS as usize];
    let mut resharded = false;
    let mut received = 0u64;
    let consume = async {
        while received < TAGS || !producer.is_finished() {
            let ev = next_ok(&mut manager).await;
            if let Some(tag) = tag_of(&ev) {
                counts[tag as usize] += 1;
                received += 1;
                if received == 50 && !resharded {
                    manager.reshard(8).expect("reshard");
                    resharded = true;
                }
            }
        }
        // Let any late duplicate show itself.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(ev)) = manager.next_event().await {
                if let Some(tag) = tag_of(&ev) {
                    counts[tag as usize] += 1;
                }
            }
        })
        .await;
    };
    tokio::time::timeout(Duration::from_secs(300), consume)
        .await
        .expect("workload consumed in time");
    assert_each_once(&counts);
    // The overlap was real: both sets received part of the workload and the copies were
    // dropped (the emulator routes each dispatch to every session of its guild, old and new).
    assert!(
        manager.duplicates_dropped() > 0,
        "the overlap delivered duplicates to drop"
    );
    let status = manager.status();
    assert_eq!(status.total, 8, "switched to the new set");
    assert_eq!(status.resharding_to, None);
    assert!(status.all_ready(), "{status:?}");
}
