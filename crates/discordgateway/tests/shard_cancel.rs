//! Cancel safety of `next_event` against the emulator: while a zlib-compressed stream flows
//! (a lost or repeated frame would also corrupt the shared inflate context), `next_event` is
//! raced against a short timer in `select!` over and over, so many polls are dropped half
//! way; every dispatch still arrives exactly once and in order.

mod support;

use std::time::Duration;

use discordgateway::proto::Compression;
use support::emu::{self, Knobs};

#[tokio::test(start_paused = true)]
async fn dropping_next_event_repeatedly_loses_nothing() {
    let knobs = Knobs {
        compression: Compression::ZlibStream,
        ..Knobs::default()
    };
    let (emu, mut shard, mut seen) = emu::mid_stream(&knobs).await;
    let mut cancelled = 0u32;
    while seen.dispatches.len() < emu::PER_SESSION {
        tokio::select! {
            event = shard.next_event() => seen.record(event.expect("no error")),
            () = tokio::time::sleep(Duration::from_micros(300)) => cancelled += 1,
        }
    }
    seen.assert_exactly_once(emu::PER_SESSION, "cancelled polls");
    assert!(cancelled > 100, "many polls were dropped: {cancelled}");
    assert_eq!(
        shard.session().map(|s| s.sequence),
        Some(emu.sessions()[0].seq)
    );
}
