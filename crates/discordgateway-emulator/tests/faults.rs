//! The faults a plain WebSocket client sees: RepeatSeq, Garbage, Oversized, HalfOpen, and a
//! client that stops reading while the server writes (the server keeps reading it).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Client, Inflater, quiet, sized, start};
use discordgateway_emulator::{EmulatorConfig, Fault, workload::WorkloadConfig};
use serde_json::{Value, json};
use tokio::time::Instant;

#[tokio::test]
async fn repeat_seq_sends_the_last_dispatch_again() {
    let handle = start(sized(0, 2)).await;
    let (mut c, _) = Client::ready(&handle, 0, None).await;
    handle.dispatch("INTERACTION_CREATE", &json!({"n": 1}), Some(0));
    let first = c.recv().await;
    assert_eq!(first["s"], 2);
    handle.inject_fault(0, Fault::RepeatSeq);
    assert_eq!(c.recv().await, first, "the same frame, same seq");
    handle.dispatch("INTERACTION_CREATE", &json!({"n": 2}), Some(0));
    assert_eq!(
        c.recv().await["s"],
        3,
        "the sequence goes on after the duplicate"
    );
}

#[tokio::test]
async fn garbage_is_one_frame_the_client_cannot_decode() {
    const CASES: &[(&str, Option<&str>, bool)] = &[
        ("plain", None, false),
        ("zlib-stream", Some("zlib-stream"), true),
        ("zstd-stream", Some("zstd-stream"), true),
    ];
    let handle = start(quiet()).await;
    for (name, compress, binary) in CASES {
        let query = match compress {
            Some(c) => format!("/?v=10&encoding=json&compress={c}"),
            None => "/?v=10&encoding=json".to_owned(),
        };
        let mut c = Client::connect(&handle, &query).await;
        let mut inflater = Inflater::for_query(*compress);
        let hello = c.recv_raw().await.unwrap();
        assert_eq!(
            inflater.payload(hello.as_payload())["op"],
            10,
            "case {name}"
        );
        // Identify so the fault targets this connection's shard.
        c.identify("t", 0, None).await;
        let ready = c.recv_raw().await.unwrap();
        assert_eq!(
            inflater.payload(ready.as_payload())["t"],
            "READY",
            "case {name}"
        );
        assert_eq!(handle.inject_fault(0, Fault::Garbage), 1, "case {name}");
        let garbage = c.recv_raw().await.unwrap();
        assert_eq!(garbage.is_binary(), *binary, "case {name}");
        let decoded = inflater
            .bytes(garbage.as_payload())
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok());
        assert_eq!(decoded, None, "case {name}: the frame does not decode");
        drop(c);
    }
}

#[tokio::test]
async fn oversized_sends_one_frame_of_about_the_given_size() {
    const BYTES: usize = 2 * 1024 * 1024;
    let handle = start(sized(0, 2)).await;
    let (mut c, _) = Client::ready(&handle, 0, None).await;
    handle.inject_fault(0, Fault::Oversized { bytes: BYTES });
    let big = c.recv_raw().await.unwrap();
    let len = big.as_payload().len();
    assert!(
        len.abs_diff(BYTES) < 64,
        "frame of {len} bytes, asked {BYTES}"
    );
    let v: Value = serde_json::from_slice(big.as_payload()).unwrap();
    assert_eq!(v["op"], 11);
}

#[tokio::test(start_paused = true)]
async fn half_open_stops_reading_but_keeps_writing() {
    let handle = start(sized(0, 2)).await;
    let (mut c, _) = Client::ready(&handle, 0, None).await;
    handle.inject_fault(
        0,
        Fault::HalfOpen {
            duration_ms: 10_000,
        },
    );
    // Let the fault land before the heartbeat is sent.
    handle.dispatch("INTERACTION_CREATE", &json!({"n": 0}), Some(0));
    assert_eq!(c.recv().await["d"], json!({"n": 0}));
    let t0 = Instant::now();
    c.send(&json!({"op": 1, "d": 1})).await;
    handle.dispatch("INTERACTION_CREATE", &json!({"n": 1}), Some(0));
    let written = c.recv().await;
    assert_eq!(written["d"], json!({"n": 1}), "the server still writes");
    let ack = c.recv().await;
    assert_eq!(ack["op"], 11);
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(9_900),
        "the heartbeat is read only after the pause, ACK after {waited:?}"
    );
    assert_eq!(handle.violations().heartbeat_timeout, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_does_not_stop_the_server_reading() {
    let base = sized(1, 10);
    let handle = start(EmulatorConfig {
        workload: WorkloadConfig {
            events_per_shard: None,
            ..base.workload.clone()
        },
        ..base
    })
    .await;
    let (mut c, _) = Client::ready(&handle, 1 | (1 << 9), None).await;
    // Stop reading while the endless stream fills the socket buffers, then send commands.
    let sent_before = wait_until_stalled(&handle).await;
    for _ in 0..5 {
        c.send(&json!({"op": 1, "d": null})).await;
    }
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let commands = handle.sessions()[0].commands;
            if commands >= 5 {
                return commands;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(read.ok(), Some(5), "the 5 heartbeats were read");
    let sent_after = handle.stats().events_sent;
    assert!(
        sent_after.saturating_sub(sent_before) < 10_000,
        "the writer was blocked: {sent_before} → {sent_after}"
    );
}

/// Waits until the emulator stops sending (the unread socket is full); returns the count.
async fn wait_until_stalled(handle: &discordgateway_emulator::EmulatorHandle) -> u64 {
    let mut last = handle.stats().events_sent;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = handle.stats().events_sent;
        if now == last && now > 0 {
            return now;
        }
        last = now;
    }
}
