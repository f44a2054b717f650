//! Conversion of delivered dispatches into twilight-model's types (feature `twilight`).
#![cfg(feature = "twilight")]

use discordgateway_proto::testing::{Harness, dispatch};
use twilight_model::gateway::event::DispatchEvent;

const MESSAGE: &str = r#"{"id":"1400000000000000001","channel_id":"1400000000000000002","guild_id":"1400000000000000003",
"author":{"id":"1100000000000000009","username":"alice","discriminator":"0","global_name":"Alice","avatar":null},
"content":"hello","timestamp":"2026-11-26T07:00:00.000000+00:00","edited_timestamp":null,"tts":false,
"mention_everyone":false,"mentions":[],"mention_roles":[],"attachments":[],"embeds":[],"pinned":false,"type":0,
"emulator_tag":42}"#;

#[test]
fn a_delivered_message_create_converts_into_twilights_event() {
    let mut h = Harness::identified(1);
    h.recv(&dispatch(2, "MESSAGE_CREATE", MESSAGE));
    let dispatches = h.dispatches();
    let [only] = dispatches.as_slice() else {
        panic!("expected one dispatch, got {}", dispatches.len());
    };
    match only.to_twilight().expect("twilight reads the payload") {
        DispatchEvent::MessageCreate(message) => {
            assert_eq!(message.content, "hello");
            assert_eq!(message.author.name, "alice");
            assert_eq!(message.id.get(), 1_400_000_000_000_000_001);
        }
        other => panic!("wrong event: {:?}", other.kind()),
    }
}

#[test]
fn a_payload_twilight_cannot_read_is_a_typed_error() {
    let mut h = Harness::identified(1);
    h.recv(&dispatch(
        2,
        "MESSAGE_CREATE",
        r#"{"id":"not a snowflake"}"#,
    ));
    let dispatches = h.dispatches();
    assert_eq!(dispatches.len(), 1);
    assert!(dispatches[0].to_twilight().is_err());
}
