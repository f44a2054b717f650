//! Send-rate measurement with a trivial drain client (ignored by default; run with
//! `cargo test --release -p discordgateway-emulator --test speed -- --ignored --nocapture`).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::{Duration, Instant};

use common::{Client, start};
use discordgateway_emulator::{EmulatorConfig, workload::WorkloadConfig};

/// Events per measured run.
const EVENTS: u64 = 1_000_000;

/// Drains `EVENTS` generated dispatches over `compress`; returns (client-side events/s,
/// emulator-reported events/s).
async fn measure(compress: &str) -> (f64, f64) {
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
    c.identify("t", 1 | 512 | (1 << 15), None).await;
    let warmup = 1 + 4; // READY + GUILD_CREATEs
    for _ in 0..warmup {
        c.recv_raw().await.unwrap();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while n < EVENTS {
        let m = c.recv_raw().await.unwrap();
        assert!(!m.is_close());
        n += 1;
    }
    let client_rate = n as f64 / start.elapsed().as_secs_f64();
    (client_rate, handle.stats().send_rate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn send_rate() {
    for (name, compress) in [
        ("plain", ""),
        ("zstd-stream", "&compress=zstd-stream"),
        ("zlib-stream", "&compress=zlib-stream"),
    ] {
        let (client, server) = measure(compress).await;
        println!("{name}: drained {client:.0} events/s; emulator reports {server:.0} events/s");
    }
}
