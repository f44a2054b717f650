//! `discordgateway listen` against the emulator: valid JSON lines for the declared events only,
//! and a missing token explained.

mod cli_common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

/// The built binary.
const BIN: &str = env!("CARGO_BIN_EXE_discordgateway");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_one_json_line_per_declared_event_only() {
    let emulator = cli_common::message_stream(1, 500.0).await;
    let mut child = Command::new(BIN)
        .args([
            "listen",
            "--url",
            &emulator.url(),
            "--events",
            "MessageCreate",
            "--compress",
            "zlib",
        ])
        .env("DISCORD_TOKEN", "MTAx.cli.test")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn listen");
    let stdout = child.stdout.take().expect("stdout");
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .take(50)
            .collect::<Result<Vec<String>, _>>()
    })
    .await
    .expect("reader")
    .expect("read lines");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(lines.len(), 50, "50 events printed");
    let mut last_seq = 0;
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert_eq!(v["shard"], 0, "{line}");
        assert_eq!(
            v["event"], "MessageCreate",
            "only the declared event: {line}"
        );
        assert_eq!(v["wire"], "MESSAGE_CREATE", "{line}");
        assert!(
            v["data"].is_object(),
            "data is the raw payload object: {line}"
        );
        let seq = v["seq"].as_u64().expect("seq");
        assert!(seq > last_seq, "sequence increases: {line}");
        last_seq = seq;
    }
}

#[test]
fn missing_token_says_what_to_do() {
    let out = Command::new(BIN)
        .args(["listen", "--url", "ws://127.0.0.1:9"])
        .env_remove("DISCORD_TOKEN")
        .output()
        .expect("run listen");
    assert!(!out.status.success(), "fails without a token");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DISCORD_TOKEN is not set"), "{stderr}");
    assert!(
        stderr.contains("discordgateway demo"),
        "suggests the demo: {stderr}"
    );
    assert!(out.stdout.is_empty(), "stdout stays clean");
}
