//! The error of the envelope scanner.

/// Why a message is not a well-formed gateway envelope.
///
/// Every variant but [`Empty`](Self::Empty) carries the byte offset where scanning
/// stopped; [`offset`](Self::offset) returns it for any variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The message is empty or only whitespace.
    #[error(
        "empty message: expected one JSON object; check that the whole frame was received and decompressed"
    )]
    Empty,
    /// The first non-whitespace byte is not `{`.
    #[error(
        "byte {found:#04x} at offset {offset} starts no JSON object: a gateway message is one object like {{\"op\":..}}"
    )]
    NotAnObject {
        /// Offset of the offending byte.
        offset: usize,
        /// The byte found instead of `{`.
        found: u8,
    },
    /// The message ends before the envelope object is closed.
    #[error(
        "message truncated at offset {offset}: pass one complete message (decompress whole frames first)"
    )]
    Truncated {
        /// The message length, where more bytes were needed.
        offset: usize,
    },
    /// A string has no closing quote.
    #[error(
        "string opened at offset {offset} is never closed: the message is truncated or corrupt"
    )]
    UnterminatedString {
        /// Offset of the opening quote.
        offset: usize,
    },
    /// A byte that JSON does not allow at this place.
    #[error(
        "unexpected byte {found:#04x} at offset {offset}, expected {expected}: the message is not valid JSON"
    )]
    UnexpectedByte {
        /// Offset of the offending byte.
        offset: usize,
        /// The byte found.
        found: u8,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// Arrays and objects are nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH).
    #[error(
        "nesting deeper than {max} levels at offset {offset}: no gateway payload is that deep; the message is corrupt or hostile"
    )]
    TooDeep {
        /// Offset of the bracket that went one level too deep.
        offset: usize,
        /// The limit, [`MAX_DEPTH`](super::MAX_DEPTH).
        max: usize,
    },
    /// Bytes other than whitespace follow the envelope object.
    #[error("bytes after the message at offset {offset}: pass exactly one JSON message per call")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
    },
    /// The envelope has no `op` key.
    #[error(
        "the message has no `op` key (object ends at offset {offset}): every gateway message carries an opcode"
    )]
    MissingOp {
        /// Offset of the envelope's closing brace.
        offset: usize,
    },
    /// An envelope key (`op`, `s`, `t` or `d`) appears twice.
    #[error("duplicate `{key}` key at offset {offset}: an envelope names each key once")]
    DuplicateKey {
        /// The repeated key.
        key: &'static str,
        /// Offset of the second occurrence's opening quote.
        offset: usize,
    },
    /// `op` is not a non-negative JSON integer (a float, a string, `null`, `-1`, ...).
    #[error("`op` at offset {offset} must be an integer from 0 to 255")]
    InvalidOp {
        /// Offset of the value.
        offset: usize,
    },
    /// `op` is an integer above 255.
    #[error("`op` {value} at offset {offset} is out of range: opcodes are 0 to 255")]
    OpOutOfRange {
        /// Offset of the value.
        offset: usize,
        /// The opcode, saturated at `u64::MAX` if it is even larger.
        value: u64,
    },
    /// `s` is neither `null` nor a non-negative integer that fits in `u64`.
    #[error("`s` at offset {offset} must be null or a non-negative integer below 2^64")]
    InvalidSeq {
        /// Offset of the value.
        offset: usize,
    },
    /// `t` is neither `null` nor a string of printable characters.
    #[error("`t` at offset {offset} must be null or a string without control characters")]
    InvalidEventName {
        /// Offset of the value.
        offset: usize,
    },
    /// `t` contains a backslash escape; event names are plain upper snake case.
    #[error(
        "`t` at offset {offset} contains a backslash escape: event names are plain text like MESSAGE_CREATE"
    )]
    EscapedEventName {
        /// Offset of the value's opening quote.
        offset: usize,
    },
    /// `t` is not valid UTF-8.
    #[error("`t` at offset {offset} is not valid UTF-8: the message is corrupt")]
    EventNameNotUtf8 {
        /// Offset of the value's opening quote.
        offset: usize,
    },
}

impl EnvelopeError {
    /// The byte offset in the message where scanning stopped (0 for [`Empty`](Self::Empty)).
    #[must_use]
    pub fn offset(&self) -> usize {
        match self {
            Self::Empty => 0,
            Self::NotAnObject { offset, .. }
            | Self::Truncated { offset }
            | Self::UnterminatedString { offset }
            | Self::UnexpectedByte { offset, .. }
            | Self::TooDeep { offset, .. }
            | Self::TrailingBytes { offset }
            | Self::MissingOp { offset }
            | Self::DuplicateKey { offset, .. }
            | Self::InvalidOp { offset }
            | Self::OpOutOfRange { offset, .. }
            | Self::InvalidSeq { offset }
            | Self::InvalidEventName { offset }
            | Self::EscapedEventName { offset }
            | Self::EventNameNotUtf8 { offset } => *offset,
        }
    }
}
