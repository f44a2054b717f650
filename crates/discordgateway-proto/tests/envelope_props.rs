//! Property tests of the envelope scanner against serde_json (GATEWAY.md §2.1).
//!
//! 1. Generated envelopes (random key order, whitespace, unknown keys, absent or `null`
//!    fields, and `d` full of nested `op`/`t`/`s`/`d` keys, escapes and unicode) scan to
//!    exactly what was generated and what serde_json parses, and the `d` range re-parses
//!    to the generated value.
//! 2. Arbitrary bytes and mutated envelopes never panic, and whenever the scan succeeds
//!    on a message serde_json also accepts, both agree on `op`, `s` and `t`.

use discordgateway_proto::envelope::scan;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value};

/// Strings that stress a scanner: braces, brackets, quotes, backslashes, control
/// characters, envelope key names and non-ASCII text.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "op", "t", "s", "d", "\"op\":1", "}", "{\"t\":", "\\", "\\\""
        ])
        .prop_map(String::from),
        "[a-z{}\\[\\]\"\\\\:,/ \t\n\u{1}é😀]{0,12}",
    ]
}

/// Arbitrary JSON values whose objects like to use the envelope's key names.
fn noise() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Eighths are exact in binary, so the float survives a text round trip.
        (-8000i32..8000).prop_map(|i| Value::from(f64::from(i) / 8.0)),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(vec!["op", "t", "s", "d"]).prop_map(String::from),
            tricky_string(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or set.
fn field<T: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<Option<T>>> {
    prop::option::of(prop::option::of(value))
}

/// A generated envelope, before it is written out.
#[derive(Debug, Clone)]
struct Generated {
    /// `op`.
    op: u8,
    /// `s`: absent, null or a number.
    seq: Option<Option<u64>>,
    /// `t`: absent, null or a name (never needing escapes, as documented for `t`).
    event_name: Option<Option<String>>,
    /// `d`: absent or any value.
    data: Option<Value>,
    /// Unknown keys with their values.
    extra: Vec<(String, Value)>,
}

impl Generated {
    /// All members as `(key, value)`, in a canonical order.
    fn members(&self) -> Vec<(String, Value)> {
        let mut members = vec![("op".to_owned(), Value::from(self.op))];
        if let Some(seq) = self.seq {
            members.push(("s".to_owned(), seq.map_or(Value::Null, Value::from)));
        }
        if let Some(name) = &self.event_name {
            members.push((
                "t".to_owned(),
                name.clone().map_or(Value::Null, Value::String),
            ));
        }
        if let Some(data) = &self.data {
            members.push(("d".to_owned(), data.clone()));
        }
        members.extend(self.extra.iter().cloned());
        members
    }
}

fn generated() -> impl Strategy<Value = Generated> {
    let extra_key = tricky_string().prop_filter("not an envelope key", |k| {
        !matches!(k.as_str(), "op" | "s" | "t" | "d")
    });
    (
        any::<u8>(),
        field(any::<u64>()),
        field("[A-Z_]{1,24}|[a-zé✓😀 _]{0,8}"),
        prop::option::of(noise()),
        prop::collection::btree_map(extra_key, noise(), 0..3),
    )
        .prop_map(|(op, seq, event_name, data, extra)| Generated {
            op,
            seq,
            event_name,
            data,
            extra: extra.into_iter().collect(),
        })
}

/// JSON whitespace runs, often empty.
fn ws() -> impl Strategy<Value = String> {
    "[ \t\r\n]{0,3}"
}

/// Writes `members` as one JSON object with `pads` whitespace between tokens, each value
/// compact or pretty-printed (so `d` gets whitespace inside too).
fn write(members: &[(String, Value)], pads: &[String], pretty: &[bool]) -> Vec<u8> {
    let mut pads = pads.iter().cycle().map(String::as_str);
    let mut pad = move || pads.next().unwrap_or_default();
    let mut out = format!("{}{{", pad());
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let value = if pretty.get(i).copied().unwrap_or_default() {
            serde_json::to_string_pretty(value)
        } else {
            serde_json::to_string(value)
        }
        .expect("a Value always serializes");
        let key = serde_json::to_string(key).expect("a String always serializes");
        out += &format!("{}{key}{}:{}{value}{}", pad(), pad(), pad(), pad());
    }
    out += &format!("}}{}", pad());
    out.into_bytes()
}

/// An envelope written out in a random key order with random whitespace.
fn written() -> impl Strategy<Value = (Generated, Vec<u8>)> {
    generated().prop_flat_map(|g| {
        let members = Just(g.members()).prop_shuffle();
        let pads = prop::collection::vec(ws(), 1..16);
        let pretty = prop::collection::vec(any::<bool>(), 8);
        (Just(g), members, pads, pretty)
            .prop_map(|(g, members, pads, pretty)| (g, write(&members, &pads, &pretty)))
    })
}

/// What serde_json says `op`, `s` and `t` are, if the message is an object serde accepts.
fn serde_view(msg: &[u8]) -> Option<(Option<u64>, Option<u64>, Option<String>)> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(msg) else {
        return None;
    };
    let op = map.get("op").and_then(Value::as_u64);
    let seq = map.get("s").and_then(Value::as_u64);
    let name = map.get("t").and_then(Value::as_str).map(str::to_owned);
    Some((op, seq, name))
}

/// One way to damage a message.
#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the message at a position.
    Truncate(Index),
    /// Overwrite a byte.
    Replace(Index, u8),
    /// Insert a byte.
    Insert(Index, u8),
    /// Remove a byte.
    Remove(Index),
}

/// Bytes that matter to JSON, plus any byte at all.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"{}[]\":,\\ \n0123456789-.eEnultrfasopd".to_vec()),
        any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<Index>(), interesting_byte()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<Index>().prop_map(Mutation::Remove),
    ]
}

/// Applies `mutations` to `msg` in order.
fn mutate(mut msg: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = msg.len().max(1);
        match m {
            Mutation::Truncate(i) => msg.truncate(i.index(len)),
            Mutation::Replace(i, b) => {
                if let Some(slot) = msg.get_mut(i.index(len)) {
                    *slot = *b;
                }
            }
            Mutation::Insert(i, b) => msg.insert(i.index(len + 1).min(msg.len()), *b),
            Mutation::Remove(i) => {
                if i.index(len) < msg.len() {
                    msg.remove(i.index(len));
                }
            }
        }
    }
    msg
}

/// Scans `msg`; if that succeeds and serde_json accepts the message too, both must agree.
fn assert_agrees_with_serde(msg: &[u8]) -> Result<(), TestCaseError> {
    let Ok(envelope) = scan(msg) else {
        return Ok(());
    };
    if let Some((op, seq, name)) = serde_view(msg) {
        prop_assert_eq!(
            op,
            Some(u64::from(envelope.op)),
            "op of {:?}",
            String::from_utf8_lossy(msg)
        );
        prop_assert_eq!(seq, envelope.seq, "s");
        prop_assert_eq!(name.as_deref(), envelope.event_name, "t");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_envelopes_scan_like_serde((g, msg) in written()) {
        let text = String::from_utf8_lossy(&msg).into_owned();
        let envelope = scan(&msg).map_err(|e| TestCaseError::fail(format!("{e} in {text}")))?;
        prop_assert_eq!(envelope.op, g.op, "op in {}", text);
        prop_assert_eq!(envelope.seq, g.seq.flatten(), "s in {}", text);
        prop_assert_eq!(envelope.event_name, g.event_name.as_ref().and_then(Option::as_deref), "t in {}", text);
        let (op, seq, name) = serde_view(&msg).expect("serde_json parses what it wrote");
        prop_assert_eq!(op, Some(u64::from(envelope.op)));
        prop_assert_eq!(seq, envelope.seq);
        prop_assert_eq!(name.as_deref(), envelope.event_name);
        let data = envelope
            .data_in(&msg)
            .map(|raw| serde_json::from_slice::<Value>(raw).expect("the d range is one JSON value"));
        prop_assert_eq!(data, g.data, "d in {}", text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(msg in prop::collection::vec(any::<u8>(), 0..256)) {
        assert_agrees_with_serde(&msg)?;
    }

    #[test]
    fn json_alphabet_soup_never_panics(msg in prop::collection::vec(interesting_byte(), 0..128)) {
        assert_agrees_with_serde(&msg)?;
    }

    #[test]
    fn mutated_envelopes_never_panic_and_agree_when_ok(
        (_, msg) in written(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        assert_agrees_with_serde(&mutate(msg, &mutations))?;
    }

    #[test]
    fn every_prefix_of_an_envelope_is_refused((_, msg) in written(), cut in any::<Index>()) {
        // The object's closing brace is the last non-whitespace byte: cut before it.
        let end = msg.iter().rposition(|&b| b == b'}').expect("an object ends with a brace");
        let prefix = &msg[..cut.index(end + 1).min(end)];
        prop_assert!(scan(prefix).is_err(), "accepted prefix {:?}", String::from_utf8_lossy(prefix));
    }
}
