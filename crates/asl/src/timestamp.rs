//! Timestamps as Step Functions reads and writes them.
//!
//! Owns which strings AWS accepts as timestamps (Choice `Timestamp*` and
//! `IsTimestamp`, Wait `Timestamp`/`TimestampPath`) and the text format of the
//! timestamps stepgate emits (context object, history). It must not read the
//! clock: callers pass times in.
//!
//! AWS has two acceptance rules, and this module keeps them apart:
//!
//! * At run time ([`parse_timestamp`]) AWS parses with Java's
//!   `DateTimeFormatter.ISO_OFFSET_DATE_TIME`: its Wait causes say "does not
//!   reference a valid ISO-8601 extended offset date-time format string",
//!   which is that formatter's Javadoc wording. So the zone is mandatory,
//!   `T`/`Z` may be lower case, seconds are optional, fractions have 0 to 9
//!   digits and offsets may carry seconds (`+01:00:30`), up to ±18:00.
//! * In a definition ([`is_rfc3339_timestamp`], "String does not match RFC3339
//!   timestamp") the value must be RFC 3339 with the ASL specification's
//!   extra rule: upper-case `T` and `Z`. Seconds are required; offsets are
//!   `±HH:MM`.
//!
//! Both reject a missing zone (`2016-12-05T21:29:29`), a space instead of `T`,
//! out-of-range fields (`2016-13-05…`, `…T25:29:29Z`, February 30) and other
//! layouts (`05-12-2016T…`), as the recorded AWS cases show.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;

/// A point in time, in milliseconds since the Unix epoch (the precision AWS uses).
pub type EpochMillis = i64;

/// Parses a timestamp the way AWS does at run time; `None` if AWS would not
/// accept it.
///
/// Years outside -9999..=9999 are refused even where Java would accept them
/// (`+10000-01-01T00:00Z`): no real input needs them and [`Timestamp`] cannot
/// hold them.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    parse_with(text, Profile::Runtime)
}

/// Whether `text` is a timestamp AWS accepts inside a definition (Wait
/// `Timestamp`, Choice `TimestampEquals` and friends). When it is not, AWS
/// reports `SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp`.
pub fn is_rfc3339_timestamp(text: &str) -> bool {
    parse_with(text, Profile::Definition).is_some()
}

/// Formats a time as AWS prints timestamps in the context object,
/// e.g. `2024-01-31T12:00:00.123Z`: always UTC, always three fraction digits.
pub fn format_timestamp(millis: EpochMillis) -> String {
    // Out-of-range input saturates instead of inventing an unrelated date.
    let ts = Timestamp::from_millisecond(millis).unwrap_or(if millis < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    let dt = Offset::UTC.to_datetime(ts);
    let year = i32::from(dt.year());
    let sign = if year < 0 { "-" } else { "" };
    format!(
        "{sign}{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        year.unsigned_abs(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1_000_000
    )
}

/// Which of AWS's two acceptance rules applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// Java `ISO_OFFSET_DATE_TIME`, used when an execution reads a value.
    Runtime,
    /// RFC 3339 with upper-case `T`/`Z`, used when a definition is validated.
    Definition,
}

/// Java's `ZoneOffset` limit: offsets beyond ±18:00 do not parse.
const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

fn parse_with(text: &str, profile: Profile) -> Option<Timestamp> {
    let mut c = Cursor {
        bytes: text.as_bytes(),
        pos: 0,
    };

    // Java's year field (`EXCEEDS_PAD`, strict) takes exactly four digits
    // unless a `+` introduces more, and allows a leading `-` (but not `-0000`).
    let negative = profile == Profile::Runtime && c.eat(b'-');
    let year = c.digits(4)?;
    if negative && year == 0 {
        return None;
    }
    c.expect(b'-')?;
    let month = c.digits(2)?;
    c.expect(b'-')?;
    let day = c.digits(2)?;
    c.letter(b'T', profile)?;
    let hour = c.digits(2)?;
    c.expect(b':')?;
    let minute = c.digits(2)?;
    let (second, nanos) = if c.eat(b':') {
        let second = c.digits(2)?;
        let nanos = if c.eat(b'.') { c.fraction(profile)? } else { 0 };
        (second, nanos)
    } else if profile == Profile::Runtime {
        // ISO_LOCAL_TIME makes the seconds (and with them the fraction) optional.
        (0, 0)
    } else {
        return None;
    };
    let offset = c.offset(profile)?;
    if c.pos != c.bytes.len() {
        return None;
    }

    let year = i16::try_from(year).ok()?;
    let year = if negative { -year } else { year };
    // `DateTime::new` range-checks every field, including the day against the
    // month, matching Java's STRICT resolver (no 24:00, no leap second 60).
    let dt = DateTime::new(
        year,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Offset::from_seconds(offset).ok()?.to_timestamp(dt).ok()
}

/// A byte cursor: every field of both grammars is ASCII.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// `T` or `Z`: Java parses case-insensitively, the ASL spec demands upper case.
    fn letter(&mut self, upper: u8, profile: Profile) -> Option<()> {
        if self.eat(upper) || (profile == Profile::Runtime && self.eat(upper.to_ascii_lowercase()))
        {
            Some(())
        } else {
            None
        }
    }

    /// Exactly `count` ASCII digits.
    fn digits(&mut self, count: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..count {
            let b = self.peek().filter(u8::is_ascii_digit)?;
            value = value * 10 + u32::from(b - b'0');
            self.pos += 1;
        }
        Some(value)
    }

    /// The digits after the decimal point, as nanoseconds. Java reads 0 to 9
    /// digits (so `12:00:00.Z` parses); RFC 3339 needs at least one. A tenth
    /// digit is left unread, so the offset that must follow fails.
    fn fraction(&mut self, profile: Profile) -> Option<i32> {
        let mut value = 0i32;
        let mut count = 0u32;
        while count < 9 {
            match self.peek() {
                Some(b) if b.is_ascii_digit() => {
                    value = value * 10 + i32::from(b - b'0');
                    self.pos += 1;
                    count += 1;
                }
                _ => break,
            }
        }
        if count == 0 && profile == Profile::Definition {
            return None;
        }
        Some(value * 10i32.pow(9 - count))
    }

    /// `Z` or `±HH:MM` (Java also takes `±HH:MM:SS`), in seconds east of UTC.
    fn offset(&mut self, profile: Profile) -> Option<i32> {
        if self.letter(b'Z', profile).is_some() {
            return Some(0);
        }
        let sign = match self.peek()? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.pos += 1;
        let hours = self.digits(2)?;
        self.expect(b':')?;
        let minutes = self.digits(2)?;
        let seconds = if profile == Profile::Runtime && self.eat(b':') {
            self.digits(2)?
        } else {
            0
        };
        if hours > 23 || minutes > 59 || seconds > 59 {
            return None;
        }
        let total = i32::try_from(hours * 3600 + minutes * 60 + seconds).ok()?;
        (total <= MAX_OFFSET_SECONDS).then_some(sign * total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(text: &str) -> Option<i64> {
        parse_timestamp(text).map(|t| t.as_millisecond())
    }

    #[test]
    fn runtime_accepts_what_aws_accepted() {
        // Wait TimestampPath cases that SUCCEEDED on AWS.
        for text in [
            "2016-03-14T01:59:00Z",
            "2023-12-13T07:09:32Z",
            "2023-12-13T07:09:32.00Z",
            "2023-12-13T07:09:32.000000Z",
            "2016-03-05T21:29:29.243167252Z",
            "2100-01-01T00:00:00.000Z",
            "2012-10-09T19:00:55+01:00",
        ] {
            assert!(parse_timestamp(text).is_some(), "{text}");
        }
    }

    #[test]
    fn runtime_rejects_what_aws_rejected() {
        // Wait TimestampPath / JSONata Timestamp cases that FAILED on AWS, and
        // Choice matrix values that did not match TimestampEquals.
        for text in [
            "2016-12-05T21:29:29",
            "2016-12-05 21:29:29Z",
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2023-12-13T07:09:32.000000",
            "2023-12-13T07:09:32",
            "2023-02-24 12:15:56.832957",
            "2023-02-24",
            "",
            " ",
        ] {
            assert!(parse_timestamp(text).is_none(), "{text}");
        }
    }

    #[test]
    fn runtime_follows_java_iso_offset_date_time() {
        assert_eq!(millis("1970-01-01T00:00Z"), Some(0));
        assert_eq!(millis("1970-01-01t00:00:01z"), Some(1000));
        assert_eq!(millis("1970-01-01T00:00:00.Z"), Some(0));
        assert_eq!(millis("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(millis("1970-01-01T00:00:00-00:00:30"), Some(30_000));
        assert_eq!(millis("1970-01-01T18:00:00+18:00"), Some(0));
        assert_eq!(millis("-0001-01-01T00:00:00Z"), Some(-62_198_755_200_000));
        assert!(parse_timestamp("1970-01-01T00:00:00+18:01").is_none());
        assert!(parse_timestamp("1970-01-01T00:00:00+0100").is_none());
        assert!(parse_timestamp("1970-01-01T00:00:00+01").is_none());
        assert!(parse_timestamp("1970-01-01T00:00:00.1234567891Z").is_none());
        assert!(parse_timestamp("1970-01-01T24:00:00Z").is_none());
        assert!(parse_timestamp("2016-12-31T23:59:60Z").is_none());
        assert!(parse_timestamp("2023-02-29T00:00:00Z").is_none());
        assert!(parse_timestamp("2024-02-29T00:00:00Z").is_some());
        assert!(parse_timestamp("+2016-12-05T21:29:29Z").is_none());
        assert!(parse_timestamp("20160-12-05T21:29:29Z").is_none());
        assert!(parse_timestamp("-0000-12-05T21:29:29Z").is_none());
        assert!(parse_timestamp("2016-12-05T21:29:29Z ").is_none());
        assert!(parse_timestamp("2016-12-05T21:29:29,5Z").is_none());
        assert!(parse_timestamp("2016-12-05T21:29:29.5").is_none());
        assert!(parse_timestamp("2016-12-05T21:29.5Z").is_none());
        assert!(parse_timestamp("２016-12-05T21:29:29Z").is_none());
    }

    #[test]
    fn runtime_keeps_nanoseconds() {
        let a = parse_timestamp("2016-03-05T21:29:29.243167252Z");
        let b = parse_timestamp("2016-03-05T21:29:29.243167253Z");
        assert!(a < b);
        assert_eq!(a.map(|t| t.subsec_nanosecond()), Some(243_167_252));
        assert_eq!(
            parse_timestamp("2016-03-05T21:29:29.5Z").map(|t| t.subsec_nanosecond()),
            Some(500_000_000)
        );
    }

    #[test]
    fn definition_check_matches_aws_cases() {
        // test_wait_timestamp: accepted by CreateStateMachine.
        assert!(is_rfc3339_timestamp("2016-03-14T01:59:00Z"));
        assert!(is_rfc3339_timestamp("2016-03-05T21:29:29.243167252Z"));
        // test_wait_timestamp_invalid: "String does not match RFC3339 timestamp".
        for text in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "{% '2016-03-14T01:59:00Z' %}",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
        ] {
            assert!(!is_rfc3339_timestamp(text), "{text}");
        }
    }

    #[test]
    fn definition_check_is_stricter_than_runtime() {
        assert!(is_rfc3339_timestamp("2016-03-14T01:59:00+05:30"));
        assert!(is_rfc3339_timestamp("2016-03-14T01:59:00.1-00:00"));
        for text in [
            "2016-03-14t01:59:00Z",
            "2016-03-14T01:59:00z",
            "2016-03-14T01:59Z",
            "2016-03-14T01:59:00.Z",
            "2016-03-14T01:59:00+05:30:00",
            "-0001-03-14T01:59:00Z",
        ] {
            assert!(!is_rfc3339_timestamp(text), "{text}");
            assert!(parse_timestamp(text).is_some(), "{text}");
        }
    }

    #[test]
    fn formats_like_the_context_object() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp(1_706_702_400_123),
            "2024-01-31T12:00:00.123Z"
        );
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_timestamp(-62_198_755_200_000),
            "-0001-01-01T00:00:00.000Z"
        );
        assert!(format_timestamp(i64::MAX).starts_with("9999-12-"));
        assert!(format_timestamp(i64::MIN).starts_with("-9999-01-"));
        for ms in [0, 1, 999, 1_706_702_400_123, -86_400_001] {
            assert_eq!(
                parse_timestamp(&format_timestamp(ms)).map(|t| t.as_millisecond()),
                Some(ms)
            );
        }
    }
}
