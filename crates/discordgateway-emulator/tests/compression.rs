//! zlib-stream and zstd-stream decode to the same payloads as plain JSON (GATEWAY.md §7).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, Inflater, quiet, start};
use discordgateway_emulator::EmulatorHandle;
use futures_util::SinkExt as _;
use serde_json::{Value, json};
use tokio_websockets::Message;

/// Everything one identified session receives (Hello, READY, GUILD_CREATEs, 3 injected).
async fn transcript(handle: &EmulatorHandle, compress: &str, mut inf: Inflater) -> Vec<Value> {
    let mut c = Client::connect(handle, &format!("/?v=10&encoding=json{compress}")).await;
    let mut out = Vec::new();
    let recv = async |c: &mut Client, inf: &mut Inflater| {
        let m = c.recv_raw().await.unwrap();
        assert_eq!(
            m.is_binary(),
            !compress.is_empty(),
            "compressed frames are binary"
        );
        inf.payload(m.as_payload())
    };
    out.push(recv(&mut c, &mut inf).await);
    c.identify("t", 1 | 512, None).await;
    for _ in 0..5 {
        out.push(recv(&mut c, &mut inf).await);
    }
    for i in 0..3 {
        let big = "x".repeat(i * 30_000);
        handle.dispatch("INTERACTION_CREATE", &json!({"i": i, "big": big}), Some(0));
        out.push(recv(&mut c, &mut inf).await);
    }
    // Session ids differ per session; compare everything else.
    out[1]["d"]["session_id"] = json!("");
    out
}

#[tokio::test]
async fn compressed_streams_carry_the_same_payloads_as_plain_json() {
    let handle = start(quiet()).await;
    let plain = transcript(&handle, "", Inflater::Plain).await;
    assert_eq!(plain[0]["op"], 10);
    assert_eq!(plain[1]["t"], "READY");
    let zlib = transcript(
        &handle,
        "&compress=zlib-stream",
        Inflater::for_query(Some("zlib-stream")),
    )
    .await;
    assert_eq!(zlib, plain, "zlib-stream");
    let zstd = transcript(
        &handle,
        "&compress=zstd-stream",
        Inflater::for_query(Some("zstd-stream")),
    )
    .await;
    assert_eq!(zstd, plain, "zstd-stream");
}

/// The generated stream one session receives over `compress` (every intent), decoded; a
/// heartbeat is sent after `heartbeat_after` dispatches, so a Heartbeat ACK lands between
/// chunks of the stream. Returns the dispatches (ACK left out), session id and resume URL
/// blanked.
async fn generated(
    handle: &EmulatorHandle,
    compress: Option<&str>,
    events: usize,
    heartbeat_after: usize,
) -> Vec<Value> {
    let query = compress.map_or(String::new(), |c| format!("&compress={c}"));
    let mut c = Client::connect(handle, &format!("/?v=10&encoding=json{query}")).await;
    let mut inf = Inflater::for_query(compress);
    inf.payload(c.recv_raw().await.unwrap().as_payload()); // Hello
    c.identify("t", 53_608_447, None).await;
    let mut out = Vec::new();
    while out.len() < events + 1 + 2 {
        let msg = c.recv_raw().await.unwrap();
        if msg.is_pong() {
            continue;
        }
        let v = inf.payload(msg.as_payload());
        if v["op"] == 0 {
            out.push(v);
        }
        if out.len() == heartbeat_after {
            c.send(&json!({"op": 1, "d": null})).await;
            // The reading half answers with a Pong: it must not land inside pre-built frames.
            c.ws.send(Message::ping("splice")).await.unwrap();
        }
    }
    out[0]["d"]["session_id"] = json!("");
    out[0]["d"]["resume_gateway_url"] = json!("");
    out
}

#[tokio::test]
async fn repeated_sessions_decode_the_same_generated_stream_in_every_transport() {
    // Several 256-event chunks and a short tail: every later session of a transport is sent
    // the pre-built frames the first one made (the stream cache, `conn::splice`), with an
    // ACK (framed by tokio-websockets) between or right after them.
    const EVENTS: usize = 3 * 256 + 10;
    let mut config = common::sized(2, 20);
    config.workload.events_per_shard = Some(EVENTS as u64);
    let handle = start(config).await;
    let plain = generated(&handle, None, EVENTS, 300).await;
    assert_eq!(plain.len(), EVENTS + 3);
    // Pre-built frames in memory files (sendfile) and in memory.
    for send_files in [true, false] {
        let mut config = common::sized(2, 20);
        config.workload.events_per_shard = Some(EVENTS as u64);
        config.send_files = send_files;
        let handle = start(config).await;
        for compress in [None, Some("zlib-stream"), Some("zstd-stream")] {
            for (session, heartbeat_after) in [(1, 600), (2, 300), (3, 5)] {
                let got = generated(&handle, compress, EVENTS, heartbeat_after).await;
                let name = compress.unwrap_or("plain");
                assert!(
                    got == plain,
                    "case {name}, session {session}, send_files {send_files}"
                );
            }
        }
    }
}
