//! Identify, READY and GUILD_CREATE, identify concurrency, Resume with replay (GATEWAY.md §3, §5).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Client, quiet, sized, start, world};
use discordgateway_emulator::{EmulatorConfig, IdentifyOutcome};
use serde_json::json;

#[tokio::test]
async fn identify_gets_ready_then_one_guild_create_per_guild_of_the_shard() {
    let config = sized(6, 10);
    let on_shard_1 = world(&config).guilds_for_shard(1, 2).count();
    assert!(on_shard_1 > 0, "the seed puts guilds on shard 1");
    let handle = start(config).await;
    let (mut c, ready) = Client::ready(&handle, 1, Some([1, 2])).await;
    assert_eq!(ready["s"], 1);
    let d = &ready["d"];
    assert_eq!(d["shard"], json!([1, 2]));
    assert_eq!(d["resume_gateway_url"], handle.url());
    assert_eq!(d["session_id"].as_str().unwrap().len(), 32);
    let guilds = d["guilds"].as_array().unwrap();
    assert_eq!(guilds.len(), on_shard_1);
    for (i, g) in guilds.iter().enumerate() {
        let id: u64 = g["id"].as_str().unwrap().parse().unwrap();
        assert_eq!((id >> 22) % 2, 1, "guild {id} routes to shard 1");
        let create = c.recv().await;
        assert_eq!(create["t"], "GUILD_CREATE");
        assert_eq!(create["s"], 2 + i as u64);
        assert_eq!(create["d"]["id"], g["id"]);
    }
    assert_eq!(handle.stats().identifies, 1);
}

#[tokio::test]
async fn properties_keys_order_and_binary_frames_are_accepted() {
    use futures_util::SinkExt;
    let handle = start(quiet()).await;
    let mut c = Client::hello(&handle).await;
    let identify = r#"{"d":{"properties":{"$os":"linux","$browser":"x","$device":"x"},"intents":1,"token":"t"},"op":2}"#;
    c.ws.send(tokio_websockets::Message::binary(
        identify.as_bytes().to_vec(),
    ))
    .await
    .unwrap();
    assert_eq!(c.recv().await["t"], "READY");
}

#[tokio::test]
async fn identifying_faster_than_max_concurrency_gets_op_9() {
    let handle = start(EmulatorConfig {
        identify_window: Duration::from_secs(3600),
        max_concurrency: 2,
        ..quiet()
    })
    .await;
    // Shards 0 and 1 are different buckets; shard 2 shares bucket 0 with shard 0.
    let (_a, _) = Client::ready(&handle, 1, Some([0, 4])).await;
    let (_b, _) = Client::ready(&handle, 1, Some([1, 4])).await;
    let mut c = Client::hello(&handle).await;
    c.identify("t", 1, Some([2, 4])).await;
    let refused = c.recv().await;
    assert_eq!(refused["op"], 9);
    assert_eq!(refused["d"], false);
    let log = handle.identify_log();
    let outcomes: Vec<_> = log.iter().map(|r| (r.shard, r.outcome)).collect();
    assert_eq!(
        outcomes,
        vec![
            ([0, 4], IdentifyOutcome::Accepted),
            ([1, 4], IdentifyOutcome::Accepted),
            ([2, 4], IdentifyOutcome::ConcurrencyExceeded),
        ]
    );
    assert_eq!(handle.violations().identify_concurrency, 1);
}

/// Identifies, receives everything up to the last GUILD_CREATE, returns (session id, seq).
async fn session_with_events(
    handle: &discordgateway_emulator::EmulatorHandle,
) -> (Client, String, u64) {
    let (mut c, ready) = Client::ready(handle, 1 | 512, None).await;
    let session = ready["d"]["session_id"].as_str().unwrap().to_owned();
    let mut seq = 1;
    for _ in 0..ready["d"]["guilds"].as_array().unwrap().len() {
        seq = c.recv().await["s"].as_u64().unwrap();
    }
    (c, session, seq)
}

#[tokio::test]
async fn resume_replays_missed_dispatches_in_order_then_resumed() {
    let handle = start(quiet()).await;
    let (mut c, session, seq) = session_with_events(&handle).await;
    // Five injected events the client will miss after seeing the first.
    for i in 0..5 {
        let n = handle.dispatch("INTERACTION_CREATE", &json!({"i": i}), Some(0));
        assert_eq!(n, 1);
    }
    let first = c.recv().await;
    assert_eq!(first["s"], seq + 1);
    drop(c); // TCP drop without a close frame: the session stays resumable.
    let mut r = Client::hello(&handle).await;
    r.send(&json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": seq + 1}}))
        .await;
    let got = r.until("RESUMED").await;
    let seqs: Vec<u64> = got.iter().map(|v| v["s"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![seq + 2, seq + 3, seq + 4, seq + 5, seq + 6]);
    let is: Vec<u64> = got[..4]
        .iter()
        .map(|v| v["d"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(is, vec![1, 2, 3, 4]);
    assert_eq!(handle.stats().resumes, 1);
}

#[tokio::test]
async fn resume_failures() {
    let handle = start(EmulatorConfig {
        replay_bound: 2,
        ..quiet()
    })
    .await;
    let (c, session, seq) = session_with_events(&handle).await;
    drop(c);
    let resume =
        |id: &str, seq: u64| json!({"op": 6, "d": {"token": "t", "session_id": id, "seq": seq}});
    // Unknown session → op 9 false.
    let mut r = Client::hello(&handle).await;
    r.send(&resume("nope", 1)).await;
    assert_eq!(
        r.recv().await,
        json!({"op": 9, "d": false, "s": null, "t": null})
    );
    // A seq older than the replay buffer (bound 2) → op 9 false.
    let mut r = Client::hello(&handle).await;
    r.send(&resume(&session, 0)).await;
    assert_eq!(r.recv().await["op"], 9, "seq outside the buffer");
    // A seq ahead of the server's → 4007, and the session is gone.
    let mut r = Client::hello(&handle).await;
    r.send(&resume(&session, seq + 10)).await;
    assert_eq!(r.close_code().await, Some(4007));
    let mut r = Client::hello(&handle).await;
    r.send(&resume(&session, seq)).await;
    assert_eq!(r.recv().await["op"], 9, "4007 ended the session");
}

#[tokio::test]
async fn a_1000_close_ends_the_session_and_an_expired_one_cannot_resume() {
    use futures_util::SinkExt;
    let handle = start(EmulatorConfig {
        resume_window: Duration::ZERO,
        ..quiet()
    })
    .await;
    let (c, session, seq) = session_with_events(&handle).await;
    drop(c);
    let mut r = Client::hello(&handle).await;
    r.send(&json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": seq}}))
        .await;
    assert_eq!(r.recv().await["op"], 9, "expired");

    let handle = start(quiet()).await;
    let (mut c, session, seq) = session_with_events(&handle).await;
    c.ws.close().await.unwrap();
    let mut r = Client::hello(&handle).await;
    r.send(&json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": seq}}))
        .await;
    assert_eq!(r.recv().await["op"], 9, "closed with 1000");
    assert_eq!(handle.stats().sessions, 0);
}

#[tokio::test]
async fn resume_replays_generated_chunks_exactly_within_the_replay_bound() {
    // 600 generated events go out as whole cached chunks (remembered as runs) and a tail;
    // a replay bound of 300 evicts part of a run.
    const EVENTS: usize = 600;
    let mut config = sized(2, 10);
    config.workload.events_per_shard = Some(EVENTS as u64);
    config.replay_bound = 300;
    let handle = start(config).await;
    // Every intent, so every generated event is admitted.
    let (mut c, ready) = Client::ready(&handle, 53_608_447, None).await;
    let session = ready["d"]["session_id"].as_str().unwrap().to_owned();
    for _ in 0..ready["d"]["guilds"].as_array().unwrap().len() {
        c.recv().await; // GUILD_CREATE
    }
    let mut sent = Vec::with_capacity(EVENTS);
    for _ in 0..EVENTS {
        sent.push(c.recv().await);
    }
    let last = sent.last().unwrap()["s"].as_u64().unwrap();
    drop(c);
    // 250 back: replayed exactly as first sent, in order, then RESUMED.
    let mut r = Client::hello(&handle).await;
    let seq = last - 250;
    r.send(&json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": seq}}))
        .await;
    let got = r.until("RESUMED").await;
    assert_eq!(got.len(), 251, "250 dispatches and RESUMED");
    assert_eq!(got[..250], sent[EVENTS - 250..], "replayed as sent");
    drop(r);
    // 301 back: evicted, so op 9 `false`.
    let mut r = Client::hello(&handle).await;
    let seq = last - 301 + 1;
    r.send(&json!({"op": 6, "d": {"token": "t", "session_id": session, "seq": seq}}))
        .await;
    let v = r.recv().await;
    assert_eq!((v["op"].as_u64(), v["d"].as_bool()), (Some(9), Some(false)));
}
