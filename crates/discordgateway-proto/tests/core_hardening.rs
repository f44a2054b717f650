//! Hardening of the core's input path (issue 8 point 5): unknown events are delivered as
//! unknown when asked for and never an error; malformed `d` in a declared event fails that
//! event's deserialization only, and the next event still arrives; invalid UTF-8 and unknown
//! opcodes do not end the session.

use discordgateway_proto::EventType;
use discordgateway_proto::testing::{Harness, dispatch};

const SEED: u64 = 5;

fn harness(unknown_events: bool) -> Harness {
    let config = Harness::config()
        .unknown_events(unknown_events)
        .build()
        .unwrap_or_else(|e| panic!("config: {e}"));
    let mut h = Harness::new(config, SEED);
    h.hello_and_identify();
    h.clear();
    h
}

#[test]
fn unknown_events_are_dropped_by_default_and_delivered_as_unknown_when_enabled() {
    // (unknown_events, kinds delivered for: unknown, declared, undeclared known)
    const CASES: &[(bool, &[&str])] = &[
        (false, &["MESSAGE_CREATE"]),
        (true, &["BRAND_NEW_EVENT", "MESSAGE_CREATE"]),
    ];
    for &(enabled, want) in CASES {
        let mut h = harness(enabled);
        h.recv(&dispatch(2, "BRAND_NEW_EVENT", r#"{"x":1}"#));
        h.recv(&dispatch(3, "MESSAGE_CREATE", r#"{"id":"1"}"#));
        h.recv(&dispatch(4, "TYPING_START", r#"{"user_id":"1"}"#));
        let got: Vec<&str> = h
            .dispatches()
            .iter()
            .map(|d| d.kind().wire_name())
            .collect();
        assert_eq!(got, want, "case unknown_events={enabled}");
        if enabled {
            let first = h.dispatches()[0];
            assert_eq!(
                first.kind(),
                &EventType::Unknown("BRAND_NEW_EVENT".into()),
                "case {enabled}"
            );
            assert_eq!(&first.raw()[..], br#"{"x":1}"#, "case {enabled}");
        }
        assert!(h.state.session().is_some(), "case {enabled}: session kept");
    }
}

#[test]
fn malformed_d_fails_only_that_event_and_the_next_arrives() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Message {
        id: String,
    }
    let mut h = harness(false);
    h.recv(&dispatch(2, "MESSAGE_CREATE", r#"{"id":7}"#));
    h.recv(&dispatch(3, "MESSAGE_CREATE", r#"{"id":"8"}"#));
    let d = h.dispatches();
    assert_eq!(d.len(), 2, "both delivered");
    assert!(d[0].deserialize::<Message>().is_err(), "wrong type for id");
    assert_eq!(
        d[1].deserialize::<Message>().map(|m| m.id).ok(),
        Some("8".into())
    );
    assert!(h.state.session().is_some());
}

#[test]
fn invalid_utf8_and_unknown_opcodes_do_not_end_the_session() {
    let mut h = harness(false);
    h.recv_binary(b"{\"op\":0,\"s\":2,\"t\":\"MESSAGE_CREATE\",\"d\":{\"c\":\"\xff\xfe\"}}");
    h.recv(r#"{"op":99,"d":null}"#);
    h.recv(&dispatch(3, "MESSAGE_CREATE", r#"{"id":"9"}"#));
    let got: Vec<u64> = h.dispatches().iter().map(|d| d.sequence()).collect();
    assert_eq!(got.last(), Some(&3), "the next event arrives: {got:?}");
    assert!(h.state.session().is_some());
}
