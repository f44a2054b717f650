//! Resuming against the emulator: after a TCP drop (no close frame) and after op 7
//! Reconnect, the shard resumes the same session and every dispatch arrives exactly once, in
//! order — those in flight when the connection died are replayed by the emulator.

mod support;

use discordgateway::proto::event::DisconnectCause;
use discordgateway_emulator::Fault;
use support::emu::{self, Knobs};

#[tokio::test(start_paused = true)]
async fn resumes_without_losing_or_repeating_a_dispatch() {
    let cases = [
        ("tcp drop", Fault::Drop, DisconnectCause::Remote),
        (
            "op 7",
            Fault::Reconnect,
            DisconnectCause::ReconnectRequested,
        ),
    ];
    for (case, fault, cause) in cases {
        let (emu, mut shard, mut seen) = emu::fault_mid_stream(fault, &Knobs::default()).await;
        emu::assert_resumed(case, &emu, &mut shard, &mut seen, &cause).await;
        emu.shutdown();
    }
}
