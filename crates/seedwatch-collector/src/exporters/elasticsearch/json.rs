//! Writing JSON straight into a request body: strings, numbers, OTLP values, ids and times.
//! Documents are written field by field rather than built as a `serde_json::Value` first,
//! which at Elasticsearch volumes costs more than everything else the exporter does.

use crate::otlp_wire::{AnyRef, KeyValues, array_values};

/// Appends `s` as a JSON string. Bytes ≥ 0x80 pass through: they come from validated
/// (UTF-8) requests.
pub(super) fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    string_body(out, s);
    out.push(b'"');
}

/// Whether any of 8 bytes is below 0x20, a quote or a backslash (the classic "has a byte
/// less than" and "has a zero byte" word tricks; the byte loop then finds which).
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    (below_space | zero_byte(quote) | zero_byte(backslash)) != 0
}

/// Appends `s` escaped, without quotes. Clean stretches are skipped 8 bytes at a time.
pub(super) fn string_body(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        while let Some(chunk) = s.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if word_needs_escape(u64::from_le_bytes(word)) {
                break;
            }
            i += 8;
        }
        let Some(&b) = s.get(i) else { break };
        i += 1;
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&s[start..i - 1]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
        start = i;
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends an integer.
pub(super) fn int(out: &mut Vec<u8>, i: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// Appends a float; JSON has no NaN or infinities, they become `null`.
pub(super) fn double(out: &mut Vec<u8>, d: f64) {
    if d.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(d).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Appends an OTLP value: maps become objects, arrays arrays, bytes hex strings.
pub(super) fn any(out: &mut Vec<u8>, value: AnyRef<'_>) {
    match value {
        AnyRef::Empty => out.extend_from_slice(b"null"),
        AnyRef::Str(s) => string(out, s),
        AnyRef::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        AnyRef::Int(i) => int(out, i),
        AnyRef::Double(d) => double(out, d),
        AnyRef::Bytes(b) => {
            out.push(b'"');
            hex(out, b);
            out.push(b'"');
        }
        AnyRef::Array(body) => {
            out.push(b'[');
            for (n, v) in array_values(body).enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                any(out, v);
            }
            out.push(b']');
        }
        AnyRef::Kvlist(body) => object(out, KeyValues::new(body, 1)),
    }
}

/// Appends key-values as one object, keys as received, in order. A key seen twice keeps its
/// last value (Elasticsearch refuses documents with duplicate keys).
pub(super) fn object(out: &mut Vec<u8>, kvs: KeyValues<'_>) {
    let all: Vec<(&[u8], AnyRef<'_>)> = kvs.collect();
    out.push(b'{');
    let mut first = true;
    for (i, (key, value)) in all.iter().enumerate() {
        if all[i + 1..].iter().any(|(k, _)| k == key) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        string(out, key);
        out.push(b':');
        any(out, *value);
    }
    out.push(b'}');
}

/// Appends lower-case hex.
pub(super) fn hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
}

/// True for an id worth writing: not empty (absent) and not all zero.
pub(super) fn is_id(id: &[u8]) -> bool {
    !id.is_empty() && id.iter().any(|b| *b != 0)
}

/// A civil date (UTC) from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn two(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// Appends RFC 3339 UTC with the fraction of a second as needed (`2026-11-24T10:00:00Z`,
/// `2026-11-24T10:00:00.25Z`), quoted.
pub(super) fn timestamp(out: &mut Vec<u8>, unix_nanos: u64) {
    let secs = (unix_nanos / 1_000_000_000) as i64;
    let nanos = (unix_nanos % 1_000_000_000) as u32;
    let (year, month, day) = civil(secs.div_euclid(86_400));
    let in_day = secs.rem_euclid(86_400) as u32;
    out.push(b'"');
    int(out, year);
    out.push(b'-');
    two(out, month);
    out.push(b'-');
    two(out, day);
    out.push(b'T');
    two(out, in_day / 3600);
    out.push(b':');
    two(out, in_day / 60 % 60);
    out.push(b':');
    two(out, in_day % 60);
    if nanos > 0 {
        let mut digits = *b"000000000";
        let mut n = nanos;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let len = 9 - digits.iter().rev().take_while(|d| **d == b'0').count();
        out.push(b'.');
        out.extend_from_slice(&digits[..len]);
    }
    out.extend_from_slice(b"Z\"");
}

/// Days since 1970-01-01 of a time.
pub(super) fn day_number(unix_nanos: u64) -> i64 {
    (unix_nanos / 1_000_000_000 / 86_400) as i64
}

/// `YYYY.MM.DD` of a day number.
pub(super) fn day(day_number: i64) -> String {
    let (year, month, day) = civil(day_number);
    format!("{year:04}.{month:02}.{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_days_match_jiff() {
        let mut n: u64 = 0;
        // Every few hours over 1970..2300, with varying fractions.
        while n < 10_400_000_000_000_000_000 {
            let mut out = Vec::new();
            timestamp(&mut out, n);
            let want = jiff::Timestamp::from_nanosecond(i128::from(n)).expect("in range");
            assert_eq!(String::from_utf8(out).expect("utf8"), format!("\"{want}\""));
            assert_eq!(day(day_number(n)), want.strftime("%Y.%m.%d").to_string());
            n += 11_111_111_111_111_111;
        }
    }

    #[test]
    fn any_string_survives_a_round_trip() {
        let mut rng = fastrand::Rng::with_seed(3);
        let alphabet: Vec<char> = "ab \"\\\n\t\r\u{0}\u{1f}\u{7f}é€😀x/".chars().collect();
        for _ in 0..5_000 {
            let text: String = (0..rng.usize(0..40)).map(|_| alphabet[rng.usize(0..alphabet.len())]).collect();
            let mut out = Vec::new();
            string(&mut out, text.as_bytes());
            let back: String = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e} in {out:?}"));
            assert_eq!(back, text);
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = Vec::new();
        string(&mut out, "a\"b\\c\nd\u{1}é".as_bytes());
        let back: String = serde_json::from_slice(&out).expect("json");
        assert_eq!(back, "a\"b\\c\nd\u{1}é");
    }
}
