//! zstd-stream: one decompression context per connection, one message per WebSocket
//! message, and a frame that never ends (`shared/protocol/GATEWAY.md` §7.3).

use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

use super::{InflateError, clear_for_reset, grow_bounded, trim_buffer};

/// Inflater for `compress=zstd-stream`.
///
/// Each WebSocket message is run through the connection's decoder until all of its input is
/// consumed and the decoder has room left in the output (so nothing is held back); the
/// decoder's return value is only a hint and is not waited on, since the frame stays open.
/// A new frame starting mid-connection is handled by the streaming decoder.
pub struct ZstdInflater {
    /// The connection's decoder; `None` only if zstd could not allocate a context.
    decoder: Option<Decoder<'static>>,
    /// The reused output buffer.
    out: Vec<u8>,
    /// Largest decompressed message, in bytes.
    max: usize,
}

impl std::fmt::Debug for ZstdInflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZstdInflater")
            .field("out_capacity", &self.out.capacity())
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// The largest zstd window a server may ask for, as a base-2 log: 2^22 bytes = 4 MiB.
///
/// The decoder allocates the window the frame header asks for, inside the C library and
/// outside [`ZstdInflater`]'s message limit; zstd's own default cap is 2^27 (128 MiB), so a
/// hostile or broken server could make every connection hold 128 MiB. Discord's window is
/// undocumented (GATEWAY.md §7.3, UNCLEAR); the emulator, like the streams observed in
/// practice, uses 2^18. 2^22 leaves sixteen times that as headroom. A frame asking for more
/// fails to decode ([`InflateError::ZstdCorrupt`]) and the connection is replaced.
pub const MAX_WINDOW_LOG: u32 = 22;

/// A decoder whose window is capped at [`MAX_WINDOW_LOG`].
fn new_decoder() -> Option<Decoder<'static>> {
    let mut decoder = Decoder::new().ok()?;
    decoder
        .set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))
        .ok()?;
    Some(decoder)
}

impl ZstdInflater {
    /// Creates an inflater whose messages may decompress to at most `max` bytes.
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            decoder: new_decoder(),
            out: Vec::new(),
            max,
        }
    }

    /// Decompresses one WebSocket message into the reused buffer.
    ///
    /// # Errors
    ///
    /// [`InflateError::MessageTooLarge`] or [`InflateError::ZstdCorrupt`]; the context is then
    /// unusable until [`reset`](Self::reset).
    pub fn feed(&mut self, frame: &[u8]) -> Result<&[u8], InflateError> {
        let decoder = self.decoder.as_mut().ok_or(InflateError::ZstdCorrupt)?;
        self.out.clear();
        let mut input = InBuffer::around(frame);
        loop {
            if self.out.len() == self.out.capacity() && !grow_bounded(&mut self.out, self.max) {
                return Err(InflateError::MessageTooLarge { max: self.max });
            }
            let (in_before, out_before) = (input.pos(), self.out.len());
            {
                let mut output = OutBuffer::around_pos(&mut self.out, out_before);
                decoder
                    .run(&mut input, &mut output)
                    .map_err(|_| InflateError::ZstdCorrupt)?;
            }
            if self.out.len() > self.max {
                return Err(InflateError::MessageTooLarge { max: self.max });
            }
            let room_left = self.out.len() < self.out.capacity();
            if input.pos() == frame.len() && room_left {
                return Ok(&self.out[..]);
            }
            if input.pos() == in_before && self.out.len() == out_before && room_left {
                return Err(InflateError::ZstdCorrupt);
            }
        }
    }

    /// Prepares for a new connection: a fresh frame in the same context.
    pub fn reset(&mut self) {
        let reinit = self.decoder.as_mut().map(Operation::reinit);
        if !matches!(reinit, Some(Ok(()))) {
            self.decoder = new_decoder();
        }
        clear_for_reset(&mut self.out);
    }

    /// Releases the output buffer if one large message grew it (see [`super::Inflater::trim`]).
    pub fn trim(&mut self) {
        trim_buffer(&mut self.out);
    }

    /// Bytes reserved by the output buffer.
    #[must_use]
    pub fn buffer_capacity(&self) -> usize {
        self.out.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compresses each message through one zstd-stream context.
    fn compress_stream(messages: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut c = crate::testing::ZstdCompressor::default();
        messages.iter().map(|m| c.compress(m)).collect()
    }

    #[test]
    fn a_window_over_the_cap_is_refused_not_allocated() {
        use zstd::stream::raw::{CParameter, Encoder, InBuffer, OutBuffer};
        // A frame that declares a 2^26-byte window: the decoder must refuse it.
        let mut encoder = Encoder::new(1).expect("encoder");
        encoder
            .set_parameter(CParameter::WindowLog(26))
            .expect("window log");
        encoder
            .set_pledged_src_size(None)
            .expect("unknown size keeps the declared window");
        let msg = vec![b'x'; 1 << 16];
        let mut out = vec![0u8; 1 << 17];
        let mut input = InBuffer::around(&msg);
        let mut output = OutBuffer::around(&mut out);
        encoder.run(&mut input, &mut output).expect("compress");
        encoder.flush(&mut output).expect("flush");
        let written = output.pos();
        let mut z = ZstdInflater::new(1 << 20);
        assert_eq!(z.feed(&out[..written]), Err(InflateError::ZstdCorrupt));
        // The same data within the cap decodes.
        let frames = compress_stream(&[&msg]);
        let mut z = ZstdInflater::new(1 << 20);
        assert_eq!(z.feed(&frames[0]).expect("inflate"), &msg[..]);
    }

    #[test]
    fn messages_share_one_context() {
        let msgs: [&[u8]; 3] = [
            br#"{"op":10,"d":{"heartbeat_interval":41250}}"#,
            b"{\"op\":11}",
            b"{\"op\":11}",
        ];
        let frames = compress_stream(&msgs);
        let mut z = ZstdInflater::new(1 << 20);
        for (i, (frame, msg)) in frames.iter().zip(msgs).enumerate() {
            assert_eq!(z.feed(frame).expect("inflate"), msg, "message {i}");
        }
    }

    #[test]
    fn output_larger_than_initial_buffer() {
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let frames = compress_stream(&[&big]);
        let mut z = ZstdInflater::new(1 << 20);
        assert_eq!(z.feed(&frames[0]).expect("inflate"), &big[..]);
    }

    #[test]
    fn bomb_is_refused_without_growing_past_the_limit() {
        let zeros = vec![b' '; 50 << 20];
        let frames = compress_stream(&[&zeros]);
        let mut z = ZstdInflater::new(1 << 20);
        assert_eq!(
            z.feed(&frames[0]),
            Err(InflateError::MessageTooLarge { max: 1 << 20 })
        );
        assert!(
            z.buffer_capacity() <= (1 << 20) + 1,
            "capacity {}",
            z.buffer_capacity()
        );
    }

    #[test]
    fn garbage_is_corrupt_and_reset_recovers() {
        let mut z = ZstdInflater::new(1 << 20);
        assert_eq!(
            z.feed(b"definitely not zstd"),
            Err(InflateError::ZstdCorrupt)
        );
        z.reset();
        let frames = compress_stream(&[b"{}"]);
        assert_eq!(z.feed(&frames[0]).expect("after reset"), b"{}");
    }
}
