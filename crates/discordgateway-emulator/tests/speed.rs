//! Send-rate measurement with a trivial drain client (ignored by default; run with
//! `cargo test --release -p discordgateway-emulator --test speed -- --ignored --nocapture`;
//! `EMU_SPEED_EVENTS=N` sets the events per session, `EMU_SPEED_ONLY=plain|zstd-stream|zlib-stream`
//! measures one transport, `EMU_SPEED_WARM=N` the warm sessions after the cold one, 3 by default,
//! `EMU_SPEED_SENDFILE=0` keeps pre-built frames in memory instead of a memory file).
//!
//! The client runs on its own OS thread (a current-thread runtime) that ends with its
//! session, so the CPU time of the threads still alive (`/proc/self/task/*/schedstat`,
//! nanoseconds) over a session is the emulator's own CPU time per event, which says how many
//! events one emulator core can produce whatever the machine's load; the client's thread is
//! read from `/proc/thread-self/schedstat`. Each compression is measured twice on one emulator:
//! a cold first session, then fresh sessions on the same shard (the same stream, served
//! from the stream cache and its pre-built frames).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod common;

use std::time::Instant;

use common::{Client, start};
use discordgateway_emulator::{EmulatorConfig, EmulatorHandle, workload::WorkloadConfig};

/// Events per measured session (`EMU_SPEED_EVENTS` overrides).
fn events() -> u64 {
    std::env::var("EMU_SPEED_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// CPU seconds (user + system) of one thread (`/proc/thread-self`) or of the whole process
/// (`/proc/self`, summed over its threads), from `schedstat` (nanoseconds on CPU).
fn cpu_secs(path: &str) -> f64 {
    let read = |p: std::path::PathBuf| -> u64 {
        let stat = std::fs::read_to_string(p).unwrap();
        stat.split_whitespace().next().unwrap().parse().unwrap()
    };
    let ns = if path.ends_with("thread-self") {
        read(std::path::Path::new(path).join("schedstat"))
    } else {
        std::fs::read_dir(std::path::Path::new(path).join("task"))
            .unwrap()
            .map(|t| read(t.unwrap().path().join("schedstat")))
            .sum()
    };
    ns as f64 / 1e9
}

/// One drained session: client-side events/s, mean frame bytes, the client thread's CPU
/// seconds and the wall time of the measured span.
struct Drained {
    rate: f64,
    frame: f64,
    client_cpu: f64,
    wall: f64,
}

/// Connects to the emulator with `query`, identifies with every intent, skips READY and the GUILD_CREATEs, then
/// drains `events` dispatches on a dedicated thread.
fn drain(handle: EmulatorHandle, query: String, events: u64) -> Drained {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut c = Client::connect(&handle, &query).await;
            c.recv_raw().await.unwrap(); // Hello
            // Every intent, so no generated event is filtered out.
            c.identify("t", 53_608_447, None).await;
            for _ in 0..1 + 4 {
                c.recv_raw().await.unwrap(); // READY + GUILD_CREATEs
            }
            let cpu0 = cpu_secs("/proc/thread-self");
            let start = Instant::now();
            let (mut n, mut bytes) = (0u64, 0usize);
            while n < events {
                let m = c.recv_raw().await.unwrap();
                assert!(!m.is_close());
                bytes += m.as_payload().len();
                n += 1;
            }
            let wall = start.elapsed().as_secs_f64();
            Drained {
                rate: n as f64 / wall,
                frame: bytes as f64 / n as f64,
                client_cpu: cpu_secs("/proc/thread-self") - cpu0,
                wall,
            }
        })
    })
    .join()
    .unwrap()
}

/// Measures two successive fresh sessions over `compress` on one emulator (the real
/// workload: default `EmulatorConfig`, 4 guilds, default mix).
async fn measure(name: &str, compress: &str) {
    // `quiet`: one-hour heartbeats, and no identify window, so the second session is not
    // refused with op 9.
    let base = common::quiet();
    let handle = start(EmulatorConfig {
        workload: WorkloadConfig {
            events_per_shard: Some(events()),
            ..base.workload.clone()
        },
        // Room for the whole stream (about 1.5 KB per event), so the warm session is served
        // from the cache.
        stream_cache_bytes: usize::try_from(events()).unwrap_or(usize::MAX) * 4096,
        send_files: std::env::var("EMU_SPEED_SENDFILE").map_or(true, |v| v != "0"),
        ..base
    })
    .await;
    let query = format!("/?v=10&encoding=json{compress}");
    let warm: usize = std::env::var("EMU_SPEED_WARM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let runs = std::iter::once("cold".to_owned()).chain((1..=warm).map(|i| format!("warm {i}")));
    for run in runs {
        let cpu0 = cpu_secs("/proc/self");
        let (h, q) = (handle.clone(), query.clone());
        let d = tokio::task::spawn_blocking(move || drain(h, q, events()))
            .await
            .unwrap();
        // The CPU of the threads alive now over the session (connect and warm-up included, a
        // few ms): the client's thread has ended, so this is the emulator's (and the idle
        // blocking thread that waited for the client).
        let emulator_cpu = (cpu_secs("/proc/self") - cpu0).max(1e-9);
        println!(
            "{name} {run}: drained {:.0} events/s ({:.2} s); emulator reports {:.0} events/s; \
             {:.0} bytes per frame; emulator {:.2} us CPU per event = {:.2} M events/s per \
             emulator core; client {:.2} us CPU per event",
            d.rate,
            d.wall,
            handle.stats().send_rate,
            d.frame,
            emulator_cpu * 1e6 / events() as f64,
            events() as f64 / emulator_cpu / 1e6,
            d.client_cpu * 1e6 / events() as f64,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run in release with --ignored --nocapture"]
async fn send_rate() {
    for (name, compress) in [
        ("plain", ""),
        ("zstd-stream", "&compress=zstd-stream"),
        ("zlib-stream", "&compress=zlib-stream"),
    ] {
        let only = std::env::var("EMU_SPEED_ONLY").ok();
        if only.is_some_and(|o| o != name) {
            continue;
        }
        measure(name, compress).await;
    }
}
