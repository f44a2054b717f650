//! `stop(n)` stops exactly one shard: its connection closes (resumably), its task ends, the
//! other shards keep running and delivering; `restart(n)` then brings it back by resuming.

mod manager_common;

use std::time::Duration;

use discordgateway::{CloseKind, Notice};
use manager_common::*;

#[tokio::test(start_paused = true)]
async fn stop_stops_exactly_one_shard_and_restart_resumes_it() {
    let emulator = emulator(2, 8).await;
    let mut manager = builder(&emulator, 4, 2).start().await.expect("start");
    until_all_ready(&mut manager).await;

    let session = manager
        .stop(2, CloseKind::Resumable)
        .await
        .expect("shard 2 exists")
        .expect("a resumable stop returns the session");
    assert_eq!(session.shard.number(), 2);
    assert!(
        manager.stop(9, CloseKind::Resumable).await.is_err(),
        "unknown shard"
    );

    let status = manager.status();
    for shard in &status.shards {
        let stopped = shard.id.number() == 2;
        assert_eq!(shard.running, !stopped, "{status:?}");
        assert_eq!(shard.is_ready(), !stopped, "{status:?}");
    }
    // The emulator notices the close when it reads it.
    let connected = || -> Vec<(u32, bool)> {
        let mut v: Vec<_> = emulator
            .sessions()
            .iter()
            .map(|s| (s.shard[0], s.connected))
            .collect();
        v.sort_unstable();
        v
    };
    let closed = async {
        while connected().iter().any(|&(n, live)| n == 2 && live) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .expect("shard 2's connection closed");
    let connected = connected();
    assert_eq!(
        connected.len(),
        4,
        "shard 2's session stays resumable: {connected:?}"
    );
    for (shard, live) in connected {
        assert_eq!(live, shard != 2, "shard {shard} connected");
    }

    // Tag t goes to guild t % 8, hence shard t % 4: shard 2 gets nothing, the others deliver.
    for tag in 0..8 {
        let got = dispatch_tag(&emulator, tag, 8);
        assert_eq!(got, usize::from(tag % 4 != 2), "tag {tag}");
    }
    let mut from = Vec::new();
    let consume = async {
        while from.len() < 6 {
            let ev = next_ok(&mut manager).await;
            if tag_of(&ev).is_some() {
                from.push(ev.shard.number());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), consume)
        .await
        .expect("the other shards deliver");
    from.sort_unstable();
    assert_eq!(from, [0, 0, 1, 1, 3, 3]);

    let before = emulator.stats();
    manager.restart(2).expect("restart the stopped shard");
    let shard = until_notice(&mut manager, |_, n| matches!(n, Notice::Resumed { .. })).await;
    assert_eq!(shard, 2);
    let after = emulator.stats();
    assert_eq!(after.identifies, before.identifies, "no new identify");
    assert_eq!(after.resumes, before.resumes + 1);
    until_all_ready(&mut manager).await;
}
