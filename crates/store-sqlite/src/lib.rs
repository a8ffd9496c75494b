//! stepgate's embedded store: the [`store::Store`] trait on one SQLite file.
//!
//! A 2xx from stepgate means "your execution is on disk": every write is
//! acknowledged only after the transaction that holds it has committed and
//! (with the default [`Durability::Full`]) the WAL has been fsynced. To make
//! that cheap, writes are **group-committed**: one writer thread owns the
//! only writing connection, drains every write queued while the previous
//! commit was syncing, runs them in one transaction and pays one fsync for
//! all of them (see `writer.rs`). Reads use a small pool of read-only
//! connections on blocking threads, so they never wait behind a commit.
//!
//! Principal types: [`SqliteStore`] (cheap to clone; the last clone closes
//! the file), [`SqliteOptions`] and [`Durability`], [`WriteStats`].
//!
//! The file: one SQLite database in WAL mode (plus its `-wal` and `-shm`
//! files, and `<file>.lock`, the advisory lock that keeps a second stepgate
//! process out). Tables, in AWS's vocabulary: `state_machines` (every
//! version), `executions`, `history_events`, `journal_entries`, `timers`;
//! see `schema.rs`. Inspect it with the `sqlite3` shell while stepgate runs
//! (WAL lets readers in). Opening runs the versioned migrations in one
//! transaction and refuses — with a [`store::StoreError::Open`] that names
//! the file and the fix — a file that is locked by another process,
//! read-only, not a SQLite database, corrupted, someone else's database, or
//! written by a newer stepgate (which is never modified).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use store::{NewExecution, NewStateMachine, StartOutcome, StateMachineType, Store};
//! use store_sqlite::{SqliteOptions, SqliteStore};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("stepgate.db"), SqliteOptions::default())?;
//! let sm = store
//!     .put_state_machine(NewStateMachine {
//!         arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sample".into(),
//!         name: "sample".into(),
//!         definition: r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.into(),
//!         machine_type: StateMachineType::Standard,
//!         logging: r#"{"level":"OFF"}"#.into(),
//!         created: 0,
//!     })
//!     .await?;
//! // Returns once the execution and its input are fsynced.
//! let outcome = store
//!     .start_execution(NewExecution {
//!         arn: "arn:aws:states:us-east-1:123456789012:execution:sample:run-1".into(),
//!         name: "run-1".into(),
//!         state_machine_arn: sm.arn,
//!         state_machine_version: sm.version,
//!         machine_type: StateMachineType::Standard,
//!         input: r#"{"payload":"hello"}"#.into(),
//!         start_time: 1_700_000_000_000,
//!         seed: [0; 32],
//!     })
//!     .await?;
//! assert!(matches!(outcome, StartOutcome::Started(_)));
//! drop(store); // the writer finishes its queue, the file is closed and unlocked
//! # Ok(())
//! # }
//! ```
//!
//! The key decision: a dedicated writer thread with group commit instead of
//! a pool of connections that each `BEGIN IMMEDIATE` and commit their own
//! write. SQLite allows one writer at a time anyway; with a pool, writers
//! queue on SQLite's lock with busy-waiting back-offs and each pays its own
//! fsync (≈ the disk's fsync rate in writes per second), while the writer
//! thread turns N concurrent writes into one transaction and one fsync.
//! Rejected as well: `synchronous=NORMAL` by default (fast, but the last
//! commits before a power loss can vanish after they were acknowledged —
//! offered only as the explicit [`Durability::Normal`]).
#![deny(missing_docs)]

pub mod metrics_names {
    //! The metrics the SQLite store records (with the `metrics` crate; the
    //! binary chooses the exporter): what group commit is doing, for
    //! operators and for tuning.

    /// Counter: group commits (transactions, each one fsync).
    pub const COMMITS: &str = "stepgate_store_commits_total";
    /// Counter: commands committed (starts, steps, state machines).
    pub const COMMANDS: &str = "stepgate_store_commands_total";
    /// Histogram: commands per group commit.
    pub const BATCH_COMMANDS: &str = "stepgate_store_batch_commands";
    /// Histogram: time running a batch's statements, before COMMIT.
    pub const APPLY_SECONDS: &str = "stepgate_store_apply_seconds";
    /// Histogram: time of COMMIT, including the fsync.
    pub const COMMIT_SECONDS: &str = "stepgate_store_commit_seconds";
}

mod open;
mod read;
mod rows;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode};
use store::{
    EpochMillis, ExecutionFilter, ExecutionRecord, ExecutionStep, HistoryRow, JournalEntry,
    NewExecution, NewStateMachine, StartOutcome, StateMachineRecord, Store, StoreError, TimerRow,
};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::writer::{Command, Reply, Stats};

/// How far an acknowledged write is guaranteed to survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is fsynced at every commit. An
    /// acknowledged write survives a process crash and a power loss or
    /// kernel panic. The default; what stepgate's 2xx promises.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the WAL is written at every commit but fsynced
    /// only at checkpoints. An acknowledged write survives a process crash
    /// (`kill -9`), but the transactions since the last checkpoint (about
    /// [`SqliteOptions::checkpoint_interval`], 500 ms by default) may be
    /// lost on a **power loss or OS crash** — after they were acknowledged. The database is
    /// never corrupted either way. Choose it only when losing the last
    /// moments of acknowledged work on power loss is acceptable, e.g. a
    /// laptop or a store on a disk with a slow fsync.
    Normal,
}

/// Options of [`SqliteStore::open`]. `SqliteOptions::default()` is what
/// `stepgate serve` uses.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// See [`Durability`]. Default: [`Durability::Full`].
    pub durability: Durability,
    /// Most write commands in one transaction (one fsync). Default 1,024: a
    /// bigger batch only adds latency to the first caller of the batch once
    /// the disk's fsync, not the row work, is the bottleneck.
    pub max_batch: usize,
    /// Most payload bytes (inputs, journal bodies, history details) in one
    /// transaction. Default 16 MiB.
    pub max_batch_bytes: usize,
    /// Write commands that may wait for the writer before callers are made
    /// to wait to enqueue (back-pressure). Default 4,096.
    pub queue_capacity: usize,
    /// Reads running at once, each on its own read-only connection (kept
    /// open while idle); further reads wait. Default 4.
    pub read_connections: usize,
    /// Run `PRAGMA quick_check` when opening: finds corruption anywhere in
    /// the file, but reads all of it (seconds per GiB). Default off: a
    /// damaged header is found anyway, and damage elsewhere is reported by
    /// the operation that meets it.
    pub quick_check_on_open: bool,
    /// The WAL size past which the writer finishes a checkpoint between
    /// batches so the WAL restarts from its beginning (one pause of the
    /// writer, typically 10–25 ms on a disk with a 3 ms fsync), and the size
    /// the WAL file is truncated back to afterwards. A soft limit: the WAL
    /// can overshoot it by what is written during one checkpoint interval
    /// (measured up to ~2× at 44k starts/s), and under sustained writes the
    /// file stays about this big while stepgate runs (a clean shutdown
    /// empties it). Default 256 MiB: measured against 64 and 128
    /// MiB, it pauses the writer 4–6× less often, which is what keeps p99
    /// acknowledgement latency low; lower it where disk space is tight.
    pub wal_size_limit_bytes: i64,
    /// Least time between two background checkpoint passes. Longer passes
    /// copy each page once for many commits that changed it (measured: 500
    /// ms writes ~15% fewer bytes per start than 100 ms). With
    /// [`Durability::Normal`] it also bounds what a power loss can take
    /// (the WAL is fsynced only by checkpoints). Default 500 ms.
    pub checkpoint_interval: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Full,
            max_batch: 1024,
            max_batch_bytes: 16 << 20,
            queue_capacity: 4096,
            read_connections: 4,
            quick_check_on_open: false,
            wal_size_limit_bytes: 256 << 20,
            checkpoint_interval: Duration::from_millis(500),
        }
    }
}

/// What the writer has done since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions committed (each one fsync with [`Durability::Full`]).
    pub transactions: u64,
    /// Write commands in those transactions (`commands / transactions` is
    /// the group-commit batch size).
    pub commands: u64,
    /// Background checkpoints run.
    pub checkpoints: u64,
    /// Checkpoints the writer finished between batches because the WAL
    /// had outgrown [`SqliteOptions::wal_size_limit_bytes`].
    pub writer_checkpoints: u64,
    /// The longest of those, in microseconds (the writer's longest pause
    /// that is not a commit).
    pub writer_checkpoint_max_micros: u64,
    /// Microseconds the writer spent running commands (row work).
    pub apply_micros: u64,
    /// Microseconds the writer spent in `COMMIT` (WAL write and fsync).
    pub commit_micros: u64,
}

/// The SQLite [`Store`]. Clones share the file, the writer and the readers;
/// dropping the last clone lets the writer finish what is queued, joins its
/// threads, closes the connections and releases the lock.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    commands: Option<mpsc::Sender<Command>>,
    writer: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
    readers: read::Readers,
    /// Bounds concurrent reads (and so open read connections and blocking
    /// threads) to `read_connections`; more readers wait their turn.
    read_permits: Semaphore,
    stats: Arc<Stats>,
    /// The checkpointer's handle on the database file (see
    /// `writer::checkpointer`). Dropped after every connection above:
    /// closing a descriptor of a file drops all of this process's POSIX
    /// locks on it, SQLite's included.
    _db_file: Option<Arc<std::fs::File>>,
    // Declared last: fields drop in order, so the lock outlives every
    // connection above. `None` for a store opened for reading only.
    _lock: Option<open::ProcessLock>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Readers first, so the writer's final checkpoint is not held back
        // by them. Then closing the channel ends the writer once it has run
        // what is queued (it checkpoints the WAL into the file before it
        // closes); the writer's end closes the checkpointer's channel.
        self.readers.close_idle();
        self.commands.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if let Some(c) = self.checkpointer.take() {
            let _ = c.join();
        }
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the store at `path`: takes the process
    /// lock, checks and migrates the file, and starts the writer and
    /// checkpointer threads. Blocking (file IO); call it at startup, or from
    /// `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let lock = open::take_lock(&path)?;
        open::check_file(&path)?;
        let mut conn = open::open_rw(&path, &options)?;
        open::prepare(&path, &mut conn, &options)?;
        let checkpoint_conn = open::open_rw(&path, &options)?;
        checkpoint_conn
            .execute_batch(&format!(
                "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
                options.wal_size_limit_bytes
            ))
            .map_err(|e| open::sqlite_open_error(&path, &e))?;
        let first_reader = open::open_ro(&path).map_err(|e| open::sqlite_open_error(&path, &e))?;
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(|e| open::sqlite_open_error(&path, &e))?;

        let stats = Arc::new(Stats::default());
        let (commands, receiver) = mpsc::channel(options.queue_capacity.max(1));
        let (nudge, nudges) = std_mpsc::sync_channel(1);
        let checkpoint_wanted = Arc::new(AtomicBool::new(false));
        let limits = writer::Limits {
            max_batch: options.max_batch.max(1),
            max_batch_bytes: options.max_batch_bytes.max(1),
        };
        let spawn_error =
            |e: std::io::Error| StoreError::Open(format!("cannot start the store's threads: {e}"));
        let writer = std::thread::Builder::new()
            .name("store-writer".to_owned())
            .spawn({
                let (path, stats, wanted) = (
                    path.clone(),
                    Arc::clone(&stats),
                    Arc::clone(&checkpoint_wanted),
                );
                move || writer::run(conn, path, receiver, limits, stats, nudge, wanted)
            })
            .map_err(spawn_error)?;
        let restart_after_frames = options.wal_size_limit_bytes / page_size.max(512);
        let db_file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map(Arc::new)
            .map_err(|e| StoreError::Open(format!("{}: cannot open: {e}", path.display())))?;
        let checkpointer = std::thread::Builder::new()
            .name("store-checkpointer".to_owned())
            .spawn({
                let (stats, interval) = (Arc::clone(&stats), options.checkpoint_interval);
                let db_file = Arc::clone(&db_file);
                move || {
                    writer::checkpointer(
                        checkpoint_conn,
                        nudges,
                        interval,
                        restart_after_frames,
                        stats,
                        checkpoint_wanted,
                        db_file,
                    )
                }
            })
            .map_err(spawn_error)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                readers: read::Readers::new(path.clone(), options.read_connections, first_reader),
                read_permits: Semaphore::new(options.read_connections.max(1)),
                path,
                commands: Some(commands),
                writer: Some(writer),
                checkpointer: Some(checkpointer),
                stats,
                _db_file: Some(db_file),
                _lock: Some(lock),
            }),
        })
    }

    /// Opens an existing store for reading only, without the process lock:
    /// for inspecting a store that a running `stepgate serve` holds (WAL lets
    /// readers and the writer work at once). Never creates, migrates or
    /// writes; every write is refused.
    pub fn open_for_reading(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(StoreError::Open(format!(
                "{}: no such store; `stepgate run --store` or `stepgate serve` creates it",
                path.display()
            )));
        }
        open::check_file(&path)?;
        let conn = open::open_ro(&path).map_err(|e| open::sqlite_open_error(&path, &e))?;
        match schema::inspect(&conn).map_err(|e| open::sqlite_open_error(&path, &e))? {
            schema::Found::Ours { version } if version == schema::LATEST => {}
            schema::Found::Ours { version } => {
                return Err(StoreError::Open(format!(
                    "store {} has schema version {version}; this stepgate reads version {}: open it once with \
                     `stepgate serve` or `stepgate run --store` to migrate it",
                    path.display(),
                    schema::LATEST
                )));
            }
            schema::Found::Newer { version } => {
                return Err(StoreError::Open(format!(
                    "store {} has schema version {version}, newer than this stepgate understands (version {}): \
                     use the stepgate that wrote it",
                    path.display(),
                    schema::LATEST
                )));
            }
            schema::Found::Foreign => {
                return Err(StoreError::Open(format!(
                    "{} is a SQLite database but not a stepgate store",
                    path.display()
                )));
            }
        }
        let options = SqliteOptions::default();
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                readers: read::Readers::new(path.clone(), options.read_connections, conn),
                read_permits: Semaphore::new(options.read_connections.max(1)),
                path,
                commands: None,
                writer: None,
                checkpointer: None,
                stats: Arc::new(Stats::default()),
                _db_file: None,
                _lock: None,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Counters of the writer and checkpointer.
    pub fn write_stats(&self) -> WriteStats {
        let s = &self.inner.stats;
        WriteStats {
            transactions: s.transactions.load(Ordering::Relaxed),
            commands: s.commands.load(Ordering::Relaxed),
            checkpoints: s.checkpoints.load(Ordering::Relaxed),
            writer_checkpoints: s.writer_checkpoints.load(Ordering::Relaxed),
            writer_checkpoint_max_micros: s.writer_checkpoint_max_micros.load(Ordering::Relaxed),
            apply_micros: s.apply_micros.load(Ordering::Relaxed),
            commit_micros: s.commit_micros.load(Ordering::Relaxed),
        }
    }

    /// Sends a write to the writer and waits for its durable answer.
    /// Dropping the returned future does not cancel a write already queued.
    async fn write<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, StoreError> {
        let closed = || {
            StoreError::Backend(format!(
                "{}: the store is closed or opened for reading only",
                self.inner.path.display()
            ))
        };
        let sender = self.inner.commands.as_ref().ok_or_else(closed)?;
        let (reply, answer) = oneshot::channel();
        sender.send(command(reply)).await.map_err(|_| closed())?;
        answer.await.map_err(|_| {
            StoreError::Backend(format!(
                "{}: the store's writer stopped before answering",
                self.inner.path.display()
            ))
        })?
    }

    /// Runs a read on a pooled read-only connection, off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let closed = || {
            StoreError::Backend(format!(
                "{}: the store is closed",
                self.inner.path.display()
            ))
        };
        let _permit = self
            .inner
            .read_permits
            .acquire()
            .await
            .map_err(|_| closed())?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.readers.with(f))
            .await
            .map_err(|e| {
                StoreError::Backend(format!(
                    "{}: read task failed: {e}",
                    self.inner.readers.path().display()
                ))
            })?
    }
}

/// An error met after opening, as a [`StoreError::Backend`] that says what
/// it means for the file.
pub(crate) fn backend_error(path: &Path, e: &rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
            match open::corrupted(path, e) {
                StoreError::Open(m) => StoreError::Backend(m),
                other => other,
            }
        }
        Some(ErrorCode::DiskFull) => StoreError::Backend(format!(
            "{}: the disk is full ({e}); nothing of this write was stored",
            path.display()
        )),
        _ => StoreError::Backend(format!("{}: {e}", path.display())),
    }
}

impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        // A dead writer thread means no write can be acknowledged, even if
        // reads still work.
        let writer_alive = self.inner.writer.as_ref().is_some_and(|w| !w.is_finished())
            && self.inner.commands.as_ref().is_some_and(|c| !c.is_closed());
        if !writer_alive {
            return Err(StoreError::Backend(format!(
                "{}: the writer thread has stopped; restart stepgate",
                self.inner.path.display()
            )));
        }
        self.state_machine(
            "arn:aws:states:local:000000000000:stateMachine:stepgate-ping",
            None,
        )
        .await?;
        Ok(())
    }

    async fn put_state_machine(
        &self,
        sm: NewStateMachine,
    ) -> Result<StateMachineRecord, StoreError> {
        self.write(|reply| Command::PutStateMachine(sm, reply))
            .await
    }

    async fn state_machine(
        &self,
        arn: &str,
        version: Option<u64>,
    ) -> Result<Option<StateMachineRecord>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| read::state_machine(c, &arn, version))
            .await
    }

    async fn start_execution(&self, execution: NewExecution) -> Result<StartOutcome, StoreError> {
        self.write(|reply| Command::Start(execution, reply)).await
    }

    async fn start_execution_with_step(
        &self,
        execution: NewExecution,
        first_step: ExecutionStep,
    ) -> Result<StartOutcome, StoreError> {
        self.write(|reply| Command::StartWithStep(execution, first_step, reply))
            .await
    }

    async fn commit_step(&self, step: ExecutionStep) -> Result<(), StoreError> {
        self.write(|reply| Command::Commit(step, reply)).await
    }

    async fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| read::execution(c, &arn)).await
    }

    async fn list_executions(
        &self,
        filter: ExecutionFilter,
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.read(move |c| read::list_executions(c, &filter)).await
    }

    async fn history(&self, arn: &str) -> Result<Vec<HistoryRow>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| read::history(c, &arn)).await?
    }

    async fn journal(&self, arn: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| read::journal(c, &arn)).await?
    }

    async fn running_executions(&self) -> Result<Vec<ExecutionRecord>, StoreError> {
        self.read(read::running_executions).await
    }

    async fn timers(&self, arn: &str) -> Result<Vec<TimerRow>, StoreError> {
        let arn = arn.to_owned();
        self.read(move |c| read::timers(c, &arn)).await?
    }

    async fn timers_due(
        &self,
        up_to: EpochMillis,
        limit: usize,
    ) -> Result<Vec<TimerRow>, StoreError> {
        self.read(move |c| read::timers_due(c, up_to, limit)).await
    }
}
