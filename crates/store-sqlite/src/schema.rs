//! The schema and its forward-only migrations.
//!
//! Owns the table definitions and the rule that decides whether a file may be
//! opened: [`APPLICATION_ID`] marks a stepgate store, `PRAGMA user_version`
//! is the number of migrations applied. It must not touch a file whose
//! version is newer than [`MIGRATIONS`] knows (a downgrade would silently
//! misread it), nor a SQLite file that is someone else's.
//!
//! Adding a migration: append a SQL batch to [`MIGRATIONS`]; never edit an
//! applied one (files in the field already ran it).

use rusqlite::{Connection, TransactionBehavior};

/// `PRAGMA application_id` of a stepgate store: "SGat" in ASCII, so `file(1)`
/// and people with a hex dump can tell the file apart from other SQLite files.
pub(crate) const APPLICATION_ID: i32 = 0x5347_6174;

/// Migration `i` brings the schema from version `i` to `i + 1`.
///
/// Design notes for version 1:
/// - Event tables (`history_events`, `journal_entries`) are rowid tables
///   appended in commit order with a unique `(execution_arn, n)` index,
///   not clustered on the execution: many executions interleave their
///   appends, and a clustered table would dirty one page per execution per
///   commit (measured 4–5× slower in `research/rust-stack.md` §1.2a).
/// - Journal entry 0 (the input) is not a row: it is `executions.input`,
///   so a start writes its input once.
/// - "STANDARD names are unique per state machine" (AWS; EXPRESS names
///   repeat, their ARNs don't) is enforced without an index of its own: a
///   CHECK ties a STANDARD row's `arn` to its `state_machine_arn` and `name`
///   exactly as AWS derives it (`store::standard_execution_arn`), so the
///   unique `arn` is a unique `(state_machine_arn, name)`. A second unique
///   index on `(state_machine_arn, name)` would cost one more random B-tree
///   insert per start (names are usually random UUIDs): measured ~40% of
///   the WAL bytes of a start.
pub(crate) const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE state_machines (
    arn        TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    name       TEXT    NOT NULL,
    definition TEXT    NOT NULL,
    type       TEXT    NOT NULL CHECK (type IN ('STANDARD', 'EXPRESS')),
    logging    TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    PRIMARY KEY (arn, version)
);

CREATE TABLE executions (
    id                    INTEGER PRIMARY KEY, -- storage order: ties of start_time
    arn                   TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL,
    state_machine_arn     TEXT    NOT NULL,
    state_machine_version INTEGER NOT NULL,
    type                  TEXT    NOT NULL CHECK (type IN ('STANDARD', 'EXPRESS')),
    status                TEXT    NOT NULL
        CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED')),
    input                 TEXT    NOT NULL,
    output                TEXT,
    error                 TEXT,
    cause                 TEXT,
    start_time            INTEGER NOT NULL,
    stop_time             INTEGER,
    seed                  BLOB    NOT NULL CHECK (length(seed) = 32),
    CHECK (type = 'EXPRESS' OR arn = replace(state_machine_arn, ':stateMachine:', ':execution:') || ':' || name),
    FOREIGN KEY (state_machine_arn, state_machine_version) REFERENCES state_machines (arn, version)
);
CREATE INDEX executions_running ON executions (start_time) WHERE status = 'RUNNING';
CREATE INDEX executions_by_start_time ON executions (start_time);
CREATE INDEX executions_by_state_machine ON executions (state_machine_arn, start_time);

CREATE TABLE history_events (
    execution_arn     TEXT    NOT NULL REFERENCES executions (arn),
    id                INTEGER NOT NULL CHECK (id >= 1),
    previous_event_id INTEGER NOT NULL,
    timestamp         INTEGER NOT NULL,
    type              TEXT    NOT NULL,
    details           TEXT    NOT NULL
);
CREATE UNIQUE INDEX history_events_by_execution ON history_events (execution_arn, id);

CREATE TABLE journal_entries (
    execution_arn TEXT    NOT NULL REFERENCES executions (arn),
    seq           INTEGER NOT NULL CHECK (seq >= 1), -- entry 0 is executions.input
    body          TEXT    NOT NULL
);
CREATE UNIQUE INDEX journal_entries_by_execution ON journal_entries (execution_arn, seq);

CREATE TABLE timers (
    execution_arn TEXT    NOT NULL REFERENCES executions (arn),
    timer_id      INTEGER NOT NULL,
    fire_at       INTEGER NOT NULL,
    PRIMARY KEY (execution_arn, timer_id)
);
-- In the order `timers_due` returns them, so the scheduler's query needs no sort.
CREATE INDEX timers_by_fire_at ON timers (fire_at, execution_arn, timer_id);
"#];

/// The schema version this binary writes.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// What the file is, judged from its header pragmas and catalogue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// A new file, or a stepgate store at `version` ≤ [`LATEST`].
    Ours { version: i64 },
    /// A stepgate store written by a newer binary.
    Newer { version: i64 },
    /// A SQLite database that is not a stepgate store.
    Foreign,
}

/// Reads the file's identity without writing to it.
pub(crate) fn inspect(conn: &Connection) -> rusqlite::Result<Found> {
    let app: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if app == APPLICATION_ID {
        return Ok(if version > LATEST {
            Found::Newer { version }
        } else {
            Found::Ours { version }
        });
    }
    if app != 0 || version != 0 {
        return Ok(Found::Foreign);
    }
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    Ok(if objects == 0 {
        Found::Ours { version: 0 }
    } else {
        Found::Foreign
    })
}

/// Applies the missing migrations in one transaction (all or none), and
/// stamps the file as ours.
pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again under the write lock: the version seen before is a hint.
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for sql in MIGRATIONS.iter().skip(current.max(0) as usize) {
        tx.execute_batch(sql)?;
    }
    if current < LATEST {
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {LATEST};"
        ))?;
    }
    tx.commit()?;
    Ok(current)
}
