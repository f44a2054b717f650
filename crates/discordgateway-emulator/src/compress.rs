//! Transport compression for server→client frames (GATEWAY.md §7).
//!
//! - `zlib-stream`: one zlib stream per connection: the two-byte zlib header before the first
//!   message, then raw deflate; every message ends with a sync flush, so it ends in
//!   `00 00 ff ff`, and is sent as one binary frame. The Adler-32 trailer would only follow
//!   the stream's end, which never comes, so the checksum is not computed. Between two
//!   messages the compressor may [restart](Transport::restart): later messages then refer
//!   to nothing before that point, which any inflater accepts (it cannot tell); this is what
//!   lets pre-compressed chunks of the generated stream be sent as they are (`cache`).
//! - `zstd-stream`: one zstd frame per connection, window log 18, never ended: its header
//!   before the first message, then whole blocks per message, each message one binary frame.
//!   The blocks are *state-free* (`zstd_blocks`): a run of messages compressed together
//!   refers to nothing before it, so pre-compressed chunks of the generated stream are sent
//!   as they are, and a live message is a one-message run. A zstd decoder cannot tell.
//!
//! Both favour speed over ratio (zlib level 1, zstd level -3): the emulator must outrun
//! clients, and clients cannot tell the level. Measured in `benches/README.md`.

use flate2::{Compress, Compression, FlushCompress};

use crate::{
    cache::WireKind,
    zstd_blocks::{BlockEncoder, STREAM_HEADER},
};

/// The `compress` query parameter's meaning for one connection.
pub(crate) enum Transport {
    /// No transport compression: text frames.
    Plain,
    /// zlib-stream: raw deflate, and whether the zlib header was sent.
    Zlib(Box<Compress>, bool),
    /// zstd-stream: the block encoder, and whether the frame header was sent.
    /// The last field is scratch for message ends, reused so a live message allocates nothing.
    Zstd(Box<BlockEncoder>, bool, Vec<usize>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Plain => "Plain",
            Self::Zlib(..) => "Zlib",
            Self::Zstd(..) => "Zstd",
        })
    }
}

/// A compressor failed; the connection is closed (this is the emulator's fault).
#[derive(Debug, thiserror::Error)]
#[error("compressing an outgoing frame failed; this is an emulator bug, please report it")]
pub(crate) struct CompressError;

impl Transport {
    /// The transport for a `compress` query value; `None` for an unknown value.
    pub(crate) fn from_query(value: Option<&str>) -> Option<Self> {
        match value {
            None | Some("") => Some(Self::Plain),
            Some("zlib-stream") => Some(Self::Zlib(
                Box::new(Compress::new(Compression::fast(), false)),
                false,
            )),
            Some("zstd-stream") => BlockEncoder::new()
                .ok()
                .map(|e| Self::Zstd(Box::new(e), false, Vec::with_capacity(1))),
            Some(_) => None,
        }
    }

    /// Whether frames go out as binary (compressed) rather than text.
    pub(crate) fn is_binary(&self) -> bool {
        !matches!(self, Self::Plain)
    }

    /// The kind of pre-built frames a whole cached chunk has on this transport, if chunks
    /// can be pre-built for it (`cache::WireChunk`).
    pub(crate) fn wire_kind(&self) -> Option<WireKind> {
        match self {
            Self::Plain => Some(WireKind::Plain),
            Self::Zlib(..) => Some(WireKind::Zlib),
            Self::Zstd(..) => Some(WireKind::Zstd),
        }
    }

    /// Forgets the compression history, so the next message refers to nothing sent before
    /// it (zlib-stream; the other transports keep no history between messages). Call only
    /// between messages (each zlib message ends byte-aligned with a sync flush).
    pub(crate) fn restart(&mut self) {
        if let Self::Zlib(c, _) = self {
            c.reset();
        }
    }

    /// Encodes consecutive whole messages (message `i` is `src[ends[i - 1]..ends[i]]`) as
    /// this transport sends them, appending to `out` and pushing each message's end in `out`
    /// to `out_ends`. Messages may refer to earlier ones of the same call, so they must be
    /// sent together and in order.
    ///
    /// # Errors
    ///
    /// A compressor error, which would be an emulator bug.
    pub(crate) fn compress_run(
        &mut self,
        src: &[u8],
        ends: &[usize],
        out: &mut Vec<u8>,
        out_ends: &mut Vec<usize>,
    ) -> Result<(), CompressError> {
        if let Self::Zstd(e, header_sent, _) = self {
            if !std::mem::replace(header_sent, true) {
                out.extend_from_slice(&STREAM_HEADER);
            }
            return e.encode(src, ends, out, out_ends);
        }
        let mut start = 0;
        for &end in ends {
            self.compress(src.get(start..end).ok_or(CompressError)?, out)?;
            out_ends.push(out.len());
            start = end;
        }
        Ok(())
    }

    /// Compresses one whole message `input`, appending the bytes to send to `out`.
    ///
    /// # Errors
    ///
    /// A compressor error, which would be an emulator bug.
    pub(crate) fn compress(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CompressError> {
        match self {
            Self::Plain => {
                out.extend_from_slice(input);
                Ok(())
            }
            Self::Zlib(c, header_sent) => {
                if !std::mem::replace(header_sent, true) {
                    out.extend_from_slice(&ZLIB_HEADER);
                }
                zlib_message(c, input, out)
            }
            Self::Zstd(_, _, scratch) => {
                let mut out_ends = std::mem::take(scratch);
                out_ends.clear();
                let compressed = self.compress_run(input, &[input.len()], out, &mut out_ends);
                if let Self::Zstd(_, _, scratch) = self {
                    *scratch = out_ends;
                }
                compressed
            }
        }
    }
}

/// The zlib header for deflate with a 32 KiB window at the fastest level (`78 01`).
const ZLIB_HEADER: [u8; 2] = [0x78, 0x01];

/// Deflates `input` and sync-flushes, so the output ends in `00 00 ff ff`.
fn zlib_message(c: &mut Compress, input: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
    let mut consumed = 0usize;
    loop {
        out.reserve(input.len() / 2 + 64);
        let before_in = c.total_in();
        let rest = input.get(consumed..).unwrap_or_default();
        c.compress_vec(rest, out, FlushCompress::Sync)
            .map_err(|_| CompressError)?;
        consumed += usize::try_from(c.total_in() - before_in).unwrap_or(0);
        // Done once all input is in and the flush fit: spare room is left in `out`.
        if consumed >= input.len() && out.len() < out.capacity() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_messages_end_with_the_sync_marker_and_inflate_in_sequence() {
        let mut t = Transport::from_query(Some("zlib-stream")).expect("known");
        let mut d = flate2::Decompress::new(true);
        for msg in [&b"{\"op\":10}"[..], &[b'x'; 100_000][..]] {
            let mut out = Vec::new();
            t.compress(msg, &mut out).expect("compress");
            assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
            let mut plain = Vec::with_capacity(msg.len() + 16);
            d.decompress_vec(&out, &mut plain, flate2::FlushDecompress::Sync)
                .expect("inflate");
            assert_eq!(plain, msg);
        }
    }

    #[test]
    fn a_restarted_zlib_stream_still_inflates_in_one_context() {
        let mut t = Transport::from_query(Some("zlib-stream")).expect("known");
        let mut d = flate2::Decompress::new(true);
        let msg = br#"{"op":0,"t":"TYPING_START","s":1,"d":{"user_id":"1"}}"#;
        for restart in [false, true, true, false, true] {
            if restart {
                t.restart();
            }
            let mut out = Vec::new();
            t.compress(msg, &mut out).expect("compress");
            let mut plain = Vec::with_capacity(msg.len() + 16);
            d.decompress_vec(&out, &mut plain, flate2::FlushDecompress::Sync)
                .expect("inflate");
            assert_eq!(plain, msg, "restart {restart}");
        }
    }

    #[test]
    fn unknown_compress_values_are_refused() {
        assert!(Transport::from_query(Some("gzip")).is_none());
        assert!(!Transport::from_query(None).expect("plain").is_binary());
    }
}
