//! Property test: random server frames and time steps never break the core's promises.

use std::time::{Duration, Instant};

use discordgateway_proto::event::{Event, Notice};
use discordgateway_proto::payload::{Command, RequestGuildMembers};
use discordgateway_proto::ratelimit::LIMIT;
use discordgateway_proto::snowflake::Snowflake;
use discordgateway_proto::state::{CloseFrame, Transmit};
use discordgateway_proto::testing::{Harness, dispatch, ready, text_op};
use proptest::prelude::*;

/// One scripted step.
#[derive(Debug, Clone)]
enum Step {
    Connected,
    Frame(String),
    Garbage(Vec<u8>),
    Disconnected(Option<u16>),
    Advance(u64),
    Grant,
    Send,
}

fn step() -> impl Strategy<Value = Step> {
    let frames = prop_oneof![
        Just(r#"{"op":10,"d":{"heartbeat_interval":41250}}"#.to_owned()),
        Just(r#"{"op":10,"d":{"heartbeat_interval":500}}"#.to_owned()),
        Just(r#"{"op":11}"#.to_owned()),
        Just(r#"{"op":1,"d":null}"#.to_owned()),
        Just(r#"{"op":7,"d":null}"#.to_owned()),
        Just(r#"{"op":9,"d":true}"#.to_owned()),
        Just(r#"{"op":9,"d":false}"#.to_owned()),
        (1u64..50).prop_map(|s| ready(s, "sid", "wss://resume.example")),
        (1u64..50).prop_map(|s| dispatch(s, "MESSAGE_CREATE", "{}")),
        (1u64..50).prop_map(|s| dispatch(s, "RESUMED", "null")),
        (1u64..50).prop_map(|s| dispatch(s, "TYPING_START", "{}")),
    ];
    prop_oneof![
        2 => Just(Step::Connected),
        6 => frames.prop_map(Step::Frame),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Step::Garbage),
        1 => proptest::option::of(prop_oneof![Just(4000u16), Just(4004), Just(4007), Just(4009), 1000u16..5000]).prop_map(Step::Disconnected),
        4 => (0u64..90_000).prop_map(Step::Advance),
        2 => Just(Step::Grant),
        4 => Just(Step::Send),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_scripts_keep_every_promise(steps in proptest::collection::vec(step(), 1..200), seed in any::<u64>()) {
        let config = Harness::config().build().expect("config");
        let mut h = Harness::new(config, seed);
        let mut sends: Vec<Instant> = Vec::new();
        let mut granted_since_connect = 0u32;
        let mut identifies_on_connection = 0u32;
        let mut seen = 0;
        let mut seen_events = 0;
        let mut last_seq: Option<u64> = None;
        for step in steps {
            match step {
                Step::Connected => h.connected(),
                Step::Frame(json) => h.recv(&json),
                Step::Garbage(bytes) => h.recv_binary(&bytes),
                Step::Disconnected(code) => {
                    h.state.handle_disconnected(h.now, code.map(|code| CloseFrame { code, reason: String::new() }));
                    h.drain();
                }
                Step::Advance(ms) => {
                    let target = h.now + Duration::from_millis(ms);
                    while let Some(at) = h.state.poll_timeout().filter(|at| *at <= target) {
                        h.now = h.now.max(at);
                        h.state.handle_timeout(h.now);
                        h.drain();
                        let next = h.state.poll_timeout();
                        prop_assert!(next.is_none_or(|n| n > h.now), "timer not rearmed past now");
                    }
                    h.now = target;
                }
                Step::Grant => {
                    if h.state.wants_identify() {
                        granted_since_connect += 1;
                    }
                    h.grant();
                }
                Step::Send => {
                    let cmd = Command::from(RequestGuildMembers::query(Snowflake::new(1), "a", 1));
                    let _ = h.state.send(h.now, &cmd);
                    h.drain();
                }
            }
            for t in &h.out[seen..] {
                match t {
                    Transmit::Connect { .. } => {
                        identifies_on_connection = 0;
                        granted_since_connect = 0;
                        sends.clear();
                    }
                    t if text_op(t) == Some(2) => {
                        identifies_on_connection += 1;
                        prop_assert!(granted_since_connect >= identifies_on_connection, "identify without a grant");
                        prop_assert!(identifies_on_connection <= 1, "two identifies on one connection");
                        sends.push(h.now);
                    }
                    Transmit::Text(_) => sends.push(h.now),
                    Transmit::Close(_) => {}
                }
            }
            seen = h.out.len();
            for event in &h.events[seen_events..] {
                match event {
                    // A new session (fresh identify, then READY) starts its own numbering.
                    Event::Notice(Notice::Ready { .. } | Notice::WantsIdentify) => last_seq = None,
                    Event::Dispatch(d) => {
                        prop_assert!(last_seq.is_none_or(|last| d.sequence() > last), "sequence went backwards or repeated");
                        last_seq = Some(d.sequence());
                    }
                    Event::Notice(_) => {}
                }
            }
            seen_events = h.events.len();
            let window_start = h.now.checked_sub(Duration::from_secs(60));
            let recent = sends.iter().filter(|t| window_start.is_none_or(|w| **t > w)).count();
            prop_assert!(recent <= LIMIT, "{recent} sends within 60 s");
        }
    }
}
