//! The definition-time timestamp check of a Wait state's `Timestamp`.
//!
//! ASL requires RFC 3339 with an uppercase `T` and, without a numeric offset,
//! an uppercase `Z`. AWS refuses anything else at `CreateStateMachine` with
//! "String does not match RFC3339 timestamp" (six recorded cases in the
//! invalid-definitions corpus). Kept strict and local on purpose: run-time
//! parsing (`crate::timestamp`) is more lenient than this definition check.

/// Whether `text` is `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` with every
/// field in range (including the day of the month, leap years counted).
pub(super) fn is_rfc3339_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) =
        (num(b, 0, 4), num(b, 5, 2), num(b, 8, 2), num(b, 11, 2), num(b, 14, 2), num(b, 17, 2))
    else {
        return false;
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return false;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return false;
    }
    // Leap seconds (60) are refused: AWS's parsers do not accept them.
    if hour > 23 || minute > 59 || second > 59 {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let digits = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &after_dot[digits..];
    }
    match rest {
        [b'Z'] => true,
        [sign, ..] if (*sign == b'+' || *sign == b'-') && rest.len() == 6 && rest[3] == b':' => {
            matches!((num(rest, 1, 2), num(rest, 4, 2)), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

fn num(b: &[u8], start: usize, len: usize) -> Option<u32> {
    let digits = b.get(start..start + len)?;
    digits.iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::is_rfc3339_timestamp as ok;

    #[test]
    fn accepts_rfc3339() {
        assert!(ok("2016-03-14T01:59:00Z"));
        assert!(ok("2016-03-14T01:59:00.123Z"));
        assert!(ok("2016-03-14T01:59:00.123456789+05:30"));
        assert!(ok("2016-03-14T01:59:00-00:00"));
        assert!(ok("2024-02-29T00:00:00Z"));
    }

    #[test]
    fn refuses_what_aws_refused() {
        // The six texts of the invalid-definitions corpus.
        assert!(!ok("2016-13-05T21:29:29Z"));
        assert!(!ok("05-12-2016T21:29:29Z"));
        assert!(!ok("2016-12-05T25:29:29Z"));
        assert!(!ok("{% '2016-03-14T01:59:00Z' %}"));
        assert!(!ok("2016-12-05 21:29:29Z"));
        assert!(!ok("2016-12-05T21:29:29"));
    }

    #[test]
    fn refuses_other_malformed_texts() {
        for t in [
            "",
            "2016-12-05t21:29:29Z",
            "2016-12-05T21:29:29z",
            "2023-02-29T00:00:00Z",
            "2016-04-31T00:00:00Z",
            "2016-12-05T21:29:60Z",
            "2016-12-05T21:29:29.Z",
            "2016-12-05T21:29:29+0530",
            "2016-12-05T21:29:29+24:00",
            "2016-12-05T21:29:29Zjunk",
            "２０１６-12-05T21:29:29Z",
        ] {
            assert!(!ok(t), "{t}");
        }
    }
}
