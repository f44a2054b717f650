//! Outgoing limits and incoming decompression: the rate limit under saturation, the bounded
//! queue, zlib-stream, zstd-stream and a decompression bomb (GATEWAY.md §5, §7).

use std::time::{Duration, Instant};

use discordgateway_proto::config::Limits;
use discordgateway_proto::event::{DisconnectCause, Notice};
use discordgateway_proto::inflate::InflateError;
use discordgateway_proto::payload::{Command, RequestGuildMembers};
use discordgateway_proto::ratelimit::LIMIT;
use discordgateway_proto::snowflake::Snowflake;
use discordgateway_proto::state::{SendError, Transmit};
use discordgateway_proto::testing::{
    HEARTBEAT, Harness, ZlibCompressor, ZstdCompressor, dispatch, ready, text_op,
};
use discordgateway_proto::url::Compression;

const SEED: u64 = 11;

fn command(i: u32) -> Command {
    Command::from(
        RequestGuildMembers::query(Snowflake::new(1_200_000_000_000_000_000), "a", 1)
            .with_nonce(format!("n{i}")),
    )
}

#[test]
fn saturating_user_commands_never_exceed_the_limit_and_heartbeats_stay_on_time() {
    let limits = Limits {
        queue_capacity: 1000,
        ..Limits::default()
    };
    let config = Harness::config().limits(limits).build().expect("config");
    let mut h = Harness::new(config, SEED);
    h.auto_ack = true;
    h.hello_and_identify();
    let start = h.now;
    for i in 0..600 {
        h.state.send(h.now, &command(i)).expect("queued");
    }
    h.drain();
    // Record when each text frame left, stepping through time like a driver.
    let mut sent: Vec<(Instant, u8)> = Vec::new();
    let mut seen = 0;
    let end = start + Duration::from_secs(300);
    while h.now < end {
        h.advance(Duration::from_millis(250));
        for t in &h.out[seen..] {
            if let Some(op) = text_op(t) {
                sent.push((h.now, op));
            }
        }
        seen = h.out.len();
    }
    for (i, &(t, _)) in sent.iter().enumerate() {
        let in_window = sent[i..]
            .iter()
            .take_while(|(u, _)| *u < t + Duration::from_secs(60))
            .count();
        assert!(in_window <= LIMIT, "{in_window} sends in the 60 s from {i}");
    }
    let beats: Vec<Instant> = sent
        .iter()
        .filter(|(_, op)| *op == 1)
        .map(|(t, _)| *t)
        .collect();
    assert!(beats.len() >= 6, "{} heartbeats in 300 s", beats.len());
    for pair in beats.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap <= HEARTBEAT + Duration::from_millis(250),
            "heartbeat late: {gap:?}"
        );
    }
    assert!(
        h.notices()
            .iter()
            .all(|n| !matches!(n, Notice::Zombie { .. }))
    );
    let user = sent.iter().filter(|(_, op)| *op == 8).count();
    assert!(user > 500, "the queue keeps draining: {user} sent");
}

#[test]
fn a_full_queue_refuses() {
    let limits = Limits {
        queue_capacity: 2,
        ..Limits::default()
    };
    let config = Harness::config().limits(limits).build().expect("config");
    let mut h = Harness::new(config, SEED);
    // Not live yet: commands wait in the queue.
    assert_eq!(h.state.send(h.now, &command(0)), Ok(()));
    assert_eq!(h.state.send(h.now, &command(1)), Ok(()));
    assert_eq!(
        h.state.send(h.now, &command(2)),
        Err(SendError::QueueFull { capacity: 2 })
    );
    h.hello_and_identify();
    assert_eq!(
        h.ops_sent(),
        [2, 8, 8],
        "queued commands leave after READY, after Identify"
    );
    assert_eq!(h.state.send(h.now, &command(3)), Ok(()));
}

#[test]
fn invalid_commands_are_refused() {
    let mut h = Harness::identified(SEED);
    let bad = Command::from(
        RequestGuildMembers::query(Snowflake::new(1), "a", 1).with_nonce("x".repeat(40)),
    );
    assert!(matches!(
        h.state.send(h.now, &bad),
        Err(SendError::Invalid(_))
    ));
}

/// A live session whose frames are compressed with `compress`.
fn compressed_session(
    compression: Compression,
    limits: Limits,
    mut compress: impl FnMut(&[u8]) -> Vec<u8>,
) -> Harness {
    let config = Harness::config()
        .compression(compression)
        .limits(limits)
        .build()
        .expect("config");
    let mut h = Harness::new(config, SEED);
    h.connected();
    h.recv_binary(&compress(br#"{"op":10,"d":{"heartbeat_interval":41250}}"#));
    h.grant();
    h.recv_binary(&compress(ready(1, "z", "wss://resume.example").as_bytes()));
    h
}

#[test]
fn zlib_messages_split_over_frames() {
    let mut z = ZlibCompressor::default();
    let mut h = compressed_session(Compression::ZlibStream, Limits::default(), |m| {
        z.compress(m)
    });
    let body = format!(r#"{{"content":"{}"}}"#, "x".repeat(3000));
    let frame = z.compress(dispatch(2, "MESSAGE_CREATE", &body).as_bytes());
    let (a, rest) = frame.split_at(frame.len() / 3);
    let (b, c) = rest.split_at(rest.len() - 1);
    for part in [a, b, c] {
        h.recv_binary(part);
    }
    let d = h.dispatches();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].raw(), body.as_bytes());
}

#[test]
fn zstd_messages_share_one_context() {
    let mut z = ZstdCompressor::default();
    let mut h = compressed_session(Compression::ZstdStream, Limits::default(), |m| {
        z.compress(m)
    });
    for s in 2..20 {
        h.recv_binary(
            &z.compress(dispatch(s, "MESSAGE_CREATE", &format!(r#"{{"n":{s}}}"#)).as_bytes()),
        );
    }
    let seqs: Vec<u64> = h.dispatches().iter().map(|d| d.sequence()).collect();
    assert_eq!(seqs, (2..20).collect::<Vec<_>>());
    assert_eq!(&h.dispatches()[0].raw()[..], br#"{"n":2}"#);
}

#[test]
fn a_decompression_bomb_is_refused_and_the_connection_resumes() {
    const CASES: &[(&str, Compression)] = &[
        ("zlib", Compression::ZlibStream),
        ("zstd", Compression::ZstdStream),
    ];
    for &(name, compression) in CASES {
        let limits = Limits {
            max_message_size: 64 * 1024,
            ..Limits::default()
        };
        let mut zl = ZlibCompressor::default();
        let mut zs = ZstdCompressor::default();
        let mut compress = |m: &[u8]| match compression {
            Compression::ZlibStream => zl.compress(m),
            _ => zs.compress(m),
        };
        let mut h = compressed_session(compression, limits, &mut compress);
        let bomb = dispatch(
            2,
            "MESSAGE_CREATE",
            &format!(r#""{}""#, " ".repeat(20 << 20)),
        );
        let frame = compress(bomb.as_bytes());
        assert!(
            frame.len() < 64 * 1024,
            "{name}: the bomb is small on the wire"
        );
        h.clear();
        h.recv_binary(&frame);
        assert!(h.dispatches().is_empty(), "{name}");
        let cause = h.notices().into_iter().find_map(|n| match n {
            Notice::Disconnected(d) => Some(d.cause.clone()),
            _ => None,
        });
        assert_eq!(
            cause,
            Some(DisconnectCause::Inflate(InflateError::MessageTooLarge {
                max: 64 * 1024
            })),
            "{name}"
        );
        assert!(
            matches!(h.out[..], [Transmit::Close(_), Transmit::Connect { .. }]),
            "{name}: {:?}",
            h.out
        );
    }
}
