//! The scheduler: starts executions durably and drives them to the end.
//!
//! Owns [`Engine`]: `StartExecution` (validated, stored, acknowledged only
//! once durable; with a running slot free, the execution's first step — up
//! to its first task, timer or end — runs before the start is stored and is
//! stored with it in one transaction, so an execution that ends at once
//! costs one write and no task), one actor task per running execution (it applies events
//! one at a time: commit the step, then perform its effects), timers on the
//! tokio clock, task invocations through a [`TaskInvoker`], `StopExecution`,
//! and recovery after a restart (replay the journal, re-arm timers,
//! re-invoke tasks in flight). It must not know which store it runs on.
//!
//! Bounded: at most `Limits::max_running` executions are in memory; further
//! starts are still acknowledged (they are durable) and wait for a slot,
//! so a burst costs disk, not memory.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::definition::Definition;
use asl::failure::Failure;
use asl::interpreter::{ExecutionInfo, Options, TaskRequest};
use asl::parse::{ParseOptions, StateMachineType as AslType, parse_definition_with};
use asl::timestamp::EpochMillis;
use serde_json::Value;
use store::{
    ExecutionRecord, NewExecution, StartOutcome, StateMachineRecord, StateMachineType, Store,
    StoreError,
};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::activities::{Activities, ActivityTask};
use crate::callbacks::{CallbackError, Callbacks, check_token};
use crate::journal::JournalEvent;
use crate::live::{Applied, LiveError, LiveExecution};
use crate::logging::{ExecutionLogger, LogLevel, LoggingConfig};

/// The names of the metrics the engine records (with the `metrics` crate;
/// the binary chooses the exporter). Scraped as Prometheus series.
pub mod metrics_names {
    /// Gauge: executions in memory, running.
    pub const RUNNING: &str = "stepgate_executions_running";
    /// Gauge: executions durably started (or recovered) that wait for a
    /// running slot (`Limits::max_running`): the engine's queue depth.
    pub const WAITING: &str = "stepgate_executions_waiting";
    /// Counter: executions that ended, by `status` (SUCCEEDED, FAILED,
    /// TIMED_OUT, ABORTED).
    pub const FINISHED: &str = "stepgate_executions_finished_total";
    /// Counter: executions durably started, by `type` (STANDARD, EXPRESS).
    pub const STARTED: &str = "stepgate_executions_started_total";
}

/// How long a start may use a cached "latest version" of its state machine:
/// a new version stored by another process (or node) is picked up by starts
/// on this node within this time.
pub const LATEST_VERSION_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// A boxed future, for the [`TaskInvoker`] trait object.
pub type TaskFuture = Pin<Box<dyn Future<Output = Result<Value, Failure>> + Send>>;

/// Runs Task states (functions, HTTP, activities arrive with their issues).
pub trait TaskInvoker: Send + Sync + 'static {
    /// Performs the task.
    fn invoke(&self, request: TaskRequest) -> TaskFuture;
}

/// No functions configured: every Task fails with `States.TaskFailed`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTasks;

impl TaskInvoker for NoTasks {
    fn invoke(&self, request: TaskRequest) -> TaskFuture {
        Box::pin(async move {
            Err(Failure::new(
                asl::failure::STATES_TASK_FAILED,
                format!(
                    "No task handler is configured for resource '{}'",
                    request.resource
                ),
            ))
        })
    }
}

/// Where the engine's time comes from: milliseconds since the epoch,
/// advancing with the tokio clock (so tests can pause and advance it).
#[derive(Debug, Clone, Copy)]
pub struct EngineClock {
    base_epoch: EpochMillis,
    base_instant: tokio::time::Instant,
}

impl EngineClock {
    /// A clock that reads `epoch_now` at this tokio instant.
    pub fn new(epoch_now: EpochMillis) -> Self {
        Self {
            base_epoch: epoch_now,
            base_instant: tokio::time::Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> EpochMillis {
        self.base_epoch + self.base_instant.elapsed().as_millis() as EpochMillis
    }

    /// Sleeps until `at` (returns at once if it has passed).
    pub async fn sleep_until(&self, at: EpochMillis) {
        let wait = (at - self.now()).max(0) as u64;
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

/// Knobs of the engine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest execution input, in bytes (AWS: 256 KiB).
    pub max_input_bytes: usize,
    /// Executions kept in memory at once.
    pub max_running: usize,
    /// Express executions fail with `States.Timeout` after this long (AWS: 5 minutes).
    pub express_max_duration_ms: EpochMillis,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_input_bytes: 262_144,
            max_running: 10_000,
            express_max_duration_ms: 5 * 60 * 1000,
        }
    }
}

/// Why the engine refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// AWS `InvalidExecutionInput`.
    #[error("InvalidExecutionInput: {0}")]
    InvalidExecutionInput(String),
    /// AWS `InvalidName`.
    #[error("InvalidName: {0}")]
    InvalidName(String),
    /// AWS `InvalidDefinition`: the stored definition no longer parses.
    #[error("InvalidDefinition: {0}")]
    InvalidDefinition(String),
    /// From the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An execution could not be rebuilt.
    #[error(transparent)]
    Live(#[from] LiveError),
}

/// A `StartExecution` request.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The state machine ARN.
    pub state_machine_arn: String,
    /// The execution name (default: a fresh UUID).
    pub name: Option<String>,
    /// The input, as JSON text (default `{}`).
    pub input: Option<String>,
}

/// What an execution's actor receives.
#[derive(Debug)]
pub(crate) enum Input {
    Event(JournalEvent),
    /// A `SendTask*` callback: answered once its step is committed (or
    /// refused when its task no longer waits).
    Callback(
        JournalEvent,
        tokio::sync::oneshot::Sender<Result<(), CallbackError>>,
    ),
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    TimeOut,
}

/// What executions of one state machine version share.
type Version = (Arc<Definition>, ExecutionLogger);

/// The engine's metric handles, registered once: a `metrics::counter!` call
/// looks its series up in the recorder's registry (hashing the name and
/// labels) every time, and these are recorded on every start.
struct EngineMetrics {
    running: metrics::Gauge,
    waiting: metrics::Gauge,
    started_standard: metrics::Counter,
    started_express: metrics::Counter,
    finished: [(store::ExecutionStatus, metrics::Counter); 4],
}

impl EngineMetrics {
    fn new() -> Self {
        use store::ExecutionStatus as S;
        let finished = |status: S| {
            (
                status,
                metrics::counter!(metrics_names::FINISHED, "status" => status.as_str()),
            )
        };
        Self {
            running: metrics::gauge!(metrics_names::RUNNING),
            waiting: metrics::gauge!(metrics_names::WAITING),
            started_standard: metrics::counter!(metrics_names::STARTED, "type" => StateMachineType::Standard.as_str()),
            started_express: metrics::counter!(metrics_names::STARTED, "type" => StateMachineType::Express.as_str()),
            finished: [
                finished(S::Succeeded),
                finished(S::Failed),
                finished(S::TimedOut),
                finished(S::Aborted),
            ],
        }
    }

    fn started(&self, machine_type: StateMachineType) {
        match machine_type {
            StateMachineType::Standard => self.started_standard.increment(1),
            StateMachineType::Express => self.started_express.increment(1),
        }
    }

    fn finished(&self, status: store::ExecutionStatus) {
        if let Some((_, counter)) = self.finished.iter().find(|(s, _)| *s == status) {
            counter.increment(1);
        }
    }
}

struct Inner<S: Store> {
    store: S,
    tasks: Arc<dyn TaskInvoker>,
    clock: EngineClock,
    limits: Limits,
    slots: Arc<Semaphore>,
    /// The latest version of each state machine, and when it was read.
    latest: Mutex<HashMap<String, (Arc<StateMachineRecord>, std::time::Instant)>>,
    /// Parsed definitions and loggers by (state machine ARN, version).
    definitions: Mutex<HashMap<(String, u64), Version>>,
    running: Mutex<HashMap<String, mpsc::UnboundedSender<Input>>>,
    /// Bumped whenever an execution finishes (for `wait_for`).
    finished: watch::Sender<u64>,
    /// Set by [`Engine::halt`]: every task of this engine stops at its next
    /// await point.
    halted: watch::Sender<bool>,
    seeds: Mutex<asl::entropy::SplitMix64>,
    metrics: EngineMetrics,
    /// Task tokens of callback tasks (`.waitForTaskToken`, activities)
    /// waiting for a callback.
    callbacks: Callbacks,
    /// Activity tasks waiting for a worker.
    activities: Activities,
}

/// The durable execution engine over a store.
pub struct Engine<S: Store> {
    inner: Arc<Inner<S>>,
}

impl<S: Store> Clone for Engine<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: Store> std::fmt::Debug for Engine<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl<S: Store> Engine<S> {
    /// An engine over `store`. `seed` seeds execution names and seeds
    /// (pass OS randomness in production).
    pub fn new(
        store: S,
        tasks: Arc<dyn TaskInvoker>,
        clock: EngineClock,
        limits: Limits,
        seed: u64,
    ) -> Self {
        let (finished, _) = watch::channel(0);
        let (halted, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                store,
                tasks,
                clock,
                slots: Arc::new(Semaphore::new(limits.max_running.max(1))),
                limits,
                latest: Mutex::new(HashMap::new()),
                definitions: Mutex::new(HashMap::new()),
                running: Mutex::new(HashMap::new()),
                finished,
                halted,
                seeds: Mutex::new(asl::entropy::SplitMix64(seed)),
                metrics: EngineMetrics::new(),
                callbacks: Callbacks::default(),
                activities: Activities::default(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// Stops everything this engine runs, at once, committing nothing more:
    /// what a crash does (tests use it to simulate one). Executions stay
    /// RUNNING in the store; [`Engine::recover`] resumes them.
    pub fn halt(&self) {
        self.inner.halted.send_replace(true);
    }

    /// Spawns a task that ends when the engine halts.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut halted = self.inner.halted.subscribe();
        if *halted.borrow() {
            return;
        }
        tokio::spawn(async move {
            tokio::select! {
                _ = halted.wait_for(|h| *h) => {}
                () = task => {}
            }
        });
    }

    /// `StartExecution`: returns once the execution is durable; it then runs
    /// in the background.
    pub async fn start_execution(
        &self,
        request: StartRequest,
    ) -> Result<StartOutcome, EngineError> {
        let inner = &self.inner;
        let input = request.input.unwrap_or_else(|| "{}".to_owned());
        if input.len() > inner.limits.max_input_bytes {
            return Err(EngineError::InvalidExecutionInput(format!(
                "the input is {} bytes; the limit is {} bytes",
                input.len(),
                inner.limits.max_input_bytes
            )));
        }
        let sm = self
            .latest_state_machine(&request.state_machine_arn)
            .await?;
        let start_time = inner.clock.now();
        let (seed, fresh_name, express_id) = {
            let mut rng = inner.seeds.lock().unwrap_or_else(|p| p.into_inner());
            let mut seed = [0u8; 32];
            for chunk in seed.chunks_mut(8) {
                chunk.copy_from_slice(&asl::entropy::Entropy::next_u64(&mut *rng).to_le_bytes());
            }
            (
                seed,
                // A generated name is a time-ordered (v7) UUID: the ARN
                // starts with it, and the store's unique ARN index then grows
                // at its right edge. With random (v4) names every start
                // dirtied one random index page, written to the WAL at each
                // group commit and again at checkpoint: in
                // scripts/bench-webhook.sh the bytes written per webhook fell
                // from 13.5 KB to 6 KB and acks/s rose ~20%. Still unique and
                // unguessable (74 random bits); AWS documents generated names
                // only as unique UUIDs.
                asl::entropy::Entropy::uuid_v7(&mut *rng, start_time.max(0) as u64),
                asl::entropy::Entropy::uuid_v4(&mut *rng),
            )
        };
        let name = match request.name {
            Some(name) => {
                validate_name(&name)?;
                name
            }
            // A generated UUID is a valid name.
            None => fresh_name,
        };
        let arn = execution_arn(&sm.arn, &name, sm.machine_type, &express_id);
        let new = NewExecution {
            arn,
            name,
            state_machine_arn: sm.arn.clone(),
            state_machine_version: sm.version,
            machine_type: sm.machine_type,
            input,
            start_time,
            seed,
        };
        // With a running slot free, the first step runs now and is stored
        // with the start (one write instead of two; an execution that ends
        // in its first step never becomes a task). Without one, the start is
        // stored alone and the execution waits for a slot (bounded memory).
        match Arc::clone(&inner.slots).try_acquire_owned() {
            Ok(permit) => self.start_with_first_step(new, &sm, permit).await,
            Err(_) => {
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&new.input) {
                    return Err(invalid_input(&e));
                }
                let outcome = inner.store.start_execution(new).await?;
                if let StartOutcome::Started(record) = &outcome {
                    inner.metrics.started(record.machine_type);
                    self.spawn_execution(record.clone(), None);
                }
                Ok(outcome)
            }
        }
    }

    /// `StartExecution` for a caller that may repeat the same named start
    /// (a webhook redelivery, a re-run command, a task run again after a
    /// restart): an execution of that name with the same input — running
    /// or already finished — is this start's own and is returned as
    /// `AlreadyStarted`; a different input stays `ExecutionAlreadyExists`.
    pub async fn start_or_find(&self, request: StartRequest) -> Result<StartOutcome, EngineError> {
        let input = request
            .name
            .is_some()
            .then(|| request.input.clone().unwrap_or_else(|| "{}".to_owned()));
        match self.start_execution(request).await {
            Err(EngineError::Store(StoreError::ExecutionAlreadyExists { arn }))
                if let Some(input) = &input =>
            {
                match self.inner.store.execution(&arn).await? {
                    Some(existing) if same_json(&existing.input, input) => {
                        Ok(StartOutcome::AlreadyStarted(existing))
                    }
                    _ => Err(StoreError::ExecutionAlreadyExists { arn }.into()),
                }
            }
            other => other,
        }
    }

    /// Runs an execution's first step (up to its first task, timer or end)
    /// and stores it with the start; then performs its effects and, unless
    /// it ended, keeps running it in the background on `permit`.
    async fn start_with_first_step(
        &self,
        new: NewExecution,
        sm: &StateMachineRecord,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<StartOutcome, EngineError> {
        let inner = &self.inner;
        let (def, logger) = self.version_of(sm)?;
        let record = new.clone().into_running_record();
        let express = record.machine_type == StateMachineType::Express;
        let (live, mut first) = LiveExecution::start(
            def,
            &record,
            execution_info(&record),
            run_options(express, &logger),
        )
        .map_err(|e| match e {
            // The input is parsed here for the first time.
            LiveError::BadInput { reason, .. } => {
                EngineError::InvalidExecutionInput(format!("the input is not valid JSON: {reason}"))
            }
            other => EngineError::Live(other),
        })?;
        let step = durable_step(&mut first, express);
        let completed = step.completion.as_ref().map(|c| c.status);
        let outcome = inner.store.start_execution_with_step(new, step).await?;
        if !matches!(outcome, StartOutcome::Started(_)) {
            return Ok(outcome);
        }
        inner.metrics.started(record.machine_type);
        if let Some(status) = completed {
            inner.metrics.finished(status);
        }
        logger.log(&record.arn, &first.history);
        if first.finished {
            self.notify_finished();
            return Ok(outcome);
        }
        let (tx, rx) = self.register_running(&record.arn);
        self.perform(&record, &first, &tx);
        let engine = self.clone();
        inner.metrics.running.increment(1.0);
        self.spawn(async move {
            let arn = record.arn.clone();
            let outcome = Box::pin(engine.drive(live, record, logger, tx, rx)).await;
            engine.execution_ended(&arn, outcome, permit);
        });
        Ok(outcome)
    }

    /// The latest version of a state machine, from a per-node cache that
    /// is at most [`LATEST_VERSION_TTL`] old: a store read per start cost a
    /// blocking-pool round trip and a statement, a tenth of a webhook's CPU.
    async fn latest_state_machine(
        &self,
        arn: &str,
    ) -> Result<Arc<StateMachineRecord>, EngineError> {
        let now = std::time::Instant::now();
        if let Some((record, fetched)) = self
            .inner
            .latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(arn)
            && now.duration_since(*fetched) < LATEST_VERSION_TTL
        {
            return Ok(Arc::clone(record));
        }
        let record = Arc::new(
            self.inner
                .store
                .state_machine(arn, None)
                .await?
                .ok_or_else(|| StoreError::StateMachineDoesNotExist {
                    arn: arn.to_owned(),
                })?,
        );
        self.inner
            .latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(arn.to_owned(), (Arc::clone(&record), now));
        Ok(record)
    }

    /// `StopExecution`: the execution ends ABORTED (durably, before this
    /// returns only if it is running here; a finished execution is left as is).
    pub fn stop_execution(&self, arn: &str, error: Option<String>, cause: Option<String>) -> bool {
        let running = self.inner.running.lock().unwrap_or_else(|p| p.into_inner());
        match running.get(arn) {
            Some(tx) => tx.send(Input::Stop { error, cause }).is_ok(),
            None => false,
        }
    }

    /// Resumes every execution the store says is running (after a restart).
    /// Returns how many were resumed.
    pub async fn recover(&self) -> Result<usize, EngineError> {
        let records = self.inner.store.running_executions().await?;
        let n = records.len();
        for record in records {
            let resume = match record.machine_type {
                // Express keeps no journal: it runs again from its start record.
                StateMachineType::Express => None,
                StateMachineType::Standard => {
                    let history = self.inner.store.history(&record.arn).await?;
                    if history.is_empty() {
                        // The crash came between the durable start and the
                        // commit of its first step: nothing of the run is
                        // stored, so start it as new (replay expects the
                        // first step committed and would refuse it).
                        None
                    } else {
                        let journal = self.inner.store.journal(&record.arn).await?;
                        // Replayed now, not in the execution's task: the
                        // tokens of its callback tasks must be known when
                        // this returns, or a SendTaskSuccess arriving right
                        // after a restart would be refused.
                        match self.replay(&record, &journal, history.len() as u64).await {
                            Ok(live) => Some(live),
                            Err(e) => {
                                // It stays RUNNING in the store, as any
                                // execution that cannot run here.
                                tracing::error!(execution_arn = %record.arn, error = %e, "cannot resume the execution; it stays RUNNING");
                                continue;
                            }
                        }
                    }
                }
            };
            self.spawn_execution(record, resume);
        }
        Ok(n)
    }

    /// Rebuilds a running execution from its journal.
    async fn replay(
        &self,
        record: &ExecutionRecord,
        journal: &[store::JournalEntry],
        stored_history: u64,
    ) -> Result<LiveExecution, EngineError> {
        let (def, logger) = self.definition(record).await?;
        let options = run_options(false, &logger);
        Ok(LiveExecution::replay(
            def,
            record,
            execution_info(record),
            options,
            journal,
            stored_history,
        )?)
    }

    /// Waits until `arn` is no longer running (or `timeout` passes) and
    /// returns its record.
    pub async fn wait_for(
        &self,
        arn: &str,
        timeout: Duration,
    ) -> Result<Option<ExecutionRecord>, EngineError> {
        let mut rx = self.inner.finished.subscribe();
        // See `spawn_execution`: finishing executions bump `finished` only
        // when someone is subscribed.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(r) = self.inner.store.execution(arn).await?
                && r.status != store::ExecutionStatus::Running
            {
                return Ok(Some(r));
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return Ok(self.inner.store.execution(arn).await?);
            }
        }
    }

    /// The definition and execution logger of the version an execution runs.
    async fn definition(&self, record: &ExecutionRecord) -> Result<Version, EngineError> {
        let key = (
            record.state_machine_arn.clone(),
            record.state_machine_version,
        );
        if let Some(d) = self
            .inner
            .definitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(d.clone());
        }
        let sm = self
            .inner
            .store
            .state_machine(
                &record.state_machine_arn,
                Some(record.state_machine_version),
            )
            .await?
            .ok_or_else(|| StoreError::StateMachineDoesNotExist {
                arn: record.state_machine_arn.clone(),
            })?;
        self.version_of(&sm)
    }

    /// The parsed definition and execution logger of a state machine
    /// version (cached: parsed once per version).
    fn version_of(&self, sm: &StateMachineRecord) -> Result<Version, EngineError> {
        if let Some(d) = self
            .inner
            .definitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(sm.arn.clone(), sm.version))
        {
            return Ok(d.clone());
        }
        let options = ParseOptions {
            state_machine_type: match sm.machine_type {
                StateMachineType::Standard => AslType::Standard,
                StateMachineType::Express => AslType::Express,
            },
        };
        let def = parse_definition_with(&sm.definition, &options).map_err(|diags| {
            EngineError::InvalidDefinition(
                diags
                    .first()
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "invalid definition".into()),
            )
        })?;
        let def = Arc::new(def);
        let logging = LoggingConfig::from_json(&sm.logging).map_err(|e| {
            EngineError::InvalidDefinition(format!("logging configuration of {}: {e}", sm.arn))
        })?;
        let logger = ExecutionLogger::open(logging).unwrap_or_else(|e| {
            tracing::warn!(state_machine = %sm.arn, error = %e, "cannot open the execution log; logging is off");
            ExecutionLogger::off()
        });
        let entry = (def, logger);
        self.inner
            .definitions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((sm.arn.clone(), sm.version), entry.clone());
        Ok(entry)
    }

    /// The inbox of an execution that runs here, registered so that
    /// `stop_execution` can reach it (removed by `execution_ended`).
    fn register_running(
        &self,
        arn: &str,
    ) -> (mpsc::UnboundedSender<Input>, mpsc::UnboundedReceiver<Input>) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(arn.to_owned(), tx.clone());
        (tx, rx)
    }

    fn spawn_execution(&self, record: ExecutionRecord, resume: Option<LiveExecution>) {
        let (tx, rx) = self.register_running(&record.arn);
        if let Some(live) = &resume {
            // Callback tokens answer from now on; their heartbeat clocks
            // start when the execution's task performs them.
            for request in live.pending_tasks() {
                if let Some(token) = &request.task_token {
                    self.inner.callbacks.register(
                        token,
                        &record.arn,
                        request.task,
                        tx.clone(),
                        false,
                    );
                }
            }
        }
        let engine = self.clone();
        self.inner.metrics.waiting.increment(1.0);
        self.spawn(async move {
            let arn = record.arn.clone();
            // Wait for a slot: the start is durable already, only the run waits.
            let permit = Arc::clone(&engine.inner.slots).acquire_owned().await;
            engine.inner.metrics.waiting.decrement(1.0);
            // The semaphore is never closed; were it, nothing could run here.
            let Ok(permit) = permit else { return };
            engine.inner.metrics.running.increment(1.0);
            // Boxed: the run's future is ~3.5 KiB (the live execution is in
            // it); inline, it made this task that big, and spawning memmoved
            // it several times per execution (memmove: 5.3% -> 3.4% of the
            // server's CPU samples in scripts/bench-webhook.sh).
            let outcome = Box::pin(engine.run_execution(record, resume, tx, rx)).await;
            engine.execution_ended(&arn, outcome, permit);
        });
    }

    /// Bookkeeping when an execution's task ends (finished here, or stopped
    /// by an error and left RUNNING in the store for the next recovery).
    fn execution_ended(
        &self,
        arn: &str,
        outcome: Result<(), EngineError>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        self.inner.metrics.running.decrement(1.0);
        if let Err(e) = outcome {
            tracing::error!(execution_arn = %arn, error = %e, "execution stopped running here; it resumes on the next recovery");
        }
        drop(permit);
        self.inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(arn);
        self.inner.callbacks.forget(arn, |_| false);
        self.notify_finished();
    }

    /// Wakes `wait_for` callers after an execution finished.
    fn notify_finished(&self) {
        // Only `wait_for` listens; it subscribes before it reads the store,
        // so with no subscriber now there is nobody to wake (a later one
        // reads the finished record). `send_modify` wakes all of the
        // channel's notifier shards, once per execution otherwise. The
        // fence pairs with the one in `wait_for`: either this load sees its
        // subscription, or its store read sees this finish.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        if self.inner.finished.receiver_count() > 0 {
            self.inner.finished.send_modify(|n| *n += 1);
        }
    }

    async fn run_execution(
        &self,
        record: ExecutionRecord,
        resume: Option<LiveExecution>,
        tx: mpsc::UnboundedSender<Input>,
        rx: mpsc::UnboundedReceiver<Input>,
    ) -> Result<(), EngineError> {
        let (def, logger) = self.definition(&record).await?;
        let info = execution_info(&record);
        let express = record.machine_type == StateMachineType::Express;
        let options = run_options(express, &logger);
        let live = match resume {
            Some(live) => {
                // Tasks in flight at the crash run again (at-least-once);
                // timers are re-armed and fire on time, once.
                let pending = Applied {
                    tasks: live.pending_tasks().cloned().collect(),
                    timers: live.pending_timers().collect(),
                    ..Applied::default()
                };
                self.perform(&record, &pending, &tx);
                live
            }
            None => {
                let (live, first) = LiveExecution::start(def, &record, info, options)?;
                self.commit(&first, express).await?;
                logger.log(&record.arn, &first.history);
                self.perform(&record, &first, &tx);
                if first.finished {
                    return Ok(());
                }
                live
            }
        };
        self.drive(live, record, logger, tx, rx).await
    }

    /// Runs an execution whose first step is committed: applies its events
    /// one at a time (commit the step, then perform its effects) until it
    /// ends. An EXPRESS execution times out `express_max_duration_ms` after
    /// its start.
    async fn drive(
        &self,
        mut live: LiveExecution,
        record: ExecutionRecord,
        logger: ExecutionLogger,
        tx: mpsc::UnboundedSender<Input>,
        mut rx: mpsc::UnboundedReceiver<Input>,
    ) -> Result<(), EngineError> {
        let express = record.machine_type == StateMachineType::Express;
        let clock = self.inner.clock;
        let deadline = record.start_time + self.inner.limits.express_max_duration_ms;
        // In the loop rather than a task of its own: a sleeping task per
        // execution would outlive the execution by minutes.
        let timeout = async move {
            if express {
                clock.sleep_until(deadline).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(timeout);
        let mut timed_out = false;
        loop {
            let input = tokio::select! {
                input = rx.recv() => match input {
                    Some(input) => input,
                    None => break,
                },
                () = &mut timeout, if !timed_out => {
                    timed_out = true;
                    Input::TimeOut
                }
            };
            let mut callback = None;
            let event = match input {
                Input::Event(mut event) => {
                    stamp(&mut event, self.inner.clock.now());
                    event
                }
                Input::Callback(mut event, reply) => {
                    stamp(&mut event, self.inner.clock.now());
                    callback = Some(reply);
                    event
                }
                Input::Stop { error, cause } => JournalEvent::Stopped {
                    error,
                    cause,
                    now: self.inner.clock.now(),
                },
                Input::TimeOut => JournalEvent::TimedOut {
                    now: self.inner.clock.now(),
                },
            };
            let Some(applied) = live.apply(event) else {
                if let Some(reply) = callback {
                    // Its task stopped waiting (answered, timed out, or
                    // cancelled) since the token was looked up.
                    let _ = reply.send(Err(CallbackError::TaskTimedOut));
                }
                continue;
            };
            let committed = self.commit(&applied, express).await;
            if let Some(reply) = callback {
                let _ = reply.send(match &committed {
                    Ok(()) => Ok(()),
                    Err(e) => Err(CallbackError::Store(e.to_string())),
                });
            }
            committed?;
            logger.log(&record.arn, &applied.history);
            self.perform(&record, &applied, &tx);
            if !self.inner.callbacks.is_empty() {
                let pending: std::collections::BTreeSet<_> =
                    live.pending_tasks().map(|t| t.task).collect();
                self.inner
                    .callbacks
                    .forget(&record.arn, |task| pending.contains(&task));
            }
            if applied.finished {
                break;
            }
        }
        Ok(())
    }

    /// `SendTaskSuccess`: the `.waitForTaskToken` task holding `token`
    /// succeeds with `output` (JSON text). Returns once that is committed.
    pub async fn send_task_success(&self, token: &str, output: &str) -> Result<(), CallbackError> {
        check_token(token)?;
        if output.len() > self.inner.limits.max_input_bytes {
            return Err(CallbackError::InvalidOutput(format!(
                "the output is {} bytes; the limit is {} bytes",
                output.len(),
                self.inner.limits.max_input_bytes
            )));
        }
        let output: Value = serde_json::from_str(output).map_err(|e| {
            CallbackError::InvalidOutput(format!("the output is not valid JSON: {e}"))
        })?;
        self.callback(token, |task| JournalEvent::TaskSucceeded {
            task,
            output,
            now: 0,
        })
        .await
    }

    /// `SendTaskFailure`: the task holding `token` fails with `error` and
    /// `cause` (its Retry and Catch apply). Returns once committed.
    pub async fn send_task_failure(
        &self,
        token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), CallbackError> {
        check_token(token)?;
        self.callback(token, |task| JournalEvent::TaskFailed {
            task,
            error,
            cause,
            now: 0,
        })
        .await
    }

    /// `GetActivityTask`: the oldest task scheduled for `activity_arn` that
    /// still waits, or `None` after `wait` without one (AWS long-polls up
    /// to 60 s). The worker answers with the task's token.
    pub async fn get_activity_task(
        &self,
        activity_arn: &str,
        wait: Duration,
    ) -> Option<ActivityTask> {
        let callbacks = &self.inner.callbacks;
        self.inner
            .activities
            .next(activity_arn, wait, |token| callbacks.lookup(token).is_ok())
            .await
    }

    /// `SendTaskHeartbeat`: the task holding `token` is alive; its
    /// `HeartbeatSeconds` count again from now.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        check_token(token)?;
        self.inner.callbacks.heartbeat(token)
    }

    async fn callback(
        &self,
        token: &str,
        event: impl FnOnce(asl::interpreter::TaskId) -> JournalEvent,
    ) -> Result<(), CallbackError> {
        let (task, inbox) = self.inner.callbacks.lookup(token)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        inbox
            .send(Input::Callback(event(task), reply))
            .map_err(|_| CallbackError::TaskTimedOut)?;
        answer.await.map_err(|_| CallbackError::TaskTimedOut)?
    }

    /// Commits a step (Express: only its completion; its history goes to
    /// the logs, not the store).
    async fn commit(&self, applied: &Applied, express: bool) -> Result<(), EngineError> {
        let result = self.commit_step(applied, express).await;
        if let (Ok(()), Some(completion)) = (&result, &applied.step.completion) {
            self.inner.metrics.finished(completion.status);
        }
        result
    }

    async fn commit_step(&self, applied: &Applied, express: bool) -> Result<(), EngineError> {
        if express {
            if let Some(completion) = &applied.step.completion {
                let step = store::ExecutionStep {
                    execution_arn: applied.step.execution_arn.clone(),
                    completion: Some(completion.clone()),
                    ..store::ExecutionStep::default()
                };
                self.inner.store.commit_step(step).await?;
            }
            return Ok(());
        }
        if applied.step.journal.is_empty()
            && applied.step.history.is_empty()
            && applied.step.completion.is_none()
        {
            return Ok(());
        }
        self.inner.store.commit_step(applied.step.clone()).await?;
        Ok(())
    }

    /// Performs a committed step's effects.
    ///
    /// A `.waitForTaskToken` task (it has a token) registers its token
    /// first, then runs its integration only to hand the token over: the
    /// integration's failure fails the task, its result is ignored, and the
    /// task ends with the callback (or its timeout, or a missed heartbeat).
    ///
    /// Step Functions' own `startExecution` integration (nested workflows)
    /// runs here, on this engine; every other resource goes to the
    /// [`TaskInvoker`].
    fn perform(
        &self,
        record: &ExecutionRecord,
        applied: &Applied,
        tx: &mpsc::UnboundedSender<Input>,
    ) {
        let arn = record.arn.as_str();
        for request in &applied.tasks {
            let tasks = Arc::clone(&self.inner.tasks);
            let nested = crate::nested::pattern(&request.resource)
                .map(|pattern| (self.clone(), record.clone(), pattern));
            let tx = tx.clone();
            let request = request.clone();
            let task = request.task;
            let callback = request.task_token.is_some();
            if let Some(token) = &request.task_token {
                let beats = self.inner.callbacks.register(
                    token,
                    arn,
                    task,
                    tx.clone(),
                    request.heartbeat_seconds.is_some(),
                );
                if let (Some(beats), Some(seconds)) = (beats, request.heartbeat_seconds) {
                    self.spawn(heartbeat_watchdog(beats, seconds, task, tx.clone()));
                }
                if asl::interpreter::is_activity_arn(&request.resource) {
                    // An activity's integration is its queue: a worker's
                    // GetActivityTask takes it.
                    self.inner.activities.schedule(
                        &request.resource,
                        ActivityTask {
                            task_token: token.clone(),
                            input: request.parameters.to_string(),
                        },
                    );
                    continue;
                }
            }
            self.spawn(async move {
                let result = match nested {
                    Some((engine, parent, pattern)) => {
                        engine.run_nested(&parent, request, pattern).await
                    }
                    None => tasks.invoke(request).await,
                };
                let event = match result {
                    Ok(_) if callback => return,
                    Ok(output) => JournalEvent::TaskSucceeded {
                        task,
                        output,
                        now: 0,
                    },
                    Err(f) => JournalEvent::TaskFailed {
                        task,
                        error: f.error,
                        cause: f.cause,
                        now: 0,
                    },
                };
                let _ = tx.send(Input::Event(event));
            });
        }
        for &(timer, fire_at) in &applied.timers {
            let tx = tx.clone();
            let clock = self.inner.clock;
            self.spawn(async move {
                clock.sleep_until(fire_at).await;
                let _ = tx.send(Input::Event(JournalEvent::TimerFired {
                    timer,
                    now: fire_at,
                }));
            });
        }
    }
}

/// Fails a callback task with `States.HeartbeatTimeout` when no heartbeat
/// arrives for `seconds`. Ends when the task stops waiting (its token is
/// forgotten, which drops the heartbeat clock).
async fn heartbeat_watchdog(
    mut beats: tokio::sync::watch::Receiver<tokio::time::Instant>,
    seconds: u64,
    task: asl::interpreter::TaskId,
    tx: mpsc::UnboundedSender<Input>,
) {
    let period = Duration::from_secs(seconds);
    loop {
        let last = *beats.borrow_and_update();
        tokio::select! {
            () = tokio::time::sleep_until(last + period) => {
                let _ = tx.send(Input::Event(JournalEvent::TaskFailed {
                    task,
                    error: Some(asl::failure::STATES_HEARTBEAT_TIMEOUT.to_owned()),
                    cause: None,
                    now: 0,
                }));
                return;
            }
            changed = beats.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// How an execution runs: EXPRESS history exists only for the logs.
fn run_options(express: bool, logger: &ExecutionLogger) -> Options {
    Options {
        record_history: !express || logger.level() != LogLevel::Off,
        ..Options::default()
    }
}

/// The part of a first step the store keeps, taken out of `applied`
/// (EXPRESS: only a completion; its history goes to the logs).
fn durable_step(applied: &mut Applied, express: bool) -> store::ExecutionStep {
    if express {
        store::ExecutionStep {
            execution_arn: applied.step.execution_arn.clone(),
            completion: applied.step.completion.clone(),
            ..store::ExecutionStep::default()
        }
    } else {
        std::mem::take(&mut applied.step)
    }
}

/// JSON equality (object key order and spacing do not matter).
fn same_json(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

fn invalid_input(e: &serde_json::Error) -> EngineError {
    EngineError::InvalidExecutionInput(format!("the input is not valid JSON: {e}"))
}

/// Sets the time an event is applied at; a timer never fires before its
/// deadline, even if the clock is behind it.
fn stamp(event: &mut JournalEvent, now: EpochMillis) {
    match event {
        JournalEvent::TaskSucceeded { now: t, .. }
        | JournalEvent::TaskFailed { now: t, .. }
        | JournalEvent::Stopped { now: t, .. }
        | JournalEvent::TimedOut { now: t } => *t = now,
        JournalEvent::TimerFired { now: t, .. } => *t = (*t).max(now),
    }
}

/// AWS: names are 1–80 characters, without whitespace, brackets, wildcards,
/// or the characters `" # % \ ^ | ~ ` $ & , ; : /` and control characters.
fn validate_name(name: &str) -> Result<(), EngineError> {
    let bad =
        |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(bad) {
        return Err(EngineError::InvalidName(format!(
            "'{name}' is not a valid execution name: use 1 to 80 characters, no whitespace and none of < > {{ }} [ ] ? * \" # % \\ ^ | ~ ` $ & , ; : /"
        )));
    }
    Ok(())
}

/// `…:stateMachine:SM` → `…:execution:SM:NAME` (STANDARD) or
/// `…:express:SM:NAME:ID` (EXPRESS, whose names are not unique).
fn execution_arn(
    sm_arn: &str,
    name: &str,
    machine_type: StateMachineType,
    express_id: &str,
) -> String {
    // Built in one allocation (this runs for every start).
    let (kind, id) = match machine_type {
        StateMachineType::Standard => (":execution:", None),
        StateMachineType::Express => (":express:", Some(express_id)),
    };
    let (head, tail) = sm_arn.split_once(":stateMachine:").unwrap_or((sm_arn, ""));
    let mut arn = String::with_capacity(sm_arn.len() + name.len() + express_id.len() + 2);
    arn.push_str(head);
    if sm_arn.len() > head.len() {
        arn.push_str(kind);
        arn.push_str(tail);
    }
    arn.push(':');
    arn.push_str(name);
    if let Some(id) = id {
        arn.push(':');
        arn.push_str(id);
    }
    arn
}

fn execution_info(record: &ExecutionRecord) -> ExecutionInfo {
    let sm_name = record
        .state_machine_arn
        .rsplit(':')
        .next()
        .unwrap_or_default();
    ExecutionInfo {
        execution_arn: record.arn.as_str().into(),
        name: record.name.as_str().into(),
        state_machine_arn: record.state_machine_arn.as_str().into(),
        state_machine_name: sm_name.into(),
        role_arn: "arn:aws:iam::000000000000:role/stepgate".into(),
        start_time: record.start_time,
        redrive_count: (record.machine_type == StateMachineType::Standard).then_some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_arns_are_as_aws_derives_them() {
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:sample";
        let standard = execution_arn(sm, "run-1", StateMachineType::Standard, "ignored");
        assert_eq!(
            standard,
            "arn:aws:states:us-east-1:123456789012:execution:sample:run-1"
        );
        assert_eq!(standard, store::standard_execution_arn(sm, "run-1"));
        assert_eq!(
            execution_arn(sm, "run-1", StateMachineType::Express, "abc"),
            "arn:aws:states:us-east-1:123456789012:express:sample:run-1:abc"
        );
    }
}
