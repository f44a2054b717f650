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

/// Bytes hashed and compared to find a candidate match.
const HASH_BYTES: usize = 4;

/// The shortest match the finder emits (and `ZSTD_c_minMatch`). A client's decoding cost
/// follows the number of sequences, so short matches make the stream dearer to decode than
/// Discord-like libzstd output (`tests::measure_decode`, 8 192 workload messages, ns to decode
/// per message / bytes per message): minimum 4: 677 / 178.7; 5: 553 / 177.3; 6: 452 / 180.7;
/// 7: 382 / 184.2; libzstd streaming at level -3: 441–466 / 173.1 (at level 1: 1 132–1 168 /
/// 143.7). 6 decodes like level -3 for 4 % more bytes.
const MIN_MATCH: usize = 6;

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
        while pos + HASH_BYTES <= hi {
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
            let fwd = HASH_BYTES + common_len(src, cand + HASH_BYTES, pos + HASH_BYTES, hi);
            let back = common_back(src, cand, pos, lit_start);
            let (start, len) = (pos - back, fwd + back);
            if len < MIN_MATCH {
                pos += 1;
                continue;
            }
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
mod tests;
