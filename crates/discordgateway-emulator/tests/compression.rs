//! zlib-stream and zstd-stream decode to the same payloads as plain JSON (GATEWAY.md §7).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, Inflater, quiet, start};
use discordgateway_emulator::EmulatorHandle;
use serde_json::{Value, json};

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
