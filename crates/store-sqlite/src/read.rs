//! Reads: a small pool of read-only connections and the queries they run.
//!
//! Owns every `SELECT` callers ask for. In WAL mode a reader sees the last
//! committed transaction and never waits for the writer, so reads run on
//! `spawn_blocking` threads with their own connections while the writer
//! syncs. Reads that need more than one statement run in one read
//! transaction (one snapshot). This module must not write: its connections
//! are opened read-only.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use store::{
    ExecutionFilter, ExecutionRecord, HistoryRow, JournalEntry, StateMachineRecord, StoreError,
    TimerRow,
};

use crate::rows::{self, EXECUTION_COLUMNS, from_u64};

/// Idle read-only connections; more are opened when all are busy, and at
/// most `max_idle` are kept.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, max_idle: usize, first: Connection) -> Self {
        Readers {
            path,
            idle: Mutex::new(vec![first]),
            max_idle: max_idle.max(1),
        }
    }

    /// Runs `f` on an idle connection (blocking: call from `spawn_blocking`).
    pub(crate) fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match conn {
            Some(c) => c,
            None => crate::open::open_ro(&self.path)
                .map_err(|e| crate::backend_error(&self.path, &e))?,
        };
        let result = f(&mut conn).map_err(|e| crate::backend_error(&self.path, &e));
        // A failed read left no transaction open (it is rolled back on drop),
        // so the connection is reusable either way.
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
        result
    }

    /// Closes the idle connections (at shutdown).
    pub(crate) fn close_idle(&self) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Distinguishes "no such execution" from an empty list, in the same
/// snapshot as the list itself.
fn execution_exists(conn: &Connection, arn: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM executions WHERE arn = ?1")?
        .exists([arn])
}

fn not_found(arn: &str) -> StoreError {
    StoreError::ExecutionDoesNotExist {
        arn: arn.to_owned(),
    }
}

pub(crate) fn state_machine(
    conn: &mut Connection,
    arn: &str,
    version: Option<u64>,
) -> rusqlite::Result<Option<StateMachineRecord>> {
    const COLUMNS: &str = "arn, version, name, definition, type, logging, created";
    match version {
        None => conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM state_machines WHERE arn = ?1 ORDER BY version DESC LIMIT 1"
            ))?
            .query_row([arn], rows::state_machine)
            .optional(),
        Some(v) => {
            let Ok(v) = i64::try_from(v) else {
                return Ok(None);
            };
            conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM state_machines WHERE arn = ?1 AND version = ?2"
            ))?
            .query_row(params![arn, v], rows::state_machine)
            .optional()
        }
    }
}

pub(crate) fn execution(
    conn: &mut Connection,
    arn: &str,
) -> rusqlite::Result<Option<ExecutionRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?1"
    ))?
    .query_row([arn], rows::execution)
    .optional()
}

pub(crate) fn list_executions(
    conn: &mut Connection,
    filter: &ExecutionFilter,
) -> rusqlite::Result<Vec<ExecutionRecord>> {
    // The WHERE clause names only the filters present, so each combination
    // uses its index (`?1 IS NULL OR …` would defeat them).
    let mut conditions = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if let Some(arn) = &filter.state_machine_arn {
        conditions.push("state_machine_arn = ?");
        args.push(arn.clone().into());
    }
    if let Some(status) = filter.status {
        conditions.push("status = ?");
        args.push(status.as_str().to_owned().into());
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    args.push(
        filter
            .limit
            .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX))
            .into(),
    );
    conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions {where_clause} ORDER BY start_time DESC, id DESC LIMIT ?"
    ))?
    .query_map(params_from_iter(args), rows::execution)?
    .collect()
}

pub(crate) fn history(
    conn: &mut Connection,
    arn: &str,
) -> rusqlite::Result<Result<Vec<HistoryRow>, StoreError>> {
    let tx = conn.transaction()?;
    if !execution_exists(&tx, arn)? {
        return Ok(Err(not_found(arn)));
    }
    let list = tx
        .prepare_cached(
            "SELECT id, previous_event_id, timestamp, type, details FROM history_events
             WHERE execution_arn = ?1 ORDER BY id",
        )?
        .query_map([arn], rows::history)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Ok(list))
}

pub(crate) fn journal(
    conn: &mut Connection,
    arn: &str,
) -> rusqlite::Result<Result<Vec<JournalEntry>, StoreError>> {
    let tx = conn.transaction()?;
    let input = tx
        .prepare_cached("SELECT input FROM executions WHERE arn = ?1")?
        .query_row([arn], |r| r.get::<_, String>(0))
        .optional()?;
    let Some(input) = input else {
        return Ok(Err(not_found(arn)));
    };
    let mut list = vec![JournalEntry {
        seq: 0,
        body: input,
    }];
    let mut stmt = tx.prepare_cached(
        "SELECT seq, body FROM journal_entries WHERE execution_arn = ?1 ORDER BY seq",
    )?;
    for entry in stmt.query_map([arn], rows::journal)? {
        list.push(entry?);
    }
    Ok(Ok(list))
}

pub(crate) fn running_executions(conn: &mut Connection) -> rusqlite::Result<Vec<ExecutionRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions WHERE status = 'RUNNING' ORDER BY start_time, id"
    ))?
    .query_map([], rows::execution)?
    .collect()
}

pub(crate) fn timers(
    conn: &mut Connection,
    arn: &str,
) -> rusqlite::Result<Result<Vec<TimerRow>, StoreError>> {
    let tx = conn.transaction()?;
    if !execution_exists(&tx, arn)? {
        return Ok(Err(not_found(arn)));
    }
    let list = tx
        .prepare_cached(
            "SELECT execution_arn, timer_id, fire_at FROM timers WHERE execution_arn = ?1 ORDER BY timer_id",
        )?
        .query_map([arn], rows::timer)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Ok(list))
}

pub(crate) fn timers_due(
    conn: &mut Connection,
    up_to: i64,
    limit: usize,
) -> rusqlite::Result<Vec<TimerRow>> {
    let limit = from_u64(limit as u64).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT execution_arn, timer_id, fire_at FROM timers WHERE fire_at <= ?1
         ORDER BY fire_at, execution_arn, timer_id LIMIT ?2",
    )?
    .query_map(params![up_to, limit], rows::timer)?
    .collect()
}
