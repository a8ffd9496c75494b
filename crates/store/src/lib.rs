//! What stepgate keeps durably, behind one trait every backend implements.
//!
//! Owns the records ([`StateMachineRecord`], [`ExecutionRecord`],
//! [`HistoryRow`], [`JournalEntry`], [`TimerRow`]), the unit of durable work
//! ([`ExecutionStep`]: everything one step of an execution changes, committed
//! atomically), the [`Store`] trait, the in-memory backend
//! ([`memory::MemoryStore`]) and, behind the `testkit` feature, the
//! conformance suite every backend runs (`testkit::run_all`). It must not know
//! ASL or run anything: payloads (definitions, inputs, outputs, journal
//! bodies, event details) are JSON text the engine produces and reads back.
//! Backends live in their own crates (`store-sqlite`, later `store-postgres`).
//!
//! Principal types: [`Store`] (async, `Send` futures, so one engine drives
//! SQLite on a laptop or PostgreSQL shared by many nodes), [`NewExecution`] →
//! [`StartOutcome`] (AWS's idempotent `StartExecution`), [`ExecutionStep`]
//! (checked by [`check_step`]), [`StoreError`].
//!
//! The key decision: the engine persists the *journal* of an execution (its
//! input and every external event: task results, timer firings, stops) plus
//! the history derived from it. The interpreter is deterministic given the
//! journal and the execution's seed, so recovery replays the journal instead
//! of loading a snapshot of interpreter state; the rejected alternative,
//! serializing the interpreter after every step, writes far more per step and
//! couples the schema to interpreter internals. A step names the journal seq
//! and history ids it appends, and the store refuses one that does not follow
//! what is stored ([`StoreError::StepConflict`]): that check, not a lock, is
//! what keeps transitions exactly-once when two engines race.
//!
//! ```
//! use std::pin::pin;
//! use std::task::{Context, Poll, Waker};
//! use store::memory::MemoryStore;
//! use store::*;
//!
//! // MemoryStore's futures are ready at once; a real engine awaits them on tokio.
//! fn now<T>(f: impl std::future::Future<Output = T>) -> T {
//!     match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
//!         Poll::Ready(v) => v,
//!         Poll::Pending => unreachable!("MemoryStore never waits"),
//!     }
//! }
//!
//! let store = MemoryStore::new();
//! let sm = now(store.put_state_machine(NewStateMachine {
//!     arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sample".into(),
//!     name: "sample".into(),
//!     definition: r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.into(),
//!     machine_type: StateMachineType::Standard,
//!     logging: r#"{"level":"OFF"}"#.into(),
//!     created: 0,
//! }))?;
//! let start = NewExecution {
//!     arn: "arn:aws:states:us-east-1:123456789012:execution:sample:run-1".into(),
//!     name: "run-1".into(),
//!     state_machine_arn: sm.arn.clone(),
//!     state_machine_version: sm.version,
//!     machine_type: StateMachineType::Standard,
//!     input: r#"{"n":1}"#.into(),
//!     start_time: 1_000,
//!     seed: [7; 32],
//! };
//! assert!(matches!(now(store.start_execution(start.clone()))?, StartOutcome::Started(_)));
//! // Same name, same input, still running: AWS returns the original execution.
//! assert!(matches!(now(store.start_execution(start.clone()))?, StartOutcome::AlreadyStarted(_)));
//!
//! now(store.commit_step(ExecutionStep {
//!     execution_arn: start.arn.clone(),
//!     history: vec![HistoryRow {
//!         id: 1,
//!         previous_event_id: 0,
//!         timestamp: 1_000,
//!         event_type: "ExecutionStarted".into(),
//!         details: "{}".into(),
//!     }],
//!     completion: Some(Completion {
//!         status: ExecutionStatus::Succeeded,
//!         output: Some(r#"{"n":1}"#.into()),
//!         error: None,
//!         cause: None,
//!         stop_time: 1_001,
//!     }),
//!     ..ExecutionStep::default()
//! }))?;
//! // A finished execution's name is taken: ExecutionAlreadyExists.
//! assert!(matches!(
//!     now(store.start_execution(start)),
//!     Err(StoreError::ExecutionAlreadyExists { .. })
//! ));
//! # Ok::<(), StoreError>(())
//! ```
#![deny(missing_docs)]

use std::future::Future;

pub mod memory;
#[cfg(feature = "testkit")]
pub mod testkit;

/// A point in time, in milliseconds since the Unix epoch.
pub type EpochMillis = i64;

/// `STANDARD` or `EXPRESS`, as AWS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateMachineType {
    /// Durable history, exactly-once transitions.
    Standard,
    /// In-memory run after a durable start record; at-least-once.
    Express,
}

impl StateMachineType {
    /// AWS's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateMachineType::Standard => "STANDARD",
            StateMachineType::Express => "EXPRESS",
        }
    }

    /// Parses AWS's name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "STANDARD" => Some(StateMachineType::Standard),
            "EXPRESS" => Some(StateMachineType::Express),
            _ => None,
        }
    }
}

/// An execution's status, as AWS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionStatus {
    /// Started, not finished.
    Running,
    /// Finished with an output.
    Succeeded,
    /// Failed with an error and cause.
    Failed,
    /// Ran past its `TimeoutSeconds`.
    TimedOut,
    /// Stopped by `StopExecution`.
    Aborted,
}

impl ExecutionStatus {
    /// AWS's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    /// Parses AWS's name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RUNNING" => ExecutionStatus::Running,
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "TIMED_OUT" => ExecutionStatus::TimedOut,
            "ABORTED" => ExecutionStatus::Aborted,
            _ => return None,
        })
    }
}

/// A state machine to create or update (a new version is stored each time
/// the definition changes; executions keep the version they started with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStateMachine {
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`.
    pub arn: String,
    /// The name.
    pub name: String,
    /// The ASL definition, as JSON text.
    pub definition: String,
    /// STANDARD or EXPRESS.
    pub machine_type: StateMachineType,
    /// Logging configuration, as JSON text (`{"level": "ALL", ...}`).
    pub logging: String,
    /// When it was created or updated.
    pub created: EpochMillis,
}

/// A stored state machine version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineRecord {
    /// The state machine ARN (without version suffix).
    pub arn: String,
    /// The name.
    pub name: String,
    /// 1, 2, ...: bumped whenever the definition, type or logging changes.
    pub version: u64,
    /// The ASL definition, as JSON text.
    pub definition: String,
    /// STANDARD or EXPRESS.
    pub machine_type: StateMachineType,
    /// Logging configuration, as JSON text.
    pub logging: String,
    /// When this version was created.
    pub created: EpochMillis,
}

/// A `StartExecution` request, as the engine resolved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExecution {
    /// The execution ARN: for STANDARD, [`standard_execution_arn`] of the
    /// state machine and name (as AWS); for EXPRESS, unique per start.
    pub arn: String,
    /// The execution name (unique per state machine for STANDARD).
    pub name: String,
    /// The state machine ARN.
    pub state_machine_arn: String,
    /// The state machine version the execution runs.
    pub state_machine_version: u64,
    /// STANDARD or EXPRESS (EXPRESS names are not idempotent, as on AWS).
    pub machine_type: StateMachineType,
    /// The input, as JSON text.
    pub input: String,
    /// When it started.
    pub start_time: EpochMillis,
    /// Seed of the execution's randomness (replays draw the same values).
    pub seed: [u8; 32],
}

impl NewExecution {
    /// The record of this execution once stored: RUNNING, no outcome yet.
    pub fn into_running_record(self) -> ExecutionRecord {
        ExecutionRecord {
            arn: self.arn,
            name: self.name,
            state_machine_arn: self.state_machine_arn,
            state_machine_version: self.state_machine_version,
            machine_type: self.machine_type,
            status: ExecutionStatus::Running,
            input: self.input,
            output: None,
            error: None,
            cause: None,
            start_time: self.start_time,
            stop_time: None,
            seed: self.seed,
        }
    }
}

impl ExecutionRecord {
    /// Applies a completion: the record as stored once the execution ended.
    pub fn complete(&mut self, completion: &Completion) {
        self.status = completion.status;
        self.output.clone_from(&completion.output);
        self.error.clone_from(&completion.error);
        self.cause.clone_from(&completion.cause);
        self.stop_time = Some(completion.stop_time);
    }
}

/// What `start_execution` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// A new execution is durably stored.
    Started(ExecutionRecord),
    /// A STANDARD execution with this name and the same input already
    /// exists (AWS returns it instead of starting another).
    AlreadyStarted(ExecutionRecord),
}

/// A stored execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionRecord {
    /// The execution ARN.
    pub arn: String,
    /// The name.
    pub name: String,
    /// The state machine ARN.
    pub state_machine_arn: String,
    /// The state machine version it runs.
    pub state_machine_version: u64,
    /// STANDARD or EXPRESS.
    pub machine_type: StateMachineType,
    /// Where it stands.
    pub status: ExecutionStatus,
    /// The input, as JSON text.
    pub input: String,
    /// The output, as JSON text (SUCCEEDED only).
    pub output: Option<String>,
    /// The error name (FAILED, TIMED_OUT, ABORTED).
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
    /// When it started.
    pub start_time: EpochMillis,
    /// When it finished.
    pub stop_time: Option<EpochMillis>,
    /// Seed of the execution's randomness.
    pub seed: [u8; 32],
}

/// One history event, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// 1-based, contiguous per execution.
    pub id: u64,
    /// The event it follows.
    pub previous_event_id: u64,
    /// When it happened.
    pub timestamp: EpochMillis,
    /// AWS's event type name, e.g. `PassStateEntered`.
    pub event_type: String,
    /// The type's details object, as JSON text.
    pub details: String,
}

/// One external event an execution consumed (its input is entry 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// 0, 1, ...: contiguous per execution.
    pub seq: u64,
    /// The event, as JSON text (the engine's format).
    pub body: String,
}

/// A durable timer (a Wait state, a retry interval, a timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRow {
    /// The execution it belongs to.
    pub execution_arn: String,
    /// The interpreter's timer id within the execution.
    pub timer_id: u64,
    /// When it fires.
    pub fire_at: EpochMillis,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: ExecutionStatus,
    /// The output (SUCCEEDED).
    pub output: Option<String>,
    /// The error name.
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
    /// When it ended.
    pub stop_time: EpochMillis,
}

/// Everything one step of an execution changes, committed atomically:
/// acknowledged only once durable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecutionStep {
    /// The execution.
    pub execution_arn: String,
    /// External events consumed by this step (appended to the journal).
    pub journal: Vec<JournalEntry>,
    /// History events produced by this step (appended).
    pub history: Vec<HistoryRow>,
    /// Timers started by this step.
    pub timers_started: Vec<TimerRow>,
    /// Timers that fired or were cancelled (by timer id).
    pub timers_cleared: Vec<u64>,
    /// Set when the execution ended in this step.
    pub completion: Option<Completion>,
}

/// Filters for [`Store::list_executions`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionFilter {
    /// Only this state machine.
    pub state_machine_arn: Option<String>,
    /// Only this status.
    pub status: Option<ExecutionStatus>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// AWS `ExecutionAlreadyExists`: a STANDARD execution with this name
    /// exists with a different input (or has finished).
    #[error(
        "ExecutionAlreadyExists: execution {arn} already exists with a different input or has finished"
    )]
    ExecutionAlreadyExists {
        /// The existing execution.
        arn: String,
    },
    /// AWS `StateMachineDoesNotExist`.
    #[error("StateMachineDoesNotExist: {arn}")]
    StateMachineDoesNotExist {
        /// The ARN asked for.
        arn: String,
    },
    /// AWS `ExecutionDoesNotExist`.
    #[error("ExecutionDoesNotExist: {arn}")]
    ExecutionDoesNotExist {
        /// The ARN asked for.
        arn: String,
    },
    /// The execution has finished (or was stopped): it takes no more steps
    /// and cannot complete twice. The engine drops the late event (a task
    /// result arriving after `StopExecution`, a second completion).
    #[error("execution {arn} is not running (status {})", status.as_str())]
    ExecutionNotRunning {
        /// The execution.
        arn: String,
        /// Its final status.
        status: ExecutionStatus,
    },
    /// The step does not continue the execution's durable state: its first
    /// journal `seq` or history `id` is not the next one, the numbers are not
    /// contiguous, a started timer id is already pending, or a completion has
    /// status RUNNING. Nothing of the step was stored. With one engine this
    /// is a bug; with many nodes it means another node advanced the
    /// execution (reload it before going on).
    #[error("step rejected for execution {arn}: {reason}")]
    StepConflict {
        /// The execution.
        arn: String,
        /// What did not line up.
        reason: String,
    },
    /// A STANDARD execution's ARN is not the one AWS derives from its state
    /// machine and name ([`standard_execution_arn`]); nothing was stored.
    /// An engine bug: the store relies on that rule to keep names unique.
    #[error("execution ARN {arn} does not match its state machine and name (expected {expected})")]
    InvalidExecutionArn {
        /// The ARN given.
        arn: String,
        /// The ARN AWS would give it.
        expected: String,
    },
    /// The store cannot be opened: locked by another process, read-only,
    /// corrupted, or written by a newer stepgate. The message says which and
    /// what to do.
    #[error("{0}")]
    Open(String),
    /// An IO or database failure; the operation did not take effect.
    #[error("store failure: {0}")]
    Backend(String),
}

/// What [`Store::ping`] looks up: an ARN no state machine has.
const PING_ARN: &str = "arn:aws:states:local:000000000000:stateMachine:stepgate-ping";

/// The durable store. Every method is one atomic operation; a returned `Ok`
/// means the change is durable (fsynced for SQLite, committed for
/// PostgreSQL).
pub trait Store: Send + Sync + 'static {
    /// Whether the store answers right now (for `/readyz`): a real round
    /// trip, never a cached answer. The default reads a state machine that
    /// does not exist; backends with more moving parts (a writer thread, a
    /// connection pool) also check those.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        async {
            self.state_machine(PING_ARN, None).await?;
            Ok(())
        }
    }

    /// Creates a state machine or, if its definition, type or logging
    /// changed, stores a new version of it. Returns the current version.
    fn put_state_machine(
        &self,
        sm: NewStateMachine,
    ) -> impl Future<Output = Result<StateMachineRecord, StoreError>> + Send;

    /// A state machine version (`None` = the latest).
    fn state_machine(
        &self,
        arn: &str,
        version: Option<u64>,
    ) -> impl Future<Output = Result<Option<StateMachineRecord>, StoreError>> + Send;

    /// `StartExecution`: stores the execution and its journal entry 0 (the
    /// input). STANDARD names are idempotent: same name and input returns
    /// [`StartOutcome::AlreadyStarted`] while it runs; a different input, or
    /// a finished execution, is [`StoreError::ExecutionAlreadyExists`]
    /// (AWS: "If the execution is closed or if the input is different, it
    /// returns a 400 ExecutionAlreadyExists error").
    ///
    /// EXPRESS names are not idempotent (as on AWS, whose Express ARNs end
    /// in a unique id: `…:express:MACHINE:NAME:UUID`): two EXPRESS starts
    /// with the same name and different ARNs are two executions. A start
    /// whose ARN is already stored, of either type, is never merged or
    /// overwritten: it is [`StoreError::ExecutionAlreadyExists`] (for
    /// EXPRESS this means the engine reused an ARN — it must mint a fresh
    /// one per start).
    ///
    /// The state machine version must exist
    /// ([`StoreError::StateMachineDoesNotExist`] otherwise), and a STANDARD
    /// execution's ARN must be [`standard_execution_arn`] of its state
    /// machine and name ([`StoreError::InvalidExecutionArn`] otherwise), as
    /// on AWS; that makes "one STANDARD name per state machine" the same
    /// rule as "one execution per ARN", which is how backends enforce it.
    fn start_execution(
        &self,
        execution: NewExecution,
    ) -> impl Future<Output = Result<StartOutcome, StoreError>> + Send;

    /// Commits one step of an execution atomically: all of it or nothing.
    ///
    /// Rules every backend enforces (the testkit checks them):
    /// - the execution exists ([`StoreError::ExecutionDoesNotExist`]) and is
    ///   RUNNING ([`StoreError::ExecutionNotRunning`]: a finished execution
    ///   takes no more steps, so a second completion is refused);
    /// - `journal` continues the journal: its seqs are contiguous and the
    ///   first is one past the last stored (entry 0 is the input, so the
    ///   first step's journal starts at 1); likewise `history` ids continue
    ///   the history from 1 ([`StoreError::StepConflict`] otherwise — this is
    ///   what makes a transition exactly-once even if two engines race);
    /// - `timers_cleared` are removed first (unknown ids are ignored: the
    ///   timer may have been cleared by the completion that ended a branch),
    ///   then `timers_started` are added (an id still pending is a
    ///   [`StoreError::StepConflict`]);
    /// - a `completion` sets status, output, error, cause and stop time, and
    ///   removes the execution's remaining timers (a finished execution has
    ///   none pending). A completion with status RUNNING is a
    ///   [`StoreError::StepConflict`].
    fn commit_step(
        &self,
        step: ExecutionStep,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Starts an execution and commits its first step in one transaction:
    /// both or neither. The engine runs an execution's first step before
    /// its start is durable and stores the two together: one write per
    /// start instead of two, and an execution that ends in its first step
    /// (a Pass-only machine, an input error) is stored finished at once.
    ///
    /// The start follows [`Store::start_execution`]; `first_step` follows
    /// [`Store::commit_step`] for a new execution (journal and history
    /// starting at one) and must be for `execution.arn`
    /// ([`check_first_step`]). Checked
    /// before anything is written: a refused step starts nothing. When the
    /// start is `AlreadyStarted` the step is not stored (the first start's
    /// run is the one that counts). `Started` carries the record as stored
    /// after the step: finished if the step completed the execution.
    fn start_execution_with_step(
        &self,
        execution: NewExecution,
        first_step: ExecutionStep,
    ) -> impl Future<Output = Result<StartOutcome, StoreError>> + Send;

    /// One execution (`None` if unknown).
    fn execution(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>> + Send;

    /// Executions, newest first (by start time, then most recently stored).
    fn list_executions(
        &self,
        filter: ExecutionFilter,
    ) -> impl Future<Output = Result<Vec<ExecutionRecord>, StoreError>> + Send;

    /// An execution's history, in event order
    /// ([`StoreError::ExecutionDoesNotExist`] for an unknown ARN, as AWS's
    /// `GetExecutionHistory`).
    fn history(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<HistoryRow>, StoreError>> + Send;

    /// An execution's journal, in order; entry 0 is the input
    /// ([`StoreError::ExecutionDoesNotExist`] for an unknown ARN).
    fn journal(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<JournalEntry>, StoreError>> + Send;

    /// Executions still RUNNING, oldest first (to resume after a restart).
    fn running_executions(
        &self,
    ) -> impl Future<Output = Result<Vec<ExecutionRecord>, StoreError>> + Send;

    /// Pending timers of an execution, by timer id
    /// ([`StoreError::ExecutionDoesNotExist`] for an unknown ARN).
    fn timers(&self, arn: &str) -> impl Future<Output = Result<Vec<TimerRow>, StoreError>> + Send;

    /// Pending timers of all executions that fire at or before `up_to`,
    /// soonest first (ties by execution ARN, then timer id), at most
    /// `limit`. The scheduler sleeps until the first of
    /// `timers_due(EpochMillis::MAX, 1)` and loads the due ones after a
    /// restart without asking every execution.
    fn timers_due(
        &self,
        up_to: EpochMillis,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TimerRow>, StoreError>> + Send;
}

/// The ARN AWS gives a STANDARD execution named `name` of the state machine
/// `state_machine_arn` (unqualified, without version or alias):
/// `arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE` →
/// `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME`.
///
/// ```
/// assert_eq!(
///     store::standard_execution_arn("arn:aws:states:us-east-1:123456789012:stateMachine:sample", "run-1"),
///     "arn:aws:states:us-east-1:123456789012:execution:sample:run-1"
/// );
/// ```
pub fn standard_execution_arn(state_machine_arn: &str, name: &str) -> String {
    // Names cannot contain ':' (AWS), so the one ":stateMachine:" is the
    // resource type; the SQLite schema's CHECK uses the same replace().
    format!(
        "{}:{name}",
        state_machine_arn.replace(":stateMachine:", ":execution:")
    )
}

/// Checks the first step of a new execution (for
/// [`Store::start_execution_with_step`]): it is for `execution`'s ARN and
/// continues an empty journal and history.
pub fn check_first_step(execution: &NewExecution, step: &ExecutionStep) -> Result<(), StoreError> {
    if step.execution_arn != execution.arn {
        return Err(StoreError::StepConflict {
            arn: execution.arn.clone(),
            reason: format!(
                "the first step is for another execution, {}",
                step.execution_arn
            ),
        });
    }
    check_step(step, 0, 0)
}

/// Checks a start against the rules that need no stored data: a STANDARD
/// ARN is [`standard_execution_arn`] of its machine and name.
pub fn check_start(execution: &NewExecution) -> Result<(), StoreError> {
    if execution.machine_type == StateMachineType::Standard {
        let expected = standard_execution_arn(&execution.state_machine_arn, &execution.name);
        if execution.arn != expected {
            return Err(StoreError::InvalidExecutionArn {
                arn: execution.arn.clone(),
                expected,
            });
        }
    }
    Ok(())
}

/// Checks the parts of a step that do not depend on what else is pending:
/// the journal continues from `last_journal_seq` (0 when only the input is
/// stored), the history continues from `last_history_id` (0 when empty), both
/// contiguous; started timers belong to the step's execution and are not
/// started twice in the step; a completion is not RUNNING; every number
/// fits in a signed 64-bit SQL integer. Backends call it
/// before writing anything, so every backend refuses the same steps with the
/// same [`StoreError::StepConflict`] reasons.
pub fn check_step(
    step: &ExecutionStep,
    last_journal_seq: u64,
    last_history_id: u64,
) -> Result<(), StoreError> {
    let conflict = |reason: String| StoreError::StepConflict {
        arn: step.execution_arn.clone(),
        reason,
    };
    check_contiguous(
        "journal seq",
        last_journal_seq,
        step.journal.iter().map(|j| j.seq),
    )
    .map_err(conflict)?;
    check_contiguous(
        "history event id",
        last_history_id,
        step.history.iter().map(|h| h.id),
    )
    .map_err(conflict)?;
    // SQL integers are signed 64-bit: every backend refuses what one cannot store.
    let too_big = |n: u64| n > i64::MAX as u64;
    let numbers = step.journal.iter().map(|j| j.seq).chain(
        step.history
            .iter()
            .flat_map(|h| [h.id, h.previous_event_id]),
    );
    let timer_ids = step
        .timers_started
        .iter()
        .map(|t| t.timer_id)
        .chain(step.timers_cleared.iter().copied());
    if let Some(n) = numbers.chain(timer_ids).find(|&n| too_big(n)) {
        return Err(conflict(format!(
            "{n} is out of range (at most {})",
            i64::MAX
        )));
    }
    for (i, t) in step.timers_started.iter().enumerate() {
        if t.execution_arn != step.execution_arn {
            return Err(conflict(format!(
                "timer {} belongs to {}",
                t.timer_id, t.execution_arn
            )));
        }
        if step.timers_started[..i]
            .iter()
            .any(|u| u.timer_id == t.timer_id)
        {
            return Err(conflict(format!(
                "timer {} is started twice in the step",
                t.timer_id
            )));
        }
    }
    if let Some(c) = &step.completion
        && c.status == ExecutionStatus::Running
    {
        return Err(conflict(
            "a completion cannot have status RUNNING".to_owned(),
        ));
    }
    Ok(())
}

fn check_contiguous(
    what: &str,
    last: u64,
    numbers: impl IntoIterator<Item = u64>,
) -> Result<(), String> {
    for (expected, n) in (last + 1..).zip(numbers) {
        if n != expected {
            return Err(format!(
                "{what} {n} is not the next one (expected {expected})"
            ));
        }
    }
    Ok(())
}
