//! The connect timeout: a listener that accepts TCP but never answers the WebSocket upgrade
//! makes each attempt fail after exactly `connect_timeout`, reported as a disconnect whose
//! cause is the failed connect, and the shard keeps trying with backoff.

mod support;

use std::time::Duration;

use discordgateway::proto::event::DisconnectCause;
use discordgateway::{Notice, Shard};
use support::emu::Seen;
use tokio::time::Instant;

/// The connect timeout under test.
const TIMEOUT: Duration = Duration::from_secs(3);

#[tokio::test(start_paused = true)]
async fn a_silent_upgrade_hits_the_connect_timeout_then_retries() {
    let (listener, url) = support::listen().await;
    // Accept every connection and keep it open without a byte in reply.
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            sockets.push(socket);
        }
    });
    let config = support::config(&url);
    let config = discordgateway::ShardConfig::builder(config.core().clone())
        .connect_timeout(TIMEOUT)
        .seed(3)
        .build()
        .expect("config");
    let start = Instant::now();
    let mut shard = Shard::new(config);
    let mut seen = Seen::default();
    let mut failures = Vec::new();
    while failures.len() < 2 {
        let event = shard
            .next_event()
            .await
            .expect("connect failures are not errors");
        if matches!(&event, discordgateway::Event::Notice(n) if support::emu::is_disconnect(n, &DisconnectCause::ConnectFailed))
        {
            failures.push(start.elapsed());
        }
        seen.record(event);
    }
    assert_eq!(
        failures[0], TIMEOUT,
        "the first attempt fails after the timeout"
    );
    assert!(
        failures[1] >= TIMEOUT * 2,
        "the retry is bounded by the timeout too: {failures:?}"
    );
    let connecting = seen.count(|n| matches!(n, Notice::Connecting { .. }));
    assert!(connecting >= 2, "it retried");
    assert_eq!(shard.stats().identifies, 0);
    held.abort();
}
