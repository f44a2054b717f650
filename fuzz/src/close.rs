//! `close_frame`: a close code and reason, as the server's close frame carries them.
//!
//! Input: two bytes (little endian) of code, the rest is the reason (lossy UTF-8). The code
//! goes through every classification, then closes a live session of a real `GatewayState`,
//! which must follow the action the code implies.

use discordgateway_proto::close_code::{ClientClose, CloseAction, CloseCode, VoiceCloseCode};
use discordgateway_proto::state::{CloseFrame, Phase};
use discordgateway_proto::testing::Harness;

/// Classifies the code and applies the close frame to an identified session.
pub fn check(data: &[u8]) {
    let Some((head, reason)) = data.split_first_chunk::<2>() else {
        return;
    };
    let code = u16::from_le_bytes(*head);
    let gateway = CloseCode::from(code);
    assert_eq!(gateway.code(), code, "the number survives");
    assert_eq!(
        gateway.is_known(),
        !matches!(gateway, CloseCode::Unknown(_))
    );
    assert!(!gateway.to_string().is_empty() && !gateway.description().is_empty());
    let action = CloseAction::after(Some(gateway));
    assert_eq!(action.reconnects(), action != CloseAction::Stop);
    if action == CloseAction::Stop {
        assert!(
            gateway.remedy().is_some(),
            "{code}: a stop names its remedy"
        );
    }
    let voice = VoiceCloseCode::from(code);
    assert_eq!(voice.code(), code, "the voice number survives");
    let _ = (voice.action(), voice.remedy(), voice.to_string());
    let client = ClientClose::from_code(code);
    assert_eq!(client.ends_session(), matches!(code, 1000 | 1001));

    let mut h = Harness::identified(u64::from(code));
    let reason = String::from_utf8_lossy(reason).into_owned();
    h.state
        .handle_disconnected(h.now, Some(CloseFrame { code, reason }));
    h.drain();
    let (phase, session) = (h.state.phase(), h.state.session());
    match action {
        CloseAction::Resume => assert!(session.is_some() && phase != Phase::Stopped, "{code}"),
        CloseAction::Reidentify => assert!(session.is_none() && phase != Phase::Stopped, "{code}"),
        CloseAction::Stop => assert_eq!(phase, Phase::Stopped, "{code}"),
    }
}
