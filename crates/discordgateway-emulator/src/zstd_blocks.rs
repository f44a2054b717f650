//! State-free zstd blocks: pre-compressed messages that can be spliced into any connection's
//! zstd-stream (GATEWAY.md §7.3; RFC 8878 §3.1.1).
//!
//! # Why blocks can be reused
//!
//! A zstd-stream connection is one frame that never ends ([`STREAM_HEADER`], then blocks), and
//! each WebSocket message carries whole blocks that decode to exactly one JSON message. A block
//! normally depends on the blocks before it in three ways:
//!
//! 1. its matches may copy bytes from earlier in the frame;
//! 2. its sequences may use *repeat offsets* (RFC 8878 §3.1.1.5): offset values 1 to 3 name
//!    one of the three most recent offsets, a history the decoder carries across blocks;
//! 3. its entropy tables may be inherited (§3.1.1.3.2.1.1 and §3.1.1.3.1.1): literals of type
//!    `Treeless` reuse the previous Huffman tree, and an FSE table in `Repeat_Mode` reuses the
//!    previous block's table.
//!
//! [`BlockEncoder::encode`] cuts all three at the start of every call: matches reach only bytes
//! of the same call (our own match finder never looks further back), every offset is written
//! as an explicit offset (libzstd's repcode resolution is disabled, so no offset value 1 to 3 is
//! ever emitted, in any block), and each call compresses a fresh frame whose first block has no
//! previous tables to repeat. Later blocks of the same call may repeat that call's tables and
//! copy that call's bytes, which is sound because the caller sends one call's output
//! contiguously and in order. So a call's output decodes to the same bytes after *any* prefix
//! of a valid stream: another call's output, libzstd's streaming output, or [`raw_block`]s.
//!
//! The converse does not hold: once a connection has sent any of these blocks, a libzstd
//! streaming context must not continue on it, because its next block may copy from its own
//! earlier output and repeat its own offsets and tables, which the decoder no longer has in
//! the same places. Live messages after that go as one-message [`BlockEncoder::encode`] calls
//! or as [`raw_block`]s.
//!
//! # Algorithm
//!
//! A greedy LZ match finder: a hash of the next 4 bytes indexes a table of the last position
//! with that hash; a candidate whose 4 bytes are equal is extended forward (never past the end
//! of the current block) and backward (never before the current literals); offsets are at most
//! [`MAX_OFFSET`]. Blocks end at every message end and every [`BLOCK_MAX`] bytes inside a
//! message. The sequences go to libzstd's `ZSTD_compressSequences` (experimental API) with
//! explicit block delimiters, which only entropy-codes them; the frame header it writes is
//! dropped, the `Last_Block` bit cleared, and the blocks are handed out per message.

// Until `conn/output.rs` sends these blocks, only the tests use them.
#![cfg_attr(
    not(test),
    allow(dead_code, reason = "wired into conn/output.rs separately")
)]

use std::ptr::NonNull;

use zstd_sys::{
    ZSTD_CCtx, ZSTD_CCtx_reset, ZSTD_CCtx_setParameter,
    ZSTD_ParamSwitch_e::{ZSTD_ps_disable, ZSTD_ps_enable},
    ZSTD_ResetDirective, ZSTD_Sequence,
    ZSTD_SequenceFormat_e::ZSTD_sf_explicitBlockDelimiters,
    ZSTD_cParameter, ZSTD_compressBound, ZSTD_compressSequences, ZSTD_createCCtx, ZSTD_freeCCtx,
    ZSTD_isError,
};

use crate::compress::CompressError;

/// The header of the never-ended frame, sent once before a connection's first block: magic
/// `28 B5 2F FD`, Frame_Header_Descriptor `00` (no content size, not single-segment, no
/// checksum, no dictionary), Window_Descriptor `40` (exponent 8, mantissa 0: 2^18 bytes).
pub(crate) const STREAM_HEADER: [u8; 6] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x40];

/// The largest block content (`ZSTD_BLOCKSIZE_MAX`, 128 KiB).
pub(crate) const BLOCK_MAX: usize = 128 * 1024;

/// The window log announced by [`STREAM_HEADER`].
const WINDOW_LOG: u32 = 18;

/// The farthest a match may reach back: less than the window.
const MAX_OFFSET: usize = (1 << WINDOW_LOG) - 1;

/// The shortest match the finder emits (and `ZSTD_c_minMatch`).
const MIN_MATCH: usize = 4;

/// log2 of the hash table's size (u32 entries, 256 KiB). Measured on 256 workload messages per
/// call: log 12 gives 191 bytes per message, 14 gives 181, 16 gives 179, at the same speed.
const HASH_LOG: u32 = 16;

/// The level libzstd's entropy stage runs at. Level 1 Huffman-codes literals; negative
/// levels store them raw. Measured (`tests::measure`, 256 workload messages of 748 bytes per
/// call): level 1 costs 3.0 µs and 175 bytes per message, level -3 2.7 µs and 179 bytes.
const LEVEL: i32 = -3;

/// The 3-byte block header's size.
const BLOCK_HEADER: usize = 3;

/// Appends `bytes` as Raw blocks (type 0, never last) of at most [`BLOCK_MAX`] bytes each;
/// empty `bytes` give one empty Raw block. For tiny live messages (a Heartbeat ACK) where
/// compressing would not pay, and for tests.
pub(crate) fn raw_block(bytes: &[u8], out: &mut Vec<u8>) {
    let mut chunks = bytes.chunks(BLOCK_MAX);
    let first = chunks.next().unwrap_or_default();
    for chunk in std::iter::once(first).chain(chunks) {
        // Size << 3, type 0 (Raw) in bits 1-2, Last_Block 0; chunk.len() <= 2^17 fits 21 bits.
        let header = u32::try_from(chunk.len() << 3).unwrap_or(0).to_le_bytes();
        out.extend_from_slice(&header[..BLOCK_HEADER]);
        out.extend_from_slice(chunk);
    }
}

/// Compresses batches of messages into state-free blocks (see the module docs).
pub(crate) struct BlockEncoder {
    /// The compression context, configured once.
    cctx: Cctx,
    /// The sequences of the current call, block delimiters included.
    seqs: Vec<ZSTD_Sequence>,
    /// Hash of 4 bytes -> last position in the call's input with that hash.
    /// Entries are `base + position`; those below `base` are from earlier calls and ignored,
    /// so a call's output depends only on its input, without clearing the table each call.
    table: Vec<u32>,
    /// See `table`; at least 1, so the zeroed table holds no valid entry.
    base: u32,
    /// How many blocks the current call has (its block delimiters).
    blocks: usize,
    /// The frame libzstd writes, before its blocks are handed out.
    frame: Vec<u8>,
}

impl std::fmt::Debug for BlockEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockEncoder").finish_non_exhaustive()
    }
}

impl BlockEncoder {
    /// An encoder with its own libzstd context.
    ///
    /// # Errors
    ///
    /// [`CompressError`] when libzstd cannot allocate or configure a context.
    pub(crate) fn new() -> Result<Self, CompressError> {
        Self::build(LEVEL, false)
    }

    /// An encoder at `level`; `resolve_repcodes` turns libzstd's repcode resolution on, which
    /// breaks the state-free property (tests show it).
    fn build(level: i32, resolve_repcodes: bool) -> Result<Self, CompressError> {
        use ZSTD_cParameter as P;
        let mut cctx = Cctx::new()?;
        let repcodes = if resolve_repcodes {
            ZSTD_ps_enable
        } else {
            ZSTD_ps_disable
        };
        let params = [
            (P::ZSTD_c_compressionLevel, level),
            (P::ZSTD_c_windowLog, WINDOW_LOG as i32),
            (P::ZSTD_c_minMatch, MIN_MATCH as i32),
            // libzstd's own match finder is unused: its tables stay tiny (cheap to reset).
            (P::ZSTD_c_hashLog, 6),
            (P::ZSTD_c_chainLog, 6),
            (P::ZSTD_c_contentSizeFlag, 0),
            (P::ZSTD_c_checksumFlag, 0),
            (P::ZSTD_c_dictIDFlag, 0),
            // ZSTD_c_blockDelimiters
            (
                P::ZSTD_c_experimentalParam11,
                ZSTD_sf_explicitBlockDelimiters as i32,
            ),
            // ZSTD_c_validateSequences: cheap, and it makes libzstd reject (not trust) a
            // sequence our match finder got wrong.
            (P::ZSTD_c_experimentalParam12, 1),
            // ZSTD_c_repcodeResolution: disabled, every offset is stored explicitly.
            (P::ZSTD_c_experimentalParam19, repcodes as i32),
        ];
        for (param, value) in params {
            cctx.set(param, value)?;
        }
        Ok(Self {
            cctx,
            seqs: Vec::new(),
            table: vec![0; 1 << HASH_LOG],
            base: 1,
            blocks: 0,
            frame: Vec::new(),
        })
    }

    /// Compresses consecutive messages (`src[ends[i-1]..ends[i]]` is message `i`, the first
    /// starting at 0) into state-free blocks appended to `out`, and pushes each message's end
    /// offset in `out` to `out_ends`: message `i`'s blocks are `out[prev..out_ends[i]]`, where
    /// `prev` is `out_ends[i-1]`, or `out.len()` before the call for the first.
    ///
    /// The caller must send one call's output contiguously and in order, starting with its
    /// first message: later messages may copy bytes of, and reuse tables from, earlier ones of
    /// the same call. Bytes of `src` after the last end are ignored. An empty message gets
    /// one empty Raw block.
    ///
    /// # Errors
    ///
    /// [`CompressError`] when `ends` decreases or runs past `src`, when `src` is 4 GiB or
    /// more, or when libzstd fails; `out` and `out_ends` are then left as they were.
    pub(crate) fn encode(
        &mut self,
        src: &[u8],
        ends: &[usize],
        out: &mut Vec<u8>,
        out_ends: &mut Vec<usize>,
    ) -> Result<(), CompressError> {
        let Some(&total) = ends.last() else {
            return Ok(());
        };
        let src = src.get(..total).ok_or(CompressError)?;
        self.find_sequences(src, ends)?;
        // Raw blocks bound every block's size: its bytes and a header; plus a frame header.
        let capacity = total + BLOCK_HEADER * self.blocks + 32;
        (self.cctx).compress_sequences(&self.seqs, src, capacity, &mut self.frame)?;
        let (out_len, ends_len) = (out.len(), out_ends.len());
        let split = split_blocks(&self.frame, src.len(), ends, out, out_ends);
        if split.is_err() {
            out.truncate(out_len);
            out_ends.truncate(ends_len);
        }
        split
    }

    /// Fills `self.seqs` with the sequences of every block of every message.
    fn find_sequences(&mut self, src: &[u8], ends: &[usize]) -> Result<(), CompressError> {
        self.seqs.clear();
        let len = u32::try_from(src.len()).map_err(|_| CompressError)?;
        if self.base.checked_add(len).is_none() {
            self.table.fill(0);
            self.base = 1;
        }
        let mut start = 0;
        for &end in ends {
            if end < start {
                return Err(CompressError);
            }
            if end == start {
                self.seqs.push(sequence(0, 0, 0));
            }
            let mut block = start;
            while block < end {
                let block_end = end.min(block + BLOCK_MAX);
                self.block_sequences(src, block, block_end);
                block = block_end;
            }
            start = end;
        }
        self.base += len;
        self.blocks = self.seqs.iter().filter(|s| s.offset == 0).count();
        Ok(())
    }

    /// Greedy matching over `src[lo..hi]` (one block): pushes its sequences and its
    /// delimiter. Candidates may lie anywhere before `lo` in `src` (same call).
    fn block_sequences(&mut self, src: &[u8], lo: usize, hi: usize) {
        let (base, mut lit_start, mut pos) = (self.base, lo, lo);
        while pos + MIN_MATCH <= hi {
            let Some(cur) = read4(src, pos) else { break };
            let cand = (self.table.get_mut(hash(cur)))
                .map(|t| std::mem::replace(t, base + pos as u32))
                .and_then(|c| c.checked_sub(base))
                .map_or(pos, |c| c as usize);
            let dist = pos - cand.min(pos);
            if dist == 0 || dist > MAX_OFFSET || read4(src, cand) != Some(cur) {
                // Step faster through data that does not match (incompressible input).
                pos += 1 + ((pos - lit_start) >> 6);
                continue;
            }
            let fwd = MIN_MATCH + common_len(src, cand + MIN_MATCH, pos + MIN_MATCH, hi);
            let back = common_back(src, cand, pos, lit_start);
            let (start, len) = (pos - back, fwd + back);
            self.seqs
                .push(sequence(start - lit_start, len, start - (cand - back)));
            pos = start + len;
            lit_start = pos;
            // Remember a position near the match end too, so the next repeat is found.
            if let Some(t) = read4(src, pos - 2).and_then(|v| self.table.get_mut(hash(v))) {
                *t = base + (pos - 2) as u32;
            }
        }
        self.seqs.push(sequence(hi - lit_start, 0, 0));
    }
}

/// A sequence (or, with `offset` and `match_len` 0, a block delimiter); lengths fit u32
/// because [`BlockEncoder::encode`] rejects inputs of 4 GiB or more.
fn sequence(lit_len: usize, match_len: usize, offset: usize) -> ZSTD_Sequence {
    ZSTD_Sequence {
        offset: offset as u32,
        litLength: lit_len as u32,
        matchLength: match_len as u32,
        rep: 0,
    }
}

/// The 4 bytes at `at`, little-endian.
fn read4(src: &[u8], at: usize) -> Option<u32> {
    let bytes = src.get(at..at.checked_add(4)?)?;
    bytes.try_into().ok().map(u32::from_le_bytes)
}

/// The 8 bytes at `at`, little-endian.
fn read8(src: &[u8], at: usize) -> Option<u64> {
    let bytes = src.get(at..at.checked_add(8)?)?;
    bytes.try_into().ok().map(u64::from_le_bytes)
}

/// Multiplicative hash of 4 bytes into the table's index range.
fn hash(v: u32) -> usize {
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_LOG)) as usize
}

/// How many bytes from `a` and from `b` (with `a < b`) are equal, stopping at `limit` for `b`.
fn common_len(src: &[u8], a: usize, b: usize, limit: usize) -> usize {
    let mut n = 0;
    while b + n + 8 <= limit {
        match (read8(src, a + n), read8(src, b + n)) {
            (Some(x), Some(y)) if x == y => n += 8,
            (Some(x), Some(y)) => return n + ((x ^ y).trailing_zeros() / 8) as usize,
            _ => return n,
        }
    }
    while b + n < limit && src.get(a + n).is_some_and(|x| src.get(b + n) == Some(x)) {
        n += 1;
    }
    n
}

/// How many bytes before `a` and `b` (with `a < b`) are equal, not going below `floor` for `b`.
fn common_back(src: &[u8], a: usize, b: usize, floor: usize) -> usize {
    let mut n = 0;
    while n < a && b - n > floor && src.get(a - n - 1) == src.get(b - n - 1) {
        n += 1;
    }
    n
}

/// Copies the blocks of `frame` (one per block delimiter, see
/// [`BlockEncoder::find_sequences`]) to `out` with `Last_Block` cleared, message by message.
///
/// libzstd stops at the block that completes its input, so empty messages at the end have no
/// block in `frame`: they get an empty Raw block here.
fn split_blocks(
    frame: &[u8],
    total: usize,
    ends: &[usize],
    out: &mut Vec<u8>,
    out_ends: &mut Vec<usize>,
) -> Result<(), CompressError> {
    let mut pos = frame_header_len(frame).ok_or(CompressError)?;
    let mut start = 0;
    for &end in ends {
        let blocks = (end - start).div_ceil(BLOCK_MAX).max(1);
        for _ in 0..blocks {
            if pos == frame.len() && end == total && start == end {
                raw_block(&[], out);
                continue;
            }
            let header = frame.get(pos..pos + BLOCK_HEADER).ok_or(CompressError)?;
            let h = u32::from(header[0]) | u32::from(header[1]) << 8 | u32::from(header[2]) << 16;
            let body = match (h >> 1) & 3 {
                0 | 2 => (h >> 3) as usize,
                1 => 1,
                _ => return Err(CompressError),
            };
            let block = frame
                .get(pos..pos + BLOCK_HEADER + body)
                .ok_or(CompressError)?;
            out.push(header[0] & !1);
            out.extend_from_slice(&block[1..]);
            pos += BLOCK_HEADER + body;
        }
        out_ends.push(out.len());
        start = end;
    }
    if pos == frame.len() {
        Ok(())
    } else {
        Err(CompressError)
    }
}

/// The size of the frame header at the start of `frame` (RFC 8878 §3.1.1.1), read from its
/// Frame_Header_Descriptor; `None` when `frame` is not a zstd frame.
fn frame_header_len(frame: &[u8]) -> Option<usize> {
    if frame.get(..4)? != &STREAM_HEADER[..4] {
        return None;
    }
    let fhd = *frame.get(4)?;
    let single_segment = fhd & 0x20 != 0;
    let window = usize::from(!single_segment);
    let dict_id = [0, 1, 2, 4][usize::from(fhd & 3)];
    let content_size = match fhd >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let len = 5 + window + dict_id + content_size;
    (len <= frame.len()).then_some(len)
}

/// An owned `ZSTD_CCtx`.
///
/// It is `Send`: a context is plain heap memory with no thread affinity, which libzstd allows
/// to be used from any thread as long as only one uses it at a time; every use here takes
/// `&mut self`, so it is not `Sync`.
struct Cctx(NonNull<ZSTD_CCtx>);

// SAFETY: see the type's docs: libzstd contexts may move between threads; all access is
// through `&mut self`, so no two threads use one context at once.
#[allow(unsafe_code)]
unsafe impl Send for Cctx {}

impl Cctx {
    /// Allocates a context.
    #[allow(unsafe_code)]
    fn new() -> Result<Self, CompressError> {
        // SAFETY: ZSTD_createCCtx has no preconditions; it returns null on failure.
        let ptr = unsafe { ZSTD_createCCtx() };
        NonNull::new(ptr).map(Self).ok_or(CompressError)
    }

    /// Sets one parameter.
    #[allow(unsafe_code)]
    fn set(&mut self, param: ZSTD_cParameter, value: i32) -> Result<(), CompressError> {
        // SAFETY: the pointer is a live context owned by `self`.
        let code = unsafe { ZSTD_CCtx_setParameter(self.0.as_ptr(), param, value) };
        check(code).map(drop)
    }

    /// Compresses `src` described by `seqs` into one frame, replacing `dst`'s contents;
    /// `capacity` is at least the frame's size (libzstd fails rather than overrun it).
    #[allow(unsafe_code)]
    fn compress_sequences(
        &mut self,
        seqs: &[ZSTD_Sequence],
        src: &[u8],
        capacity: usize,
        dst: &mut Vec<u8>,
    ) -> Result<(), CompressError> {
        dst.clear();
        // SAFETY: ZSTD_compressBound is a pure function of its argument.
        dst.reserve(capacity.max(unsafe { ZSTD_compressBound(src.len()) }));
        // SAFETY: the context is live and owned by `self`; resetting the session only
        // drops the previous frame's state, the parameters stay.
        check(unsafe {
            ZSTD_CCtx_reset(
                self.0.as_ptr(),
                ZSTD_ResetDirective::ZSTD_reset_session_only,
            )
        })?;
        // SAFETY: `dst` has `dst.capacity()` writable bytes at its start; `seqs` and `src`
        // are valid for their lengths and not written. libzstd validates the sequences
        // (ZSTD_c_validateSequences = 1) and writes at most `capacity` bytes.
        let written = check(unsafe {
            ZSTD_compressSequences(
                self.0.as_ptr(),
                dst.as_mut_ptr().cast(),
                dst.capacity(),
                seqs.as_ptr(),
                seqs.len(),
                src.as_ptr().cast(),
                src.len(),
            )
        })?;
        if written > dst.capacity() {
            return Err(CompressError);
        }
        // SAFETY: libzstd initialised the first `written` bytes, within the capacity.
        unsafe { dst.set_len(written) };
        Ok(())
    }
}

impl Drop for Cctx {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the context was created by ZSTD_createCCtx and is freed once, here.
        unsafe { ZSTD_freeCCtx(self.0.as_ptr()) };
    }
}

/// A libzstd return value as a result.
#[allow(unsafe_code)]
fn check(code: usize) -> Result<usize, CompressError> {
    // SAFETY: ZSTD_isError is a pure function of its argument.
    if unsafe { ZSTD_isError(code) } == 0 {
        Ok(code)
    } else {
        Err(CompressError)
    }
}

#[cfg(test)]
mod tests {
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

    /// Today's connection encoder: libzstd streaming at level -3, window log 18.
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

    /// Each message as today's encoder sends it, and its frame header split off the first.
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
    /// blocks; today's streaming encoder (level -3, a flush per message) on one connection.
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
}
