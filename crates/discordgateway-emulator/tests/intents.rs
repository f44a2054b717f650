//! Routing, intent filtering with the guild/DM split, MESSAGE_CONTENT stripping (§6, §9).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, quiet, sized, start};
use serde_json::{Value, json};

const GUILDS: u64 = 1;
const GUILD_MESSAGES: u64 = 1 << 9;
const DIRECT_MESSAGES: u64 = 1 << 12;
const MESSAGE_CONTENT: u64 = 1 << 15;

/// Reads through READY's GUILD_CREATEs.
async fn ready(
    handle: &discordgateway_emulator::EmulatorHandle,
    intents: u64,
    shard: [u32; 2],
) -> Client {
    let (mut c, ready) = Client::ready(handle, intents, Some(shard)).await;
    if intents & GUILDS != 0 {
        for _ in 0..ready["d"]["guilds"].as_array().unwrap().len() {
            c.recv().await;
        }
    }
    c
}

#[tokio::test]
async fn events_are_filtered_by_intents_and_content_is_stripped() {
    let handle = start(sized(0, 2)).await;
    let guild = (7u64 << 22).to_string(); // routes to shard 1 of 2
    let msg = json!({"guild_id": guild, "content": "secret", "author": {"id": "5"},
        "embeds": [{"title": "t"}], "attachments": [], "components": [], "poll": {}});
    let dm = json!({"content": "dm secret", "author": {"id": "5"}, "embeds": []});
    // (name, intents, shard, expected MESSAGE_CREATE contents in order)
    let cases: &[(&str, u64, [u32; 2], &[&str])] = &[
        (
            "content intent",
            GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT,
            [1, 2],
            &["secret"],
        ),
        (
            "no content intent",
            GUILD_MESSAGES | DIRECT_MESSAGES,
            [1, 2],
            &[""],
        ),
        (
            "shard 0 gets the DM, unstripped",
            GUILD_MESSAGES | DIRECT_MESSAGES,
            [0, 2],
            &["dm secret"],
        ),
        ("guild intent only: no DM", GUILD_MESSAGES, [0, 2], &[]),
        (
            "dm intent only: no guild message",
            DIRECT_MESSAGES,
            [1, 2],
            &[],
        ),
    ];
    for (name, intents, shard, want) in cases {
        let mut c = ready(&handle, *intents, *shard).await;
        handle.dispatch("MESSAGE_CREATE", &msg, None);
        handle.dispatch("MESSAGE_CREATE", &dm, None);
        handle.dispatch(
            "INTERACTION_CREATE",
            &json!({"marker": true}),
            Some(shard[0]),
        );
        let got = c.until("INTERACTION_CREATE").await;
        let contents: Vec<&str> = got
            .iter()
            .filter(|v| v["t"] == "MESSAGE_CREATE")
            .map(|v| v["d"]["content"].as_str().unwrap())
            .collect();
        assert_eq!(&contents, want, "case {name}");
        for v in got
            .iter()
            .filter(|v| v["t"] == "MESSAGE_CREATE" && v["d"]["content"] == "")
        {
            assert_eq!(v["d"]["embeds"], json!([]), "case {name}");
            assert_eq!(v["d"].get("poll"), None::<&Value>, "case {name}");
        }
    }
}

#[tokio::test]
async fn guild_create_needs_the_guilds_intent() {
    let handle = start(quiet()).await;
    let (mut c, ready) = Client::ready(&handle, GUILD_MESSAGES, None).await;
    assert_eq!(ready["d"]["guilds"].as_array().unwrap().len(), 4);
    handle.dispatch("INTERACTION_CREATE", &json!({}), Some(0));
    let next = c.recv().await;
    assert_eq!(
        next["t"], "INTERACTION_CREATE",
        "no GUILD_CREATE without GUILDS"
    );
    assert_eq!(next["s"], 2);
}
