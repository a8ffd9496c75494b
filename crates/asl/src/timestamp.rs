//! Timestamps as Step Functions reads and writes them.
//!
//! Owns which strings AWS accepts as timestamps (Choice `Timestamp*` and
//! `IsTimestamp`, Wait `Timestamp`/`TimestampPath`) and the text format of the
//! timestamps stepgate emits (context object, history). It must not read the
//! clock: callers pass times in.

/// A point in time, in milliseconds since the Unix epoch (the precision AWS uses).
pub type EpochMillis = i64;

/// Parses a timestamp the way AWS does at run time; `None` if AWS would not
/// accept it.
pub fn parse_timestamp(text: &str) -> Option<jiff::Timestamp> {
    text.parse::<jiff::Timestamp>().ok()
}

/// Formats a time as AWS prints timestamps in the context object,
/// e.g. `2024-01-31T12:00:00.123Z`.
pub fn format_timestamp(millis: EpochMillis) -> String {
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(ts) => format!("{}", ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")),
        Err(_) => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}
