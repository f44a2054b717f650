//! Send-rate measurement with a trivial drain client (ignored by default; run with
//! `cargo test --release -p discordgateway-emulator --test speed -- --ignored --nocapture`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use common::{Client, start};
use discordgateway_emulator::{EmulatorConfig, workload::WorkloadConfig};

/// Events per measured run.
const EVENTS: u64 = 1_000_000;

/// Drains `EVENTS` generated dispatches (the real workload: default `EmulatorConfig`, 4
/// guilds, default mix) over `compress`; returns (client-side events/s, emulator-reported
/// events/s, mean frame bytes on the wire).
async fn measure(compress: &str) -> (f64, f64, f64) {
    let base = EmulatorConfig::default();
    let handle = start(EmulatorConfig {
        workload: WorkloadConfig {
            events_per_shard: Some(EVENTS),
            ..base.workload.clone()
        },
        heartbeat_interval: Duration::from_secs(3600),
        ..base
    })
    .await;
    let mut c = Client::connect(&handle, &format!("/?v=10&encoding=json{compress}")).await;
    c.recv_raw().await.unwrap(); // Hello
    // Every intent, so no generated event is filtered out.
    c.identify("t", 53_608_447, None).await;
    let warmup = 1 + 4; // READY + GUILD_CREATEs
    for _ in 0..warmup {
        c.recv_raw().await.unwrap();
    }
    let start = Instant::now();
    let mut n = 0u64;
    let mut bytes = 0usize;
    while n < EVENTS {
        let m = c.recv_raw().await.unwrap();
        assert!(!m.is_close());
        bytes += m.as_payload().len();
        n += 1;
    }
    let client_rate = n as f64 / start.elapsed().as_secs_f64();
    (
        client_rate,
        handle.stats().send_rate,
        bytes as f64 / n as f64,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn send_rate() {
    for (name, compress) in [
        ("plain", ""),
        ("zstd-stream", "&compress=zstd-stream"),
        ("zlib-stream", "&compress=zlib-stream"),
    ] {
        let (client, server, size) = measure(compress).await;
        println!(
            "{name}: drained {client:.0} events/s; emulator reports {server:.0} events/s; \
             {size:.0} bytes per frame"
        );
    }
}
