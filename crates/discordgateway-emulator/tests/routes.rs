//! REST routes (GATEWAY.md §1.1) and control routes, over raw HTTP/1.1.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, http, quiet, sized, start};
use discordgateway_emulator::EmulatorConfig;
use serde_json::json;

/// `POST /emulator/shards/0/faults` with `body`; returns (status, head, body).
async fn post_fault(
    handle: &discordgateway_emulator::EmulatorHandle,
    body: &str,
) -> (u16, String, serde_json::Value) {
    http(
        handle,
        "POST",
        "/emulator/shards/0/faults",
        None,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn rest_routes_answer_json_and_check_the_token() {
    let handle = start(EmulatorConfig {
        tokens: Some(vec!["good".into(), "token".into()]),
        shards: 3,
        max_concurrency: 2,
        ..quiet()
    })
    .await;
    const CASES: &[(&str, &str, Option<&str>, u16)] = &[
        ("gateway", "/api/v10/gateway", None, 200),
        ("gateway v9 no auth needed", "/api/v9/gateway", None, 200),
        ("gateway bot", "/api/v10/gateway/bot", Some("Bot good"), 200),
        (
            "gateway bot without prefix",
            "/gateway/bot",
            Some("Bot good"),
            200,
        ),
        (
            "gateway bot bad token",
            "/api/v10/gateway/bot",
            Some("Bot bad"),
            401,
        ),
        (
            "gateway bot no bot prefix",
            "/api/v10/gateway/bot",
            Some("good"),
            401,
        ),
        (
            "gateway bot missing auth",
            "/api/v10/gateway/bot",
            None,
            401,
        ),
        ("users me", "/api/v10/users/@me", Some("Bot good"), 200),
        (
            "users me bad token",
            "/api/v10/users/@me",
            Some("Bot x"),
            401,
        ),
        (
            "application",
            "/api/v10/oauth2/applications/@me",
            Some("Bot good"),
            200,
        ),
        ("unknown", "/api/v10/nothing", None, 404),
    ];
    for (name, path, auth, want) in CASES {
        let (status, head, body) = http(&handle, "GET", path, *auth, None).await;
        assert_eq!(status, *want, "case {name}: {body}");
        assert!(
            head.contains("\r\nContent-Type: application/json\r\n"),
            "case {name}: {head}"
        );
        if status == 401 {
            assert_eq!(body["code"], 0, "case {name}");
        }
    }
    let (_, _, bot) = http(
        &handle,
        "GET",
        "/api/v10/gateway/bot",
        Some("Bot good"),
        None,
    )
    .await;
    assert_eq!(bot["url"], handle.url());
    assert_eq!(bot["shards"], 3);
    assert_eq!(bot["session_start_limit"]["max_concurrency"], 2);
    assert_eq!(bot["session_start_limit"]["remaining"], 1000);
    let (_c, _) = Client::ready(&handle, 1, None).await;
    let (_, _, bot) = http(&handle, "GET", "/gateway/bot", Some("Bot good"), None).await;
    assert_eq!(
        bot["session_start_limit"]["remaining"], 999,
        "the budget decrements"
    );
    let (_, _, me) = http(&handle, "GET", "/users/@me", Some("Bot good"), None).await;
    assert_eq!(me["bot"], true);
}

#[tokio::test]
async fn control_routes_drive_and_observe_the_emulator() {
    let handle = start(quiet()).await;
    let (_, _, stats) = http(&handle, "GET", "/emulator/stats", None, None).await;
    for key in ["sessions", "identifies", "resumes", "events_sent"] {
        assert!(stats[key].is_u64(), "{key} is an integer: {stats}");
    }
    assert!(stats["violations"]["rate_limit"].is_u64());
    assert!(stats["violations"]["identify_concurrency"].is_u64());

    let (mut c, _) = Client::ready(&handle, 0, Some([0, 1])).await;
    let body = json!({"t": "INTERACTION_CREATE", "d": {"id": "1"}}).to_string();
    let (status, _, resp) = http(&handle, "POST", "/emulator/dispatch", None, Some(&body)).await;
    assert_eq!((status, resp["delivered"].as_u64()), (200, Some(1)));
    let got = c.recv().await;
    assert_eq!(
        (got["t"].as_str(), got["d"]["id"].as_str()),
        (Some("INTERACTION_CREATE"), Some("1"))
    );

    let fault = r#"{"kind":"reconnect"}"#;
    let (status, _, resp) = post_fault(&handle, fault).await;
    assert_eq!((status, resp["delivered"].as_u64()), (200, Some(1)));
    assert_eq!(c.recv().await["op"], 7);

    let fault = r#"{"kind":"invalid_session","resumable":true}"#;
    post_fault(&handle, fault).await;
    assert_eq!(
        c.recv().await,
        json!({"op": 9, "d": true, "s": null, "t": null})
    );

    let fault = r#"{"kind":"close","code":4009}"#;
    post_fault(&handle, fault).await;
    assert_eq!(c.close_code().await, Some(4009));

    let (status, _, _) = post_fault(&handle, "{}").await;
    assert_eq!(status, 400, "bad fault body");
    let (_, _, stats) = http(&handle, "GET", "/emulator/stats", None, None).await;
    assert_eq!(stats["identifies"], 1);
    assert_eq!(
        stats["events_sent"], 2,
        "READY and one injected event (no GUILDS intent): {stats}"
    );
    assert_eq!(stats["sessions"], 0, "4009 ended the session");
}

#[tokio::test]
async fn a_fault_for_a_shard_without_connection_waits_for_the_next_one() {
    let handle = start(quiet()).await;
    let (status, _, resp) = post_fault(&handle, r#"{"kind":"reconnect"}"#).await;
    assert_eq!((status, resp["queued"].as_bool()), (200, Some(true)));
    let mut c = Client::connect(&handle, "/?v=10").await;
    assert_eq!(c.recv().await["op"], 7, "op 7 before Hello");
    assert_eq!(c.close_code().await, Some(4000));
}

#[tokio::test]
async fn skip_seq_and_drop_faults() {
    let handle = start(sized(0, 2)).await;
    let (mut c, ready) = Client::ready(&handle, 0, None).await;
    assert_eq!(ready["s"], 1);
    handle.inject_fault(0, discordgateway_emulator::Fault::SkipSeq { count: 2 });
    handle.dispatch("INTERACTION_CREATE", &json!({}), Some(0));
    assert_eq!(c.recv().await["s"], 4, "two sequence numbers skipped");
    handle.inject_fault(0, discordgateway_emulator::Fault::Drop);
    assert_eq!(c.close_code().await, None, "TCP cut without a close frame");
    assert_eq!(handle.stats().sessions, 1, "still resumable");
}
