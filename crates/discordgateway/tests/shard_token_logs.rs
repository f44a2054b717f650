//! The bot token never appears in TRACE output of a whole emulator session: connect,
//! Identify (which carries the token), READY, dispatches, a TCP drop, Resume (which carries
//! it again), RESUMED and a final close — with every span and event of the shard, the core
//! and the emulator captured.

mod support;

use discordgateway::proto::event::DisconnectCause;
use discordgateway::{CloseKind, Notice};
use discordgateway_emulator::Fault;
use support::emu::{self, Knobs};
use support::{Capture, TOKEN};

#[tokio::test(start_paused = true)]
async fn the_token_never_appears_in_trace_output() {
    let (capture, _guard) = Capture::install();

    let (emu, mut shard, mut seen) = emu::fault_mid_stream(Fault::Drop, &Knobs::default()).await;
    emu::assert_resumed(
        "trace",
        &emu,
        &mut shard,
        &mut seen,
        &DisconnectCause::Remote,
    )
    .await;
    shard.close(CloseKind::Final).await;
    let config_debug = format!("{:?}", emu::shard_config(&emu, &Knobs::default()));
    let session_debug = format!("{:?}", shard.session());

    let logs = capture.text();
    assert!(logs.contains("identifying"), "identify is logged");
    assert!(logs.contains("resumed"), "the resume is logged");
    assert!(
        logs.contains("shard{id=0 total=1}"),
        "lines carry the shard span"
    );
    assert!(
        seen.notices
            .iter()
            .any(|n| matches!(n, Notice::Resumed { .. })),
        "a Resume (with the token) went out"
    );
    let secret = TOKEN.split('.').nth(1).expect("token middle part");
    for (what, text) in [
        ("trace", &logs),
        ("config Debug", &config_debug),
        ("session Debug", &session_debug),
    ] {
        assert!(!text.contains(TOKEN), "token leaked into {what}");
        assert!(!text.contains(secret), "token part leaked into {what}");
    }
}
