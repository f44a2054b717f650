//! The envelope scanner against serde_json deserializing the same envelope into a struct
//! with a borrowed `t` and a `&RawValue` `d` (the fair comparison: neither parses `d`
//! into values, both must find where it ends).
//!
//! Payloads imitate real dispatches in Discord's key order (`t`, `s`, `op`, `d`): a
//! HEARTBEAT_ACK, a PRESENCE_UPDATE, a MESSAGE_CREATE with author, member and embeds, and
//! a ~50 KB GUILD_CREATE. Run with `cargo bench -p discordgateway-proto --bench envelope`.

#![allow(missing_docs)] // criterion_main! generates an undocumented `main`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use discordgateway_proto::envelope::scan;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The envelope as a serde user would deserialize it without parsing `d`.
#[derive(Deserialize)]
struct SerdeEnvelope<'a> {
    /// Opcode.
    op: u8,
    /// Sequence number.
    s: Option<u64>,
    /// Event name, borrowed.
    #[serde(borrow)]
    t: Option<&'a str>,
    /// Raw payload.
    #[serde(borrow)]
    d: Option<&'a RawValue>,
}

/// A user object as Discord sends it inside messages and members.
fn user(i: u64) -> Value {
    json!({
        "id": format!("{}", 80_351_110_224_678_912u64 + i),
        "username": format!("user_{i}"),
        "global_name": format!("User \"{i}\" \u{e9}"),
        "avatar": "8342729096ea3675442027381ff50dfe",
        "discriminator": "0",
        "public_flags": 64,
        "bot": false,
        "avatar_decoration_data": null,
    })
}

/// A guild member with its user.
fn member(i: u64) -> Value {
    json!({
        "user": user(i),
        "roles": ["41771983423143936", "41771983423143937"],
        "joined_at": "2015-04-26T06:26:56.936000+00:00",
        "deaf": false, "mute": false, "flags": 0, "pending": false,
        "nick": null, "premium_since": null,
    })
}

/// Wraps `d` in a dispatch envelope, keys in Discord's order.
fn dispatch(name: &str, seq: u64, d: &Value) -> String {
    format!(r#"{{"t":"{name}","s":{seq},"op":0,"d":{d}}}"#)
}

fn message_create() -> String {
    let d = json!({
        "id": "1400000000000000001", "channel_id": "1400000000000000002",
        "guild_id": "1400000000000000003", "type": 0, "tts": false,
        "content": "Hello {everyone}! Here is a \"quoted\" [link](https://example.com/a?b=c) \\o/ \u{1f600}",
        "author": user(1), "member": member(2),
        "timestamp": "2026-07-24T12:00:00.000000+00:00", "edited_timestamp": null,
        "mention_everyone": false, "mentions": [user(3)], "mention_roles": [],
        "attachments": [], "pinned": false, "flags": 0, "nonce": "1400000000000000000",
        "embeds": [{
            "type": "rich", "title": "Release notes", "color": 5_814_783,
            "description": "Fixed {op:1} handling and \"t\" keys in nested objects.",
            "fields": [{"name": "op", "value": "0", "inline": true}, {"name": "t", "value": "X", "inline": true}],
            "footer": {"text": "discordgateway"},
        }],
        "components": [],
    });
    dispatch("MESSAGE_CREATE", 42, &d)
}

fn presence_update() -> String {
    let d = json!({
        "user": {"id": "80351110224678912"},
        "guild_id": "1400000000000000003",
        "status": "online",
        "activities": [{
            "name": "Spotify", "type": 2, "id": "spotify:1", "created_at": 1_721_822_400_000u64,
            "details": "Song title", "state": "Artist; Other Artist",
            "timestamps": {"start": 1_721_822_400_000u64, "end": 1_721_822_600_000u64},
            "assets": {"large_image": "spotify:ab67616d0000b273", "large_text": "Album"},
            "party": {"id": "spotify:80351110224678912"},
            "sync_id": "4uLU6hMCjMI75M1A2tKUQC", "flags": 48, "session_id": "f1b2c3d4e5f6",
        }],
        "client_status": {"desktop": "online", "mobile": "idle"},
    });
    dispatch("PRESENCE_UPDATE", 43, &d)
}

fn guild_create() -> String {
    let channels: Vec<Value> = (0..60)
        .map(|i| json!({
            "id": format!("{}", 1_500_000_000_000_000_000u64 + i), "type": i % 3,
            "name": format!("channel-{i}"), "position": i, "topic": "talk about {things} and \"stuff\"",
            "permission_overwrites": [{"id": "41771983423143936", "type": 0, "allow": "1024", "deny": "0"}],
            "nsfw": false, "rate_limit_per_user": 0, "parent_id": null,
        }))
        .collect();
    let roles: Vec<Value> = (0..30)
        .map(|i| {
            json!({
                "id": format!("{}", 41_771_983_423_143_936u64 + i), "name": format!("role {i}"),
                "color": 3_447_003, "hoist": true, "position": i, "permissions": "104324673",
                "managed": false, "mentionable": false, "tags": {}, "flags": 0,
            })
        })
        .collect();
    let d = json!({
        "id": "1400000000000000003", "name": "A big guild", "icon": null,
        "owner_id": "80351110224678912", "large": true, "member_count": 120_000,
        "features": ["COMMUNITY", "NEWS", "INVITE_SPLASH"], "joined_at": "2020-01-01T00:00:00+00:00",
        "channels": channels, "roles": roles,
        "members": (0..60).map(member).collect::<Vec<_>>(),
        "threads": [], "voice_states": [], "presences": [], "stage_instances": [],
    });
    dispatch("GUILD_CREATE", 1, &d)
}

fn bench(c: &mut Criterion) {
    let payloads = [
        (
            "heartbeat_ack",
            r#"{"t":null,"s":null,"op":11,"d":null}"#.to_owned(),
        ),
        ("presence_update", presence_update()),
        ("message_create", message_create()),
        ("guild_create", guild_create()),
    ];
    for (name, msg) in &payloads {
        let msg = msg.as_bytes();
        // Both readers must agree before their speed means anything.
        let ours = scan(msg).expect("the payload is a valid envelope");
        let theirs: SerdeEnvelope<'_> = serde_json::from_slice(msg).expect("valid JSON");
        assert_eq!(
            (ours.op, ours.seq, ours.event_name),
            (theirs.op, theirs.s, theirs.t)
        );
        // serde reads a `null` d as `None`; the scanner gives its range.
        let our_data = ours.data_in(msg).filter(|d| *d != b"null");
        assert_eq!(our_data, theirs.d.map(|d| d.get().as_bytes()));

        let mut group = c.benchmark_group(format!("envelope/{name} ({} B)", msg.len()));
        group.throughput(Throughput::Bytes(msg.len() as u64));
        group.bench_function("scan", |b| b.iter(|| scan(black_box(msg))));
        group.bench_function("serde_json", |b| {
            b.iter(|| serde_json::from_slice::<SerdeEnvelope<'_>>(black_box(msg)).map(|e| e.op))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
