//! What the chaos soak needs from the emulator: streams that continue across new sessions,
//! the ledger of tags per session and invalidations, a restart that loses every session, and
//! an outage that refuses connections.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Client, sized, start};
use discordgateway_emulator::{
    EmulatorConfig, Fault, Invalidation,
    workload::{WorkloadConfig, read_tag, split_tag},
};
use serde_json::json;

const ALL_INTENTS: u64 = 53_608_447;
const EVENTS: u64 = 200;

fn config(continue_streams: bool) -> EmulatorConfig {
    let base = sized(2, 10);
    EmulatorConfig {
        workload: WorkloadConfig {
            events_per_shard: Some(EVENTS),
            continue_streams,
            ..base.workload.clone()
        },
        ..base
    }
}

/// Reads frames until `n` tagged dispatches arrived; returns their positions.
async fn positions(c: &mut Client, n: usize) -> Vec<u64> {
    let mut out = Vec::new();
    while out.len() < n {
        let v = c.recv().await;
        if let Some(tag) = read_tag(v["d"].to_string().as_bytes()) {
            out.push(split_tag(tag).1);
        }
    }
    out
}

#[tokio::test]
async fn a_new_session_restarts_or_continues_the_stream() {
    // (continue_streams, first position the second session is sent)
    const CASES: &[(bool, u64)] = &[(false, 0), (true, EVENTS)];
    for &(cont, want_start) in CASES {
        let handle = start(config(cont)).await;
        let (mut a, _) = Client::ready(&handle, ALL_INTENTS, None).await;
        let got = positions(&mut a, EVENTS as usize).await;
        assert_eq!(got, (0..EVENTS).collect::<Vec<_>>(), "case {cont}");
        handle.inject_fault(0, Fault::InvalidSession { resumable: false });
        let (_b, _) = Client::ready(&handle, ALL_INTENTS, None).await;
        let ledger = handle.ledger();
        assert_eq!(ledger.len(), 2, "case {cont}");
        assert_eq!(ledger[0].positions, 0..EVENTS, "case {cont}");
        assert_eq!(
            ledger[0].invalidated,
            Some(Invalidation::InvalidSession),
            "case {cont}"
        );
        assert_eq!(ledger[1].positions.start, want_start, "case {cont}");
        assert_eq!(ledger[1].invalidated, None, "case {cont}");
    }
}

#[tokio::test]
async fn the_ledger_records_server_closes_that_end_sessions() {
    // (close code, whether the session is invalidated)
    const CASES: &[(u16, bool)] = &[(4000, false), (4007, true), (4009, true), (4003, true)];
    for &(code, ends) in CASES {
        let handle = start(config(true)).await;
        let (mut a, _) = Client::ready(&handle, ALL_INTENTS, None).await;
        handle.inject_fault(0, Fault::Close { code, reason: None });
        assert_eq!(a.close_code().await, Some(code), "case {code}");
        let want = ends.then_some(Invalidation::Closed { code });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while handle.ledger()[0].invalidated != want && tokio::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(handle.ledger()[0].invalidated, want, "case {code}");
    }
}

#[tokio::test]
async fn restart_cuts_every_connection_and_forgets_every_session() {
    let handle = start(config(true)).await;
    let (mut a, ready) = Client::ready(&handle, ALL_INTENTS, None).await;
    let session = ready["d"]["session_id"].as_str().unwrap().to_owned();
    assert_eq!(handle.restart(), 1, "one live connection is cut");
    assert_eq!(a.close_code().await, None, "cut without a close frame");
    let mut r = Client::hello(&handle).await;
    r.send(&json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": 1}}))
        .await;
    let answer = r.recv().await;
    assert_eq!(answer["op"], 9, "{answer}");
    assert_eq!(answer["d"], false, "{answer}");
    assert_eq!(handle.ledger()[0].invalidated, Some(Invalidation::Restart));
    assert_eq!(handle.stats().sessions, 0);
}

#[tokio::test]
async fn an_outage_refuses_and_counts_connections_until_it_ends() {
    let handle = start(config(false)).await;
    handle.refuse_connections(Duration::from_secs(3600));
    for attempt in 0..3 {
        let url = format!("{}/?v=10&encoding=json", handle.url());
        let result = tokio_websockets::ClientBuilder::new()
            .uri(&url)
            .unwrap()
            .connect()
            .await;
        assert!(result.is_err(), "attempt {attempt} is refused");
    }
    assert_eq!(handle.stats().refused_connections, 3);
    handle.refuse_connections(Duration::ZERO);
    let _ok = Client::hello(&handle).await;
    assert_eq!(handle.stats().refused_connections, 3);
}

#[tokio::test]
async fn a_live_only_fault_is_dropped_when_the_shard_has_no_connection() {
    let handle = start(config(false)).await;
    assert_eq!(handle.inject_fault_live(0, Fault::Reconnect), 0);
    // Nothing waits: the next connection gets Hello, not op 7.
    let _c = Client::hello(&handle).await;
    let (mut a, _) = Client::ready(&handle, ALL_INTENTS, None).await;
    assert_eq!(handle.inject_fault_live(0, Fault::Reconnect), 1);
    loop {
        let v = a.recv().await;
        if v["op"] == 7 {
            break;
        }
    }
}
