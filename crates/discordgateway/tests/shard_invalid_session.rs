//! Op 9 Invalid Session against the emulator (GATEWAY.md §3.8): with `d: true` the shard
//! resumes the same session and loses nothing; with `d: false` the emulator destroys the
//! session and the shard identifies a new one through its identify queue.

mod support;

use discordgateway::Notice;
use discordgateway::proto::event::DisconnectCause;
use discordgateway_emulator::Fault;
use support::emu::{self, Knobs};

#[tokio::test(start_paused = true)]
async fn op_9_true_resumes_the_session() {
    let fault = Fault::InvalidSession { resumable: true };
    let (emu, mut shard, mut seen) = emu::fault_mid_stream(fault, &Knobs::default()).await;
    let cause = DisconnectCause::InvalidSession;
    emu::assert_resumed("op 9 true", &emu, &mut shard, &mut seen, &cause).await;
    assert!(
        seen.notices
            .contains(&Notice::InvalidSession { resumable: true }),
        "the op 9 is reported"
    );
}

#[tokio::test(start_paused = true)]
async fn op_9_false_identifies_a_new_session() {
    let fault = Fault::InvalidSession { resumable: false };
    let (emu, mut shard, mut seen) = emu::fault_mid_stream(fault, &Knobs::default()).await;
    emu::assert_new_session("op 9 false", &emu, &mut shard, &mut seen).await;
    assert!(
        seen.notices
            .contains(&Notice::InvalidSession { resumable: false }),
        "the op 9 is reported"
    );
}
