//! Measurements, not assertions (run with `cargo test -p discordgateway --test measure --
//! --ignored --nocapture`): time to first event after `Shard::new`, and resume after a TCP
//! drop, each the median of 20 runs on loopback against the scripted gateway.
#![allow(clippy::print_stdout)]

mod support;

use std::time::{Duration, Instant};

use discordgateway::{Event, Notice, Shard};
use support::*;

/// The median of `samples`.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn time_to_first_event_and_resume_after_tcp_drop() {
    let mut first = Vec::new();
    for _ in 0..20 {
        let (listener, url) = listen().await;
        tokio::spawn(async move {
            let mut ws = accept(&listener).await;
            handshake(&mut ws).await;
            send(&mut ws, &message(2)).await;
            drain(&mut ws).await;
        });
        let start = Instant::now();
        let mut shard = Shard::new(config(&url));
        while !matches!(shard.next_event().await.expect("ok"), Event::Dispatch(_)) {}
        first.push(start.elapsed());
    }
    println!(
        "time to first event after Shard::new: median {:?} of 20",
        median(first)
    );

    let (listener, url) = listen().await;
    let resume_url = url.clone();
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        hello(&mut ws).await;
        expect_op(&mut ws, 2).await;
        send(&mut ws, &ready_resuming_at(&resume_url)).await;
        for seq in 2..22 {
            send(&mut ws, &message(seq)).await;
            drop(ws); // TCP drop, no close frame
            ws = accept(&listener).await;
            hello(&mut ws).await;
            expect_op(&mut ws, 6).await;
            send(
                &mut ws,
                &format!(r#"{{"op":0,"s":{},"t":"RESUMED","d":{{}}}}"#, seq + 1),
            )
            .await;
        }
        drain(&mut ws).await;
    });
    let mut shard = Shard::new(config(&url));
    let mut resumes = Vec::new();
    let mut dropped_at = None;
    while resumes.len() < 20 {
        match shard.next_event().await.expect("ok") {
            Event::Notice(Notice::Disconnected(_)) => dropped_at = Some(Instant::now()),
            Event::Notice(Notice::Resumed { .. }) => {
                resumes.push(dropped_at.take().expect("disconnect first").elapsed());
            }
            _ => {}
        }
    }
    assert_eq!(shard.stats().resumes, 20);
    println!(
        "resume after a TCP drop (disconnect seen -> RESUMED): median {:?} of 20",
        median(resumes)
    );
}
