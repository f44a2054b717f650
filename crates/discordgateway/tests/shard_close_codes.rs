//! One test per close-code class against the emulator (GATEWAY.md §4): 4000 resumes the
//! session; 4007 and 4009 give it up and identify anew; 4004 and 4014 stop the shard with an
//! error that names the fix.

mod support;

use discordgateway::proto::event::DisconnectCause;
use discordgateway::{Intents, SendErrorKind, ShardErrorKind};
use discordgateway_emulator::{EmulatorConfig, Fault};
use support::emu::{self, Knobs, Seen};

/// A close fault with `code`.
fn close(code: u16) -> Fault {
    Fault::Close {
        code,
        reason: Some(format!("emulated {code}")),
    }
}

#[tokio::test(start_paused = true)]
async fn close_4000_resumes() {
    let (emu, mut shard, mut seen) = emu::fault_mid_stream(close(4000), &Knobs::default()).await;
    emu::assert_resumed(
        "4000",
        &emu,
        &mut shard,
        &mut seen,
        &DisconnectCause::Remote,
    )
    .await;
    let disconnect = seen.disconnects()[0].clone();
    assert_eq!(
        (disconnect.code, disconnect.reason.as_str()),
        (Some(4000), "emulated 4000")
    );
}

#[tokio::test(start_paused = true)]
async fn close_4007_and_4009_identify_a_new_session() {
    for code in [4007, 4009] {
        let case = format!("{code}");
        let (emu, mut shard, mut seen) =
            emu::fault_mid_stream(close(code), &Knobs::default()).await;
        emu::assert_new_session(&case, &emu, &mut shard, &mut seen).await;
        let disconnect = seen.disconnects()[0].clone();
        assert_eq!(disconnect.code, Some(code), "case {case}");
        assert!(!disconnect.can_resume, "case {case}: not resumable");
        emu.shutdown();
    }
}

#[tokio::test(start_paused = true)]
async fn close_4004_and_4014_stop_with_the_remedy() {
    type Case = (&'static str, Knobs, u64, u16, &'static str);
    let cases: [Case; 2] = [
        (
            "4004: a token the emulator rejects",
            Knobs {
                token: "MTAx.not-the-right.token",
                ..Knobs::default()
            },
            discordgateway_emulator::EmulatorConfig::default().allowed_privileged_intents,
            4004,
            "reconnecting will not help",
        ),
        (
            "4014: a privileged intent the app may not use",
            Knobs {
                extra_intents: Intents::GUILD_PRESENCES,
                ..Knobs::default()
            },
            0,
            4014,
            "Developer Portal",
        ),
    ];
    for (case, knobs, allowed, code, remedy) in cases {
        let emu = emu::start(EmulatorConfig {
            allowed_privileged_intents: allowed,
            ..EmulatorConfig::default()
        })
        .await;
        let mut shard = discordgateway::Shard::new(emu::shard_config(&emu, &knobs));
        let sender = shard.sender();
        let mut seen = Seen::default();
        let err = emu::until_error(&mut shard, &mut seen).await;
        assert!(
            matches!(err.kind(), ShardErrorKind::FatalClose { code: c, .. } if *c == code),
            "case {case}: {err}"
        );
        assert!(err.to_string().contains(remedy), "case {case}: {err}");
        let again = shard.next_event().await.expect_err("stays stopped");
        assert_eq!(again.kind(), err.kind(), "case {case}: same error again");
        assert_eq!(emu.stats().identifies, 0, "case {case}: no session started");
        assert_eq!(
            shard.stats().reconnects,
            0,
            "case {case}: never reconnected"
        );
        let command = discordgateway::proto::payload::UpdatePresence::new(
            discordgateway::proto::payload::Status::Idle,
        );
        let sent = sender.send(command).await.expect_err("stopped shard");
        assert_eq!(sent.kind(), &SendErrorKind::ShardGone, "case {case}");
        emu.shutdown();
    }
}
