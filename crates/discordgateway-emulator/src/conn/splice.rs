//! Pre-built WebSocket frames written as raw bytes (issue 4, point 9).
//!
//! tokio-websockets frames every message it is given, one header and one `Bytes` per
//! message. A whole cached chunk of the generated stream is already a run of complete
//! server frames (`cache::WireChunk`: headers included, unmasked as server frames are), so
//! the cheapest way to send it is to hand the kernel that one buffer. [`SpliceIo`] sits
//! between tokio-websockets and the socket and lets the writer task queue such buffers.
//!
//! A chunk kept in a memory file (Linux) goes out with `sendfile(2)`: the kernel takes the
//! file's pages as they are instead of copying the frames from user memory.
//!
//! Frame boundaries stay intact because every byte reaches the socket through
//! [`SpliceIo`], and queued raw bytes always go first: the writer queues a raw buffer only
//! after flushing the WebSocket sink (so no frame of tokio-websockets is half written), and
//! any later write — a frame from the sink, or a Pong the reading half answers a Ping
//! with — first drains the queued raw bytes.

use std::{
    collections::VecDeque,
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, ready},
};

use bytes::Buf;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};

use crate::{cache::WireChunk, http::Rewind, state::lock};

/// Pre-built frames queued for the socket, shared by [`SpliceIo`] and the writer task.
pub(crate) type RawQueue = Arc<Mutex<VecDeque<WireChunk>>>;

/// A socket that can send a file's bytes without a user-space copy.
pub(crate) trait SendFile {
    /// Sends up to `len` bytes of `file` from `*offset`, advancing it; the bytes sent.
    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: &mut u64,
        len: usize,
    ) -> Poll<io::Result<usize>>;
}

impl SendFile for Rewind<TcpStream> {
    #[cfg(target_os = "linux")]
    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: &mut u64,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        let tcp = self.get_ref();
        loop {
            ready!(tcp.poll_write_ready(cx))?;
            let sent = tcp.try_io(tokio::io::Interest::WRITABLE, || {
                rustix::fs::sendfile(tcp, file, Some(&mut *offset), len).map_err(io::Error::from)
            });
            match sent {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                other => return Poll::Ready(other),
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn poll_send_file(
        &mut self,
        _: &mut Context<'_>,
        _: &std::fs::File,
        _: &mut u64,
        _: usize,
    ) -> Poll<io::Result<usize>> {
        // Never reached: memory files exist on Linux only (`cache::WireChunk`).
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }
}

/// A socket that writes queued raw bytes before anything else (see the module docs).
#[derive(Debug)]
pub(crate) struct SpliceIo<S> {
    /// The socket.
    inner: S,
    /// Complete frames to write before the next write or flush.
    raw: RawQueue,
}

impl<S> SpliceIo<S> {
    /// Wraps `inner`; bytes pushed to the returned queue go out before the next write.
    pub(crate) fn new(inner: S) -> (Self, RawQueue) {
        let raw = RawQueue::default();
        let io = Self {
            inner,
            raw: Arc::clone(&raw),
        };
        (io, raw)
    }
}

impl<S: AsyncWrite + SendFile + Unpin> SpliceIo<S> {
    /// Writes every queued raw byte, or returns `Pending` with the rest still queued.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut raw = lock(&self.raw);
        while let Some(front) = raw.front_mut() {
            if front.len() == 0 {
                raw.pop_front();
                continue;
            }
            let n = match front {
                WireChunk::Bytes(bytes) => {
                    let n = ready!(Pin::new(&mut self.inner).poll_write(cx, bytes))?;
                    bytes.advance(n.min(bytes.len()));
                    n
                }
                WireChunk::File { file, offset, len } => {
                    let n = ready!(self.inner.poll_send_file(cx, file, offset, *len))?;
                    *len -= n.min(*len);
                    n
                }
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SpliceIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + SendFile + Unpin> AsyncWrite for SpliceIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Appends a server WebSocket frame header (FIN set, unmasked, RFC 6455 §5.2) for a payload
/// of `len` bytes with `opcode` (1 text, 2 binary).
pub(crate) fn write_frame_header(out: &mut Vec<u8>, opcode: u8, len: usize) {
    out.push(0x80 | opcode);
    match u16::try_from(len) {
        Ok(n) if n < 126 => out.push(n as u8),
        Ok(n) => {
            out.push(126);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Err(_) => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_headers_use_the_shortest_length_form() {
        const CASES: &[(usize, &[u8])] = &[
            (0, &[0x81, 0]),
            (125, &[0x81, 125]),
            (126, &[0x81, 126, 0, 126]),
            (65_535, &[0x81, 126, 0xff, 0xff]),
            (65_536, &[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ];
        for (len, want) in CASES {
            let mut out = Vec::new();
            write_frame_header(&mut out, 1, *len);
            assert_eq!(&out, want, "len {len}");
        }
    }
}
