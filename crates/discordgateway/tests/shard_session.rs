//! The Shard against a scripted loopback gateway: identify and READY, commands through the
//! sender, a fatal close, cancellation mid-message, and the token kept out of the logs.

mod support;

use std::time::Duration;

use discordgateway::proto::Snowflake;
use discordgateway::proto::payload::RequestGuildMembers;
use discordgateway::{Event, Notice, Shard, ShardErrorKind};
use support::*;
use tokio::sync::mpsc;

/// Polls until the next dispatch, skipping notices.
async fn next_dispatch(shard: &mut Shard) -> discordgateway::Dispatch {
    loop {
        match shard.next_event().await.expect("no error") {
            Event::Dispatch(dispatch) => return dispatch,
            Event::Notice(_) => {}
        }
    }
}

#[tokio::test]
async fn identifies_and_delivers_only_declared_dispatches() {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        let identify = handshake(&mut ws).await;
        send(&mut ws, r#"{"op":0,"s":2,"t":"TYPING_START","d":{}}"#).await; // undeclared
        send(&mut ws, &message(3)).await;
        identify
    });
    let mut shard = Shard::new(config(&url));
    let mut saw_ready = false;
    let dispatch = loop {
        match shard.next_event().await.expect("no error") {
            Event::Dispatch(dispatch) => break dispatch,
            Event::Notice(Notice::Ready { session_id }) => saw_ready = session_id == "sess-1",
            Event::Notice(_) => {}
        }
    };
    assert!(saw_ready, "READY notice with the session id");
    assert_eq!(dispatch.kind().wire_name(), "MESSAGE_CREATE");
    assert_eq!(dispatch.sequence(), 3);
    let identify = server.await.expect("server");
    assert!(identify.contains(TOKEN), "identify carries the token");
    let stats = shard.stats();
    assert_eq!(
        (
            stats.identifies,
            stats.events_delivered,
            stats.events_dropped
        ),
        (1, 1, 2),
        "dropped: READY (undeclared, reported only as a notice) and TYPING_START"
    );
    assert_eq!(shard.status(), discordgateway::Phase::Active);
    assert_eq!(
        shard.session().map(|s| (s.id, s.sequence)),
        Some(("sess-1".to_owned(), 3))
    );
}

#[tokio::test]
async fn a_command_sent_before_connecting_waits_then_goes_out() {
    let (listener, url) = listen().await;
    let server = tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        handshake(&mut ws).await;
        let request = expect_op(&mut ws, 8).await;
        send(&mut ws, &message(2)).await;
        request
    });
    let mut shard = Shard::new(config(&url));
    let sender = shard.sender();
    let command = RequestGuildMembers::query(Snowflake::new(1_200_000_000_000_000_000), "", 10);
    let sent = tokio::spawn(async move { sender.send(command).await });
    let dispatch = next_dispatch(&mut shard).await;
    assert_eq!(dispatch.sequence(), 2);
    sent.await.expect("task").expect("command accepted");
    let request = server.await.expect("server");
    assert!(
        request.contains(r#""guild_id":"1200000000000000000""#),
        "{request}"
    );
}

#[tokio::test]
async fn a_dropped_shard_makes_senders_fail_with_shard_gone() {
    let (_listener, url) = listen().await;
    let shard = Shard::new(config(&url));
    let sender = shard.sender();
    drop(shard);
    let command = RequestGuildMembers::query(Snowflake::new(1), "", 10);
    let err = sender.send(command).await.expect_err("gone");
    assert_eq!(err.kind(), &discordgateway::SendErrorKind::ShardGone);
}

#[tokio::test]
async fn an_invalid_command_is_refused_at_once() {
    let (_listener, url) = listen().await;
    let shard = Shard::new(config(&url));
    let too_long = "x".repeat(200);
    let command = RequestGuildMembers::query(Snowflake::new(1), "", 10).with_nonce(too_long);
    let err = shard.sender().send(command).await.expect_err("invalid");
    assert_eq!(err.kind(), &discordgateway::SendErrorKind::Invalid);
}

#[tokio::test]
async fn fatal_close_codes_stop_with_the_remedy() {
    const CASES: &[(&str, u16, &str)] = &[
        ("4004 bad token", 4004, "reconnecting will not help"),
        ("4014 privileged intent", 4014, "Developer Portal"),
    ];
    for &(name, code, needle) in CASES {
        let (listener, url) = listen().await;
        tokio::spawn(async move {
            let mut ws = accept(&listener).await;
            hello(&mut ws).await;
            expect_op(&mut ws, 2).await;
            close(&mut ws, code, "no").await;
            drain(&mut ws).await;
        });
        let mut shard = Shard::new(config(&url));
        let err = loop {
            match shard.next_event().await {
                Ok(_) => {}
                Err(err) => break err,
            }
        };
        assert!(
            matches!(err.kind(), ShardErrorKind::FatalClose { code: c, .. } if *c == code),
            "case {name}: {err}"
        );
        assert!(err.to_string().contains(needle), "case {name}: {err}");
        let again = shard.next_event().await.expect_err("stays stopped");
        assert_eq!(again.kind(), err.kind(), "case {name}");
    }
}

#[tokio::test]
async fn cancelling_next_event_mid_message_loses_nothing() {
    let (listener, url) = listen().await;
    let (half_tx, mut half_rx) = mpsc::channel(1);
    let (go_tx, go_rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        handshake(&mut ws).await;
        split_frame(&mut ws, &message(2), half_tx, go_rx).await;
        send(&mut ws, &message(3)).await;
        drain(&mut ws).await;
    });
    let mut shard = Shard::new(config(&url));
    // Run until READY is in.
    while !matches!(
        shard.next_event().await.expect("ok"),
        Event::Notice(Notice::Ready { .. })
    ) {}
    half_rx.recv().await.expect("half a frame is on the wire");
    // Poll while only half the frame can arrive, then drop the future, several times.
    for _ in 0..3 {
        let cancelled = tokio::time::timeout(Duration::from_millis(20), shard.next_event()).await;
        assert!(
            cancelled.is_err(),
            "a half frame yields no event: {cancelled:?}"
        );
    }
    go_tx.send(()).await.expect("go");
    let first = next_dispatch(&mut shard).await;
    let second = next_dispatch(&mut shard).await;
    assert_eq!((first.sequence(), second.sequence()), (2, 3));
    assert_eq!(&first.raw()[..], br#"{"id":"2","content":"hi"}"#);
}

#[tokio::test]
async fn the_token_never_appears_in_trace_output() {
    let (capture, _guard) = Capture::install();
    let (listener, url) = listen().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        handshake(&mut ws).await;
        send(&mut ws, &message(2)).await;
        close(&mut ws, 4000, "bye").await;
        drain(&mut ws).await;
    });
    let mut shard = Shard::new(config(&url));
    let config_debug = format!("{:?}", config(&url));
    next_dispatch(&mut shard).await;
    // The 4000 close: a resumable disconnect is logged with its cause.
    while !matches!(
        shard.next_event().await.expect("ok"),
        Event::Notice(Notice::Disconnected(_))
    ) {}
    shard.close(discordgateway::CloseKind::Final).await;
    let logs = capture.text();
    assert!(logs.contains("identifying"), "lifecycle is logged: {logs}");
    assert!(
        logs.contains("shard{id=0 total=1}"),
        "span names the shard: {logs}"
    );
    assert!(!logs.contains(TOKEN), "token leaked into logs");
    assert!(
        !logs.contains("super-secret"),
        "token part leaked into logs"
    );
    assert!(
        !config_debug.contains("super-secret"),
        "token leaked into Debug"
    );
}
