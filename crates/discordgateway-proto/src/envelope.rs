//! The one-pass, allocation-free scanner of a JSON gateway message (GATEWAY.md §2.1).
//!
//! Every gateway message is one JSON object with the keys `op`, `d`, `s` and `t`.
//! [`scan`] reads it once, front to back, and returns the opcode, the sequence number,
//! the event name (borrowed from the message) and the byte range of the raw `d` value,
//! so the state machine can route or drop a dispatch before anything is deserialized.
//!
//! # Algorithm
//!
//! The top-level object is parsed strictly by a small hand-written loop: keys in any
//! order, whitespace wherever JSON allows it, unknown keys skipped. Values are skipped
//! without recursion:
//!
//! - strings are jumped over with a word-at-a-time (SWAR) search for `"` and `\` that hands
//!   long strings to `memchr2`, stepping over each escape;
//! - arrays and objects are skipped by a bracket-matching scan that keeps the open
//!   brackets in a 128-bit stack (one bit per level), so brackets must balance and match,
//!   nesting is limited to [`MAX_DEPTH`] levels and no input can overflow the call stack;
//! - scalars at the top level (`op`, `s`, a scalar `d`) are checked against the JSON
//!   grammar.
//!
//! # What is checked, and what is left to serde
//!
//! `op`, `s` and `t` are parsed strictly. Inside an array or object value (typically `d`)
//! only the structure is verified (balanced, matching brackets and terminated strings);
//! numbers, literals, commas, colons and UTF-8 inside it are *not* validated here. The
//! payload is validated completely when it is deserialized (serde_json rejects anything
//! malformed), so checking it twice would only slow down the path every message takes.
//! In the same spirit only `t` is checked to be UTF-8: the whole message has to be UTF-8
//! for serde later, and `t` is the only text this scanner hands out.
//!
//! # Choices where the JSON or Discord documents leave room
//!
//! - **Duplicate envelope keys** (`op`, `s`, `t` or `d` twice) are an error,
//!   [`EnvelopeError::DuplicateKey`], as with serde's derived structs; Discord never sends
//!   them, and accepting one would let two readers disagree on the message. Duplicate
//!   unknown keys are skipped like any unknown key.
//! - **`op` outside 0–255** is [`EnvelopeError::OpOutOfRange`]: every opcode fits in a `u8`.
//! - **`s`** must be `null` or a non-negative integer that fits in `u64`; `-1`, `1e3` and
//!   `1.0` are [`EnvelopeError::InvalidSeq`].
//! - **`t` with a backslash escape** is [`EnvelopeError::EscapedEventName`]: event names
//!   are plain upper snake case, and refusing escapes lets `t` be borrowed as-is.
//! - **Escaped top-level keys** are decoded before they are compared, so `"\u006fp"` is
//!   `op`, as in any JSON parser.
//! - Whether `s` and `t` are non-null only for `op` 0 is not checked here; that rule
//!   belongs to the state machine.

mod error;
mod skip;
#[cfg(test)]
mod tests;

use std::ops::Range;

pub use self::error::EnvelopeError;
use self::skip::{container_end, is_scalar_end, is_ws, number_end, string_end};

/// The deepest nesting of arrays and objects accepted in one value (`d` counts as level 1).
///
/// serde_json's default recursion limit is 128 as well, so a message refused for depth
/// here could not have been deserialized later.
pub const MAX_DEPTH: usize = 128;

/// What [`scan`] found in one gateway message: the envelope of GATEWAY.md §2.1.
///
/// `event_name` borrows from the scanned message; `data` is a byte range into it, so a
/// driver holding the message in a `bytes::Bytes` can slice the payload without copying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The opcode (`op`).
    pub op: u8,
    /// The sequence number (`s`); `None` when it is `null` or absent.
    pub seq: Option<u64>,
    /// The event name (`t`), the raw text between the quotes; `None` when `null` or absent.
    pub event_name: Option<&'a str>,
    /// Byte range of the raw `d` value in the message (a `null` included); `None` when
    /// the message has no `d` key.
    pub data: Option<Range<usize>>,
}

impl Envelope<'_> {
    /// Returns the raw bytes of `d` in `msg`, the message this envelope was scanned from.
    ///
    /// Returns `None` when the message had no `d` key, or when `msg` is too short to hold
    /// the range (a different message was passed).
    ///
    /// # Examples
    ///
    /// ```
    /// use discordgateway_proto::envelope::scan;
    ///
    /// let msg = br#"{"op":10,"d":{"heartbeat_interval":41250}}"#;
    /// let envelope = scan(msg)?;
    /// assert_eq!(envelope.data_in(msg), Some(&br#"{"heartbeat_interval":41250}"#[..]));
    /// # Ok::<(), discordgateway_proto::envelope::EnvelopeError>(())
    /// ```
    #[must_use]
    pub fn data_in<'m>(&self, msg: &'m [u8]) -> Option<&'m [u8]> {
        self.data.clone().and_then(|range| msg.get(range))
    }
}

/// Scans one complete JSON gateway message in a single pass, without allocating.
///
/// `msg` is the whole message, e.g. one text frame or one inflated zlib/zstd message.
/// Keys may come in any order, unknown keys are skipped, and nested `"op"` or `"t"` keys
/// inside `d` are never mistaken for the envelope's own. See the [module docs](self) for
/// what is validated here and what is left to the later deserialization of `d`.
///
/// # Errors
///
/// Returns an [`EnvelopeError`] carrying the byte offset of the problem when the message
/// is empty, not one JSON object, truncated, structurally malformed, nested deeper than
/// [`MAX_DEPTH`], followed by trailing bytes, lacks `op`, repeats an envelope key, or has
/// an `op`, `s` or `t` of the wrong type or range. It never panics.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::envelope::scan;
///
/// let msg = br#"{"d":{"t":"nested","op":9},"op":0,"s":57,"t":"MESSAGE_DELETE"}"#;
/// let envelope = scan(msg)?;
/// assert_eq!(envelope.op, 0);
/// assert_eq!(envelope.seq, Some(57));
/// assert_eq!(envelope.event_name, Some("MESSAGE_DELETE"));
/// assert_eq!(envelope.data_in(msg), Some(&br#"{"t":"nested","op":9}"#[..]));
/// # Ok::<(), discordgateway_proto::envelope::EnvelopeError>(())
/// ```
pub fn scan(msg: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    let mut cur = Cursor { buf: msg, pos: 0 };
    cur.skip_ws();
    match cur.peek() {
        None => return Err(EnvelopeError::Empty),
        Some(b'{') => cur.pos += 1,
        Some(found) => {
            return Err(EnvelopeError::NotAnObject {
                offset: cur.pos,
                found,
            });
        }
    }
    let mut fields = Fields::default();
    cur.skip_ws();
    if cur.peek() == Some(b'}') {
        return Err(EnvelopeError::MissingOp { offset: cur.pos });
    }
    cur.member(&mut fields)?;
    finish(cur, fields)
}

/// The rest of [`scan`] after a complete member: more members until `}`, then only
/// whitespace.
fn finish<'a>(mut cur: Cursor<'a>, mut fields: Fields<'a>) -> Result<Envelope<'a>, EnvelopeError> {
    loop {
        cur.skip_ws();
        if cur.next_byte(b",}", "',' or '}'")? == b'}' {
            break;
        }
        cur.skip_ws();
        cur.member(&mut fields)?;
    }
    let close = cur.pos - 1;
    cur.skip_ws();
    if cur.pos < cur.buf.len() {
        return Err(EnvelopeError::TrailingBytes { offset: cur.pos });
    }
    let op = fields
        .op
        .ok_or(EnvelopeError::MissingOp { offset: close })?;
    Ok(Envelope {
        op,
        seq: fields.seq.flatten(),
        event_name: fields.event_name.flatten(),
        data: fields.data,
    })
}

/// What [`scan_head`] read: the envelope keys before `d`, and where `d`'s value starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// The opcode (`op`).
    pub op: u8,
    /// The sequence number (`s`).
    pub seq: u64,
    /// The event name (`t`), borrowed from the message.
    pub event_name: &'a str,
    /// Offset of the first byte of `d`'s value.
    pub data_at: usize,
}

impl<'a> Head<'a> {
    /// The envelope as far as it is known (`data: None`: `d` was not read).
    #[must_use]
    pub fn envelope(&self) -> Envelope<'a> {
        Envelope {
            op: self.op,
            seq: Some(self.seq),
            event_name: Some(self.event_name),
            data: None,
        }
    }
}

/// Completes a [`scan`] of `msg` after [`scan_head`] returned `head` for it: reads `d` and
/// everything after it with all of `scan`'s checks, without reading the keys before `d`
/// again. The result is exactly what `scan(msg)` returns. `head` must come from
/// `scan_head(msg)` for this very `msg` (another message's head gives a meaningless result,
/// never a panic).
///
/// # Errors
///
/// As [`scan`], for the part of the message from `d` on.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::envelope::{scan, scan_head, scan_rest};
///
/// let msg = br#"{"t":"MESSAGE_CREATE","s":3,"op":0,"d":{"id":"1"}}"#;
/// let head = scan_head(msg).expect("keys before d");
/// assert_eq!(scan_rest(msg, &head), scan(msg));
/// assert!(scan_rest(br#"{"t":"A","s":3,"op":0,"d":{"id":"1"}"#, &head).is_err());
/// ```
pub fn scan_rest<'a>(msg: &'a [u8], head: &Head<'a>) -> Result<Envelope<'a>, EnvelopeError> {
    let mut cur = Cursor {
        buf: msg,
        pos: head.data_at,
    };
    let mut fields = Fields {
        op: Some(head.op),
        seq: Some(Some(head.seq)),
        event_name: Some(Some(head.event_name)),
        data: None,
    };
    let value_at = cur.pos;
    if value_at >= msg.len() {
        return Err(EnvelopeError::Truncated { offset: value_at });
    }
    cur.skip_value()?;
    fields.data = Some(value_at..cur.pos);
    finish(cur, fields)
}

/// Reads only the envelope keys that come before `d`: the fast path for dispatches that
/// will be dropped unparsed.
///
/// Returns `Some` when `op`, `s` and `t` all precede `d` (Discord's own key order is
/// `t`, `s`, `op`, `d`, and the emulator writes `op`, `t`, `s`, `d`), with `s` and `t`
/// non-null and no other key before `d`; `d` itself is not read ([`scan_rest`] reads it
/// and the rest, for a message that is used). Returns `None` in every other case (`d` first, a key missing, `null`
/// or repeated, an unknown or escaped key before `d`, anything malformed before `d`), and
/// the caller then runs [`scan`]. It is a lean loop over the four plain keys, so the
/// common case costs a few dozen byte comparisons.
///
/// **Trade-off**: `d` and whatever follows it are not looked at, so a message whose `d` is
/// malformed or truncated, that repeats a key after `d`, or that has trailing bytes, is
/// not reported. This is only acceptable for a message whose payload is thrown away; a
/// delivered or otherwise used message must go through [`scan`], which checks all of it.
///
/// # Examples
///
/// ```
/// use discordgateway_proto::envelope::scan_head;
///
/// let head = scan_head(br#"{"t":"TYPING_START","s":7,"op":0,"d":{"not even":"read"#).expect("head");
/// assert_eq!((head.op, head.seq, head.event_name, head.data_at), (0, 7, "TYPING_START", 37));
/// assert_eq!(scan_head(br#"{"d":{},"op":0,"s":7,"t":"TYPING_START"}"#), None);
/// ```
#[must_use]
pub fn scan_head(msg: &[u8]) -> Option<Head<'_>> {
    let mut cur = Cursor { buf: msg, pos: 0 };
    cur.skip_ws();
    cur.eat(b'{')?;
    let (mut op, mut seq, mut name) = (None, None, None);
    loop {
        cur.skip_ws();
        let key = cur.envelope_key()?;
        cur.skip_ws();
        cur.eat(b':')?;
        cur.skip_ws();
        match key {
            b'd' => break,
            b'o' if op.is_none() => op = Some(cur.op().ok()?),
            b's' if seq.is_none() => seq = Some(cur.seq().ok()??),
            b't' if name.is_none() => name = Some(cur.event_name().ok()??),
            // A repeated key: `scan` reports it.
            _ => return None,
        }
        cur.skip_ws();
        cur.eat(b',')?;
    }
    Some(Head {
        op: op?,
        seq: seq?,
        event_name: name?,
        data_at: cur.pos,
    })
}

/// The envelope keys seen so far; the outer `Option` tells whether the key was present.
#[derive(Default)]
struct Fields<'a> {
    /// `op`, once seen.
    op: Option<u8>,
    /// `s`, once seen (inner `None` for `null`).
    seq: Option<Option<u64>>,
    /// `t`, once seen (inner `None` for `null`).
    event_name: Option<Option<&'a str>>,
    /// The range of `d`, once seen.
    data: Option<Range<usize>>,
}

/// Which envelope key a top-level key is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    /// `op`
    Op,
    /// `s`
    Seq,
    /// `t`
    EventName,
    /// `d`
    Data,
    /// Anything else: skipped.
    Other,
}

impl Key {
    /// Classifies the raw bytes between a key's quotes.
    fn from_raw(raw: &[u8], escaped: bool) -> Self {
        if escaped {
            return unescape_short(raw).map_or(Self::Other, |(buf, len)| {
                Self::from_raw(buf.get(..len).unwrap_or_default(), false)
            });
        }
        match raw {
            b"op" => Self::Op,
            b"s" => Self::Seq,
            b"t" => Self::EventName,
            b"d" => Self::Data,
            _ => Self::Other,
        }
    }

    /// The key's name, for [`EnvelopeError::DuplicateKey`].
    fn name(self) -> &'static str {
        match self {
            Self::Op => "op",
            Self::Seq => "s",
            Self::EventName => "t",
            Self::Data => "d",
            Self::Other => "",
        }
    }
}

/// Decodes an escaped key if it decodes to at most two ASCII bytes (the length of the
/// longest envelope key); anything longer, non-ASCII or malformed is `None`.
fn unescape_short(raw: &[u8]) -> Option<([u8; 2], usize)> {
    let mut out = [0u8; 2];
    let mut len = 0;
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let (decoded, width) = if b == b'\\' {
            match raw.get(i + 1)? {
                b'u' => {
                    let hex = std::str::from_utf8(raw.get(i + 2..i + 6)?).ok()?;
                    (u8::try_from(u16::from_str_radix(hex, 16).ok()?).ok()?, 6)
                }
                &c @ (b'"' | b'\\' | b'/') => (c, 2),
                b'b' | b'f' | b'n' | b'r' | b't' => (0, 2), // control chars: never a key letter
                _ => return None,
            }
        } else {
            (b, 1)
        };
        if !decoded.is_ascii() {
            return None;
        }
        *out.get_mut(len)? = decoded;
        len += 1;
        i += width;
    }
    Some((out, len))
}

/// A read position in the message.
struct Cursor<'a> {
    /// The whole message.
    buf: &'a [u8],
    /// Offset of the next unread byte.
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The next unread byte, if any.
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Advances past whitespace.
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// Consumes the next byte, which must be one of `allowed` (described by `expected`).
    fn next_byte(&mut self, allowed: &[u8], expected: &'static str) -> Result<u8, EnvelopeError> {
        let offset = self.pos;
        let found = self.peek().ok_or(EnvelopeError::Truncated { offset })?;
        if !allowed.contains(&found) {
            return Err(EnvelopeError::UnexpectedByte {
                offset,
                found,
                expected,
            });
        }
        self.pos += 1;
        Ok(found)
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    /// Consumes the key `"op"`, `"s"`, `"t"` or `"d"` written without escapes and returns
    /// its first letter; `None` (nothing consumed) for any other key.
    fn envelope_key(&mut self) -> Option<u8> {
        let (key, len) = match self.buf.get(self.pos..)? {
            [b'"', b'o', b'p', b'"', ..] => (b'o', 4),
            [b'"', key @ (b's' | b't' | b'd'), b'"', ..] => (*key, 3),
            _ => return None,
        };
        self.pos += len;
        Some(key)
    }

    /// Reads one `"key": value` member of the envelope into `fields`.
    fn member(&mut self, fields: &mut Fields<'a>) -> Result<(), EnvelopeError> {
        let key_at = self.pos;
        self.next_byte(b"\"", "a key string")?;
        let (end, escaped) = string_end(self.buf, key_at)?;
        let key = Key::from_raw(self.buf.get(key_at + 1..end).unwrap_or_default(), escaped);
        self.pos = end + 1;
        self.skip_ws();
        self.next_byte(b":", "':'")?;
        self.skip_ws();
        let value_at = self.pos;
        if value_at == self.buf.len() {
            return Err(EnvelopeError::Truncated { offset: value_at });
        }
        let duplicate = match key {
            Key::Op => fields.op.replace(self.op()?).is_some(),
            Key::Seq => fields.seq.replace(self.seq()?).is_some(),
            Key::EventName => fields.event_name.replace(self.event_name()?).is_some(),
            Key::Data => {
                self.skip_value()?;
                fields.data.replace(value_at..self.pos).is_some()
            }
            Key::Other => {
                self.skip_value()?;
                false
            }
        };
        if duplicate {
            return Err(EnvelopeError::DuplicateKey {
                key: key.name(),
                offset: key_at,
            });
        }
        Ok(())
    }

    /// Parses `op`: a JSON integer from 0 to 255.
    fn op(&mut self) -> Result<u8, EnvelopeError> {
        let offset = self.pos;
        let value = self
            .unsigned()
            .ok_or(EnvelopeError::InvalidOp { offset })?
            .unwrap_or(u64::MAX);
        u8::try_from(value).map_err(|_| EnvelopeError::OpOutOfRange { offset, value })
    }

    /// Parses `s`: `null` or a JSON integer that fits in `u64`.
    fn seq(&mut self) -> Result<Option<u64>, EnvelopeError> {
        let offset = self.pos;
        if self.literal(b"null") {
            return Ok(None);
        }
        match self.unsigned() {
            Some(Some(value)) => Ok(Some(value)),
            _ => Err(EnvelopeError::InvalidSeq { offset }),
        }
    }

    /// Parses `t`: `null` or a string without escapes or control characters.
    fn event_name(&mut self) -> Result<Option<&'a str>, EnvelopeError> {
        let offset = self.pos;
        if self.literal(b"null") {
            return Ok(None);
        }
        if self.peek() != Some(b'"') {
            return Err(EnvelopeError::InvalidEventName { offset });
        }
        let (end, escaped) = string_end(self.buf, offset)?;
        if escaped {
            return Err(EnvelopeError::EscapedEventName { offset });
        }
        let raw = self.buf.get(offset + 1..end).unwrap_or_default();
        if raw.iter().any(|&b| b < 0x20) {
            return Err(EnvelopeError::InvalidEventName { offset });
        }
        let name =
            std::str::from_utf8(raw).map_err(|_| EnvelopeError::EventNameNotUtf8 { offset })?;
        self.pos = end + 1;
        Ok(Some(name))
    }

    /// Consumes `word` if it is next and is followed by the end of a scalar.
    fn literal(&mut self, word: &[u8]) -> bool {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let matches =
            rest.starts_with(word) && rest.get(word.len()).is_none_or(|&b| is_scalar_end(b));
        if matches {
            self.pos += word.len();
        }
        matches
    }

    /// Parses a non-negative JSON integer (`0` or a digit run without a leading zero)
    /// followed by the end of a scalar.
    ///
    /// Returns `None` when the text is not such an integer (a sign, fraction, exponent,
    /// leading zero or stray byte), `Some(None)` when it is one but exceeds `u64`.
    fn unsigned(&mut self) -> Option<Option<u64>> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let text = rest.get(..digits)?;
        let valid_start = matches!(text, [b'0'] | [b'1'..=b'9', ..]);
        if !valid_start || rest.get(digits).is_some_and(|&b| !is_scalar_end(b)) {
            return None;
        }
        self.pos += digits;
        Some(text.iter().try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        }))
    }

    /// Skips one JSON value of any type, verifying its structure.
    fn skip_value(&mut self) -> Result<(), EnvelopeError> {
        let offset = self.pos;
        match self.peek() {
            None => Err(EnvelopeError::Truncated { offset }),
            Some(b'"') => {
                self.pos = string_end(self.buf, offset)?.0 + 1;
                Ok(())
            }
            Some(b'{' | b'[') => {
                self.pos = container_end(self.buf, offset)?;
                Ok(())
            }
            Some(found) => {
                if self.literal(b"null") || self.literal(b"true") || self.literal(b"false") {
                    return Ok(());
                }
                self.pos = number_end(self.buf, offset).ok_or(EnvelopeError::UnexpectedByte {
                    offset,
                    found,
                    expected: "a JSON value",
                })?;
                Ok(())
            }
        }
    }
}
