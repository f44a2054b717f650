//! `listen --session-file F` across two runs: Ctrl-C (SIGINT) closes the shards resumably and
//! saves their sessions; the next run resumes them (the emulator counts a resume and no new
//! identify) and keeps printing events.

mod cli_common;

use std::time::Duration;

use cli_common::listen;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_saves_the_sessions_and_the_next_run_resumes_them() {
    let emulator = cli_common::message_stream(1, 200.0).await;
    let dir = std::env::temp_dir().join(format!("dg-listen-sessions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("sessions.json");
    let file_arg = file.to_str().expect("utf-8 path");
    let url = emulator.url();
    let args = ["--url", url.as_str(), "--session-file", file_arg];

    let mut first = listen("MTAx.session.token", &args);
    first.stdout_line(Duration::from_secs(30));
    let (status, stderr) = first.interrupt();
    let stderr = stderr.join("\n");
    assert!(status.success(), "first run exits cleanly:\n{stderr}");
    assert!(stderr.contains("saved 1 sessions"), "{stderr}");
    assert!(file.exists(), "the session file was written");
    let after_first = emulator.stats();
    assert_eq!((after_first.identifies, after_first.resumes), (1, 0));

    let mut second = listen("MTAx.session.token", &args);
    let resumed = second.stderr_line("Resumed", Duration::from_secs(30));
    assert!(resumed.starts_with("shard 0/1"), "{resumed}");
    let line = second.stdout_line(Duration::from_secs(30));
    let v: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(v["shard"], 0, "{line}");
    let (status, _) = second.interrupt();
    assert!(status.success(), "second run exits cleanly");
    let stats = emulator.stats();
    assert_eq!(stats.identifies, 1, "no new identify");
    assert_eq!(stats.resumes, 1, "the saved session was resumed");
    let _ = std::fs::remove_dir_all(&dir);
}
