//! The decompression step alone: one connection's zlib-stream or zstd-stream of 1000
//! MESSAGE_CREATE-like dispatches (~0.6–1.2 KB each, varied ids, names and text so the
//! stream compresses like real traffic rather than like one repeated message), fed frame by
//! frame through [`Inflater`] with a reused output buffer. Each iteration resets the context
//! (a new connection) and inflates the whole stream. Run with
//! `cargo bench -p discordgateway-proto --bench inflate`.

#![allow(missing_docs)] // criterion_main! generates an undocumented `main`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use discordgateway_proto::inflate::{Inflater, ZlibInflater, ZstdInflater};
use discordgateway_proto::testing::{ZlibCompressor, ZstdCompressor, dispatch};

/// A codec's name, its compressed frames and how to make its inflater.
type Stream = (&'static str, Vec<Vec<u8>>, fn() -> Inflater);

/// Messages per stream.
const MESSAGES: u64 = 1000;

/// Words the generated message texts are made of.
const WORDS: &[&str] = &[
    "gateway",
    "shard",
    "the",
    "ping",
    "a",
    "heartbeat",
    "of",
    "resume",
    "zstd",
    "is",
    "fast",
    "message",
    "guild",
    "ok",
    "lol",
    "when",
    "deploy",
    "bot",
    "events",
    "and",
    "channel",
];

/// A MESSAGE_CREATE dispatch whose content and ids vary with `i`.
fn message(i: u64) -> String {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut content = String::new();
    for _ in 0..(20 + i % 60) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        content.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        content.push(' ');
    }
    let d = format!(
        r#"{{"type":0,"tts":false,"timestamp":"2026-11-26T07:{:02}:{:02}.{:06}+00:00","pinned":false,"nonce":"{}","mentions":[],"mention_roles":[],"mention_everyone":false,"member":{{"roles":["{}"],"premium_since":null,"pending":false,"nick":null,"mute":false,"joined_at":"2025-01-01T00:00:00+00:00","flags":0,"deaf":false,"avatar":null}},"id":"{}","flags":0,"embeds":[],"edited_timestamp":null,"content":"{}","components":[],"channel_id":"{}","author":{{"username":"user_{}","public_flags":0,"id":"{}","global_name":"User {}","discriminator":"0","avatar":"{:032x}"}},"attachments":[],"guild_id":"{}"}}"#,
        i % 60,
        (i / 60) % 60,
        x % 1_000_000,
        x,
        1_300_000_000_000_000_000 + i % 7,
        1_400_000_000_000_000_000 + i,
        content.trim_end(),
        1_200_000_000_000_000_000 + i % 13,
        i % 97,
        1_100_000_000_000_000_000 + i % 97,
        i % 97,
        u128::from(x),
        1_000_000_000_000_000_000 + i % 3,
    );
    dispatch(i + 1, "MESSAGE_CREATE", &d)
}

fn bench(c: &mut Criterion) {
    let messages: Vec<String> = (0..MESSAGES).map(message).collect();
    let plain_bytes: u64 = messages.iter().map(|m| m.len() as u64).sum();
    let mut zlib = ZlibCompressor::default();
    let mut zstd = ZstdCompressor::default();
    let streams: [Stream; 2] = [
        (
            "zlib",
            messages
                .iter()
                .map(|m| zlib.compress(m.as_bytes()))
                .collect(),
            || Inflater::Zlib(ZlibInflater::new(1 << 25)),
        ),
        (
            "zstd",
            messages
                .iter()
                .map(|m| zstd.compress(m.as_bytes()))
                .collect(),
            || Inflater::Zstd(ZstdInflater::new(1 << 25)),
        ),
    ];
    let mut group = c.benchmark_group("inflate");
    for (name, frames, make) in &streams {
        let mut inflater = make();
        group.throughput(Throughput::Elements(MESSAGES));
        group.bench_function(format!("{name}/messages"), |b| {
            b.iter(|| {
                inflater.reset();
                for frame in frames {
                    black_box(inflater.feed(frame).ok().flatten().map(<[u8]>::len));
                }
            });
        });
        group.throughput(Throughput::Bytes(plain_bytes));
        group.bench_function(format!("{name}/bytes_out"), |b| {
            b.iter(|| {
                inflater.reset();
                for frame in frames {
                    black_box(inflater.feed(frame).ok().flatten().map(<[u8]>::len));
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
