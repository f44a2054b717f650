//! Tests of the state-free zstd blocks: round trips, splicing after any prefix, edge cases.
use std::sync::Arc;

use rand::{Rng, RngCore, SeedableRng, rngs::SmallRng};
use zstd::stream::raw::{Decoder, Encoder, InBuffer, Operation, OutBuffer};
use zstd::zstd_safe::{CParameter, DParameter};

use super::*;
use crate::workload::{WorkloadConfig, World, write_dispatch};

/// A message's wire bytes and what they must decode to.
type Part<'a> = (&'a [u8], &'a [u8]);

/// `n` realistic dispatch frames from the workload generator.
fn workload(n: usize) -> Vec<Vec<u8>> {
    let config = WorkloadConfig {
        events_per_shard: None,
        ..WorkloadConfig::default()
    };
    let world = Arc::new(World::generate(&config).unwrap());
    let events = world.stream(0, 1, &config).take(n).enumerate();
    events
        .map(|(seq, e)| {
            let mut out = Vec::new();
            write_dispatch(&mut out, seq as u64 + 2, e.name, &e.data);
            out
        })
        .collect()
}

/// `len` incompressible bytes.
fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0; len];
    SmallRng::seed_from_u64(seed).fill_bytes(&mut out);
    out
}

/// A JSON-like message of exactly `len` bytes (at least 40) with repeated keys and runs.
fn json_like(len: usize, salt: usize) -> Vec<u8> {
    let mut out = format!("{{\"op\":0,\"s\":{salt},\"d\":[").into_bytes();
    for i in 0.. {
        let (id, c) = (1000 + i * 7 + salt, "ab".repeat(i % 9));
        let item = format!("{{\"id\":\"{id}\",\"c\":\"{c}\"}},");
        if out.len() + item.len() + 3 > len {
            break;
        }
        out.extend_from_slice(item.as_bytes());
    }
    out.resize(len - 3, b' ');
    out.extend_from_slice(b"0]}");
    out
}

/// Each message's blocks from one `encode` call.
fn encode_with(enc: &mut BlockEncoder, msgs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let (src, ends) = concat(msgs);
    let (mut out, mut out_ends) = (Vec::new(), Vec::new());
    enc.encode(&src, &ends, &mut out, &mut out_ends).unwrap();
    assert_eq!(out_ends.len(), msgs.len());
    let starts = std::iter::once(0).chain(out_ends.iter().copied());
    let slices = starts.zip(&out_ends).map(|(a, &b)| out[a..b].to_vec());
    slices.collect()
}

fn encode(msgs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    encode_with(&mut BlockEncoder::new().unwrap(), msgs)
}

/// The messages back to back, and their ends.
fn concat(msgs: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
    let ends = msgs.iter().scan(0, |end, m| {
        *end += m.len();
        Some(*end)
    });
    (msgs.concat(), ends.collect())
}

/// libzstd's streaming encoder at level -3, window log 18 (the emulator's encoder before
/// these blocks, and a stand-in for any other zstd-stream producer).
fn stream_encoder() -> Encoder<'static> {
    let mut e = Encoder::new(-3).unwrap();
    e.set_parameter(CParameter::WindowLog(18)).unwrap();
    e
}

/// Appends `msg` compressed and flushed by the streaming encoder `e` to `out`.
fn stream_one(e: &mut Encoder<'static>, msg: &[u8], out: &mut Vec<u8>) {
    let mut input = InBuffer::around(msg);
    loop {
        out.reserve(msg.len() / 2 + 256);
        let pos = out.len();
        let mut buf = OutBuffer::around_pos(out, pos);
        if input.pos() < msg.len() {
            e.run(&mut input, &mut buf).unwrap();
        } else if e.flush(&mut buf).unwrap() == 0 {
            return;
        }
    }
}

/// Each message as the streaming encoder sends it, and its frame header split off the first.
fn streaming(msgs: &[Vec<u8>]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let (mut e, mut out) = (stream_encoder(), vec![Vec::new(); msgs.len()]);
    msgs.iter()
        .zip(&mut out)
        .for_each(|(m, o)| stream_one(&mut e, m, o));
    let header_len = frame_header_len(&out[0]).unwrap();
    (out[0].drain(..header_len).collect(), out)
}

/// Decodes one WebSocket message's bytes in the connection's decoder context.
fn decode_one(d: &mut Decoder<'static>, input: &[u8]) -> Result<Vec<u8>, String> {
    let (mut out, mut buf) = (Vec::new(), vec![0u8; 1 << 16]);
    let mut inb = InBuffer::around(input);
    loop {
        let mut ob = OutBuffer::around(&mut buf[..]);
        d.run(&mut inb, &mut ob).map_err(|e| e.to_string())?;
        let n = ob.pos();
        out.extend_from_slice(&buf[..n]);
        if inb.pos() == input.len() && n < buf.len() {
            return Ok(out);
        }
    }
}

/// Feeds `header` then each part to one decoder; the first message that does not decode
/// to exactly its bytes is an error naming it.
fn check_stream(header: &[u8], parts: &[Part<'_>]) -> Result<(), String> {
    let mut d = Decoder::new().unwrap();
    if !decode_one(&mut d, header)?.is_empty() {
        return Err("the header decoded to bytes".into());
    }
    for (i, (wire, want)) in parts.iter().enumerate() {
        let got = decode_one(&mut d, wire).map_err(|e| format!("message {i}: {e}"))?;
        if got != *want {
            let (got, want) = (got.len(), want.len());
            return Err(format!("message {i}: got {got} bytes, not its {want}"));
        }
    }
    Ok(())
}

/// Pairs each message's wire bytes with the message.
fn pairs<'a>(wire: &'a [Vec<u8>], msgs: &'a [Vec<u8>]) -> Vec<Part<'a>> {
    let wire = wire.iter().map(Vec::as_slice);
    wire.zip(msgs.iter().map(Vec::as_slice)).collect()
}

#[test]
fn stream_header_announces_window_log_18() {
    assert_eq!(frame_header_len(&STREAM_HEADER), Some(STREAM_HEADER.len()));
    const CASES: &[(u32, bool)] = &[(17, false), (18, true), (27, true)];
    for &(max_log, accepted) in CASES {
        let mut d = Decoder::new().unwrap();
        d.set_parameter(DParameter::WindowLogMax(max_log)).unwrap();
        let got = decode_one(&mut d, &STREAM_HEADER);
        let ok = got.is_ok();
        assert_eq!(ok, accepted, "case window log max {max_log}: {got:?}");
    }
}

#[test]
fn frame_header_len_follows_the_descriptor() {
    const CASES: &[(&str, u8, usize)] = &[
        ("window only", 0x00, 6),
        ("single segment, 1-byte size", 0x20, 6),
        ("window, 2-byte size", 0x40, 8),
        ("window, 4-byte size, 2-byte dict", 0x82, 12),
        ("window, 8-byte size, 4-byte dict", 0xC3, 18),
        ("window, 1-byte dict, checksum", 0x05, 7),
    ];
    for &(name, fhd, len) in CASES {
        let frame = [&STREAM_HEADER[..4], &[fhd], &[0; 13]].concat();
        assert_eq!(frame_header_len(&frame), Some(len), "case {name}");
        let truncated = frame_header_len(&frame[..len - 1]);
        assert_eq!(truncated, None, "case {name}, truncated");
    }
    let bad_magic = [0x28, 0xB5, 0x2F, 0xFE, 0, 0x40];
    assert_eq!(frame_header_len(&bad_magic), None, "bad magic");
}

#[test]
fn raw_blocks_are_never_last_and_split_at_128_kib() {
    const CASES: &[(&str, usize, &[usize])] = &[
        ("empty", 0, &[0]),
        ("one byte", 1, &[1]),
        ("exactly 128 KiB", BLOCK_MAX, &[BLOCK_MAX]),
        ("one over", BLOCK_MAX + 1, &[BLOCK_MAX, 1]),
    ];
    for (name, len, sizes) in CASES {
        let mut out = Vec::new();
        raw_block(&vec![7; *len], &mut out);
        let mut pos = 0;
        for size in *sizes {
            let h = u32::from_le_bytes([out[pos], out[pos + 1], out[pos + 2], 0]);
            assert_eq!(h, (*size as u32) << 3, "case {name}: Raw, not last, size");
            pos += BLOCK_HEADER + size;
        }
        assert_eq!(pos, out.len(), "case {name}");
    }
}

#[test]
fn messages_round_trip_in_one_decoder() {
    let mut msgs = workload(300);
    msgs.extend([json_like(140_000, 1), json_like(300_000, 2)]);
    msgs.extend(workload(20));
    let wire = encode(&msgs);
    check_stream(&STREAM_HEADER, &pairs(&wire, &msgs)).unwrap();
    let plain: usize = msgs.iter().map(Vec::len).sum();
    let sent: usize = wire.iter().map(Vec::len).sum();
    assert!(sent * 4 < plain, "JSON compresses: {sent} of {plain} bytes");
}

#[test]
fn edge_cases_round_trip() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("empty message", vec![Vec::new()]),
        ("one byte", vec![b"x".to_vec()]),
        ("exactly 128 KiB", vec![json_like(BLOCK_MAX, 3)]),
        ("128 KiB + 1", vec![json_like(BLOCK_MAX + 1, 3)]),
        ("incompressible", vec![random(200_000, 5), random(10, 6)]),
        ("offset 150 000", vec![[random(150_000, 1), random(1000, 1)].concat()]),
        ("empty between", vec![b"{}".to_vec(), Vec::new(), b"{}".to_vec()]),
        ("empty at the end", vec![json_like(900, 4), Vec::new(), Vec::new()]),
        ("all empty", vec![Vec::new(), Vec::new()]),
        ("many tiny", (0..3000).map(|i| vec![b'a'; i % 2]).collect()),
        ("short", vec![b"abc".to_vec(), b"abcd".to_vec(), b"abcdabcd".to_vec()]),
    ];
    for (name, msgs) in &cases {
        let wire = encode(msgs);
        check_stream(&STREAM_HEADER, &pairs(&wire, msgs))
            .unwrap_or_else(|e| panic!("case {name}: {e}"));
        for (w, m) in wire.iter().zip(msgs) {
            let empty = m.is_empty();
            assert_eq!(
                w == &[0, 0, 0],
                empty,
                "case {name}: empty is one empty Raw block"
            );
        }
    }
}

#[test]
fn later_messages_copy_from_earlier_ones_of_the_call() {
    let msg = json_like(1500, 9);
    let wire = encode(&[msg.clone(), msg]);
    let sizes = (wire[0].len(), wire[1].len());
    assert!(
        sizes.0 > 100 && sizes.1 < 20,
        "the repeat is one match: {sizes:?}"
    );
}

#[test]
fn output_depends_only_on_the_call_input() {
    // "H123" at 15 is inside x's match (never hashed), and where y last had it: an entry
    // left from y would find it for x's second "H123".
    let crafted: [&[u8]; 2] = [b"ABCDEFGHABCDEFGH123qwertyuiopH123", b"zyxwvutsrqponmlH123"];
    let [x, y] = crafted.map(|m| vec![m.to_vec()]);
    let cases = [
        ("crafted", x, y),
        ("workload", workload(50), workload(120).split_off(50)),
    ];
    for (name, x, y) in &cases {
        let mut enc = BlockEncoder::new().unwrap();
        let runs = [x, y, x].map(|batch| encode_with(&mut enc, batch));
        let same = runs[2] == runs[0];
        assert!(same, "case {name}: the same bytes after another batch");
    }
}

/// Streams made of batches A and B in several orders, after libzstd's streaming output
/// and after a Raw block: every message must decode exactly.
fn splice(enc: &mut BlockEncoder, a: &[Vec<u8>], b: &[Vec<u8>]) -> Result<(), String> {
    let (wa, wb) = (encode_with(enc, a), encode_with(enc, b));
    let other = workload(40);
    let (stream_header, wo) = streaming(&other);
    let (x, mut raw) = (b"{\"op\":11}".to_vec(), Vec::new());
    raw_block(&x, &mut raw);
    let (pa, pb) = (pairs(&wa, a), pairs(&wb, b));
    let mixed = [pairs(&wo, &other), pb.clone(), vec![(&raw, &x)], pa.clone()].concat();
    #[rustfmt::skip]
    let streams: [(&str, &[u8], Vec<Part<'_>>); 6] = [
        ("A + B", &STREAM_HEADER, [pa.clone(), pb.clone()].concat()),
        ("B alone", &STREAM_HEADER, pb.clone()),
        ("B + A", &STREAM_HEADER, [pb, pa.clone()].concat()),
        ("A + A", &STREAM_HEADER, [pa.clone(), pa].concat()),
        ("streaming + B + raw + A", &STREAM_HEADER, mixed.clone()),
        ("libzstd's own header + streaming + B + raw + A", &stream_header, mixed),
    ];
    for (name, header, parts) in &streams {
        check_stream(header, parts).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// Messages whose matches use offsets 1, 4 and 8 (libzstd's initial repeat offsets) and
/// repeat at equal distances: resolving repcodes would turn them into repeat offsets.
fn repcode_bait(salt: usize) -> Vec<Vec<u8>> {
    let msg = |i: usize| {
        let (a, z) = ("a".repeat(20 + i + salt), "z".repeat(i));
        let n = "12345678".repeat(3);
        format!("{{\"k\":\"{a}\",\"abcd\":\"abcdabcdabcd{i}\",\"x\":\"y{z}xxxxxxxx{n}\"}}")
    };
    (0..8).map(|i| msg(i).into_bytes()).collect()
}

#[test]
fn batches_splice_into_any_stream() {
    let mut enc = BlockEncoder::new().unwrap();
    let mut a = workload(64);
    a.push(json_like(200_000, 7));
    a.extend(repcode_bait(0));
    let mut b = repcode_bait(3);
    b.extend(workload(100).split_off(64));
    splice(&mut enc, &a, &b).unwrap();
    splice(&mut enc, &repcode_bait(1), &repcode_bait(2)).unwrap();
}

#[test]
fn random_batches_splice_in_random_orders() {
    let (mut rng, pool) = (SmallRng::seed_from_u64(42), workload(200));
    let mut enc = BlockEncoder::new().unwrap();
    for round in 0..30 {
        let message = |rng: &mut SmallRng| match rng.random_range(0..5) {
            0 => pool[rng.random_range(0..pool.len())].clone(),
            1 => random(rng.random_range(0..3000), rng.random()),
            2 => Vec::new(),
            3 => repcode_bait(round)[rng.random_range(0..8)].clone(),
            _ => json_like(rng.random_range(40..5000), round),
        };
        let batches: Vec<Vec<Vec<u8>>> = (0..4)
            .map(|_| {
                (0..rng.random_range(1..20))
                    .map(|_| message(&mut rng))
                    .collect()
            })
            .collect();
        let wires: Vec<_> = batches.iter().map(|b| encode_with(&mut enc, b)).collect();
        let order: Vec<usize> = (0..6).map(|_| rng.random_range(0..4)).collect();
        let parts: Vec<Part<'_>> = (order.iter())
            .flat_map(|&i| pairs(&wires[i], &batches[i]))
            .collect();
        check_stream(&STREAM_HEADER, &parts)
            .unwrap_or_else(|e| panic!("round {round}, batches {order:?}: {e}"));
    }
}

#[test]
fn resolving_repcodes_would_break_splicing() {
    let mut enc = BlockEncoder::build(LEVEL, true).unwrap();
    let got = splice(&mut enc, &repcode_bait(1), &repcode_bait(2));
    assert!(got.is_err(), "the bait data must expose repcode resolution");
}

#[test]
fn the_encoder_can_move_between_threads() {
    fn send<T: Send>(_: T) {}
    send(BlockEncoder::new().unwrap());
}

#[test]
fn bad_ends_are_rejected_and_leave_the_output_alone() {
    const CASES: &[(&str, &[usize])] = &[("decreasing", &[4, 2]), ("past the input", &[4, 11])];
    let mut enc = BlockEncoder::new().unwrap();
    for (name, ends) in CASES {
        let (mut out, mut out_ends) = (vec![1, 2], vec![2]);
        let got = enc.encode(b"0123456789", ends, &mut out, &mut out_ends);
        assert!(got.is_err(), "case {name}");
        assert_eq!((out, out_ends), (vec![1, 2], vec![2]), "case {name}");
    }
    let (mut out, mut out_ends) = (Vec::new(), Vec::new());
    enc.encode(b"", &[], &mut out, &mut out_ends).unwrap();
    let nothing = out.is_empty() && out_ends.is_empty();
    assert!(nothing, "no messages, no bytes");
}

/// ns and bytes per message (best of 10 runs): `encode` on batches of 256 realistic
/// messages at levels 1 and -3 and its match finder alone; one connection's copy of the
/// blocks; libzstd's streaming encoder (level -3, a flush per message) on one connection.
#[test]
#[ignore = "measurement: cargo test --release -p discordgateway-emulator --lib zstd_blocks::tests::measure -- --ignored --nocapture"]
fn measure() {
    let msgs = workload(4096);
    let per_msg = |x: usize| x as f64 / msgs.len() as f64;
    let plain = per_msg(msgs.iter().map(Vec::len).sum());
    eprintln!("{} messages, {plain:.0} bytes each", msgs.len());
    let time = |name: &str, run: &mut dyn FnMut() -> usize| {
        let (mut best, mut bytes) = (u128::MAX, 0);
        for _ in 0..10 {
            let start = std::time::Instant::now();
            bytes = run();
            best = best.min(start.elapsed().as_nanos());
        }
        let (ns, bytes) = (per_msg(best as usize), per_msg(bytes));
        eprintln!("{name}: {ns:.0} ns/message, {bytes:.1} bytes/message");
    };
    let (mut out, mut out_ends) = (Vec::new(), Vec::new());
    // The last run (level -3, batches of 256) leaves its blocks for the copy below.
    for (level, batch) in [(1, 1), (-3, 1), (1, 256), (-3, 64), (-3, 1024), (-3, 256)] {
        let batches: Vec<_> = msgs.chunks(batch).map(concat).collect();
        let mut enc = BlockEncoder::build(level, false).unwrap();
        time(
            &format!("blocks, level {level}, {batch} per call"),
            &mut || {
                out.clear();
                out_ends.clear();
                for (src, ends) in &batches {
                    enc.encode(src, ends, &mut out, &mut out_ends).unwrap();
                }
                out.len()
            },
        );
        time("  of which the match finder", &mut || {
            for (src, ends) in &batches {
                enc.find_sequences(src, ends).unwrap();
            }
            0
        });
    }
    let mut sent = Vec::new();
    time("one connection copying level -3 blocks", &mut || {
        sent.clear();
        let starts = std::iter::once(0).chain(out_ends.iter().copied());
        starts
            .zip(&out_ends)
            .for_each(|(a, &b)| sent.extend_from_slice(&out[a..b]));
        sent.len()
    });
    time("streaming, level -3", &mut || {
        let mut e = stream_encoder();
        sent.clear();
        msgs.iter().for_each(|m| stream_one(&mut e, m, &mut sent));
        sent.len()
    });
}

/// A stream to decode: its name, frame header and messages.
type DecodeCase<'a> = (&'a str, &'a [u8], &'a [Vec<u8>]);

/// What a client pays to decode each stream (ns per message, best of 10, one decoder per
/// pass) and its bytes per message: these blocks against libzstd's own streaming output
/// at level -3 and at level 1, on the same realistic messages.
#[test]
#[ignore = "measurement: cargo test --release -p discordgateway-emulator --lib zstd_blocks::tests::measure_decode -- --ignored --nocapture"]
fn measure_decode() {
    let msgs = workload(8192);
    let blocks: Vec<Vec<u8>> = msgs.chunks(256).flat_map(encode).collect();
    let (header, stream) = streaming(&msgs);
    let mut level1 = Encoder::new(1).unwrap();
    level1.set_parameter(CParameter::WindowLog(18)).unwrap();
    let mut l1: Vec<Vec<u8>> = vec![Vec::new(); msgs.len()];
    msgs.iter()
        .zip(&mut l1)
        .for_each(|(m, o)| stream_one(&mut level1, m, o));
    let l1_header_len = frame_header_len(&l1[0]).unwrap();
    let l1_header: Vec<u8> = l1[0].drain(..l1_header_len).collect();
    let cases: [DecodeCase<'_>; 3] = [
        ("blocks (256 per call)", &STREAM_HEADER, &blocks),
        ("libzstd streaming, level -3", &header, &stream),
        ("libzstd streaming, level 1", &l1_header, &l1),
    ];
    let mut buf = vec![0u8; 1 << 20];
    for (name, header, wire) in cases {
        let mut best = u128::MAX;
        for _ in 0..10 {
            let mut d = Decoder::new().unwrap();
            let start = std::time::Instant::now();
            for input in std::iter::once(header).chain(wire.iter().map(Vec::as_slice)) {
                let mut inb = InBuffer::around(input);
                while inb.pos() < input.len() {
                    let mut ob = OutBuffer::around(&mut buf[..]);
                    d.run(&mut inb, &mut ob).unwrap();
                }
            }
            best = best.min(start.elapsed().as_nanos());
        }
        let bytes: usize = wire.iter().map(Vec::len).sum();
        eprintln!(
            "{name}: decode {:.0} ns/message, {:.1} bytes/message",
            best as f64 / msgs.len() as f64,
            bytes as f64 / msgs.len() as f64
        );
    }
}
