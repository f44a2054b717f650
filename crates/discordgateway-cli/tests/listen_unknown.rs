//! `discordgateway listen --events all` also prints events newer than this version, with
//! their wire name; with a list of named events they stay dropped.

mod cli_common;

use std::time::Duration;

use cli_common::listen;
use discordgateway_emulator::{Emulator, EmulatorConfig};
use serde_json::json;

/// Reads stdout lines until one whose `wire` is `wire`, injecting the unknown event once the
/// session is ready. `None` if none comes within 5 s.
fn find(events: &str, wire: &str) -> Option<serde_json::Value> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emulator = runtime
        .block_on(Emulator::start("127.0.0.1:0", EmulatorConfig::default()))
        .expect("emulator");
    let mut run = listen(
        "MTAx.cli.test",
        &[
            "--url",
            &emulator.url(),
            "--events",
            events,
            "--compress",
            "none",
        ],
    );
    // READY: the shard's notice goes to stderr; wait for the session, then inject.
    run.stderr_line("Ready", Duration::from_secs(20));
    // The emulator registers the connection's shard before it sends READY.
    let sent = emulator.dispatch("BRAND_NEW_EVENT", &json!({"x": 1}), Some(0));
    assert_eq!(sent, 1, "one live connection got it");
    emulator.dispatch(
        "MESSAGE_CREATE",
        &json!({"id": "1", "guild_id": null}),
        Some(0),
    );
    let mut found = None;
    while let Ok(line) = run.stdout.recv_timeout(Duration::from_secs(5)) {
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        if v["wire"] == wire {
            found = Some(v);
            break;
        }
    }
    let _ = run.child.kill();
    let _ = run.finish();
    found
}

#[test]
fn all_prints_unknown_events_and_named_lists_do_not() {
    let v = find("all", "BRAND_NEW_EVENT").expect("the unknown event is printed");
    assert_eq!(v["data"]["x"], 1, "{v}");
    assert!(
        find("MessageCreate", "BRAND_NEW_EVENT").is_none(),
        "not printed without `all`"
    );
}
