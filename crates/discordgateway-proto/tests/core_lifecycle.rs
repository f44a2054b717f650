//! Every transition of the gateway lifecycle, scripted against a fake clock
//! (GATEWAY.md §3 and §4).

use std::time::Duration;

use discordgateway_proto::close_code::CloseCode;
use discordgateway_proto::config::ReconnectPolicy;
use discordgateway_proto::event::{DisconnectCause, Notice, StopReason};
use discordgateway_proto::shard::ShardId;
use discordgateway_proto::state::{CloseFrame, GatewayState, Phase, Session, Transmit};
use discordgateway_proto::testing::{HEARTBEAT, Harness, dispatch, ready};

const SEED: u64 = 7;

/// The host of every `Connect` transmit, in order.
fn connects(h: &Harness) -> Vec<String> {
    h.out
        .iter()
        .filter_map(|t| match t {
            Transmit::Connect { url } => Some(url.host().to_owned()),
            _ => None,
        })
        .collect()
}

/// The codes of every `Close` transmit, in order.
fn closes(h: &Harness) -> Vec<u16> {
    h.out
        .iter()
        .filter_map(|t| match t {
            Transmit::Close(c) => Some(c.code),
            _ => None,
        })
        .collect()
}

fn session() -> Session {
    Session {
        id: "old".into(),
        sequence: 10,
        resume_url: "wss://resume.example".into(),
        shard: ShardId::ONE,
    }
}

fn resuming_harness() -> Harness {
    let config = Harness::config().build().expect("config");
    let now = std::time::Instant::now();
    Harness::around(
        GatewayState::from_session(config, session(), now, SEED),
        now,
    )
}

#[test]
fn fresh_identify_waits_for_the_grant_and_captures_the_session() {
    let config = Harness::config().build().expect("config");
    let mut h = Harness::new(config, SEED);
    assert_eq!(connects(&h), ["gateway.discord.gg"]);
    h.connected();
    h.hello();
    assert!(h.state.wants_identify());
    assert!(h.notices().contains(&&Notice::WantsIdentify));
    h.advance(Duration::from_secs(10));
    assert!(!h.ops_sent().contains(&2), "no Identify without a grant");
    assert!(h.grant());
    assert!(!h.grant(), "a second grant sends nothing");
    assert_eq!(h.ops_sent().iter().filter(|&&op| op == 2).count(), 1);
    h.recv(&ready(1, "abc", "wss://resume.example"));
    assert_eq!(h.state.phase(), Phase::Active);
    let s = h.state.session().expect("session");
    assert_eq!(
        (s.id.as_str(), s.sequence, s.resume_url.as_str()),
        ("abc", 1, "wss://resume.example")
    );
}

#[test]
fn resume_from_a_saved_session_replays_then_resumed() {
    let mut h = resuming_harness();
    assert_eq!(connects(&h), ["resume.example"]);
    h.connected();
    h.hello();
    assert!(!h.state.wants_identify());
    let Some(Transmit::Text(resume)) = h.out.iter().rev().find(|t| matches!(t, Transmit::Text(_)))
    else {
        panic!("no resume sent")
    };
    assert_eq!(
        &resume[..],
        br#"{"op":6,"d":{"token":"MTAx.fake.token","session_id":"old","seq":10}}"#
    );
    assert_eq!(h.state.phase(), Phase::Resuming);
    h.recv(&dispatch(11, "MESSAGE_CREATE", "{}"));
    h.recv(&dispatch(12, "TYPING_START", "{}"));
    h.recv(&dispatch(13, "RESUMED", "null"));
    assert_eq!(h.state.phase(), Phase::Active);
    assert!(h.notices().contains(&&Notice::Resumed { replayed: 2 }));
    assert_eq!(
        h.dispatches().len(),
        1,
        "only the declared replayed event is delivered"
    );
    assert_eq!(h.state.session().expect("session").sequence, 13);
}

#[test]
fn op7_closes_resumably_and_resumes_on_the_resume_url() {
    let mut h = Harness::identified(SEED);
    h.clear();
    h.recv(r#"{"op":7,"d":null}"#);
    assert_eq!(closes(&h), [4900]);
    assert_eq!(connects(&h), ["resume.example"]);
    assert!(matches!(
        h.out[..],
        [Transmit::Close(_), Transmit::Connect { .. }]
    ));
    h.connected();
    h.hello();
    assert_eq!(h.ops_sent(), [6]);
}

#[test]
fn op7_before_hello_reconnects() {
    let config = Harness::config().build().expect("config");
    let mut h = Harness::new(config, SEED);
    h.connected();
    h.clear();
    h.recv(r#"{"op":7,"d":null}"#);
    assert_eq!(closes(&h), [4900]);
    assert_eq!(
        connects(&h),
        ["gateway.discord.gg"],
        "no session yet: default URL"
    );
}

#[test]
fn op9_true_resumes_and_op9_false_identifies_after_a_pause() {
    let mut h = Harness::identified(SEED);
    h.clear();
    h.recv(r#"{"op":9,"d":true}"#);
    assert_eq!(closes(&h), [4900]);
    assert_eq!(connects(&h), ["resume.example"]);

    let mut h = Harness::identified(SEED);
    h.clear();
    h.recv(r#"{"op":9,"d":false}"#);
    assert_eq!(closes(&h), [1000]);
    assert!(connects(&h).is_empty(), "a 1-5 s pause comes first");
    assert_eq!(h.state.phase(), Phase::Backoff);
    assert!(h.state.session().is_none());
    h.advance(Duration::from_millis(999));
    assert!(connects(&h).is_empty());
    h.advance(Duration::from_secs(4));
    assert_eq!(connects(&h), ["gateway.discord.gg"]);
    h.connected();
    h.hello();
    assert!(h.state.wants_identify());
}

#[test]
fn failed_resume_falls_back_to_a_fresh_identify_on_the_default_url() {
    let mut h = resuming_harness();
    h.connected();
    h.hello();
    h.clear();
    h.recv(r#"{"op":9,"d":false}"#);
    h.advance(Duration::from_secs(5));
    assert_eq!(connects(&h), ["gateway.discord.gg"]);
    h.connected();
    h.hello();
    assert!(h.state.wants_identify());
    assert!(h.grant());
    assert_eq!(h.ops_sent(), [2]);
}

#[test]
fn each_close_code_class_is_acted_on() {
    // (name, code, expected next host or None for stop, resume?)
    const CASES: &[(&str, u16, Option<&str>, bool)] = &[
        (
            "4000 unknown error resumes",
            4000,
            Some("resume.example"),
            true,
        ),
        (
            "4009 session timed out: new session at once",
            4009,
            Some("gateway.discord.gg"),
            false,
        ),
        (
            "4007 invalid seq: new session at once",
            4007,
            Some("gateway.discord.gg"),
            false,
        ),
        ("4004 authentication failed stops", 4004, None, false),
        ("4014 disallowed intents stops", 4014, None, false),
    ];
    for &(name, code, host, can_resume) in CASES {
        let mut h = Harness::identified(SEED);
        h.clear();
        h.state.handle_disconnected(
            h.now,
            Some(CloseFrame {
                code,
                reason: "x".into(),
            }),
        );
        h.drain();
        match host {
            Some(host) => {
                assert_eq!(connects(&h), [host], "{name}");
                h.connected();
                h.hello();
                assert_eq!(
                    h.state.wants_identify(),
                    !can_resume,
                    "{name}: no wasted resume"
                );
                assert_eq!(h.ops_sent().contains(&6), can_resume, "{name}");
            }
            None => {
                assert!(connects(&h).is_empty(), "{name}");
                assert_eq!(h.state.phase(), Phase::Stopped, "{name}");
                let stopped = h.notices().into_iter().find_map(|n| match n {
                    Notice::Stopped(StopReason::Fatal { code, remedy }) => Some((*code, *remedy)),
                    _ => None,
                });
                let (stop_code, remedy) = stopped.expect(name);
                assert_eq!(stop_code, CloseCode::from(code), "{name}");
                assert!(!remedy.is_empty(), "{name}");
            }
        }
    }
}

#[test]
fn a_drop_without_close_frame_resumes() {
    let mut h = Harness::identified(SEED);
    h.clear();
    h.state.handle_disconnected(h.now, None);
    h.drain();
    assert_eq!(connects(&h), ["resume.example"]);
}

#[test]
fn zombie_closes_resumably_then_reconnects() {
    let mut h = Harness::identified(SEED);
    h.clear();
    h.advance(HEARTBEAT * 2);
    assert!(
        h.notices()
            .iter()
            .any(|n| matches!(n, Notice::Zombie { .. }))
    );
    let tail: Vec<_> = h.out.iter().rev().take(2).collect();
    assert!(
        matches!(tail[..], [Transmit::Connect { .. }, Transmit::Close(c)] if c.code == 4900),
        "{:?}",
        h.out
    );
}

#[test]
fn acked_heartbeats_never_zombie_and_measure_latency() {
    let mut h = Harness::identified(SEED);
    h.auto_ack = true;
    h.clear();
    h.advance(HEARTBEAT * 10);
    assert!(h.notices().is_empty(), "{:?}", h.notices());
    let beats = h.ops_sent().iter().filter(|&&op| op == 1).count();
    assert!((9..=10).contains(&beats), "{beats} beats in 10 intervals");
    assert_eq!(h.state.latency(), Some(Duration::ZERO));
}

#[test]
fn server_requested_heartbeat_is_answered_at_once() {
    let mut h = Harness::identified(SEED);
    h.clear();
    h.recv(r#"{"op":1,"d":null}"#);
    let Some(Transmit::Text(beat)) = h.out.first() else {
        panic!("no heartbeat")
    };
    assert_eq!(&beat[..], br#"{"op":1,"d":1}"#);
}

#[test]
fn duplicate_old_and_skipped_sequence_numbers() {
    let mut h = Harness::identified(SEED);
    h.clear();
    for s in [2, 3, 3, 2, 6, 7] {
        h.recv(&dispatch(s, "MESSAGE_CREATE", "{}"));
    }
    let seqs: Vec<u64> = h.dispatches().iter().map(|d| d.sequence()).collect();
    assert_eq!(
        seqs,
        [2, 3, 6, 7],
        "duplicates and old ones are not delivered twice"
    );
    assert_eq!(h.notices(), [&Notice::SequenceGap { from: 4, to: 5 }]);
    assert_eq!(h.state.session().expect("session").sequence, 7);
}

#[test]
fn undeclared_events_are_dropped_but_sequenced() {
    let mut h = Harness::identified(SEED);
    h.clear();
    h.recv(&dispatch(2, "TYPING_START", r#"{"big":"payload"}"#));
    h.recv(&dispatch(3, "SOMETHING_NEW", "{}"));
    assert!(h.events.is_empty());
    h.recv(r#"{"op":1}"#);
    assert!(matches!(h.out.last(), Some(Transmit::Text(b)) if &b[..] == br#"{"op":1,"d":3}"#));
}

/// The fast path for undeclared dispatches reads only `op`, `s`, `t` when they precede
/// `d`: a broken `d` of a dropped event is not reported, one of a delivered event is.
#[test]
fn undeclared_dispatch_is_dropped_without_reading_d() {
    const CASES: &[(&str, &str, bool)] = &[
        (
            "undeclared, keys before a broken d",
            r#"{"t":"TYPING_START","s":2,"op":0,"d":{"x":1"#,
            false,
        ),
        (
            "undeclared, d first and broken",
            r#"{"d":{"x":1,"t":"TYPING_START","s":2,"op":0}"#,
            true,
        ),
        (
            "declared, keys before a broken d",
            r#"{"t":"MESSAGE_CREATE","s":2,"op":0,"d":{"x":1"#,
            true,
        ),
    ];
    for &(case, msg, malformed) in CASES {
        let mut h = Harness::identified(SEED);
        h.clear();
        h.recv(msg);
        assert_eq!(
            h.notices() == [&Notice::Malformed],
            malformed,
            "{case}: notices {:?}",
            h.notices()
        );
        let seq = h.state.session().expect("session").sequence;
        assert_eq!(seq == 2, !malformed, "{case}: sequence {seq}");
        assert!(h.dispatches().is_empty(), "{case}");
    }
}

#[test]
fn manual_mode_reports_and_waits() {
    let config = Harness::config()
        .reconnect(ReconnectPolicy::Manual)
        .build()
        .expect("config");
    let mut h = Harness::new(config, SEED);
    h.hello_and_identify();
    h.clear();
    h.state.handle_disconnected(
        h.now,
        Some(CloseFrame {
            code: 4000,
            reason: "oops".into(),
        }),
    );
    h.drain();
    assert!(h.out.is_empty(), "no reconnect by itself");
    assert_eq!(h.state.phase(), Phase::Idle);
    let Some(Notice::Disconnected(d)) = h.notices().first().copied() else {
        panic!("no report")
    };
    assert_eq!(
        (d.code, d.reason.as_str(), d.can_resume, d.reconnect_at),
        (Some(4000), "oops", true, None)
    );
    assert_eq!(d.cause, DisconnectCause::Remote);
    h.advance(Duration::from_secs(600));
    assert!(h.out.is_empty());
    h.state.resume(h.now).expect("has a session");
    h.drain();
    assert_eq!(connects(&h), ["resume.example"]);
}

#[test]
fn backoff_grows_after_repeated_connect_failures() {
    let mut h = Harness::identified(SEED);
    h.clear();
    for _ in 0..4 {
        h.state.handle_disconnected(h.now, None);
        h.advance(Duration::from_secs(120));
    }
    let attempts: Vec<u32> = h
        .notices()
        .iter()
        .filter_map(|n| match n {
            Notice::Connecting { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2, 3, 4], "each reconnect counts");
    assert_eq!(
        connects(&h)[1..],
        ["gateway.discord.gg"; 3],
        "a failed connect to the resume URL falls back"
    );
}

#[test]
fn closing_for_good_and_resumably() {
    let mut h = Harness::identified(SEED);
    h.clear();
    h.state.close(
        h.now,
        discordgateway_proto::close_code::ClientClose::KeepSession,
    );
    h.drain();
    assert_eq!(closes(&h), [4900]);
    assert_eq!(h.state.phase(), Phase::Idle);
    assert!(h.state.session().is_some());
    h.state.close(
        h.now,
        discordgateway_proto::close_code::ClientClose::EndSession,
    );
    h.drain();
    assert_eq!(h.state.phase(), Phase::Stopped);
    assert!(h.state.session().is_none());
    assert_eq!(h.state.poll_timeout(), None);
}

#[test]
fn a_dispatch_outside_a_session_is_dropped_not_delivered() {
    let config = Harness::config().build().expect("config");
    let mut h = Harness::new(config, SEED);
    h.connected();
    // Before Hello and Identify there is no session to number it against.
    h.recv(&dispatch(33, "MESSAGE_CREATE", "{}"));
    assert!(h.dispatches().is_empty());
    assert!(h.notices().contains(&&Notice::Malformed));
    // Once READY arrives, the session's own numbering applies.
    h.hello();
    h.grant();
    h.recv(&ready(1, "session-1", "wss://resume.example"));
    h.recv(&dispatch(2, "MESSAGE_CREATE", "{}"));
    let seqs: Vec<u64> = h.dispatches().iter().map(|d| d.sequence()).collect();
    assert_eq!(seqs, [2]);
}

#[test]
fn paused_reading_keeps_heartbeating_without_declaring_a_zombie() {
    let mut h = Harness::identified(SEED);
    h.clear();
    // The driver stops reading (slow application): ACKs wait unread behind the backlog.
    h.state.set_reading_paused(h.now, true);
    h.advance(HEARTBEAT * 4);
    let beats = h.ops_sent().iter().filter(|op| **op == 1).count();
    assert!(beats >= 3, "heartbeats go on while paused: {beats}");
    assert!(
        !h.notices()
            .iter()
            .any(|n| matches!(n, Notice::Zombie { .. })),
        "no zombie while reading is paused"
    );
    assert_eq!(h.state.phase(), Phase::Active);
    // Reading resumes: the outstanding beat gets one full interval from now for its ACK to be
    // read (the next timed beat comes within that interval and is not a zombie verdict).
    h.state.set_reading_paused(h.now, false);
    h.advance(HEARTBEAT - Duration::from_millis(1));
    assert!(
        !h.notices()
            .iter()
            .any(|n| matches!(n, Notice::Zombie { .. })),
        "one interval of grace after reading resumes"
    );
    // Without ACKs the rule applies again.
    h.advance(HEARTBEAT * 3);
    assert!(
        h.notices()
            .iter()
            .any(|n| matches!(n, Notice::Zombie { .. })),
        "the zombie rule is back once reading resumed"
    );
}
