//! Request Guild Members (op 8), Soundboard Sounds (op 31), Channel Info (op 43) (§11.4–§11.6).
#![allow(clippy::unwrap_used)]

mod common;

use common::{Client, sized, start, world};
use serde_json::{Value, json};

/// One op 8 case: name, request, member count, not_found, presences present, nonce.
type MemberCase = (
    &'static str,
    Value,
    usize,
    Option<Value>,
    bool,
    Option<&'static str>,
);

const GUILDS: u64 = 1;
const GUILD_MEMBERS: u64 = 1 << 1;
const GUILD_PRESENCES: u64 = 1 << 8;

/// An identified client past its GUILD_CREATE, and the first guild's id.
async fn setup(handle: &discordgateway_emulator::EmulatorHandle, intents: u64) -> (Client, String) {
    let (mut c, ready) = Client::ready(handle, GUILDS | intents, None).await;
    let guild = ready["d"]["guilds"][0]["id"].as_str().unwrap().to_owned();
    c.recv().await; // the one GUILD_CREATE
    (c, guild)
}

#[tokio::test]
async fn all_members_come_in_chunks_of_at_most_1000() {
    let handle = start(sized(1, 2500)).await;
    let (mut c, guild) = setup(&handle, GUILD_MEMBERS | GUILD_PRESENCES).await;
    c.send(&json!({"op": 8, "d": {"guild_id": guild, "query": "", "limit": 0, "presences": true, "nonce": "n1"}}))
        .await;
    let mut sizes = Vec::new();
    for index in 0..3 {
        let chunk = c.recv().await;
        assert_eq!(chunk["t"], "GUILD_MEMBERS_CHUNK");
        let d = &chunk["d"];
        assert_eq!(
            (d["chunk_index"].as_u64(), d["chunk_count"].as_u64()),
            (Some(index), Some(3))
        );
        assert_eq!(d["nonce"], "n1");
        assert_eq!(
            d["presences"].as_array().unwrap().len(),
            d["members"].as_array().unwrap().len()
        );
        sizes.push(d["members"].as_array().unwrap().len());
    }
    assert_eq!(sizes, vec![1000, 1000, 500]);
    // A second all-members request within 30 s is rate limited.
    c.send(&json!({"op": 8, "d": {"guild_id": guild, "query": "", "limit": 0, "nonce": "n2"}}))
        .await;
    let limited = c.recv().await;
    assert_eq!(limited["t"], "RATE_LIMITED");
    assert_eq!(limited["d"]["opcode"], 8);
    assert_eq!(
        limited["d"]["meta"],
        json!({"guild_id": guild, "nonce": "n2"})
    );
    assert!(limited["d"]["retry_after"].as_f64().unwrap() > 29.0);
    assert_eq!(handle.violations().request_guild_members, 1);
}

#[tokio::test]
async fn member_queries() {
    let config = sized(1, 150);
    let world = world(&config);
    let real_members = world.guilds()[0].members();
    let handle = start(config).await;
    let (mut c, guild) = setup(&handle, 0).await;
    let probe = &real_members[real_members.len() / 2];
    let prefix: String = probe.username().chars().take(2).collect();
    let matching = |p: &str| {
        real_members
            .iter()
            .filter(|m| m.username().starts_with(p))
            .count()
    };
    let known = probe.user_id().to_string();
    let unknown = "42".to_owned();
    // (name, request, members, not_found, presences present, nonce)
    let cases: Vec<MemberCase> = vec![
        (
            "empty prefix capped at 100",
            json!({"query": "", "limit": 500}),
            100,
            None,
            false,
            None,
        ),
        (
            "username prefix",
            json!({"query": prefix, "limit": 100}),
            matching(&prefix),
            None,
            false,
            None,
        ),
        (
            "prefix ignores ASCII case",
            json!({"query": prefix.to_uppercase(), "limit": 100}),
            matching(&prefix),
            None,
            false,
            None,
        ),
        (
            "prefix with limit",
            json!({"query": "", "limit": 5}),
            5,
            None,
            false,
            None,
        ),
        (
            "user ids",
            json!({"user_ids": [known, unknown]}),
            1,
            Some(json!(["42"])),
            false,
            None,
        ),
        (
            "presences need the intent",
            json!({"query": "", "limit": 3, "presences": true}),
            3,
            None,
            false,
            None,
        ),
        (
            "long nonce dropped",
            json!({"query": "", "limit": 1, "nonce": "x".repeat(33)}),
            1,
            None,
            false,
            None,
        ),
        (
            "nonce echoed",
            json!({"query": "", "limit": 1, "nonce": "ok"}),
            1,
            None,
            false,
            Some("ok"),
        ),
    ];
    for (name, mut req, members, not_found, presences, nonce) in cases {
        req["guild_id"] = json!(guild);
        c.send(&json!({"op": 8, "d": req})).await;
        let d = c.recv().await["d"].clone();
        assert_eq!(
            d["members"].as_array().unwrap().len(),
            members,
            "case {name}"
        );
        assert_eq!(d.get("not_found").cloned(), not_found, "case {name}");
        assert_eq!(d.get("presences").is_some(), presences, "case {name}");
        assert_eq!(d["nonce"].as_str(), nonce, "case {name}");
        for m in d["members"].as_array().unwrap() {
            let id: u64 = m["user"]["id"].as_str().unwrap().parse().unwrap();
            let real = real_members.iter().find(|r| r.user_id() == id);
            assert!(real.is_some(), "case {name}: {id} is a real member");
            if name.contains("prefix") && !name.contains("empty") && !name.contains("limit") {
                let username = real.map(|r| r.username()).unwrap_or_default();
                assert!(username.starts_with(&prefix), "case {name}: {username}");
            }
        }
    }
    // All members without GUILD_MEMBERS is an invalid request.
    c.send(&json!({"op": 8, "d": {"guild_id": guild, "query": "", "limit": 0}}))
        .await;
    assert_eq!(c.close_code().await, Some(4001));
}

#[tokio::test]
async fn soundboard_sounds_and_channel_info() {
    let handle = start(sized(2, 10)).await;
    let (mut c, ready) = Client::ready(&handle, 0, None).await;
    let ids: Vec<Value> = ready["d"]["guilds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].clone())
        .collect();
    c.send(&json!({"op": 31, "d": {"guild_ids": ids}})).await;
    for id in &ids {
        let s = c.recv().await;
        assert_eq!(s["t"], "SOUNDBOARD_SOUNDS");
        assert_eq!(&s["d"]["guild_id"], id);
        assert_eq!(s["d"]["soundboard_sounds"], json!([]));
    }
    c.send(&json!({"op": 43, "d": {"guild_id": ids[0], "fields": ["status"]}}))
        .await;
    let info = c.recv().await;
    assert_eq!(info["t"], "CHANNEL_INFO");
    assert_eq!(info["d"]["guild_id"], ids[0]);
    let channel = &info["d"]["channels"][0];
    assert!(channel["status"].is_string() && channel.get("voice_start_time").is_none());
}
