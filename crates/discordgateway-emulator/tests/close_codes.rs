//! Each close code provoked by the matching client mistake (GATEWAY.md §4, §14).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, quiet, sized, start, world};
use discordgateway_emulator::EmulatorConfig;
use serde_json::{Value, json};
use tokio_websockets::Message;

/// What the client does after Hello.
#[derive(Debug, Clone, Copy)]
enum Mistake {
    /// Sends this JSON as text.
    Json(&'static str),
    /// Sends this text.
    Raw(&'static str),
    /// Sends a valid-looking payload over 4096 bytes.
    Huge,
    /// Identifies twice.
    IdentifyTwice,
    /// Identifies (token, intents, shard).
    Identify(&'static str, u64, Option<[u32; 2]>),
}

#[tokio::test]
async fn each_close_code_answers_its_mistake() {
    const CASES: &[(&str, Mistake, u16)] = &[
        (
            "unknown opcode",
            Mistake::Json(r#"{"op":99,"d":null}"#),
            4001,
        ),
        (
            "server-only opcode",
            Mistake::Json(r#"{"op":10,"d":null}"#),
            4001,
        ),
        (
            "invalid identify payload",
            Mistake::Json(r#"{"op":2,"d":{"intents":1}}"#),
            4001,
        ),
        ("not json", Mistake::Raw("{op:1"), 4002),
        ("no op", Mistake::Json(r#"{"d":null}"#), 4002),
        ("over 4096 bytes", Mistake::Huge, 4002),
        (
            "request before identify",
            Mistake::Json(r#"{"op":8,"d":{"guild_id":"1"}}"#),
            4003,
        ),
        (
            "presence before identify",
            Mistake::Json(r#"{"op":3,"d":{}}"#),
            4003,
        ),
        ("bad token", Mistake::Identify("wrong", 1, None), 4004),
        ("second identify", Mistake::IdentifyTwice, 4005),
        (
            "shard id not below count",
            Mistake::Identify("good", 1, Some([2, 2])),
            4010,
        ),
        (
            "zero shards",
            Mistake::Identify("good", 1, Some([0, 0])),
            4010,
        ),
        (
            "undocumented intent bit",
            Mistake::Identify("good", 1 << 17, None),
            4013,
        ),
        (
            "privileged intent not allowed",
            Mistake::Identify("good", 1 << 15, None),
            4014,
        ),
    ];
    let handle = start(EmulatorConfig {
        tokens: Some(vec!["good".into()]),
        allowed_privileged_intents: 0,
        ..quiet()
    })
    .await;
    for (name, mistake, want) in CASES {
        let mut c = Client::hello(&handle).await;
        match *mistake {
            Mistake::Json(s) => c.send(&serde_json::from_str::<Value>(s).unwrap()).await,
            Mistake::Raw(s) => {
                use futures_util::SinkExt;
                c.ws.send(Message::text(s.to_owned())).await.unwrap();
            }
            Mistake::Huge => {
                let pad = "x".repeat(5000);
                c.send(&json!({"op": 1, "d": null, "pad": pad})).await;
            }
            Mistake::IdentifyTwice => {
                c.identify("good", 1, None).await;
                c.identify("good", 1, None).await;
            }
            Mistake::Identify(token, intents, shard) => c.identify(token, intents, shard).await,
        }
        assert_eq!(c.close_code().await, Some(*want), "case {name}");
    }
}

#[tokio::test]
async fn too_many_guilds_on_one_shard_gets_4011() {
    let config = sized(2501, 2);
    let on_shard_0 = world(&config).guilds_for_shard(0, 2).count();
    let handle = start(config).await;
    let mut c = Client::hello(&handle).await;
    c.identify("t", 1, Some([0, 1])).await;
    assert_eq!(c.close_code().await, Some(4011));
    // Two shards carry about 1250 each: accepted.
    let (_c, ready) = Client::ready(&handle, 1, Some([0, 2])).await;
    assert_eq!(ready["d"]["guilds"].as_array().unwrap().len(), on_shard_0);
}

#[tokio::test]
async fn query_parameters_are_checked_on_open() {
    const CASES: &[(&str, &str, Option<u16>)] = &[
        ("v=10", "/?v=10&encoding=json", None),
        ("v=9", "/?v=9", None),
        ("missing v and encoding", "/", None),
        ("any path", "/some/where?v=10", None),
        ("v=8 not emulated", "/?v=8", Some(4012)),
        ("v=5", "/?v=5", Some(4012)),
        ("v not a number", "/?v=x", Some(4012)),
        ("etf not supported yet", "/?v=10&encoding=etf", Some(4002)),
        ("unknown compress", "/?v=10&compress=gzip", Some(4002)),
    ];
    let handle = start(quiet()).await;
    for (name, query, want) in CASES {
        let mut c = Client::connect(&handle, query).await;
        match want {
            None => assert_eq!(c.recv().await["op"], 10, "case {name}"),
            Some(code) => assert_eq!(c.close_code().await, Some(*code), "case {name}"),
        }
    }
}

#[tokio::test]
async fn the_121st_command_in_60_seconds_closes_with_4008() {
    let handle = start(quiet()).await;
    let mut c = Client::hello(&handle).await;
    for i in 0..120 {
        c.send(&json!({"op": 1, "d": null})).await;
        assert_eq!(c.recv().await["op"], 11, "heartbeat {i} is acked");
    }
    c.send(&json!({"op": 1, "d": null})).await;
    assert_eq!(c.close_code().await, Some(4008));
    assert_eq!(handle.violations().rate_limit, 1);
}
