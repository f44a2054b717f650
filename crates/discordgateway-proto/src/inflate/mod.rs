//! Transport decompression: zlib-stream and zstd-stream over byte slices.
//!
//! Discord compresses every server→client message of a connection through **one** stream
//! context when the URL carries `compress=zlib-stream` or `compress=zstd-stream`
//! (`shared/protocol/GATEWAY.md` §7.1 and §7.3). An [`Inflater`] owns that context and a
//! reused output buffer for one connection:
//!
//! - **zlib-stream** ([`ZlibInflater`]): frames are appended until the buffer ends with the
//!   `00 00 FF FF` sync-flush suffix, then the whole buffer is inflated through the shared
//!   context. One message may span several WebSocket frames.
//! - **zstd-stream** ([`ZstdInflater`]): every WebSocket message is one gateway message, but
//!   the zstd frame never ends; the decoder is run until the input is consumed.
//!
//! # Buffers and allocation
//!
//! The decompressed message is written into a private `Vec<u8>` that keeps its capacity
//! across messages, so steady-state inflation allocates nothing. The output is handed out as
//! a borrowed `&[u8]`: the state machine scans the envelope in place and drops undeclared
//! events without touching the allocator; only a delivered event's `d` is copied once into
//! the delivery arena (see `state`), which is a `bytes::BytesMut` split into `Bytes`.
//!
//! Why not inflate straight into a `BytesMut`: both codecs write into a `Vec`'s spare
//! capacity without initialising it first (zstd's `WriteBuf`, flate2's `decompress_vec`);
//! a `BytesMut` would have to be zero-filled before every message in safe Rust (this crate
//! forbids `unsafe`), which costs as much as the copy, and would be paid by dropped events too.
//!
//! # Limits
//!
//! A decompressed message larger than the configured maximum is a typed error
//! ([`InflateError::MessageTooLarge`]); the buffer never grows past `max + 1` bytes, so a
//! decompression bomb costs at most the limit in memory. After any error the stream context
//! is unusable: the connection must be closed and the inflater [`reset`](Inflater::reset).

mod zlib;
mod zstd;

pub use self::zlib::ZlibInflater;
pub use self::zstd::{MAX_WINDOW_LOG as ZSTD_MAX_WINDOW_LOG, ZstdInflater};

/// Initial capacity of an inflater's output buffer (grows by doubling up to the limit).
const INITIAL_OUTPUT: usize = 16 * 1024;

/// Capacity above which [`Inflater::reset`] releases the output buffer instead of keeping it.
const KEEP_ON_RESET: usize = 1024 * 1024;

/// Why a compressed message could not be inflated.
///
/// Every variant means the connection's stream is broken: close it and reconnect (the
/// session can usually be resumed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The decompressed message is larger than the configured limit.
    #[error(
        "decompressed message exceeds {max} bytes; raise `max_message_size` in the config if this is legitimate"
    )]
    MessageTooLarge {
        /// The configured limit, in bytes.
        max: usize,
    },
    /// zlib-stream: more compressed bytes were buffered without the `00 00 FF FF` suffix than
    /// the limit allows.
    #[error(
        "{len} compressed bytes buffered without a zlib sync-flush suffix (limit {max}); the stream is corrupt, reconnect"
    )]
    UnterminatedMessage {
        /// Bytes buffered so far.
        len: usize,
        /// The configured limit, in bytes.
        max: usize,
    },
    /// The zlib stream is corrupt.
    #[error("the zlib-stream data is corrupt; reconnect with a fresh inflate context")]
    ZlibCorrupt,
    /// The zstd stream is corrupt.
    #[error("the zstd-stream data is corrupt; reconnect with a fresh decompression context")]
    ZstdCorrupt,
}

/// The transport decompression of one connection: none, zlib-stream or zstd-stream.
#[derive(Debug)]
pub enum Inflater {
    /// No transport compression: frames are complete messages.
    None,
    /// zlib-stream.
    Zlib(ZlibInflater),
    /// zstd-stream.
    Zstd(ZstdInflater),
}

impl Inflater {
    /// Feeds one binary WebSocket frame.
    ///
    /// Returns `Ok(Some(message))` when a complete message is available, `Ok(None)` when a
    /// zlib message needs more frames. With [`Inflater::None`] the frame is the message.
    ///
    /// # Errors
    ///
    /// See [`InflateError`]; after an error, close the connection and [`reset`](Self::reset).
    pub fn feed<'a>(&'a mut self, frame: &'a [u8]) -> Result<Option<&'a [u8]>, InflateError> {
        match self {
            Inflater::None => Ok(Some(frame)),
            Inflater::Zlib(z) => z.feed(frame),
            Inflater::Zstd(z) => z.feed(frame).map(Some),
        }
    }

    /// Prepares for a new connection: a fresh stream context, no buffered input.
    pub fn reset(&mut self) {
        match self {
            Inflater::None => {}
            Inflater::Zlib(z) => z.reset(),
            Inflater::Zstd(z) => z.reset(),
        }
    }

    /// Releases buffers that grew past their initial size for one large message, so an idle
    /// connection does not keep the largest message's worth of memory; call it after each
    /// message is handled. Steady traffic of ordinary messages never triggers it.
    pub fn trim(&mut self) {
        match self {
            Inflater::None => {}
            Inflater::Zlib(z) => z.trim(),
            Inflater::Zstd(z) => z.trim(),
        }
    }

    /// Bytes currently reserved by the output (and, for zlib, input) buffers.
    #[must_use]
    pub fn buffer_capacity(&self) -> usize {
        match self {
            Inflater::None => 0,
            Inflater::Zlib(z) => z.buffer_capacity(),
            Inflater::Zstd(z) => z.buffer_capacity(),
        }
    }
}

/// Makes room for more output in `out` without ever reserving more than `max + 1` bytes.
///
/// Returns `false` when the buffer already holds more than `max` bytes.
fn grow_bounded(out: &mut Vec<u8>, max: usize) -> bool {
    let ceiling = max.saturating_add(1);
    let cap = out.capacity();
    if cap >= ceiling {
        return out.len() < ceiling;
    }
    let target = cap
        .saturating_mul(2)
        .clamp(INITIAL_OUTPUT.min(ceiling), ceiling);
    out.reserve_exact(target - out.len());
    true
}

/// Releases `buf` if it grew past [`INITIAL_OUTPUT`] (see [`Inflater::trim`]).
fn trim_buffer(buf: &mut Vec<u8>) {
    if buf.capacity() > INITIAL_OUTPUT {
        *buf = Vec::new();
    }
}

/// Empties `out` for a new connection, releasing it if it grew large.
fn clear_for_reset(out: &mut Vec<u8>) {
    if out.capacity() > KEEP_ON_RESET {
        *out = Vec::new();
    } else {
        out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_passes_frames_through() {
        let mut inflater = Inflater::None;
        assert_eq!(inflater.feed(b"{}"), Ok(Some(&b"{}"[..])));
        assert_eq!(inflater.buffer_capacity(), 0);
    }

    #[test]
    fn trim_releases_only_grown_buffers() {
        const CASES: &[(&str, usize, usize)] = &[
            ("empty", 0, 0),
            ("initial size kept", INITIAL_OUTPUT, INITIAL_OUTPUT),
            ("grown released", INITIAL_OUTPUT * 4, 0),
        ];
        for &(name, capacity, kept) in CASES {
            let mut buf = Vec::with_capacity(capacity);
            trim_buffer(&mut buf);
            assert_eq!(buf.capacity(), kept, "{name}");
        }
    }

    #[test]
    fn grow_bounded_never_exceeds_limit_plus_one() {
        const CASES: &[(&str, usize, usize)] = &[
            ("tiny limit", 0, 10),
            ("limit below initial", 100, 1000),
            ("limit above initial", 100_000, 40),
        ];
        for &(name, max, rounds) in CASES {
            let mut out = Vec::new();
            for _ in 0..rounds {
                if !grow_bounded(&mut out, max) {
                    break;
                }
                out.resize(out.capacity(), 0);
            }
            assert!(out.len() <= max + 1, "{name}: len {} > max+1", out.len());
            assert!(
                !grow_bounded(&mut out, max),
                "{name}: full buffer must refuse to grow"
            );
        }
    }
}
