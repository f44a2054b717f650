//! Writes the generated seed corpora (run from `fuzz/`: `cargo run --example gen_seeds`).
//!
//! - `zlib_stream`, `zstd_stream`: realistic gateway messages compressed through one stream
//!   context, as Discord sends them, in the frame format of `discordgateway_fuzz::inflate`
//!   (whole frames, a message split across frames, a limit the READY exceeds);
//! - `core_script`, `commands`: `Arbitrary` inputs found by a seeded hill climb that keeps
//!   the bytes which take a session furthest (to Active, with dispatches) in each
//!   compression mode, and one input per command that encodes.
//!
//! The hand-written seeds (`envelope`, `close_frame`) are not touched.

use std::fs;
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use discordgateway_fuzz::script::{self, Mode, Outcome, Script};
use discordgateway_fuzz::{commands, inflate};
use discordgateway_proto::state::Phase;
use discordgateway_proto::testing::{ZlibCompressor, ZstdCompressor, dispatch, ready};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let messages = [
        r#"{"op":10,"d":{"heartbeat_interval":41250},"s":null,"t":null}"#.to_owned(),
        ready(1, "9f2c4d0e6b7a4c1d", "wss://resume.example"),
        dispatch(2, "MESSAGE_CREATE", r#"{"id":"5","content":"hello"}"#),
        r#"{"op":11}"#.to_owned(),
        r#"{"op":7,"d":null}"#.to_owned(),
    ];
    let mut zlib = ZlibCompressor::default();
    let zlib_frames: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| zlib.compress(m.as_bytes()))
        .collect();
    let mut zstd = ZstdCompressor::default();
    let zstd_frames: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| zstd.compress(m.as_bytes()))
        .collect();
    for (target, frames) in [("zlib_stream", &zlib_frames), ("zstd_stream", &zstd_frames)] {
        let whole: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
        write(&root, target, "session", &inflate::encode(4096, &whole));
        let (a, rest) = frames[1].split_at(frames[1].len() / 2);
        let (b, c) = rest.split_at(rest.len() - 2);
        let split = [&frames[0][..], a, b, c, &frames[2][..]];
        write(&root, target, "split_ready", &inflate::encode(4096, &split));
        write(
            &root,
            target,
            "ready_over_limit",
            &inflate::encode(64, &whole[..3]),
        );
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (name, mode, manual) in [
        ("plain", 0, false),
        ("zlib", 1, false),
        ("zstd", 2, false),
        ("zlib_manual", 1, true),
    ] {
        let bytes = climb(&mut rng, mode, manual);
        if let Some(s) = decode(&bytes) {
            eprintln!("core_script/{name}: {:?}", script::run(s));
        }
        write(&root, "core_script", name, &bytes);
    }
    let mut found: Vec<(u8, bool)> = Vec::new();
    for _ in 0..200_000 {
        let bytes = rng.bytes(48);
        let Ok(input) = commands::Input::arbitrary_take_rest(Unstructured::new(&bytes)) else {
            continue;
        };
        if let Some(key) = commands::check(input).filter(|k| !found.contains(k)) {
            found.push(key);
            let name = format!("op{}_{}", key.0, if key.1 { "ok" } else { "err" });
            write(&root, "commands", &name, &bytes);
        }
    }
}

/// A tiny mutation search: keeps a random edit (append, overwrite or insert bytes after
/// the header) when the session gets at least as far, so neutral edits can drift.
fn climb(rng: &mut Rng, mode: usize, manual: bool) -> Vec<u8> {
    const HEAD: usize = 13;
    let mut best = loop {
        let head = rng.bytes(HEAD);
        let script = decode(&head);
        if script.is_some_and(|s| mode_index(s.mode) == mode && s.manual == manual) {
            break head;
        }
    };
    let mut best_score = 0;
    for _ in 0..50_000 {
        let mut candidate = best.clone();
        let at = HEAD + rng.below(candidate.len() - HEAD + 1);
        match rng.below(3) {
            0 => {
                let len = 1 + rng.below(8);
                candidate.extend(rng.bytes(len));
            }
            1 if at < candidate.len() => candidate[at] = rng.next() as u8,
            _ => candidate.insert(at, rng.next() as u8),
        }
        if candidate.len() > 300 {
            continue;
        }
        let Some(s) = decode(&candidate) else {
            continue;
        };
        let score = score(script::run(s));
        if score >= best_score {
            (best, best_score) = (candidate, score);
        }
    }
    best
}

fn decode(bytes: &[u8]) -> Option<Script> {
    Script::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

fn mode_index(mode: Mode) -> usize {
    match mode {
        Mode::Plain => 0,
        Mode::Zlib => 1,
        Mode::Zstd => 2,
    }
}

/// Active beats everything; then events and sends.
fn score(outcome: Outcome) -> usize {
    let rank = match outcome.phase {
        Phase::Active => 5,
        Phase::Identifying | Phase::Resuming => 3,
        Phase::AwaitingHello => 2,
        Phase::Connecting => 1,
        _ => 0,
    };
    rank * 10_000 + outcome.events * 10 + outcome.sent
}

fn write(root: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir: PathBuf = root.join(target);
    fs::create_dir_all(&dir).expect("create corpus dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

/// xorshift64: seeds are reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}
