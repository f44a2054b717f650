//! The value-skipping primitives of the envelope scanner: strings (`memchr2`), nested
//! arrays and objects (bracket matching on a 128-bit stack) and top-level numbers.

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
        let rest = buf.get(i..).unwrap_or_default();
        let Some(found) = memchr2(b'"', b'\\', rest) else {
            return Err(EnvelopeError::UnterminatedString { offset: open });
        };
        i += found;
        if buf.get(i) == Some(&b'"') {
            return Ok((i, escaped));
        }
        // A backslash: the next byte is escaped, whatever it is (a `\u` escape's four hex
        // digits can be neither a quote nor a backslash, so they need no special care).
        escaped = true;
        i += 2;
    }
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
    while let Some(&b) = buf.get(i) {
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
