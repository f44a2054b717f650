//! Heartbeat latency: the average is taken over every ACK as it arrives (server-requested
//! beats included), not sampled when the heartbeat timer fires.

mod support;

use std::time::Duration;

use discordgateway::{Event, Shard};
use support::*;

/// Round trips the scripted server imposes on three server-requested beats.
const DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(600),
];

#[tokio::test(start_paused = true)]
async fn the_average_counts_every_ack() {
    let (listener, url) = listen().await;
    tokio::spawn(async move {
        let mut ws = accept(&listener).await;
        handshake(&mut ws).await;
        for (i, delay) in DELAYS.iter().enumerate() {
            send(&mut ws, r#"{"op":1,"d":null}"#).await; // "beat now"
            expect_op(&mut ws, 1).await;
            tokio::time::sleep(*delay).await; // paused clock: an exact round trip
            send(&mut ws, r#"{"op":11}"#).await;
            send(&mut ws, &message(i as u64 + 2)).await; // marks "ACK delivered"
        }
        drain(&mut ws).await;
    });
    let mut shard = Shard::new(config(&url));
    let mut lasts = Vec::new();
    while lasts.len() < DELAYS.len() {
        if let Event::Dispatch(_) = shard.next_event().await.expect("no error") {
            lasts.push(shard.latency());
        }
    }
    let mut sum = Duration::ZERO;
    for (i, (latency, delay)) in lasts.iter().zip(DELAYS).enumerate() {
        sum += delay;
        let mean = sum / (i as u32 + 1);
        assert_eq!(latency.last, Some(delay), "ack {i}: last");
        assert_eq!(
            latency.average,
            Some(mean),
            "ack {i}: average of every ACK so far"
        );
    }
}
