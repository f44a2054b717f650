//! One live WebSocket, driven by `poll_*` functions whose whole state lives in the struct.
//!
//! This is what makes `Shard::next_event` cancel-safe: nothing about the socket is ever held
//! in a future's locals. Reading uses the stream's own `poll_next` (tokio-websockets keeps a
//! partly received message in its codec buffer, so a dropped poll loses nothing). Writing
//! moves each outgoing message into the sink with `poll_ready` + `start_send` (after which the
//! sink owns it) and then flushes; messages the sink cannot take yet wait in [`Connection`]'s
//! outbox. So at every `Pending`, each byte is either in the outbox, in the sink, or sent.
//!
//! Pings are answered by tokio-websockets itself; a close frame from the peer is reported as
//! [`Inbound::Closed`] with its code and reason.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::{Sink, Stream};
use tokio_websockets::{CloseCode, Message};

use crate::connect::WsStream;

/// What the socket delivered.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// A text message (JSON).
    Text(Bytes),
    /// A binary message (ETF, or compressed).
    Binary(Bytes),
    /// The peer sent a close frame: `(code, reason)`; `None` for a close with no code.
    Closed(Option<(u16, String)>),
    /// The connection ended without a close frame (TCP drop, protocol error).
    Dropped(tokio_websockets::Error),
    /// The stream ended (after our own close was acknowledged, or EOF).
    Ended,
}

/// A live WebSocket plus the messages waiting to enter it.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The socket.
    ws: WsStream,
    /// Messages not yet handed to the sink, oldest first.
    outbox: VecDeque<Message>,
    /// Whether the sink holds messages that are not flushed yet.
    unflushed: bool,
}

impl Connection {
    /// Wraps a freshly connected socket.
    pub(crate) fn new(ws: WsStream) -> Self {
        Self {
            ws,
            outbox: VecDeque::new(),
            unflushed: false,
        }
    }

    /// Queues a text message (a gateway payload); [`poll_flush_out`](Self::poll_flush_out)
    /// sends it.
    pub(crate) fn queue_text(&mut self, payload: Bytes) {
        self.outbox.push_back(Message::text(payload));
    }

    /// Queues a close frame with `code` and `reason`.
    pub(crate) fn queue_close(&mut self, code: u16, reason: &str) {
        let code = CloseCode::try_from(code).ok();
        self.outbox.push_back(Message::close(code, reason));
    }

    /// Whether everything queued has been handed to the socket and flushed.
    #[cfg(test)]
    pub(crate) fn is_flushed(&self) -> bool {
        self.outbox.is_empty() && !self.unflushed
    }

    /// Moves the outbox into the sink and flushes it. `Ready(Ok)` once all is written.
    pub(crate) fn poll_flush_out(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), tokio_websockets::Error>> {
        while !self.outbox.is_empty() {
            ready!(Pin::new(&mut self.ws).poll_ready(cx))?;
            if let Some(message) = self.outbox.pop_front() {
                Pin::new(&mut self.ws).start_send(message)?;
                self.unflushed = true;
            }
        }
        if self.unflushed {
            ready!(Pin::new(&mut self.ws).poll_flush(cx))?;
            self.unflushed = false;
        }
        Poll::Ready(Ok(()))
    }

    /// Reads the next message. Cancel-safe: a partial message stays in the codec's buffer.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Inbound> {
        loop {
            let message = match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                None => return Poll::Ready(Inbound::Ended),
                Some(Err(e)) => return Poll::Ready(Inbound::Dropped(e)),
                Some(Ok(message)) => message,
            };
            if let Some((code, reason)) = message.as_close() {
                let code = u16::from(code);
                // 1005 is the stand-in for "no status code in the frame" (RFC 6455 §7.4.1).
                let close = (code != 1005).then(|| (code, reason.to_owned()));
                return Poll::Ready(Inbound::Closed(close));
            }
            if message.is_text() {
                return Poll::Ready(Inbound::Text(message.into_payload().into()));
            }
            if message.is_binary() {
                return Poll::Ready(Inbound::Binary(message.into_payload().into()));
            }
            // Ping and pong: handled by tokio-websockets; read on.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    use futures_util::{SinkExt, StreamExt};
    use tokio::net::TcpListener;
    use tokio_websockets::ServerBuilder;

    use crate::connect::{ConnectOptions, connect};

    /// A loopback WebSocket server that runs `script` on its first connection; returns the url.
    async fn server<F, Fut>(script: F) -> discordgateway_proto::url::GatewayUrl
    where
        F: FnOnce(tokio_websockets::WebSocketStream<tokio::net::TcpStream>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("ws://{}/", listener.local_addr().expect("addr"));
        let url = discordgateway_proto::url::GatewayUrl::parse(&url).expect("url");
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let (_request, ws) = ServerBuilder::new().accept(tcp).await.expect("upgrade");
            script(ws).await;
        });
        url
    }

    #[tokio::test]
    async fn echoes_text_and_reports_the_close_code() {
        let url = server(|mut ws| async move {
            while let Some(Ok(message)) = ws.next().await {
                if message.is_text() {
                    let _ = ws.send(message).await;
                    let _ = ws
                        .send(Message::close(CloseCode::try_from(4004).ok(), "bad token"))
                        .await;
                }
            }
        })
        .await;
        let ws = connect(&url, &ConnectOptions::default())
            .await
            .expect("connect");
        let mut connection = Connection::new(ws);
        connection.queue_text(Bytes::from_static(b"{\"op\":1,\"d\":null}"));
        poll_fn(|cx| connection.poll_flush_out(cx))
            .await
            .expect("sent");
        assert!(connection.is_flushed());
        let echoed = poll_fn(|cx| connection.poll_recv(cx)).await;
        assert!(
            matches!(&echoed, Inbound::Text(b) if b.as_ref() == b"{\"op\":1,\"d\":null}"),
            "{echoed:?}"
        );
        let closed = poll_fn(|cx| connection.poll_recv(cx)).await;
        assert!(
            matches!(&closed, Inbound::Closed(Some((4004, reason))) if reason == "bad token"),
            "{closed:?}"
        );
    }

    #[tokio::test]
    async fn a_tcp_drop_is_reported_without_a_close_code() {
        let url = server(|ws| async move { drop(ws) }).await;
        let ws = connect(&url, &ConnectOptions::default())
            .await
            .expect("connect");
        let mut connection = Connection::new(ws);
        let inbound = poll_fn(|cx| connection.poll_recv(cx)).await;
        assert!(
            matches!(inbound, Inbound::Dropped(_) | Inbound::Ended),
            "{inbound:?}"
        );
    }
}
