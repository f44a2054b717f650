//! Hand-written JSON output for the workload: append numbers, snowflakes, escaped strings and
//! Discord-style ISO 8601 timestamps to a `Vec<u8>` without intermediate allocations.
//!
//! The stream's payloads are spliced from pre-serialized fragments with these helpers, which
//! is what makes generation cheap (no `serde_json::Value` per event).

/// Appends the decimal form of `n`.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// Appends a snowflake as Discord sends it: a quoted decimal string.
pub(crate) fn push_id(out: &mut Vec<u8>, id: u64) {
    out.push(b'"');
    push_u64(out, id);
    out.push(b'"');
}

/// Appends `"key":` (keys are our own ASCII constants and need no escaping).
pub(crate) fn push_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends `,"key":` for every field after the first.
pub(crate) fn push_next_key(out: &mut Vec<u8>, key: &str) {
    out.push(b',');
    push_key(out, key);
}

/// Appends `s` as a JSON string, escaping quotes, backslashes and control characters.
pub(crate) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends an optional string, or `null`.
pub(crate) fn push_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => push_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends a JSON boolean.
pub(crate) fn push_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// Appends a JSON array of snowflake strings.
pub(crate) fn push_id_array(out: &mut Vec<u8>, ids: &[u64]) {
    out.push(b'[');
    for (i, &id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_id(out, id);
    }
    out.push(b']');
}

/// Appends a quoted ISO 8601 timestamp in Discord's format,
/// `"2026-01-01T00:00:00.000000+00:00"`, for `unix_ms` milliseconds since 1970 (UTC).
pub(crate) fn push_timestamp(out: &mut Vec<u8>, unix_ms: u64) {
    let secs = unix_ms / 1000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    out.push(b'"');
    push_padded(out, year, 4);
    out.push(b'-');
    push_padded(out, month, 2);
    out.push(b'-');
    push_padded(out, day, 2);
    out.push(b'T');
    push_padded(out, rem / 3600, 2);
    out.push(b':');
    push_padded(out, rem / 60 % 60, 2);
    out.push(b':');
    push_padded(out, rem % 60, 2);
    out.push(b'.');
    push_padded(out, unix_ms % 1000 * 1000, 6);
    out.extend_from_slice(b"+00:00\"");
}

/// Appends `n` left-padded with zeros to `width` digits (at most 20).
fn push_padded(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut at = buf.len();
    while n > 0 && at > 0 {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = at.min(buf.len().saturating_sub(width));
    out.extend_from_slice(&buf[start..]);
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day), using the
/// era-based civil calendar conversion (400-year eras of 146 097 days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn numbers_and_ids() {
        const CASES: &[(u64, &str)] = &[(0, "0"), (7, "7"), (1234567890, "1234567890")];
        for &(n, want) in CASES {
            assert_eq!(render(|o| push_u64(o, n)), want, "case {n}");
        }
        assert_eq!(render(|o| push_u64(o, u64::MAX)), u64::MAX.to_string());
        assert_eq!(render(|o| push_id(o, 42)), "\"42\"");
        assert_eq!(render(|o| push_id_array(o, &[1, 2])), r#"["1","2"]"#);
    }

    #[test]
    fn strings_escape_like_serde_json() {
        const CASES: &[&str] = &[
            "plain",
            "quote \" here",
            "back\\slash",
            "new\nline\t",
            "\u{1}ctl",
            "ünï 👍",
        ];
        for s in CASES {
            let ours = render(|o| push_str(o, s));
            let back: String = serde_json::from_str(&ours).unwrap();
            assert_eq!(&back, s, "case {s:?}");
        }
    }

    #[test]
    fn timestamps_match_known_dates() {
        const CASES: &[(u64, &str)] = &[
            (0, "\"1970-01-01T00:00:00.000000+00:00\""),
            (1_420_070_400_000, "\"2015-01-01T00:00:00.000000+00:00\""),
            (951_782_400_000, "\"2000-02-29T00:00:00.000000+00:00\""),
            (1_767_225_599_123, "\"2025-12-31T23:59:59.123000+00:00\""),
        ];
        for &(ms, want) in CASES {
            assert_eq!(render(|o| push_timestamp(o, ms)), want, "case {ms}");
        }
    }
}
