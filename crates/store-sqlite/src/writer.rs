//! The single writer: group commit of every write command.
//!
//! Owns the only connection that writes rows, on its own OS thread. Callers
//! send a [`Command`] over a bounded channel (a full queue makes them wait:
//! back-pressure, not unbounded memory) and await a oneshot. The thread
//! blocks for one command, drains whatever else is queued (up to
//! `max_batch` commands or `max_batch_bytes` of payload), runs them all in
//! one `BEGIN IMMEDIATE … COMMIT` — one WAL fsync for the whole batch — and
//! only after `COMMIT` returned sends every caller its answer. Under load the
//! batch grows by itself (while one commit syncs, the next batch queues), so
//! there is no timer and no added latency for a lone caller.
//!
//! A command that fails (unknown state machine, name taken, a step out of
//! order) must not fail its neighbours: domain checks run before any write,
//! and multi-statement commands run inside a `SAVEPOINT` that is rolled back
//! on an unexpected error. Only a failure of the transaction itself (COMMIT
//! failing, or SQLite rolling the transaction back after an IO error) fails
//! the whole batch — and then every caller of the batch hears so.
//!
//! This module must not read for callers (reads use the pool in `read.rs`,
//! so they never wait behind a commit) and must not checkpoint on the commit
//! path: checkpoints run on the [`checkpointer`] thread, which asks the
//! writer for a short one between batches only when the WAL has grown past
//! its limit under sustained load.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use store::{
    ExecutionStatus, ExecutionStep, NewExecution, NewStateMachine, StartOutcome,
    StateMachineRecord, StateMachineType, StoreError,
};
use tokio::sync::{mpsc, oneshot};

use crate::rows::{self, EXECUTION_COLUMNS, from_u64};

/// An answer the caller awaits.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write, as sent to the writer thread.
#[derive(Debug)]
pub(crate) enum Command {
    PutStateMachine(NewStateMachine, Reply<StateMachineRecord>),
    Start(NewExecution, Reply<StartOutcome>),
    StartWithStep(NewExecution, ExecutionStep, Reply<StartOutcome>),
    Commit(ExecutionStep, Reply<()>),
}

impl Command {
    /// Answers with an error without running the command.
    fn refuse(self, err: StoreError) {
        match self {
            Command::PutStateMachine(_, tx) => drop(tx.send(Err(err))),
            Command::Start(_, tx) | Command::StartWithStep(_, _, tx) => drop(tx.send(Err(err))),
            Command::Commit(_, tx) => drop(tx.send(Err(err))),
        }
    }

    /// Payload bytes, to bound a batch's size.
    fn bytes(&self) -> usize {
        match self {
            Command::PutStateMachine(sm, _) => sm.definition.len(),
            Command::Start(e, _) => e.input.len(),
            Command::StartWithStep(e, s, _) => e.input.len() + step_bytes(s),
            Command::Commit(s, _) => step_bytes(s),
        }
    }
}

/// Payload bytes of a step.
fn step_bytes(s: &ExecutionStep) -> usize {
    s.journal.iter().map(|j| j.body.len()).sum::<usize>()
        + s.history.iter().map(|h| h.details.len()).sum::<usize>()
        + s.completion
            .as_ref()
            .and_then(|c| c.output.as_ref())
            .map_or(0, String::len)
}

/// A command's result, held until the batch commits.
enum Done {
    PutStateMachine(
        Reply<StateMachineRecord>,
        Result<StateMachineRecord, StoreError>,
    ),
    Start(Reply<StartOutcome>, Result<StartOutcome, StoreError>),
    Commit(Reply<()>, Result<(), StoreError>),
}

impl Done {
    fn send(self) {
        // A caller that stopped waiting (its future was dropped) is not an
        // error: the write is durable all the same.
        match self {
            Done::PutStateMachine(tx, r) => drop(tx.send(r)),
            Done::Start(tx, r) => drop(tx.send(r)),
            Done::Commit(tx, r) => drop(tx.send(r)),
        }
    }

    fn fail(self, e: StoreError) {
        match self {
            Done::PutStateMachine(tx, _) => drop(tx.send(Err(e))),
            Done::Start(tx, _) => drop(tx.send(Err(e))),
            Done::Commit(tx, _) => drop(tx.send(Err(e))),
        }
    }
}

/// Counters for benchmarks and tests: the batching ratio is
/// `commands / transactions`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) transactions: AtomicU64,
    pub(crate) commands: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    pub(crate) writer_checkpoints: AtomicU64,
    /// The longest checkpoint the writer ran between batches.
    pub(crate) writer_checkpoint_max_micros: AtomicU64,
    /// Time running the commands of batches (row work, in memory).
    pub(crate) apply_micros: AtomicU64,
    /// Time in `COMMIT` (writing the WAL and, with FULL, the fsync).
    pub(crate) commit_micros: AtomicU64,
}

/// Limits of the writer loop.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub(crate) max_batch: usize,
    pub(crate) max_batch_bytes: usize,
}

/// The writer thread's body: runs until every sender is dropped, then
/// finishes what was queued.
pub(crate) fn run(
    mut conn: Connection,
    path: PathBuf,
    mut rx: mpsc::Receiver<Command>,
    limits: Limits,
    stats: Arc<Stats>,
    nudge: std_mpsc::SyncSender<()>,
    checkpoint_wanted: Arc<AtomicBool>,
) {
    // Every statement of the hot path is prepared once and reused.
    conn.set_prepared_statement_cache_capacity(64);
    let mut batch: Vec<Command> = Vec::with_capacity(limits.max_batch);
    while let Some(first) = rx.blocking_recv() {
        let mut bytes = first.bytes();
        batch.push(first);
        while batch.len() < limits.max_batch && bytes < limits.max_batch_bytes {
            match rx.try_recv() {
                Ok(c) => {
                    bytes += c.bytes();
                    batch.push(c);
                }
                Err(_) => break,
            }
        }
        run_batch(&mut conn, &path, batch.drain(..), &stats);
        // Wake the checkpointer; if it is busy or already nudged, fine.
        let _ = nudge.try_send(());
        if checkpoint_wanted.swap(false, Ordering::Relaxed) {
            // Between batches no frame is being appended, so this PASSIVE
            // checkpoint (of the few frames the checkpointer thread has not
            // copied yet) completes, and the next BEGIN restarts the WAL from
            // its start instead of growing it.
            let started = Instant::now();
            if conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                .is_ok()
            {
                stats.writer_checkpoints.fetch_add(1, Ordering::Relaxed);
                stats
                    .writer_checkpoint_max_micros
                    .fetch_max(micros(started.elapsed()), Ordering::Relaxed);
            }
        }
    }
    // A clean shutdown leaves everything in the database file itself (an
    // empty WAL), so a copy of the file alone is a complete store.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

/// Runs one batch in one transaction, then answers its callers.
fn run_batch(
    conn: &mut Connection,
    path: &Path,
    batch: impl Iterator<Item = Command>,
    stats: &Stats,
) {
    let mut batch = batch;
    // BEGIN and COMMIT run once per batch: kept prepared like the rest.
    if let Err(e) = cached(conn, "BEGIN IMMEDIATE") {
        let err = crate::backend_error(path, &e);
        batch.for_each(|cmd| cmd.refuse(err.clone()));
        return;
    }
    let mut done: Vec<Done> = Vec::new();
    let mut lost: Option<StoreError> = None;
    let applying = Instant::now();
    for cmd in batch.by_ref() {
        done.push(match cmd {
            Command::PutStateMachine(sm, tx) => {
                Done::PutStateMachine(tx, flatten(path, put_state_machine(conn, sm)))
            }
            Command::Start(e, tx) => Done::Start(tx, flatten(path, start_execution(conn, e))),
            Command::StartWithStep(e, s, tx) => {
                Done::Start(tx, flatten(path, start_with_step(conn, e, s)))
            }
            Command::Commit(s, tx) => Done::Commit(tx, flatten(path, commit_step(conn, s))),
        });
        // After an IO error SQLite may roll the whole transaction back by
        // itself (and `commit_step` does when it cannot undo a half-written
        // step); then the earlier commands of the batch are gone too, and the
        // later ones must not run outside a transaction.
        if conn.is_autocommit() {
            lost = Some(StoreError::Backend(format!(
                "{}: the transaction was rolled back after an error; nothing of this batch was stored",
                path.display()
            )));
            break;
        }
    }
    let committing = Instant::now();
    stats
        .apply_micros
        .fetch_add(micros(committing - applying), Ordering::Relaxed);
    if lost.is_none()
        && let Err(e) = cached(conn, "COMMIT")
    {
        lost = Some(crate::backend_error(path, &e));
        // Leave the connection usable for the next batch.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    match lost {
        None => {
            // Counted before the answers go out, so a caller that has its
            // answer also sees its transaction in the stats.
            stats
                .commit_micros
                .fetch_add(micros(committing.elapsed()), Ordering::Relaxed);
            stats.transactions.fetch_add(1, Ordering::Relaxed);
            stats
                .commands
                .fetch_add(done.len() as u64, Ordering::Relaxed);
            // Once per group commit (about a thousand a second at most), so
            // the registry lookups cost nothing next to the fsync.
            metrics::counter!(crate::metrics_names::COMMITS).increment(1);
            metrics::counter!(crate::metrics_names::COMMANDS).increment(done.len() as u64);
            metrics::histogram!(crate::metrics_names::BATCH_COMMANDS).record(done.len() as f64);
            metrics::histogram!(crate::metrics_names::APPLY_SECONDS)
                .record((committing - applying).as_secs_f64());
            metrics::histogram!(crate::metrics_names::COMMIT_SECONDS)
                .record(committing.elapsed().as_secs_f64());
            for d in done {
                d.send();
            }
        }
        Some(err) => {
            for d in done {
                d.fail(err.clone());
            }
            batch.for_each(|cmd| cmd.refuse(err.clone()));
        }
    }
}

/// Runs a parameterless statement from the statement cache.
fn cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Outer error: SQLite failed (the command's savepoint was rolled back).
/// Inner error: the command was refused (nothing was written).
type Outcome<T> = rusqlite::Result<Result<T, StoreError>>;

fn flatten<T>(path: &Path, r: Outcome<T>) -> Result<T, StoreError> {
    r.unwrap_or_else(|e| Err(crate::backend_error(path, &e)))
}

/// A UNIQUE or PRIMARY KEY violation (not a CHECK or foreign key one, which
/// would be bugs and must surface as errors).
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == ErrorCode::ConstraintViolation
                && matches!(
                    f.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                )
        }
        _ => false,
    }
}

fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

fn put_state_machine(conn: &Connection, sm: NewStateMachine) -> Outcome<StateMachineRecord> {
    let latest = conn
        .prepare_cached(
            "SELECT arn, version, name, definition, type, logging, created FROM state_machines
             WHERE arn = ?1 ORDER BY version DESC LIMIT 1",
        )?
        .query_row([&sm.arn], rows::state_machine)
        .optional()?;
    if let Some(latest) = &latest
        && latest.definition == sm.definition
        && latest.machine_type == sm.machine_type
        && latest.logging == sm.logging
    {
        return Ok(Ok(latest.clone()));
    }
    let record = StateMachineRecord {
        version: latest.map_or(1, |l| l.version + 1),
        arn: sm.arn,
        name: sm.name,
        definition: sm.definition,
        machine_type: sm.machine_type,
        logging: sm.logging,
        created: sm.created,
    };
    conn.prepare_cached(
        "INSERT INTO state_machines (arn, version, name, definition, type, logging, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        record.arn,
        from_u64(record.version)?,
        record.name,
        record.definition,
        record.machine_type.as_str(),
        record.logging,
        record.created
    ])?;
    Ok(Ok(record))
}

fn start_execution(conn: &Connection, e: NewExecution) -> Outcome<StartOutcome> {
    insert_execution(conn, e, None)
}

/// Starts an execution and commits its first step: one INSERT of the
/// finished row when the step only completes it (an EXPRESS execution that
/// ends in its first step: the webhook hot path), else the start and the
/// step under one savepoint.
fn start_with_step(
    conn: &Connection,
    e: NewExecution,
    step: ExecutionStep,
) -> Outcome<StartOutcome> {
    if let Err(err) = store::check_first_step(&e, &step) {
        return Ok(Err(err));
    }
    if step.journal.is_empty()
        && step.history.is_empty()
        && step.timers_started.is_empty()
        && let Some(completion) = &step.completion
    {
        return insert_execution(conn, e, Some(completion));
    }
    conn.prepare_cached("SAVEPOINT start")?.execute([])?;
    let result = match insert_execution(conn, e, None) {
        Ok(Ok(StartOutcome::Started(mut record))) => match write_step(conn, &step) {
            Ok(Ok(())) => {
                if let Some(c) = &step.completion {
                    record.complete(c);
                }
                Ok(Ok(StartOutcome::Started(record)))
            }
            Ok(Err(refused)) => Ok(Err(refused)),
            Err(e) => Err(e),
        },
        other => other,
    };
    let undo = !matches!(result, Ok(Ok(_)));
    let closed = if undo {
        conn.prepare_cached("ROLLBACK TO start")
            .and_then(|mut s| s.execute([]))
            .and_then(|_| conn.prepare_cached("RELEASE start"))
            .and_then(|mut s| s.execute([]))
    } else {
        conn.prepare_cached("RELEASE start")
            .and_then(|mut s| s.execute([]))
    };
    if closed.is_err() && !conn.is_autocommit() {
        // A half-written start must not be committed with its batch: give
        // up the whole transaction (`run_batch` sees it).
        let _ = conn.execute_batch("ROLLBACK");
    }
    closed?;
    result
}

/// Inserts a new execution: RUNNING, or already finished with `completion`.
fn insert_execution(
    conn: &Connection,
    e: NewExecution,
    completion: Option<&store::Completion>,
) -> Outcome<StartOutcome> {
    if let Err(err) = store::check_start(&e) {
        return Ok(Err(err));
    }
    let version = from_u64(e.state_machine_version)?;
    let no_machine = || StoreError::StateMachineDoesNotExist {
        arn: format!("{}:{}", e.state_machine_arn, e.state_machine_version),
    };
    if e.machine_type == StateMachineType::Standard {
        // EXPRESS starts (the webhook hot path) skip this statement: the
        // INSERT's foreign key (`foreign_keys = ON`, see `open_rw`) looks
        // the version up anyway, and its
        // violation is mapped to the same error below. STANDARD keeps it
        // so that a missing version is reported before a name clash.
        let machine_exists = conn
            .prepare_cached("SELECT 1 FROM state_machines WHERE arn = ?1 AND version = ?2")?
            .exists(params![e.state_machine_arn, version])?;
        if !machine_exists {
            return Ok(Err(no_machine()));
        }
        // The ARN is (machine, name) — `check_start` made sure — so this is
        // the lookup by name, on the ARN's unique index.
        let existing = conn
            .prepare_cached(&format!(
                "SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?1"
            ))?
            .query_row([&e.arn], rows::execution)
            .optional()?;
        if let Some(existing) = existing {
            // AWS: same name and input while RUNNING returns the original;
            // a closed execution or a different input is ExecutionAlreadyExists.
            return Ok(
                if existing.status == ExecutionStatus::Running && existing.input == e.input {
                    Ok(StartOutcome::AlreadyStarted(existing))
                } else {
                    Err(StoreError::ExecutionAlreadyExists { arn: existing.arn })
                },
            );
        }
    }
    // One statement: it either inserts the row or changes nothing, so no
    // savepoint is needed on the hottest path.
    let inserted = conn
        .prepare_cached(
            "INSERT INTO executions (arn, name, state_machine_arn, state_machine_version, type, status, input,
                                     start_time, seed, output, error, cause, stop_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            e.arn,
            e.name,
            e.state_machine_arn,
            version,
            e.machine_type.as_str(),
            completion.map_or(ExecutionStatus::Running, |c| c.status).as_str(),
            e.input,
            e.start_time,
            &e.seed[..],
            completion.and_then(|c| c.output.as_deref()),
            completion.and_then(|c| c.error.as_deref()),
            completion.and_then(|c| c.cause.as_deref()),
            completion.map(|c| c.stop_time),
        ]);
    match inserted {
        Ok(_) => {
            let mut record = e.into_running_record();
            if let Some(c) = completion {
                record.complete(c);
            }
            Ok(Ok(StartOutcome::Started(record)))
        }
        // The ARN is taken (an EXPRESS ARN reused, or one of another
        // type): never merge, never overwrite.
        Err(err) if is_unique_violation(&err) => {
            Ok(Err(StoreError::ExecutionAlreadyExists { arn: e.arn }))
        }
        // The only foreign key of `executions`: (state_machine_arn, version).
        Err(err) if is_foreign_key_violation(&err) => Ok(Err(no_machine())),
        Err(err) => Err(err),
    }
}

fn commit_step(conn: &Connection, step: ExecutionStep) -> Outcome<()> {
    if step.journal.is_empty()
        && step.history.is_empty()
        && step.timers_started.is_empty()
        && step.timers_cleared.is_empty()
        && let Some(completion) = &step.completion
        // A RUNNING "completion" is refused by `check_step`, after the
        // existence checks: the general path keeps that order.
        && completion.status != ExecutionStatus::Running
    {
        return complete(conn, &step.execution_arn, completion);
    }
    let arn = step.execution_arn.as_str();
    let status = conn
        .prepare_cached("SELECT status FROM executions WHERE arn = ?1")?
        .query_row([arn], |r| r.get::<_, String>(0))
        .optional()?;
    let Some(status) = status else {
        return Ok(Err(StoreError::ExecutionDoesNotExist {
            arn: arn.to_owned(),
        }));
    };
    let status = rows::status(&status)?;
    if status != ExecutionStatus::Running {
        return Ok(Err(StoreError::ExecutionNotRunning {
            arn: arn.to_owned(),
            status,
        }));
    }
    let last_seq = if step.journal.is_empty() {
        0
    } else {
        conn.prepare_cached(
            "SELECT coalesce(max(seq), 0) FROM journal_entries WHERE execution_arn = ?1",
        )?
        .query_row([arn], |r| r.get::<_, i64>(0))?
    };
    let last_id = if step.history.is_empty() {
        0
    } else {
        conn.prepare_cached(
            "SELECT coalesce(max(id), 0) FROM history_events WHERE execution_arn = ?1",
        )?
        .query_row([arn], |r| r.get::<_, i64>(0))?
    };
    if let Err(e) = store::check_step(&step, rows::to_u64(last_seq)?, rows::to_u64(last_id)?) {
        return Ok(Err(e));
    }

    conn.prepare_cached("SAVEPOINT step")?.execute([])?;
    match write_step(conn, &step) {
        Ok(Ok(())) => {
            conn.prepare_cached("RELEASE step")?.execute([])?;
            Ok(Ok(()))
        }
        other => {
            let undo = conn
                .prepare_cached("ROLLBACK TO step")
                .and_then(|mut s| s.execute([]))
                .and_then(|_| conn.prepare_cached("RELEASE step"))
                .and_then(|mut s| s.execute([]));
            if undo.is_err() {
                // The half-written step must not be committed with its
                // batch: give up the whole transaction (`run_batch` sees it).
                let _ = conn.execute_batch("ROLLBACK");
            }
            other
        }
    }
}

/// A step that only ends the execution: what every EXPRESS execution
/// commits (its history goes to the logs), once per webhook. Same checks and
/// effects as the general path in two statements instead of five (SELECT,
/// SAVEPOINT, UPDATE, DELETE, RELEASE): the status check is the UPDATE's
/// `WHERE`, and the UPDATE is atomic by itself, so no savepoint is needed
/// around it.
fn complete(conn: &Connection, arn: &str, c: &store::Completion) -> Outcome<()> {
    let updated = conn
        .prepare_cached(
            "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5, stop_time = ?6
             WHERE arn = ?1 AND status = 'RUNNING'",
        )?
        .execute(params![
            arn,
            c.status.as_str(),
            c.output,
            c.error,
            c.cause,
            c.stop_time
        ])?;
    if updated == 0 {
        // Nothing changed: say why, as the general path would have.
        let status = conn
            .prepare_cached("SELECT status FROM executions WHERE arn = ?1")?
            .query_row([arn], |r| r.get::<_, String>(0))
            .optional()?;
        return Ok(Err(match status {
            None => StoreError::ExecutionDoesNotExist {
                arn: arn.to_owned(),
            },
            Some(status) => StoreError::ExecutionNotRunning {
                arn: arn.to_owned(),
                status: rows::status(&status)?,
            },
        }));
    }
    // A finished execution has no pending timers. If this fails the
    // execution would be finished with timers left: give up the whole
    // transaction, as the general path does when it cannot undo a step.
    if let Err(e) = conn
        .prepare_cached("DELETE FROM timers WHERE execution_arn = ?1")
        .and_then(|mut s| s.execute([arn]))
    {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    Ok(Ok(()))
}

fn write_step(conn: &Connection, step: &ExecutionStep) -> Outcome<()> {
    let arn = step.execution_arn.as_str();
    if !step.timers_cleared.is_empty() {
        let mut clear =
            conn.prepare_cached("DELETE FROM timers WHERE execution_arn = ?1 AND timer_id = ?2")?;
        for id in &step.timers_cleared {
            clear.execute(params![arn, from_u64(*id)?])?;
        }
    }
    if !step.timers_started.is_empty() {
        let mut add = conn.prepare_cached(
            "INSERT INTO timers (execution_arn, timer_id, fire_at) VALUES (?1, ?2, ?3)",
        )?;
        for t in &step.timers_started {
            match add.execute(params![arn, from_u64(t.timer_id)?, t.fire_at]) {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Ok(Err(StoreError::StepConflict {
                        arn: arn.to_owned(),
                        reason: format!("timer {} is already pending", t.timer_id),
                    }));
                }
                Err(e) => return Err(e),
            }
        }
    }
    if !step.journal.is_empty() {
        let mut add = conn.prepare_cached(
            "INSERT INTO journal_entries (execution_arn, seq, body) VALUES (?1, ?2, ?3)",
        )?;
        for j in &step.journal {
            add.execute(params![arn, from_u64(j.seq)?, j.body])?;
        }
    }
    if !step.history.is_empty() {
        let mut add = conn.prepare_cached(
            "INSERT INTO history_events (execution_arn, id, previous_event_id, timestamp, type, details)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for h in &step.history {
            add.execute(params![
                arn,
                from_u64(h.id)?,
                from_u64(h.previous_event_id)?,
                h.timestamp,
                h.event_type,
                h.details
            ])?;
        }
    }
    if let Some(c) = &step.completion {
        conn.prepare_cached(
            "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5, stop_time = ?6 WHERE arn = ?1",
        )?
        .execute(params![arn, c.status.as_str(), c.output, c.error, c.cause, c.stop_time])?;
        // A finished execution has no pending timers.
        conn.prepare_cached("DELETE FROM timers WHERE execution_arn = ?1")?
            .execute([arn])?;
    }
    Ok(Ok(()))
}

/// The checkpointer thread's body: copies WAL frames into the database file
/// off the commit path (PASSIVE: never blocks the writer or readers), at most
/// once per `interval` while the writer keeps nudging. Ends when the writer
/// ends (its nudge sender is dropped).
///
/// Under sustained writes a PASSIVE checkpoint never catches the WAL's end
/// (frames are appended while it copies), so the WAL never restarts and
/// grows without bound. Past `restart_after_frames`, this thread runs passes
/// back to back until one is short — few frames arrived during it — and only
/// then asks the writer to copy that small remainder between two batches,
/// which lets the next transaction restart the WAL from its beginning. The
/// writer's pause is then one short checkpoint, not a copy of the whole WAL.
///
/// Each pass is followed by an fsync of the database file through
/// `db_file` (a descriptor of its own, which must stay open until SQLite's
/// connections are closed: closing any descriptor of a file drops the
/// process's POSIX locks on it), so that the writer's checkpoint does not
/// have to flush what the passes copied.
pub(crate) fn checkpointer(
    conn: Connection,
    nudges: std_mpsc::Receiver<()>,
    interval: Duration,
    restart_after_frames: i64,
    stats: Arc<Stats>,
    checkpoint_wanted: Arc<AtomicBool>,
    db_file: Arc<std::fs::File>,
) {
    /// A pass this short leaves the writer little to copy.
    const SHORT_PASS: Duration = Duration::from_millis(15);
    /// Passes in a row before handing over anyway.
    const MAX_PASSES: usize = 8;
    // A nudge that arrived while coalescing: the next pass runs without
    // waiting for another one.
    let mut pending = false;
    while pending || nudges.recv().is_ok() {
        pending = false;
        for pass in 1..=MAX_PASSES {
            let started = Instant::now();
            let result =
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1));
            let Ok(wal_frames) = result else { break };
            // SQLite fsyncs the database file only at a checkpoint that
            // copies the whole WAL, which under load is the writer's one
            // between batches: it then flushed every page these passes had
            // copied (hundreds of MB) while every caller waited — measured
            // 40–50 ms pauses every ~1.6 s in scripts/bench-webhook.sh, the
            // p99 of the benchmark. Flushing after each pass, here, leaves
            // that checkpoint a few pages: 0.6–0.9 ms. Best effort: if it
            // fails, the writer's checkpoint still syncs (and reports).
            let _ = db_file.sync_data();
            stats.checkpoints.fetch_add(1, Ordering::Relaxed);
            if wal_frames <= restart_after_frames {
                break;
            }
            if started.elapsed() <= SHORT_PASS || pass == MAX_PASSES {
                checkpoint_wanted.store(true, Ordering::Relaxed);
                break;
            }
        }
        // Coalesce the nudges of the next `interval`, but leave soon when
        // the writer is gone. Sleeping in short slices instead of waiting on
        // the channel: the writer nudges after every batch (a thousand times
        // a second under load), and waking this thread for each nudge only
        // to wait again cost a context switch per batch on the writer's CPU.
        let until = Instant::now() + interval;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(COALESCE_SLICE));
            match nudges.try_recv() {
                Ok(()) => pending = true,
                Err(std_mpsc::TryRecvError::Empty) => {}
                Err(std_mpsc::TryRecvError::Disconnected) => return,
            }
        }
    }
}

/// How long the checkpointer sleeps between looks at its channel while
/// coalescing nudges: bounds how long it outlives the writer.
const COALESCE_SLICE: Duration = Duration::from_millis(20);
