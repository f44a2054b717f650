//! The value-skipping primitives of the envelope scanner: strings, nested arrays and
//! objects (bracket matching on a 128-bit stack) and top-level numbers.
//!
//! Strings are searched with SWAR ("SIMD within a register"): eight bytes are loaded
//! into a `u64` and the bytes equal to `"` or `\` are found with the classic zero-byte
//! test `(x - 0x01..01) & !x & 0x80..80`, whose lowest set bit is always exact. Most JSON
//! strings are short (keys, IDs, timestamps), where a library call costs more than the
//! search, so a string gets [`SWAR_WORDS`] words of SWAR first and only a longer one is
//! handed to `memchr2`, whose vector loop then pays for its setup. Between strings, a
//! plain byte loop over a class table finds the next quote or bracket.
//!
//! Measured with `cargo bench -p discordgateway-proto --bench envelope` against the same
//! scan with `memchr2` for every string (the call overhead dominated short strings) and
//! with SWAR between strings too (slower: the next structural byte is usually 1-3 bytes
//! away).

use memchr::memchr2;

use super::{EnvelopeError, MAX_DEPTH};

/// JSON whitespace: space, tab, line feed, carriage return.
pub(super) const fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Bytes that may end a top-level scalar.
pub(super) const fn is_scalar_end(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}')
}

/// Given the offset of an opening quote, returns the offset of the closing quote and
/// whether the string contains a backslash escape.
pub(super) fn string_end(buf: &[u8], open: usize) -> Result<(usize, bool), EnvelopeError> {
    let mut i = open + 1;
    let mut escaped = false;
    loop {
        let Some(found) = find_quote_or_backslash(buf, i) else {
            return Err(EnvelopeError::UnterminatedString { offset: open });
        };
        if buf.get(found) == Some(&b'"') {
            return Ok((found, escaped));
        }
        // A backslash: the next byte is escaped, whatever it is (a `\u` escape's four hex
        // digits can be neither a quote nor a backslash, so they need no special care).
        escaped = true;
        i = found + 2;
    }
}

/// Eight copies of `b`.
const fn splat(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

/// Marks (high bit) the bytes of `w` that are zero; the lowest mark is always exact,
/// higher ones may be false positives, so only `trailing_zeros` of the result is used.
const fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(splat(0x01)) & !w & splat(0x80)
}

/// The offset of the byte marked lowest in `marks`, in the word loaded from offset `at`.
const fn first_mark(at: usize, marks: u64) -> usize {
    at + (marks.trailing_zeros() / 8) as usize
}

/// SWAR words (8 bytes each) searched inline before a string is handed to `memchr2`.
const SWAR_WORDS: usize = 4;

/// The offset of the first `"` or `\` at or after `i`.
fn find_quote_or_backslash(buf: &[u8], mut i: usize) -> Option<usize> {
    for _ in 0..SWAR_WORDS {
        let rest = buf.get(i..)?;
        let Some(word) = rest.first_chunk::<8>() else {
            return rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .map(|k| i + k);
        };
        let w = u64::from_le_bytes(*word);
        let marks = zero_bytes(w ^ splat(b'"')) | zero_bytes(w ^ splat(b'\\'));
        if marks != 0 {
            return Some(first_mark(i, marks));
        }
        i += 8;
    }
    memchr2(b'"', b'\\', buf.get(i..)?).map(|k| i + k)
}

/// The offset of the first quote or bracket at or after `i`.
///
/// A plain byte loop: outside strings the next quote or bracket is rarely more than a
/// few bytes away (`":`, `",`, a short number), too close for any word-wise search to pay.
fn find_structural(buf: &[u8], i: usize) -> Option<usize> {
    let rest = buf.get(i..)?;
    rest.iter()
        .position(|&b| CLASS[usize::from(b)] != PLAIN)
        .map(|k| i + k)
}

/// Byte classes for [`container_end`]: what the bracket scan stops on.
const CLASS: [u8; 256] = {
    let mut table = [PLAIN; 256];
    table[b'"' as usize] = QUOTE;
    table[b'{' as usize] = OPEN;
    table[b'[' as usize] = OPEN;
    table[b'}' as usize] = CLOSE;
    table[b']' as usize] = CLOSE;
    table
};
/// A byte the bracket scan passes over.
const PLAIN: u8 = 0;
/// `"`: a string starts.
const QUOTE: u8 = 1;
/// `{` or `[`.
const OPEN: u8 = 2;
/// `}` or `]`.
const CLOSE: u8 = 3;

/// Given the offset of an opening `{` or `[`, returns the offset just past its matching
/// closing bracket.
///
/// The open brackets live in a 128-bit stack (bit set = object), so the scan needs no
/// recursion and refuses more than [`MAX_DEPTH`] levels.
pub(super) fn container_end(buf: &[u8], open: usize) -> Result<usize, EnvelopeError> {
    let mut stack: u128 = 0;
    let mut depth = 0usize;
    let mut i = open;
    while let Some(at) = find_structural(buf, i) {
        i = at;
        let Some(&b) = buf.get(i) else { break };
        match CLASS[usize::from(b)] {
            QUOTE => i = string_end(buf, i)?.0,
            OPEN => {
                if depth == MAX_DEPTH {
                    return Err(EnvelopeError::TooDeep {
                        offset: i,
                        max: MAX_DEPTH,
                    });
                }
                stack = (stack << 1) | u128::from(b == b'{');
                depth += 1;
            }
            CLOSE => {
                if (stack & 1 == 1) != (b == b'}') {
                    let expected = if stack & 1 == 1 { "'}'" } else { "']'" };
                    return Err(EnvelopeError::UnexpectedByte {
                        offset: i,
                        found: b,
                        expected,
                    });
                }
                stack >>= 1;
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(EnvelopeError::Truncated { offset: buf.len() })
}

/// Returns the offset just past a JSON number starting at `start`, if one is there and is
/// followed by the end of a scalar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
pub(super) fn number_end(buf: &[u8], start: usize) -> Option<usize> {
    let digits_from = |i: usize| {
        buf.get(i..)
            .map_or(0, |r| r.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let mut i = start + usize::from(buf.get(start) == Some(&b'-'));
    match buf.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i += digits_from(i),
        _ => return None,
    }
    if buf.get(i) == Some(&b'.') {
        let n = digits_from(i + 1);
        if n == 0 {
            return None;
        }
        i += 1 + n;
    }
    if matches!(buf.get(i), Some(b'e' | b'E')) {
        i += 1 + usize::from(matches!(buf.get(i + 1), Some(b'+' | b'-')));
        let n = digits_from(i);
        if n == 0 {
            return None;
        }
        i += n;
    }
    buf.get(i).is_none_or(|&b| is_scalar_end(b)).then_some(i)
}
