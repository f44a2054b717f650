//! `envelope`: [`scan`] on arbitrary bytes, cross-checked against serde_json.
//!
//! `scan` validates only the structure inside `d` and leaves the rest to the later
//! deserialization (see its module docs), so the two parsers are compared only when both
//! accept the message: then `op`, `s`, `t` and the raw `d` must agree.

use discordgateway_proto::envelope::scan;
use serde_json::{Map, Value};

/// Scans `msg`; when both `scan` and serde_json accept it, asserts they agree.
pub fn check(msg: &[u8]) {
    let Ok(envelope) = scan(msg) else {
        return;
    };
    let Ok(value) = serde_json::from_slice::<Value>(msg) else {
        return;
    };
    let Value::Object(map) = &value else {
        panic!("scan accepted a message serde_json reads as a non-object: {value}");
    };
    let op = map.get("op").and_then(Value::as_u64);
    assert_eq!(op, Some(u64::from(envelope.op)), "op disagrees");
    let seq = nullable(map, "s").map(|s| s.as_u64().unwrap_or_else(|| panic!("s {s}")));
    assert_eq!(seq, envelope.seq, "s disagrees");
    let t = nullable(map, "t").map(|t| t.as_str().unwrap_or_else(|| panic!("t {t}")));
    assert_eq!(t, envelope.event_name, "t disagrees");
    match (envelope.data_in(msg), map.get("d")) {
        (None, None) => {}
        (Some(raw), Some(d)) => {
            let parsed: Value = serde_json::from_slice(raw).expect("the d range is JSON");
            assert_eq!(&parsed, d, "d disagrees");
        }
        (raw, d) => panic!("d presence disagrees: scan {raw:?}, serde_json {d:?}"),
    }
}

/// The value under `key`, with `null` read as absent (as the envelope does).
fn nullable<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}
