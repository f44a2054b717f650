//! Unit tests of the envelope scanner: valid envelopes, every refusal with its offset,
//! nesting limits and truncations.

use super::*;

/// One valid case: `(case, message, op, seq, event name, raw d)`.
type OkCase = (
    &'static str,
    &'static str,
    u8,
    Option<u64>,
    Option<&'static str>,
    Option<&'static str>,
);

/// Messages that scan successfully, with what the scan must return.
#[rustfmt::skip]
const OK_CASES: &[OkCase] = &[
    ("dispatch in Discord's order", r#"{"t":"MESSAGE_DELETE","s":57,"op":0,"d":{"id":"1"}}"#,
        0, Some(57), Some("MESSAGE_DELETE"), Some(r#"{"id":"1"}"#)),
    ("nested op and t inside d come first", r#"{"d":{"t":"X","op":9},"op":0,"t":"Y","s":5}"#,
        0, Some(5), Some("Y"), Some(r#"{"t":"X","op":9}"#)),
    ("hello", r#"{"op":10,"d":{"heartbeat_interval":41250}}"#,
        10, None, None, Some(r#"{"heartbeat_interval":41250}"#)),
    ("ack with null d, s and t", r#"{"t":null,"s":null,"op":11,"d":null}"#, 11, None, None, Some("null")),
    ("no d at all", r#"{"op":11}"#, 11, None, None, None),
    ("invalid session", r#"{"op":9,"d":false}"#, 9, None, None, Some("false")),
    ("heartbeat request with seq d", r#"{"op":1,"d":251}"#, 1, None, None, Some("251")),
    ("d is a negative float", r#"{"op":1,"d":-1.5e+3}"#, 1, None, None, Some("-1.5e+3")),
    ("d is a string with a brace", r#"{"op":0,"d":"a\"}b"}"#, 0, None, None, Some(r#""a\"}b""#)),
    ("strings with braces, quotes and escapes in d",
        r#"{"d":{"c":"}]{[\\\"op\":1","e":"\u00e9\\"},"op":0,"t":"A"}"#,
        0, None, Some("A"), Some(r#"{"c":"}]{[\\\"op\":1","e":"\u00e9\\"}"#)),
    ("whitespace everywhere",
        " \t\r\n{ \"op\" \n:\t7 ,\r\n\"d\" : [ 1 , { } ] , \"s\" : 3 , \"t\" : \"R\" } \n",
        7, Some(3), Some("R"), Some("[ 1 , { } ]")),
    ("unknown keys of every type are skipped",
        r#"{"x":{"op":3},"y":[1,"t"],"z":"op","w":true,"v":-0.5,"u":null,"op":4}"#,
        4, None, None, None),
    ("op 255 is the largest", r#"{"op":255}"#, 255, None, None, None),
    ("op zero", r#"{"op":0}"#, 0, None, None, None),
    ("largest seq", r#"{"op":0,"s":18446744073709551615}"#, 0, Some(u64::MAX), None, None),
    ("seq zero", r#"{"op":0,"s":0}"#, 0, Some(0), None, None),
    ("escaped keys are decoded", r#"{"\u006fp":2,"\u0074":"Z"}"#, 2, None, Some("Z"), None),
    ("escaped unknown keys", r#"{"\"op":2,"op":3,"o\/p":4,"\u00e9":5,"\q":6}"#, 3, None, None, None),
    ("non-ascii event name", r#"{"op":0,"t":"ÉVÉNEMENT"}"#, 0, None, Some("ÉVÉNEMENT"), None),
    ("empty event name", r#"{"op":0,"t":""}"#, 0, None, Some(""), None),
    ("duplicate unknown keys", r#"{"x":1,"op":0,"x":2}"#, 0, None, None, None),
];

#[test]
fn scans_valid_envelopes() {
    for &(case, msg, op, seq, event_name, data) in OK_CASES {
        let envelope = scan(msg.as_bytes()).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(envelope.op, op, "{case}: op");
        assert_eq!(envelope.seq, seq, "{case}: s");
        assert_eq!(envelope.event_name, event_name, "{case}: t");
        let raw = envelope.data_in(msg.as_bytes());
        assert_eq!(raw, data.map(str::as_bytes), "{case}: d");
    }
}

/// Shorthand for an [`EnvelopeError::UnexpectedByte`] in the table.
const fn unexpected(offset: usize, found: u8, expected: &'static str) -> EnvelopeError {
    EnvelopeError::UnexpectedByte {
        offset,
        found,
        expected,
    }
}

/// Shorthands for the one-offset variants in the table.
use EnvelopeError::{
    EscapedEventName as Escaped, InvalidEventName as BadT, InvalidOp as BadOp, InvalidSeq as BadS,
    Truncated, UnterminatedString as Unterminated,
};

/// `(case, message, error)`: messages that must be refused, with the exact error.
#[rustfmt::skip]
const ERR_CASES: &[(&str, &str, EnvelopeError)] = &[
    ("empty", "", EnvelopeError::Empty),
    ("only whitespace", " \r\n\t", EnvelopeError::Empty),
    ("array top level", "[1]", EnvelopeError::NotAnObject { offset: 0, found: b'[' }),
    ("string top level", r#" "op""#, EnvelopeError::NotAnObject { offset: 1, found: b'"' }),
    ("empty object", "{ }", EnvelopeError::MissingOp { offset: 2 }),
    ("missing op", r#"{"d":{"op":1},"t":"A"}"#, EnvelopeError::MissingOp { offset: 21 }),
    ("only an open brace", "{", Truncated { offset: 1 }),
    ("truncated after key", r#"{"op""#, Truncated { offset: 5 }),
    ("truncated after colon", r#"{"op": "#, Truncated { offset: 7 }),
    ("truncated after value", r#"{"op":1"#, Truncated { offset: 7 }),
    ("truncated after comma", r#"{"op":1,"#, Truncated { offset: 8 }),
    ("truncated inside d", r#"{"op":1,"d":{"a":[1,2]"#, Truncated { offset: 22 }),
    ("unterminated key", r#"{"op"#, Unterminated { offset: 1 }),
    ("unterminated t", r#"{"op":0,"t":"MESS"#, Unterminated { offset: 12 }),
    ("unterminated string in d", r#"{"op":0,"d":{"a":"b}}"#, Unterminated { offset: 17 }),
    ("escaped closing quote", r#"{"op":0,"d":"a\"}"#, Unterminated { offset: 12 }),
    ("backslash at the very end", r#"{"op":0,"d":"\"#, Unterminated { offset: 12 }),
    ("mismatched brackets", r#"{"op":0,"d":[1}}"#, unexpected(14, b'}', "']'")),
    ("mismatched object", r#"{"op":0,"d":{"a":1]}"#, unexpected(18, b']', "'}'")),
    ("trailing garbage", r#"{"op":0} x"#, EnvelopeError::TrailingBytes { offset: 9 }),
    ("two messages", r#"{"op":0}{"op":1}"#, EnvelopeError::TrailingBytes { offset: 8 }),
    ("trailing comma", r#"{"op":0,}"#, unexpected(8, b'}', "a key string")),
    ("missing colon", r#"{"op" 0}"#, unexpected(6, b'0', "':'")),
    ("missing comma", r#"{"op":0 "d":1}"#, unexpected(8, b'"', "',' or '}'")),
    ("unquoted key", r#"{op:0}"#, unexpected(1, b'o', "a key string")),
    ("missing value", r#"{"op":0,"d":}"#, unexpected(12, b'}', "a JSON value")),
    ("bad literal in d", r#"{"op":0,"d":nul}"#, unexpected(12, b'n', "a JSON value")),
    ("bad number in d", r#"{"op":0,"d":01}"#, unexpected(12, b'0', "a JSON value")),
    ("number glued to a string", r#"{"op":0,"d":1"x"}"#, unexpected(12, b'1', "a JSON value")),
    ("op float", r#"{"op":1.0}"#, BadOp { offset: 6 }),
    ("op exponent", r#"{"op":1e1}"#, BadOp { offset: 6 }),
    ("op negative", r#"{"op":-1}"#, BadOp { offset: 6 }),
    ("op leading zero", r#"{"op":01}"#, BadOp { offset: 6 }),
    ("op string", r#"{"op":"0"}"#, BadOp { offset: 6 }),
    ("op null", r#"{"op":null}"#, BadOp { offset: 6 }),
    ("op glued garbage", r#"{"op":1x}"#, BadOp { offset: 6 }),
    ("op 256", r#"{"op":256}"#, EnvelopeError::OpOutOfRange { offset: 6, value: 256 }),
    ("op beyond u64", r#"{"op":99999999999999999999}"#,
        EnvelopeError::OpOutOfRange { offset: 6, value: u64::MAX }),
    ("s exponent", r#"{"op":0,"s":1e3}"#, BadS { offset: 12 }),
    ("s negative", r#"{"op":0,"s":-1}"#, BadS { offset: 12 }),
    ("s float", r#"{"op":0,"s":2.0}"#, BadS { offset: 12 }),
    ("s string", r#"{"op":0,"s":"2"}"#, BadS { offset: 12 }),
    ("s beyond u64", r#"{"op":0,"s":18446744073709551616}"#, BadS { offset: 12 }),
    ("s nullx", r#"{"op":0,"s":nullx}"#, BadS { offset: 12 }),
    ("t number", r#"{"op":0,"t":5}"#, BadT { offset: 12 }),
    ("t object", r#"{"op":0,"t":{}}"#, BadT { offset: 12 }),
    ("t control char", "{\"op\":0,\"t\":\"A\nB\"}", BadT { offset: 12 }),
    ("t escaped quote", r#"{"op":0,"t":"A\"B"}"#, Escaped { offset: 12 }),
    ("t escaped unicode", r#"{"op":0,"t":"\u0041"}"#, Escaped { offset: 12 }),
    ("duplicate op", r#"{"op":0,"op":1}"#, EnvelopeError::DuplicateKey { key: "op", offset: 8 }),
    ("duplicate d", r#"{"d":1,"op":0,"d":2}"#, EnvelopeError::DuplicateKey { key: "d", offset: 14 }),
    ("duplicate null t", r#"{"t":null,"op":0,"t":null}"#,
        EnvelopeError::DuplicateKey { key: "t", offset: 17 }),
    ("duplicate escaped s", r#"{"s":1,"op":0,"\u0073":2}"#,
        EnvelopeError::DuplicateKey { key: "s", offset: 14 }),
];

#[test]
fn refuses_malformed_envelopes_with_the_offset() {
    for (case, msg, expected) in ERR_CASES {
        let got = scan(msg.as_bytes());
        assert_eq!(got.as_ref().err(), Some(expected), "{case}: got {got:?}");
        assert_eq!(
            got.err().map(|e| e.offset()),
            Some(expected.offset()),
            "{case}"
        );
    }
}

#[test]
fn event_name_must_be_utf8() {
    let msg = b"{\"op\":0,\"t\":\"A\xff\"}";
    assert_eq!(
        scan(msg),
        Err(EnvelopeError::EventNameNotUtf8 { offset: 12 })
    );
}

#[test]
fn invalid_utf8_in_d_and_unknown_keys_is_left_to_serde() {
    let msg = b"{\"\xfe\":1,\"op\":0,\"d\":\"\xff\"}";
    let envelope = scan(msg).expect("bytes outside t are not checked for UTF-8");
    assert_eq!(envelope.data_in(msg), Some(&b"\"\xff\""[..]));
}

#[test]
fn data_in_another_message_is_none_not_a_panic() {
    let envelope = scan(br#"{"op":0,"d":{"long":"payload"}}"#).expect("valid");
    assert_eq!(envelope.data_in(b"{}"), None);
}

/// An envelope whose `d` is `open` repeated `n` times followed by `close`.
fn nested(n: usize, close: &[u8]) -> Vec<u8> {
    let mut msg = br#"{"op":0,"d":"#.to_vec();
    msg.extend(std::iter::repeat_n(b'[', n));
    msg.extend_from_slice(close);
    msg
}

#[test]
fn nesting_is_limited_without_recursion() {
    let closed = |n| nested(n, &[&[b']'; MAX_DEPTH + 1][..n], b"}"].concat());
    assert_eq!(
        scan(&closed(MAX_DEPTH)).map(|e| e.op),
        Ok(0),
        "MAX_DEPTH levels are accepted"
    );
    let first_bracket = br#"{"op":0,"d":"#.len();
    assert_eq!(
        scan(&closed(MAX_DEPTH + 1)),
        Err(EnvelopeError::TooDeep {
            offset: first_bracket + MAX_DEPTH,
            max: MAX_DEPTH
        })
    );
    // A million open brackets must neither recurse nor overflow anything.
    let hostile = nested(1_000_000, b"");
    assert!(matches!(scan(&hostile), Err(EnvelopeError::TooDeep { .. })));
}

#[test]
fn brackets_deep_in_the_stack_still_match() {
    // 100 arrays inside an object: the object's bit must survive 100 pushes and pops.
    let mut msg = br#"{"op":0,"d":{"a":"#.to_vec();
    msg.extend(std::iter::repeat_n(b'[', 100));
    msg.extend(std::iter::repeat_n(b']', 100));
    msg.extend(b"]}");
    let close_at = msg.len() - 2;
    assert_eq!(scan(&msg), Err(unexpected(close_at, b']', "'}'")));
}

#[test]
fn every_truncation_of_a_valid_message_is_an_error() {
    let msg = br#"{"t":"GUILD_CREATE","s":2,"op":0,"d":{"a":["x\"y",{"b":null}],"c":1.5}}"#;
    assert!(scan(msg).is_ok());
    for len in 0..msg.len() {
        let got = scan(&msg[..len]);
        assert!(got.is_err(), "prefix of {len} bytes was accepted: {got:?}");
    }
}

#[test]
fn error_messages_are_lowercase_and_name_the_offset() {
    for (case, _, error) in ERR_CASES {
        let text = error.to_string();
        let first = text.chars().next().unwrap_or_default();
        assert!(!first.is_uppercase(), "{case}: {text}");
        if !matches!(error, EnvelopeError::Empty) {
            assert!(text.contains(&error.offset().to_string()), "{case}: {text}");
        }
    }
}

#[test]
fn string_search_is_exact_at_every_word_boundary() {
    // Lengths up to well past the SWAR words, so both the word loop, its byte tail and
    // the memchr2 hand-off see the closing quote (and an escape) at every position.
    for len in 0..80 {
        for (what, body) in [
            ("plain", "x".repeat(len)),
            (
                "escaped quote at the end",
                format!("{}\\\"", "x".repeat(len)),
            ),
            (
                "escaped backslash first",
                format!("\\\\{}", "y".repeat(len)),
            ),
            ("0x02 bytes and brackets", "\u{2}{[]}".repeat(len / 5 + 1)),
        ] {
            let msg = format!(r#"{{"op":0,"d":["{body}"],"t":"T{len}"}}"#);
            let envelope = scan(msg.as_bytes()).unwrap_or_else(|e| panic!("{what} {len}: {e}"));
            let t = format!("T{len}");
            assert_eq!(envelope.event_name, Some(t.as_str()), "{what} {len}");
            let d = format!(r#"["{body}"]"#);
            assert_eq!(
                envelope.data_in(msg.as_bytes()),
                Some(d.as_bytes()),
                "{what} {len}"
            );
        }
    }
}

#[test]
fn bracket_search_is_exact_in_long_runs() {
    // A closing bracket after `pad` spaces, \x02 bytes or digits lands on every byte of a word.
    for pad in 0..40 {
        for filler in [" ", "\u{2}", "7"] {
            let run = filler.repeat(pad);
            let msg = format!(r#"{{"d":[{run}{{{run}}}{run}],"op":3}}"#);
            let envelope = scan(msg.as_bytes()).unwrap_or_else(|e| panic!("{filler:?} {pad}: {e}"));
            let d = format!("[{run}{{{run}}}{run}]");
            assert_eq!(
                envelope.data_in(msg.as_bytes()),
                Some(d.as_bytes()),
                "{filler:?} {pad}"
            );
        }
    }
}

/// What `scan_head` returns: `(op, seq, event name)`, or `None`.
type Head = Option<(u8, u64, &'static str)>;

/// `scan_head` cases: `(case, message, expected head)`.
#[rustfmt::skip]
const HEAD_CASES: &[(&str, &str, Head)] = &[
    ("Discord's order", r#"{"t":"TYPING_START","s":7,"op":0,"d":{"x":1}}"#, Some((0, 7, "TYPING_START"))),
    ("emulator's order", r#"{"op":0,"t":"A","s":8,"d":{}}"#, Some((0, 8, "A"))),
    ("d is never read", r#"{"op":0,"t":"A","s":8,"d":{"unterminated"#, Some((0, 8, "A"))),
    ("whitespace", " {\n \"op\" : 0 ,\"t\":\"A\",\t\"s\":8 , \"d\":[] }", Some((0, 8, "A"))),
    ("unknown key first", r#"{"x":[1,{}],"op":0,"t":"A","s":8,"d":[]}"#, None),
    ("escaped key", r#"{"\u006fp":0,"t":"A","s":8,"d":[]}"#, None),
    ("repeated key", r#"{"op":0,"t":"A","s":8,"s":9,"d":[]}"#, None),
    ("d before the keys", r#"{"d":{},"op":0,"t":"A","s":8}"#, None),
    ("d between the keys", r#"{"op":0,"t":"A","d":{},"s":8}"#, None),
    ("no d", r#"{"op":0,"t":"A","s":8}"#, None),
    ("null t", r#"{"op":11,"t":null,"s":null,"d":null}"#, None),
    ("no s", r#"{"op":0,"t":"A","d":{}}"#, None),
    ("malformed before d", r#"{"op":0,"t":"A","s":-8,"d":{}}"#, None),
    ("not an object", r#"[{"op":0,"t":"A","s":8,"d":{}}]"#, None),
    ("empty", "", None),
];

#[test]
fn scan_head_reads_only_the_keys_before_d() {
    for &(case, msg, want) in HEAD_CASES {
        let got = scan_head(msg.as_bytes()).map(|h| {
            assert!(
                msg[h.data_at..].starts_with(['{', '[', '"']),
                "{case}: data_at points at d's value"
            );
            (h.op, h.seq, h.event_name)
        });
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn scan_rest_after_scan_head_equals_scan() {
    /// Messages whose keys before `d` are plain, with everything that can go wrong after.
    const REST_CASES: &[&str] = &[
        r#"{"op":0,"t":"A","s":8,"d":{"id":"1","n":[1,2,{"x":null}]}}"#,
        r#"{"t":"A","s":8,"op":0,"d":"text"}"#,
        r#"{"t":"A","s":8,"op":0,"d":{"id":"1"},"extra":true} "#,
        r#"{"t":"A","s":8,"op":0,"d":{"id":"1"}"#,
        r#"{"t":"A","s":8,"op":0,"d":{"id":"1"}}x"#,
        r#"{"t":"A","s":8,"op":0,"d":{"id":"1"},"s":9}"#,
        r#"{"t":"A","s":8,"op":0,"d":{"id":"1"},"d":{}}"#,
        r#"{"t":"A","s":8,"op":0,"d":{"id":"1"]}"#,
        r#"{"t":"A","s":8,"op":0,"d":"#,
        r#"{"t":"A","s":8,"op":0,"d": }"#,
    ];
    let ok_messages = OK_CASES.iter().map(|case| case.1);
    for msg in REST_CASES.iter().copied().chain(ok_messages) {
        if let Some(head) = scan_head(msg.as_bytes()) {
            assert_eq!(
                scan_rest(msg.as_bytes(), &head),
                scan(msg.as_bytes()),
                "{msg}"
            );
        }
    }
}
