//! The state machine model: what a definition means once parsed and validated.
//!
//! Owns the typed, index-resolved [`Definition`]: every state of every scope
//! (top level, Parallel branches, Map item processors) in one arena, with
//! `Next` resolved to [`StateId`]s so that an invalid transition cannot be
//! represented. Parsing and validation live in [`crate::parse`]; running lives
//! in [`crate::interpreter`]. This module must stay plain data.

use std::sync::Arc;

use serde_json::Value;

use crate::choice::ChoiceRule;
use crate::path::Path;
use crate::payload::{Expression, Template};

/// Index of a state in [`Definition::states`].
pub type StateId = usize;
/// Index of a scope in [`Definition::scopes`].
pub type ScopeId = usize;

/// A parsed, valid state machine.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Top-level `Comment`.
    pub comment: Option<String>,
    /// Top-level `Version`.
    pub version: Option<String>,
    /// Top-level `TimeoutSeconds` (execution timeout).
    pub timeout_seconds: Option<u64>,
    /// Every scope; index 0 is the top level.
    pub scopes: Vec<Scope>,
    /// Every state of every scope.
    pub states: Vec<State>,
}

impl Definition {
    /// The top-level scope.
    pub const ROOT: ScopeId = 0;

    /// The state with this id.
    pub fn state(&self, id: StateId) -> &State {
        &self.states[id]
    }
}

/// A list of states with a start: the top level, a Parallel branch or a Map
/// item processor.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `StartAt`, resolved.
    pub start_at: StateId,
    /// The states that belong to this scope, in definition order.
    pub states: Vec<StateId>,
    /// The Parallel or Map state that owns this scope (`None` for the top level).
    pub parent: Option<StateId>,
}

/// Where a state goes when it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `Next`, resolved.
    Next(StateId),
    /// `End: true`.
    End,
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    /// The state's name (unique across the whole definition).
    pub name: Arc<str>,
    /// The scope it belongs to.
    pub scope: ScopeId,
    /// JSON pointer of the state in the definition, e.g. `/States/Foo`.
    pub location: String,
    /// `Comment`.
    pub comment: Option<String>,
    /// `InputPath`: `None` when `null` (input becomes `{}`); defaults to `$`.
    pub input_path: Option<Path>,
    /// `OutputPath`: `None` when `null` (output becomes `{}`); defaults to `$`.
    pub output_path: Option<Path>,
    /// `Assign` (workflow variables), evaluated after the state's work.
    pub assign: Option<Template>,
    /// What kind of state and its own fields.
    pub kind: StateKind,
}

/// The eight state types.
// A definition holds few states and they are read, not moved, on the hot
// path, so the size of the largest variant (Map) costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StateKind {
    /// `Type: Pass`.
    Pass(Pass),
    /// `Type: Task`.
    Task(Task),
    /// `Type: Choice`.
    Choice(Choice),
    /// `Type: Wait`.
    Wait(Wait),
    /// `Type: Succeed`.
    Succeed,
    /// `Type: Fail`.
    Fail(Fail),
    /// `Type: Parallel`.
    Parallel(Parallel),
    /// `Type: Map`.
    Map(Map),
}

impl StateKind {
    /// AWS's name of the type, as in `Type` and in history event names
    /// (`PassStateEntered`).
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// How a state that produces a result merges it into its input.
#[derive(Debug, Clone)]
pub struct ResultHandling {
    /// `ResultSelector` (Task, Parallel, Map).
    pub result_selector: Option<Template>,
    /// `ResultPath`: `None` when `null` (result discarded); defaults to `$`.
    pub result_path: Option<Path>,
}

impl Default for ResultHandling {
    fn default() -> Self {
        Self {
            result_selector: None,
            result_path: Path::parse("$").ok(),
        }
    }
}

/// `Type: Pass`.
#[derive(Debug, Clone)]
pub struct Pass {
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `Result`.
    pub result: Option<Value>,
    /// `ResultPath`: `None` when `null`; defaults to `$`.
    pub result_path: Option<Path>,
    /// `Next` or `End`.
    pub transition: Transition,
}

/// A number given literally or read from the input at run time
/// (`MaxConcurrency` / `MaxConcurrencyPath`, `TimeoutSeconds` / `TimeoutSecondsPath`, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum NumberOrPath {
    /// The literal field.
    Literal(f64),
    /// The `...Path` field.
    Path(Path),
}

/// `Type: Task`.
#[derive(Debug, Clone)]
pub struct Task {
    /// `Resource` (an ARN).
    pub resource: String,
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `ResultSelector` and `ResultPath`.
    pub result_handling: ResultHandling,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout_seconds: Option<NumberOrPath>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat_seconds: Option<NumberOrPath>,
    /// `Credentials`.
    pub credentials: Option<Template>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// `Next` or `End`.
    pub transition: Transition,
}

/// `Type: Choice`.
#[derive(Debug, Clone)]
pub struct Choice {
    /// `Choices`, in order.
    pub choices: Vec<ChoiceBranch>,
    /// `Default`, resolved.
    pub default: Option<StateId>,
}

/// One rule of a Choice state with its target resolved.
#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    /// The rule.
    pub rule: ChoiceRule,
    /// `Next`, resolved.
    pub next: StateId,
    /// The rule's `Assign`, compiled.
    pub assign: Option<Template>,
}

/// How long a Wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `Seconds`.
    Seconds(u64),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `Timestamp`, as written (validated RFC 3339).
    Timestamp(String),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// `Type: Wait`.
#[derive(Debug, Clone)]
pub struct Wait {
    /// What to wait for.
    pub wait_for: WaitFor,
    /// `Next` or `End`.
    pub transition: Transition,
}

/// A Fail state's `Error`/`ErrorPath` or `Cause`/`CausePath`.
#[derive(Debug, Clone, PartialEq)]
pub enum FailField {
    /// The literal field.
    Literal(String),
    /// The `...Path` field: a path or an intrinsic call.
    Dynamic(Expression),
}

/// `Type: Fail`.
#[derive(Debug, Clone)]
pub struct Fail {
    /// `Error` / `ErrorPath`.
    pub error: Option<FailField>,
    /// `Cause` / `CausePath`.
    pub cause: Option<FailField>,
}

/// `Type: Parallel`.
#[derive(Debug, Clone)]
pub struct Parallel {
    /// `Branches`, in order.
    pub branches: Vec<ScopeId>,
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `ResultSelector` and `ResultPath`.
    pub result_handling: ResultHandling,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// `Next` or `End`.
    pub transition: Transition,
}

/// `ItemProcessor.ProcessorConfig.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessorMode {
    /// Iterations run inside the execution.
    Inline,
    /// Iterations run as child executions (run inline by stepgate for now;
    /// `ItemReader`/`ResultWriter` are refused as not supported yet).
    Distributed,
}

/// `ItemBatcher`.
#[derive(Debug, Clone)]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch` / `MaxItemsPerBatchPath`.
    pub max_items_per_batch: Option<NumberOrPath>,
    /// `MaxInputBytesPerBatch` / `MaxInputBytesPerBatchPath`.
    pub max_input_bytes_per_batch: Option<NumberOrPath>,
    /// `BatchInput`.
    pub batch_input: Option<Template>,
}

/// `Type: Map`.
#[derive(Debug, Clone)]
pub struct Map {
    /// `ItemProcessor` (or legacy `Iterator`).
    pub processor: ScopeId,
    /// `ProcessorConfig.Mode`.
    pub mode: ProcessorMode,
    /// `ItemsPath`, defaults to `$`.
    pub items_path: Path,
    /// `ItemSelector` (or legacy `Parameters`).
    pub item_selector: Option<Template>,
    /// `ItemBatcher`.
    pub item_batcher: Option<ItemBatcher>,
    /// `MaxConcurrency` / `MaxConcurrencyPath` (0 = unlimited).
    pub max_concurrency: Option<NumberOrPath>,
    /// `ToleratedFailureCount` / `ToleratedFailureCountPath`.
    pub tolerated_failure_count: Option<NumberOrPath>,
    /// `ToleratedFailurePercentage` / `ToleratedFailurePercentagePath`.
    pub tolerated_failure_percentage: Option<NumberOrPath>,
    /// `Label`.
    pub label: Option<String>,
    /// `ResultSelector` and `ResultPath`.
    pub result_handling: ResultHandling,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// `Next` or `End`.
    pub transition: Transition,
}

/// `JitterStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JitterStrategy {
    /// No jitter (default).
    #[default]
    None,
    /// A random delay between 0 and the computed backoff.
    Full,
}

/// One entry of `Retry`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: u64,
    /// `MaxAttempts` (default 3; 0 = never retry).
    pub max_attempts: u64,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<u64>,
    /// `JitterStrategy`.
    pub jitter_strategy: JitterStrategy,
}

/// One entry of `Catch`.
#[derive(Debug, Clone)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`, resolved.
    pub next: StateId,
    /// `ResultPath`: `None` when `null`; defaults to `$`.
    pub result_path: Option<Path>,
    /// `Assign`.
    pub assign: Option<Template>,
}
