//! Outage behaviour (issue 8 point 3) against the emulator, in paused time: every shard's
//! connection is cut while the emulator refuses every new connection for 30 s. Reconnect
//! attempts must follow the backoff (exponential with full jitter, 1 s base, 60 s cap: a
//! handful per shard, never a storm), and when the gateway returns every shard must be back
//! with one Resume or one Identify — none is left stuck connecting. (GATEWAY.md §3.6: a
//! transport-level failure to reach the resume URL falls back to Identify, so after a refused
//! connect the shards identify; the test accepts either and reports which.)

mod support;

use std::sync::Arc;
use std::time::Duration;

use discordgateway::proto::config::ReconnectPolicy;
use discordgateway::{Event, IdentifyQueue, LocalIdentifyQueue, Notice, Shard};
use discordgateway_emulator::{EmulatorConfig, Fault};
use support::emu::{self, Knobs};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

const SHARDS: u32 = 4;
const OUTAGE: Duration = Duration::from_secs(30);

/// Upper bound on refused attempts per shard during the outage. With full jitter the n-th
/// retry waits up to `min(60 s, 2^(n-1) s)`, so reaching 30 s takes about six attempts on
/// average; 12 leaves room for unlucky (short) draws. A storm would be hundreds.
const MAX_ATTEMPTS_PER_SHARD: u64 = 12;

/// Runs one shard, reporting `(shard, notice)` for READY and RESUMED.
async fn drive(mut shard: Shard, n: u32, tx: mpsc::UnboundedSender<(u32, &'static str)>) {
    while let Ok(event) = shard.next_event().await {
        let what = match event {
            Event::Notice(Notice::Ready { .. }) => "ready",
            Event::Notice(Notice::Resumed { .. }) => "resumed",
            _ => continue,
        };
        if tx.send((n, what)).is_err() {
            return;
        }
    }
}

/// Waits until every shard reported READY or RESUMED; returns when the last did, with how
/// many resumed.
async fn all(rx: &mut mpsc::UnboundedReceiver<(u32, &'static str)>) -> (Instant, usize) {
    let mut done = std::collections::BTreeMap::new();
    while done.len() < SHARDS as usize {
        let (n, what) = rx.recv().await.expect("shard tasks run");
        done.insert(n, what);
    }
    let resumed = done.values().filter(|w| **w == "resumed").count();
    (Instant::now(), resumed)
}

#[tokio::test(start_paused = true)]
async fn a_30_s_outage_is_retried_on_the_backoff_and_every_shard_resumes() {
    let emu = emu::start(EmulatorConfig {
        shards: SHARDS,
        max_concurrency: SHARDS,
        ..EmulatorConfig::default()
    })
    .await;
    let queue: Arc<dyn IdentifyQueue> = Arc::new(
        LocalIdentifyQueue::builder()
            .max_concurrency(SHARDS)
            .build(),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    for n in 0..SHARDS {
        let knobs = Knobs {
            reconnect: ReconnectPolicy::default(),
            queue: Some(Arc::clone(&queue)),
            ..Knobs::default()
        };
        let core = emu::core_config(&emu, &knobs);
        let core = discordgateway::proto::config::Config::builder(core.token().clone())
            .shard(discordgateway::ShardId::new(n, SHARDS).expect("shard id"))
            .default_url(core.default_url().clone())
            .build()
            .expect("core config");
        let config = discordgateway::ShardConfig::builder(core)
            .seed(u64::from(n) + 1)
            .identify_queue(Arc::clone(&queue))
            .build()
            .expect("shard config");
        tokio::spawn(drive(Shard::new(config), n, tx.clone()));
    }
    timeout(Duration::from_secs(120), all(&mut rx))
        .await
        .expect("every shard is ready");

    let outage_start = Instant::now();
    emu.refuse_connections(OUTAGE);
    for n in 0..SHARDS {
        assert_eq!(emu.inject_fault(n, Fault::Drop), 1, "shard {n} is cut");
    }
    let (back, resumed) = timeout(Duration::from_secs(300), all(&mut rx))
        .await
        .expect("no shard is left stuck: every one resumes or re-identifies after the outage");
    let refused = emu.stats().refused_connections;
    eprintln!(
        "outage: {refused} refused attempts over {SHARDS} shards in {} s; all back after \
         {:.1} s ({resumed} resumed, {} identified)",
        OUTAGE.as_secs(),
        back.duration_since(outage_start).as_secs_f64(),
        SHARDS as usize - resumed,
    );
    assert!(
        back.duration_since(outage_start) >= OUTAGE,
        "nobody got through during the outage"
    );
    assert!(
        refused >= u64::from(SHARDS),
        "each shard retried during the outage ({refused})"
    );
    assert!(
        refused <= MAX_ATTEMPTS_PER_SHARD * u64::from(SHARDS),
        "attempts follow the backoff, no storm: {refused} refused"
    );
    // The first SHARDS identifies started the sessions (paused time: at the same instant).
    let identifies_after = emu.identify_log().len() - SHARDS as usize;
    assert_eq!(
        identifies_after + resumed,
        SHARDS as usize,
        "one Identify or one Resume per shard after the outage, no loop"
    );
    assert_eq!(emu.violations().identify_concurrency, 0);
}
