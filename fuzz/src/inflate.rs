//! `zlib_stream` and `zstd_stream`: chunks fed to one inflater with a small size limit.
//!
//! The input is a byte format rather than `Arbitrary` so that seeds can be written by hand
//! or by `gen_seeds` from real compressed frames: two bytes (little endian) give the limit
//! minus one, then each frame is a two-byte little-endian length followed by its bytes (the
//! last frame takes whatever is left).

use discordgateway_proto::inflate::{ZlibInflater, ZstdInflater};

/// Splits fuzz input into a message-size limit (1..=65536) and frames.
#[must_use]
pub fn parse(data: &[u8]) -> Option<(usize, Frames<'_>)> {
    let (head, rest) = data.split_first_chunk::<2>()?;
    Some((usize::from(u16::from_le_bytes(*head)) + 1, Frames(rest)))
}

/// Writes `frames` in the format [`parse`] reads (the seed generator uses this).
#[must_use]
pub fn encode(max: u16, frames: &[&[u8]]) -> Vec<u8> {
    let mut out = (max - 1).to_le_bytes().to_vec();
    for frame in frames {
        let len = u16::try_from(frame.len()).expect("seed frames are short");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(frame);
    }
    out
}

/// The frames of a fuzz input.
#[derive(Debug, Clone)]
pub struct Frames<'a>(&'a [u8]);

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_le_bytes(*head)).min(rest.len());
        let (frame, rest) = rest.split_at(len);
        self.0 = rest;
        Some(frame)
    }
}

/// Feeds every frame to one zlib-stream inflater; after an error it is reset, as the
/// contract says. Messages stay within the limit, and so do the buffers: the output never
/// exceeds `max + 1` bytes and the buffered input `max` bytes (its `Vec` may double, so its
/// capacity is bounded by `2 * max`).
pub fn check_zlib(data: &[u8]) {
    let Some((max, frames)) = parse(data) else {
        return;
    };
    let mut z = ZlibInflater::new(max);
    for frame in frames {
        match z.feed(frame) {
            Ok(Some(msg)) => assert!(msg.len() <= max, "message {} > max {max}", msg.len()),
            Ok(None) => {}
            Err(_) => z.reset(),
        }
        let cap = z.buffer_capacity();
        assert!(cap <= 3 * (max + 1) + 8, "zlib buffers {cap} for max {max}");
    }
}

/// Feeds every frame to one zstd-stream inflater (reset after an error); messages and the
/// output buffer stay within `max` (+1 for the buffer, which detects overflow).
pub fn check_zstd(data: &[u8]) {
    let Some((max, frames)) = parse(data) else {
        return;
    };
    let mut z = ZstdInflater::new(max);
    for frame in frames {
        match z.feed(frame) {
            Ok(msg) => assert!(msg.len() <= max, "message {} > max {max}", msg.len()),
            Err(_) => z.reset(),
        }
        let cap = z.buffer_capacity();
        assert!(cap <= max + 1, "zstd buffer {cap} for max {max}");
    }
}
