//! The configurable Hello timeout is the only Hello deadline: a server that upgrades the
//! WebSocket but never sends Hello is given up after exactly `hello_timeout` — shorter and
//! longer than the core's 20 s default — with the cause `HelloTimeout`.

mod support;

use std::time::Duration;

use discordgateway::proto::event::DisconnectCause;
use discordgateway::{Event, Notice, Shard, ShardConfig};
use support::*;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn the_configured_hello_timeout_governs() {
    const CASES: &[(&str, Duration)] = &[
        ("shorter than the core default", Duration::from_secs(2)),
        ("longer than the core default", Duration::from_secs(30)),
    ];
    for &(case, timeout) in CASES {
        let (listener, url) = listen().await;
        let server = tokio::spawn(async move {
            let ws = accept(&listener).await; // upgrade, then silence
            let _second = listener.accept().await;
            drop(ws);
        });
        let config = ShardConfig::builder(config(&url).core().clone())
            .hello_timeout(timeout)
            .seed(7)
            .build()
            .expect("config");
        let mut shard = Shard::new(config);
        let mut opened = None;
        let disconnect = loop {
            match shard.next_event().await.expect("no error") {
                Event::Notice(Notice::Connecting { .. }) => opened = Some(Instant::now()),
                Event::Notice(Notice::Disconnected(d)) => break d,
                _ => {}
            }
        };
        let waited = opened.expect("connecting first").elapsed();
        assert_eq!(
            disconnect.cause,
            DisconnectCause::HelloTimeout,
            "case {case}"
        );
        assert!(
            waited >= timeout && waited < timeout + Duration::from_millis(50),
            "case {case}: gave up after {waited:?}"
        );
        server.abort();
    }
}
