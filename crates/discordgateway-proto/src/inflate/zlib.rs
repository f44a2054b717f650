//! zlib-stream: one inflate context per connection, messages end with `00 00 FF FF`
//! (`shared/protocol/GATEWAY.md` §7.1).

use flate2::{Decompress, FlushDecompress, Status};

use super::{InflateError, clear_for_reset, grow_bounded, trim_buffer};

/// The zlib sync-flush suffix that ends every message of a zlib-stream.
const SYNC_FLUSH: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Inflater for `compress=zlib-stream`.
///
/// Frames are buffered until one ends with the sync-flush suffix; then the buffered bytes
/// are inflated through the connection's single zlib context (RFC 1950 header at the start of
/// the connection). A frame that is itself a complete message is inflated without copying.
pub struct ZlibInflater {
    /// The connection's inflate context.
    context: Decompress,
    /// Compressed frames waiting for the suffix.
    pending: Vec<u8>,
    /// The reused output buffer.
    out: Vec<u8>,
    /// Largest decompressed message (and largest buffered compressed input), in bytes.
    max: usize,
}

impl std::fmt::Debug for ZlibInflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZlibInflater")
            .field("pending", &self.pending.len())
            .field("out_capacity", &self.out.capacity())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl ZlibInflater {
    /// Creates an inflater whose messages may decompress to at most `max` bytes.
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            context: Decompress::new(true),
            pending: Vec::new(),
            out: Vec::new(),
            max,
        }
    }

    /// Feeds one frame; returns the message once a frame ends with `00 00 FF FF`.
    ///
    /// # Errors
    ///
    /// [`InflateError::MessageTooLarge`], [`InflateError::UnterminatedMessage`] or
    /// [`InflateError::ZlibCorrupt`]; the context is then unusable until [`reset`](Self::reset).
    pub fn feed<'a>(&'a mut self, frame: &'a [u8]) -> Result<Option<&'a [u8]>, InflateError> {
        let complete = frame.ends_with(&SYNC_FLUSH)
            || (!self.pending.is_empty() && ends_across(&self.pending, frame));
        if !complete || !self.pending.is_empty() {
            let len = self.pending.len().saturating_add(frame.len());
            if len > self.max {
                self.pending.clear();
                return Err(InflateError::UnterminatedMessage { len, max: self.max });
            }
            self.pending.extend_from_slice(frame);
            if !complete {
                return Ok(None);
            }
        }
        let input = if self.pending.is_empty() {
            frame
        } else {
            &self.pending[..]
        };
        let result = inflate(&mut self.context, input, &mut self.out, self.max);
        self.pending.clear();
        result.map(|()| Some(&self.out[..]))
    }

    /// Prepares for a new connection: fresh context, no buffered input.
    pub fn reset(&mut self) {
        self.context.reset(true);
        self.pending.clear();
        clear_for_reset(&mut self.out);
    }

    /// Releases the buffers one large message grew (see [`super::Inflater::trim`]); keeps
    /// buffered input of an unfinished message.
    pub fn trim(&mut self) {
        trim_buffer(&mut self.out);
        if self.pending.is_empty() {
            trim_buffer(&mut self.pending);
        }
    }

    /// Bytes reserved by the input and output buffers.
    #[must_use]
    pub fn buffer_capacity(&self) -> usize {
        self.pending.capacity() + self.out.capacity()
    }
}

/// Whether the suffix straddles the end of `pending` and the start of a short `frame`.
fn ends_across(pending: &[u8], frame: &[u8]) -> bool {
    if frame.len() >= SYNC_FLUSH.len() {
        return false;
    }
    let need = SYNC_FLUSH.len() - frame.len();
    pending.len() >= need
        && pending[pending.len() - need..] == SYNC_FLUSH[..need]
        && frame == &SYNC_FLUSH[need..]
}

/// Inflates all of `input` into `out` (cleared first), bounded by `max` output bytes.
fn inflate(
    context: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    max: usize,
) -> Result<(), InflateError> {
    out.clear();
    let mut consumed = 0usize;
    loop {
        if out.len() == out.capacity() && !grow_bounded(out, max) {
            return Err(InflateError::MessageTooLarge { max });
        }
        let (in_before, out_before) = (context.total_in(), out.len());
        let status = context
            .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
            .map_err(|_| InflateError::ZlibCorrupt)?;
        let read = usize::try_from(context.total_in() - in_before).unwrap_or(usize::MAX);
        consumed = consumed.saturating_add(read).min(input.len());
        if out.len() > max {
            return Err(InflateError::MessageTooLarge { max });
        }
        let room_left = out.len() < out.capacity();
        let stalled = read == 0 && out.len() == out_before;
        if status == Status::StreamEnd || (consumed == input.len() && room_left) {
            return Ok(());
        }
        if stalled && room_left {
            // No progress with room to spare: the input is truncated mid-block.
            return Err(InflateError::ZlibCorrupt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compresses each message through one zlib-stream context.
    fn compress_stream(messages: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut c = crate::testing::ZlibCompressor::default();
        messages.iter().map(|m| c.compress(m)).collect()
    }

    #[test]
    fn messages_share_one_context_and_split_across_frames() {
        let a = br#"{"op":10,"d":{"heartbeat_interval":41250}}"#;
        let b = br#"{"op":11,"d":null}"#;
        let frames = compress_stream(&[a, b]);
        let mut z = ZlibInflater::new(1 << 20);
        assert_eq!(z.feed(&frames[0]).expect("first"), Some(&a[..]));
        // The second message arrives in three pieces; the last one is shorter than the
        // suffix, so the suffix straddles two frames.
        let f = &frames[1];
        let (head, tail) = f.split_at(f.len() - 2);
        let (head1, head2) = head.split_at(head.len() / 2);
        assert_eq!(z.feed(head1).expect("piece 1"), None);
        assert_eq!(z.feed(head2).expect("piece 2"), None);
        assert_eq!(z.feed(tail).expect("piece 3"), Some(&b[..]));
    }

    #[test]
    fn bomb_is_refused_without_growing_past_the_limit() {
        let zeros = vec![b' '; 50 << 20];
        let frames = compress_stream(&[&zeros]);
        let mut z = ZlibInflater::new(1 << 20);
        assert_eq!(
            z.feed(&frames[0]),
            Err(InflateError::MessageTooLarge { max: 1 << 20 })
        );
        assert!(
            z.buffer_capacity() <= (1 << 20) + 1 + frames[0].len(),
            "capacity {}",
            z.buffer_capacity()
        );
    }

    #[test]
    fn garbage_is_corrupt_and_reset_recovers() {
        let mut z = ZlibInflater::new(1 << 20);
        assert_eq!(
            z.feed(b"garbage!\x00\x00\xff\xff"),
            Err(InflateError::ZlibCorrupt)
        );
        z.reset();
        let frames = compress_stream(&[b"{}"]);
        assert_eq!(z.feed(&frames[0]).expect("after reset"), Some(&b"{}"[..]));
    }

    #[test]
    fn unterminated_input_is_bounded() {
        let mut z = ZlibInflater::new(8);
        assert_eq!(z.feed(b"12345"), Ok(None));
        assert_eq!(
            z.feed(b"67890"),
            Err(InflateError::UnterminatedMessage { len: 10, max: 8 })
        );
    }
}
