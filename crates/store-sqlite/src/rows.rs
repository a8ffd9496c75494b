//! Conversions between table rows and the `store` records.
//!
//! Owns the column lists and the checks on what comes back from the file
//! (an unknown status, a seed of the wrong length, a negative id): those are
//! reported as errors, never unwrapped, because the file may have been
//! edited by hand. It must not run statements of its own.

use rusqlite::Row;
use rusqlite::types::Type;
use store::{
    ExecutionRecord, ExecutionStatus, HistoryRow, JournalEntry, StateMachineRecord,
    StateMachineType, TimerRow,
};

/// The columns [`execution`] reads, in order.
pub(crate) const EXECUTION_COLUMNS: &str = "arn, name, state_machine_arn, state_machine_version, type, status, \
     input, output, error, cause, start_time, stop_time, seed";

fn bad(column: usize, ty: Type, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, ty, message.into())
}

/// A stored integer as a `u64` (ids, seqs and versions are never negative).
pub(crate) fn to_u64(v: i64) -> rusqlite::Result<u64> {
    u64::try_from(v).map_err(|_| {
        bad(
            0,
            Type::Integer,
            format!("negative number {v} where a count was expected"),
        )
    })
}

/// A `u64` as SQLite's signed integer (refused above `i64::MAX`).
pub(crate) fn from_u64(v: u64) -> rusqlite::Result<i64> {
    i64::try_from(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn get_u64(row: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(i)?;
    u64::try_from(v).map_err(|_| bad(i, Type::Integer, format!("negative number {v}")))
}

fn machine_type(row: &Row<'_>, i: usize) -> rusqlite::Result<StateMachineType> {
    let s: String = row.get(i)?;
    StateMachineType::parse(&s)
        .ok_or_else(|| bad(i, Type::Text, format!("unknown state machine type {s:?}")))
}

/// Parses a stored status.
pub(crate) fn status(s: &str) -> rusqlite::Result<ExecutionStatus> {
    ExecutionStatus::parse(s)
        .ok_or_else(|| bad(0, Type::Text, format!("unknown execution status {s:?}")))
}

/// `SELECT arn, version, name, definition, type, logging, created`.
pub(crate) fn state_machine(row: &Row<'_>) -> rusqlite::Result<StateMachineRecord> {
    Ok(StateMachineRecord {
        arn: row.get(0)?,
        version: get_u64(row, 1)?,
        name: row.get(2)?,
        definition: row.get(3)?,
        machine_type: machine_type(row, 4)?,
        logging: row.get(5)?,
        created: row.get(6)?,
    })
}

/// `SELECT {EXECUTION_COLUMNS}`.
pub(crate) fn execution(row: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    let seed: Vec<u8> = row.get(12)?;
    let seed: [u8; 32] = seed.try_into().map_err(|s: Vec<u8>| {
        bad(
            12,
            Type::Blob,
            format!("seed of {} bytes, expected 32", s.len()),
        )
    })?;
    Ok(ExecutionRecord {
        arn: row.get(0)?,
        name: row.get(1)?,
        state_machine_arn: row.get(2)?,
        state_machine_version: get_u64(row, 3)?,
        machine_type: machine_type(row, 4)?,
        status: status(&row.get::<_, String>(5)?)?,
        input: row.get(6)?,
        output: row.get(7)?,
        error: row.get(8)?,
        cause: row.get(9)?,
        start_time: row.get(10)?,
        stop_time: row.get(11)?,
        seed,
    })
}

/// `SELECT id, previous_event_id, timestamp, type, details`.
pub(crate) fn history(row: &Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok(HistoryRow {
        id: get_u64(row, 0)?,
        previous_event_id: get_u64(row, 1)?,
        timestamp: row.get(2)?,
        event_type: row.get(3)?,
        details: row.get(4)?,
    })
}

/// `SELECT seq, body`.
pub(crate) fn journal(row: &Row<'_>) -> rusqlite::Result<JournalEntry> {
    Ok(JournalEntry {
        seq: get_u64(row, 0)?,
        body: row.get(1)?,
    })
}

/// `SELECT execution_arn, timer_id, fire_at`.
pub(crate) fn timer(row: &Row<'_>) -> rusqlite::Result<TimerRow> {
    Ok(TimerRow {
        execution_arn: row.get(0)?,
        timer_id: get_u64(row, 1)?,
        fire_at: row.get(2)?,
    })
}
