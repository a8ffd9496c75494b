//! The ASL interpreter: one execution as a pure step function.
//!
//! Owns the runtime state of an execution ([`Execution`]): which states are
//! active in which "thread" (the top level, each Parallel branch, each Map
//! iteration), workflow variables, retries, and the history it appends.
//! Callers feed it events (start, task succeeded/failed, timer fired), each
//! with the current time and a source of randomness, and get back
//! [`Effect`]s to perform (invoke a task, start a timer, cancel a task). It
//! runs every thread as far as it can go before returning, so a machine
//! without tasks or waits completes inside [`Execution::start`].
//!
//! It must not do IO, read a clock or sleep: the engine (durable) and the
//! in-memory [`crate::runner`] perform effects.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map as JsonMap, Value};

use crate::definition::{
    Catcher, Definition, FailField, JitterStrategy, Map, NumberOrPath, ProcessorMode,
    ResultHandling, Retrier, StateId, StateKind, Transition, WaitFor,
};
use crate::entropy::Entropy;
use crate::failure::{self, Failure};
use crate::history::{EventDetails, EventType, HistoryEvent};
use crate::path::{Path, PathEnv, Variables, set_at_reference_path};
use crate::payload::{Template, compact_json};
use crate::timestamp::{EpochMillis, format_timestamp, parse_timestamp};

/// Identifies a task invocation the interpreter asked for.
pub type TaskId = u64;
/// Identifies a timer the interpreter asked for.
pub type TimerId = u64;

/// AWS's default maximum size of a state's input or output (256 KiB).
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 262_144;

/// AWS's cap on concurrent iterations of an inline Map.
const MAX_INLINE_MAP_CONCURRENCY: usize = 40;

/// AWS's limit on the total size of the variables one state assigns.
const MAX_ASSIGN_BYTES: usize = 262_144;

/// AWS's limit of history events per execution.
pub const DEFAULT_MAX_HISTORY_EVENTS: u64 = 25_000;

/// The longest a Wait state may wait, in seconds (AWS: about 2^31 seconds).
const MAX_WAIT_SECONDS: i64 = 99_999_999;

/// Who is running and where: the facts the context object (`$$`) exposes.
/// Shared strings, so that many executions of one state machine (and a
/// retried start) copy no text.
#[derive(Debug, Clone)]
pub struct ExecutionInfo {
    /// `$$.Execution.Id`: the execution ARN.
    pub execution_arn: Arc<str>,
    /// `$$.Execution.Name`.
    pub name: Arc<str>,
    /// `$$.StateMachine.Id`.
    pub state_machine_arn: Arc<str>,
    /// `$$.StateMachine.Name`.
    pub state_machine_name: Arc<str>,
    /// `$$.Execution.RoleArn`.
    pub role_arn: Arc<str>,
    /// `$$.Execution.StartTime`.
    pub start_time: EpochMillis,
    /// `$$.Execution.RedriveCount`; `None` for Express executions, whose
    /// context object has no such field.
    pub redrive_count: Option<u64>,
}

impl ExecutionInfo {
    /// Local defaults for a state machine called `state_machine_name` and an
    /// execution called `name`, with ARNs in the `local` region.
    pub fn local(state_machine_name: &str, name: &str, start_time: EpochMillis) -> Self {
        Self {
            execution_arn: format!(
                "arn:aws:states:local:000000000000:execution:{state_machine_name}:{name}"
            )
            .into(),
            name: name.into(),
            state_machine_arn: format!(
                "arn:aws:states:local:000000000000:stateMachine:{state_machine_name}"
            )
            .into(),
            state_machine_name: state_machine_name.into(),
            role_arn: "arn:aws:iam::000000000000:role/stepgate".into(),
            start_time,
            redrive_count: Some(0),
        }
    }
}

/// Knobs that are not part of the definition.
#[derive(Debug, Clone)]
pub struct Options {
    /// Maximum bytes of a state's output (`States.DataLimitExceeded` above it).
    pub max_payload_bytes: usize,
    /// Whether to record history events (the engine always does; benchmarks
    /// may measure both).
    pub record_history: bool,
    /// AWS fails a Standard execution whose history would pass 25,000
    /// events; the limit also stops a definition that loops forever (events
    /// are counted even when not recorded, and in Distributed Map
    /// iterations). `None`: no limit.
    pub max_history_events: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            record_history: true,
            max_history_events: Some(DEFAULT_MAX_HISTORY_EVENTS),
        }
    }
}

/// A task the caller must run, then report with
/// [`Execution::task_succeeded`] or [`Execution::task_failed`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// Identifies this invocation.
    pub task: TaskId,
    /// The Task state's `Resource`.
    pub resource: String,
    /// The effective parameters (after `InputPath` and `Parameters`).
    pub parameters: Value,
    /// The Task state's name.
    pub state_name: Arc<str>,
    /// `TimeoutSeconds` (resolved). The interpreter enforces it with its own
    /// timer (an [`Effect::StartTimer`] next to this request); a caller that
    /// notices the timeout first may report `States.Timeout` itself.
    pub timeout_seconds: Option<u64>,
    /// `HeartbeatSeconds` (resolved). Heartbeats reach the caller, not the
    /// interpreter: the caller reports `States.HeartbeatTimeout` when one is
    /// missed.
    pub heartbeat_seconds: Option<u64>,
    /// For callback resources ([`is_callback_resource`]: `.waitForTaskToken`
    /// integrations and activities): the token (`$$.Task.Token`) that
    /// SendTaskSuccess/SendTaskFailure must present; the task completes only
    /// when it is used, not when the call returns.
    pub task_token: Option<String>,
}

/// Something the caller must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run a task.
    InvokeTask(TaskRequest),
    /// Call [`Execution::timer_fired`] at (not before) this time.
    StartTimer {
        /// Identifies the timer.
        timer: TimerId,
        /// When it fires.
        fire_at: EpochMillis,
    },
    /// A task is no longer wanted (its branch was aborted); its result, if it
    /// still comes, is ignored.
    CancelTask {
        /// The task.
        task: TaskId,
    },
}

/// Where an execution stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Not finished.
    Running,
    /// Finished with this output (shared with the history's last event).
    Succeeded(Arc<Value>),
    /// Failed.
    Failed(Failure),
    /// Ran past the definition's `TimeoutSeconds`.
    TimedOut(Failure),
    /// Stopped from outside.
    Aborted(Failure),
}

impl Status {
    /// AWS's status name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded(_) => "SUCCEEDED",
            Status::Failed(_) => "FAILED",
            Status::TimedOut(_) => "TIMED_OUT",
            Status::Aborted(_) => "ABORTED",
        }
    }
}

type ThreadId = usize;

/// Variable values an `Assign` block produced, applied once the state's
/// output is known.
type Assigned = JsonMap<String, Value>;

#[derive(Debug, Clone)]
struct VarFrame {
    own: HashMap<String, Value>,
    parent: Option<Arc<VarFrame>>,
}

#[derive(Debug, Clone, Default)]
struct Vars {
    frame: Option<Arc<VarFrame>>,
    /// Whether `frame` belongs to this thread (else it is the enclosing scope's).
    owned: bool,
}

impl Variables for Vars {
    fn get(&self, name: &str) -> Option<&Value> {
        let mut f = self.frame.as_deref();
        while let Some(frame) = f {
            if let Some(v) = frame.own.get(name) {
                return Some(v);
            }
            f = frame.parent.as_deref();
        }
        None
    }
}

impl Vars {
    fn child(&self) -> Vars {
        Vars {
            frame: self.frame.clone(),
            owned: false,
        }
    }

    fn assign(&mut self, values: JsonMap<String, Value>) {
        if values.is_empty() {
            return;
        }
        if !self.owned {
            self.frame = Some(Arc::new(VarFrame {
                own: HashMap::new(),
                parent: self.frame.take(),
            }));
            self.owned = true;
        }
        if let Some(frame) = self.frame.as_mut() {
            Arc::make_mut(frame).own.extend(values);
        }
    }
}

#[derive(Debug)]
enum Resume {
    TaskSucceeded(Value),
    TaskFailed(Failure),
    TimerFired,
    Children(Result<Vec<Value>, Failure>),
}

#[derive(Debug)]
enum Waiting {
    Nothing,
    Task(TaskId),
    Timer(TimerId),
    Children(Box<Join>),
}

#[derive(Debug)]
struct Join {
    children: Vec<ThreadId>,
    results: Vec<Value>,
    remaining: usize,
    next_to_start: usize,
    active: usize,
    limit: usize,
    map: Option<MapJoin>,
}

#[derive(Debug)]
struct MapJoin {
    inputs: Vec<Value>,
    /// The Map's effective input when `ItemSelector` is applied as each
    /// iteration starts (so only running iterations hold their selected
    /// input); `None` when `inputs` are final already.
    selector_input: Option<Arc<Value>>,
    tolerated_count: Option<u64>,
    tolerated_percentage: Option<f64>,
    failures: u64,
    distributed: bool,
}

#[derive(Debug, Clone, Copy)]
struct Parent {
    thread: ThreadId,
    slot: usize,
}

#[derive(Debug)]
struct Thread {
    state: StateId,
    /// The raw input of the current state (shared with the history).
    input: Arc<Value>,
    parent: Option<Parent>,
    vars: Vars,
    last_event: u64,
    entered_event: u64,
    entered_time: EpochMillis,
    /// Attempts used per retrier of the current state.
    retry_attempts: Vec<u64>,
    retry_count: u64,
    /// Whether the current state's `Entered` event is recorded (also true
    /// while it is retried: retries record no new `Entered`).
    entered: bool,
    /// `$$.Task.Token` of the current `.waitForTaskToken` attempt.
    task_token: Option<String>,
    /// Whether this thread's events stay out of the history (Distributed Map
    /// iterations run as child executions with their own history).
    quiet: bool,
    waiting: Waiting,
    resume: Option<Resume>,
}

#[derive(Debug, Clone, Copy)]
enum TimerPurpose {
    Thread(ThreadId),
    /// A Task's `TimeoutSeconds` elapsed (if the task is still running).
    TaskTimeout(TaskId),
    ExecutionTimeout,
}

/// What happens to a thread after a state finished its work.
enum Outcome {
    /// Go on with this state, with this output.
    Next(StateId, Arc<Value>),
    /// The scope finished with this output.
    End(Arc<Value>),
    /// The scope failed.
    Fail(Failure),
    /// The thread waits (task, timer, children).
    Blocked,
}

/// One execution of a state machine.
#[derive(Debug)]
pub struct Execution {
    def: Arc<Definition>,
    info: ExecutionInfo,
    options: Options,
    input: Arc<Value>,
    /// A shared `null`, left behind when a thread's input is moved out.
    null: Arc<Value>,
    threads: Vec<Option<Thread>>,
    free: Vec<ThreadId>,
    ready: VecDeque<ThreadId>,
    tasks: HashMap<TaskId, ThreadId>,
    /// The `TimeoutSeconds` timer of each running task that has one.
    task_timeouts: HashMap<TaskId, TimerId>,
    timers: HashMap<TimerId, TimerPurpose>,
    next_task: TaskId,
    next_timer: TimerId,
    history: Vec<HistoryEvent>,
    next_event_id: u64,
    status: Status,
    effects: Vec<Effect>,
    now: EpochMillis,
    /// Events of quiet threads (not in the history), counted for the limit.
    quiet_events: u64,
}

impl Execution {
    /// Prepares an execution; nothing runs until [`Execution::start`].
    pub fn new(def: Arc<Definition>, info: ExecutionInfo, options: Options) -> Self {
        let null = Arc::new(Value::Null);
        Self {
            def,
            info,
            options,
            input: Arc::clone(&null),
            null,
            threads: Vec::new(),
            free: Vec::new(),
            ready: VecDeque::new(),
            tasks: HashMap::new(),
            task_timeouts: HashMap::new(),
            timers: HashMap::new(),
            next_task: 1,
            next_timer: 1,
            history: Vec::with_capacity(16),
            next_event_id: 1,
            status: Status::Running,
            effects: Vec::new(),
            now: 0,
            quiet_events: 0,
        }
    }

    /// The current status.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The execution's facts.
    pub fn info(&self) -> &ExecutionInfo {
        &self.info
    }

    /// The time of the last event applied (the start time before any).
    pub fn now(&self) -> EpochMillis {
        self.now
    }

    /// Takes the history events recorded since the last call.
    pub fn take_history(&mut self) -> Vec<HistoryEvent> {
        std::mem::take(&mut self.history)
    }

    /// Starts the execution with `input` at time `now`.
    pub fn start(
        &mut self,
        input: Value,
        now: EpochMillis,
        entropy: &mut dyn Entropy,
    ) -> Vec<Effect> {
        self.now = now;
        let input = Arc::new(input);
        self.input = Arc::clone(&input);
        let started = self.event(
            0,
            EventType::ExecutionStarted,
            EventDetails {
                input: Some(Arc::clone(&input)),
                ..Default::default()
            },
        );
        if let Some(secs) = self.def.timeout_seconds {
            let timer = self.new_timer(TimerPurpose::ExecutionTimeout);
            self.effects.push(Effect::StartTimer {
                timer,
                fire_at: now.saturating_add(secs as i64 * 1000),
            });
        }
        let start = self.def.scopes[Definition::ROOT].start_at;
        let t = self.spawn(start, input, None, Vars::default(), started);
        self.ready.push_back(t);
        self.run(entropy);
        std::mem::take(&mut self.effects)
    }

    /// Reports that task `task` returned `output`.
    pub fn task_succeeded(
        &mut self,
        task: TaskId,
        output: Value,
        now: EpochMillis,
        entropy: &mut dyn Entropy,
    ) -> Vec<Effect> {
        self.resume_task(task, Resume::TaskSucceeded(output), now, entropy)
    }

    /// Reports that task `task` failed.
    pub fn task_failed(
        &mut self,
        task: TaskId,
        failure: Failure,
        now: EpochMillis,
        entropy: &mut dyn Entropy,
    ) -> Vec<Effect> {
        self.resume_task(task, Resume::TaskFailed(failure), now, entropy)
    }

    /// Reports that timer `timer` fired.
    pub fn timer_fired(
        &mut self,
        timer: TimerId,
        now: EpochMillis,
        entropy: &mut dyn Entropy,
    ) -> Vec<Effect> {
        self.now = now;
        match self.timers.remove(&timer) {
            Some(TimerPurpose::Thread(t)) if self.status == Status::Running => {
                if let Some(th) = self.threads.get_mut(t).and_then(Option::as_mut)
                    && matches!(th.waiting, Waiting::Timer(id) if id == timer)
                {
                    th.waiting = Waiting::Nothing;
                    th.resume = Some(Resume::TimerFired);
                    self.ready.push_back(t);
                }
                self.run(entropy);
            }
            Some(TimerPurpose::TaskTimeout(task)) if self.status == Status::Running => {
                // AWS Task state: "If the task runs longer than the specified
                // seconds, this state fails with a States.Timeout error name"
                // (history: TaskTimedOut, error States.Timeout, no cause).
                self.task_timeouts.remove(&task);
                if let Some(t) = self.tasks.remove(&task) {
                    self.effects.push(Effect::CancelTask { task });
                    if let Some(th) = self.threads.get_mut(t).and_then(Option::as_mut) {
                        th.waiting = Waiting::Nothing;
                        th.resume = Some(Resume::TaskFailed(Failure {
                            error: Some(failure::STATES_TIMEOUT.to_owned()),
                            cause: None,
                        }));
                        self.ready.push_back(t);
                    }
                    self.run(entropy);
                }
            }
            Some(TimerPurpose::ExecutionTimeout) if self.status == Status::Running => {
                self.finish_execution(Status::TimedOut(timeout_failure()));
            }
            _ => {}
        }
        std::mem::take(&mut self.effects)
    }

    /// Ends the execution as TIMED_OUT (`States.Timeout`) because a limit
    /// outside the definition ran out (an Express execution's 5 minutes).
    pub fn time_out(&mut self, now: EpochMillis) -> Vec<Effect> {
        self.now = now;
        if self.status == Status::Running {
            self.finish_execution(Status::TimedOut(timeout_failure()));
        }
        std::mem::take(&mut self.effects)
    }

    /// Stops the execution (`StopExecution`).
    pub fn abort(
        &mut self,
        error: Option<String>,
        cause: Option<String>,
        now: EpochMillis,
    ) -> Vec<Effect> {
        self.now = now;
        if self.status == Status::Running {
            self.finish_execution(Status::Aborted(Failure { error, cause }));
        }
        std::mem::take(&mut self.effects)
    }

    fn resume_task(
        &mut self,
        task: TaskId,
        resume: Resume,
        now: EpochMillis,
        entropy: &mut dyn Entropy,
    ) -> Vec<Effect> {
        self.now = now;
        if self.status != Status::Running {
            return Vec::new();
        }
        if let Some(t) = self.tasks.remove(&task) {
            self.clear_task_timeout(task);
            if let Some(th) = self.threads.get_mut(t).and_then(Option::as_mut) {
                th.waiting = Waiting::Nothing;
                th.resume = Some(resume);
                self.ready.push_back(t);
            }
            self.run(entropy);
        }
        std::mem::take(&mut self.effects)
    }

    // ----------------------------------------------------------------- plumbing

    fn event(&mut self, previous: u64, event_type: EventType, details: EventDetails) -> u64 {
        let id = self.next_event_id;
        self.next_event_id += 1;
        if self.options.record_history {
            self.history.push(HistoryEvent {
                id,
                previous_event_id: previous,
                timestamp: self.now,
                event_type,
                details,
            });
        }
        id
    }

    /// Records an event for a thread and chains its `previousEventId`.
    fn thread_event(&mut self, t: ThreadId, event_type: EventType, details: EventDetails) -> u64 {
        let prev = self.thread(t).last_event;
        if self.thread(t).quiet {
            self.quiet_events += 1;
            return prev;
        }
        let id = self.event(prev, event_type, details);
        self.thread_mut(t).last_event = id;
        id
    }

    fn thread(&self, t: ThreadId) -> &Thread {
        self.threads[t].as_ref().expect("live thread")
    }

    fn thread_mut(&mut self, t: ThreadId) -> &mut Thread {
        self.threads[t].as_mut().expect("live thread")
    }

    fn spawn(
        &mut self,
        state: StateId,
        input: Arc<Value>,
        parent: Option<Parent>,
        vars: Vars,
        last_event: u64,
    ) -> ThreadId {
        let th = Thread {
            state,
            input,
            parent,
            vars,
            last_event,
            entered_event: 0,
            entered_time: self.now,
            retry_attempts: Vec::new(),
            retry_count: 0,
            entered: false,
            task_token: None,
            quiet: false,
            waiting: Waiting::Nothing,
            resume: None,
        };
        if let Some(slot) = self.free.pop() {
            self.threads[slot] = Some(th);
            slot
        } else {
            self.threads.push(Some(th));
            self.threads.len() - 1
        }
    }

    fn kill(&mut self, t: ThreadId) {
        if let Some(th) = self.threads.get_mut(t).and_then(Option::take) {
            self.free.push(t);
            match th.waiting {
                Waiting::Task(task) => {
                    self.tasks.remove(&task);
                    self.clear_task_timeout(task);
                    self.effects.push(Effect::CancelTask { task });
                }
                Waiting::Timer(timer) => {
                    self.timers.remove(&timer);
                }
                Waiting::Children(join) => {
                    for c in join.children {
                        self.kill(c);
                    }
                }
                Waiting::Nothing => {}
            }
        }
    }

    /// Forgets the `TimeoutSeconds` timer of a task that ended; if the caller
    /// still fires it, `timer_fired` finds nothing to do.
    fn clear_task_timeout(&mut self, task: TaskId) {
        if let Some(timer) = self.task_timeouts.remove(&task) {
            self.timers.remove(&timer);
        }
    }

    fn new_timer(&mut self, purpose: TimerPurpose) -> TimerId {
        let id = self.next_timer;
        self.next_timer += 1;
        self.timers.insert(id, purpose);
        id
    }

    fn finish_execution(&mut self, status: Status) {
        let (event_type, details) = match &status {
            Status::Succeeded(out) => (
                EventType::ExecutionSucceeded,
                EventDetails {
                    output: self.options.record_history.then(|| Arc::clone(out)),
                    ..Default::default()
                },
            ),
            Status::Failed(f) => (EventType::ExecutionFailed, failure_details(f)),
            Status::TimedOut(f) => (EventType::ExecutionTimedOut, failure_details(f)),
            Status::Aborted(f) => (EventType::ExecutionAborted, failure_details(f)),
            Status::Running => return,
        };
        let prev = self.next_event_id - 1;
        self.event(prev, event_type, details);
        self.status = status;
        for t in 0..self.threads.len() {
            self.kill(t);
        }
        self.ready.clear();
        self.timers.clear();
        self.task_timeouts.clear();
    }

    fn run(&mut self, entropy: &mut dyn Entropy) {
        let def = Arc::clone(&self.def);
        while let Some(t) = self.ready.pop_front() {
            if self.status != Status::Running {
                return;
            }
            if self.over_event_limit() {
                let limit = self.options.max_history_events.unwrap_or_default();
                self.finish_execution(Status::Failed(Failure::runtime(format!(
                    "The execution reached the maximum number of history events ({limit})."
                ))));
                return;
            }
            if self.threads.get(t).is_some_and(Option::is_some) {
                self.run_thread(&def, t, entropy);
            }
        }
    }

    fn over_event_limit(&self) -> bool {
        self.options
            .max_history_events
            .is_some_and(|max| self.next_event_id - 1 + self.quiet_events >= max)
    }

    fn run_thread(&mut self, def: &Definition, t: ThreadId, entropy: &mut dyn Entropy) {
        loop {
            if self.over_event_limit() {
                // `run` ends the execution; keep the thread runnable so the
                // check is reached.
                self.ready.push_front(t);
                return;
            }
            let state_id = self.thread(t).state;
            let outcome = match self.thread_mut(t).resume.take() {
                Some(resume) => self.resume_state(def, t, state_id, resume, entropy),
                None => {
                    if !self.thread(t).entered {
                        self.record_entered(def, t, state_id);
                        // Let other branches and iterations enter their
                        // states too before this one runs: concurrent
                        // threads interleave as they do on AWS (all branches
                        // entered, then exited).
                        if !self.ready.is_empty() {
                            self.ready.push_back(t);
                            return;
                        }
                    }
                    self.enter_state(def, t, state_id, entropy)
                }
            };
            match outcome {
                Outcome::Blocked => return,
                Outcome::Next(next, output) => {
                    let th = self.thread_mut(t);
                    th.state = next;
                    th.input = output;
                    th.retry_attempts.clear();
                    th.retry_count = 0;
                    th.entered = false;
                }
                Outcome::End(output) => {
                    self.end_thread(t, Ok(output), entropy);
                    return;
                }
                Outcome::Fail(f) => {
                    self.end_thread(t, Err(f), entropy);
                    return;
                }
            }
        }
    }

    /// A thread's scope finished: report to its parent or end the execution.
    fn end_thread(
        &mut self,
        t: ThreadId,
        result: Result<Arc<Value>, Failure>,
        entropy: &mut dyn Entropy,
    ) {
        let parent = self.thread(t).parent;
        let last = self.thread(t).last_event;
        match parent {
            None => {
                let status = match result {
                    Ok(v) => Status::Succeeded(v),
                    Err(f) => Status::Failed(f),
                };
                self.finish_execution(status);
            }
            Some(p) => {
                self.threads[t] = None;
                self.free.push(t);
                self.child_finished(p, last, result.map(unshare), entropy);
            }
        }
    }

    fn child_finished(
        &mut self,
        p: Parent,
        child_last: u64,
        result: Result<Value, Failure>,
        entropy: &mut dyn Entropy,
    ) {
        let def = Arc::clone(&self.def);
        let Some(parent) = self.threads.get_mut(p.thread).and_then(Option::as_mut) else {
            return;
        };
        let parent_quiet = parent.quiet;
        let Waiting::Children(join) = &mut parent.waiting else {
            return;
        };
        join.active -= 1;
        join.remaining -= 1;
        let is_map = join.map.is_some();
        let distributed = join.map.as_ref().is_some_and(|m| m.distributed);
        let state_name = def.states[parent.state].name.clone();
        let record_iteration = is_map && !distributed && !parent_quiet;
        match result {
            Ok(v) => {
                join.results[p.slot] = v;
                if record_iteration {
                    self.event(
                        child_last,
                        EventType::MapIterationSucceeded,
                        EventDetails {
                            name: Some(state_name),
                            index: Some(p.slot),
                            ..Default::default()
                        },
                    );
                }
            }
            Err(f) => {
                if record_iteration {
                    self.event(
                        child_last,
                        EventType::MapIterationFailed,
                        EventDetails {
                            name: Some(state_name),
                            index: Some(p.slot),
                            ..Default::default()
                        },
                    );
                }
                let Some(parent) = self.threads.get_mut(p.thread).and_then(Option::as_mut) else {
                    return;
                };
                let Waiting::Children(join) = &mut parent.waiting else {
                    return;
                };
                let fatal = match &mut join.map {
                    Some(m) => {
                        m.failures += 1;
                        join.results[p.slot] = f.to_error_output();
                        let total = join.results.len() as f64;
                        // AWS (Map state, distributed mode): each field alone
                        // fails the Map Run when exceeded — "The Map Run fails
                        // if it exceeds this number" / "... this percentage",
                        // the percentage being failed items over all items.
                        // Reaching a threshold exactly is tolerated.
                        let over_count = m.tolerated_count.map(|c| m.failures > c);
                        let over_pct = m
                            .tolerated_percentage
                            .map(|pct| (m.failures as f64) * 100.0 / total > pct);
                        match (over_count, over_pct) {
                            (None, None) => Some(f),
                            (Some(true), _) | (_, Some(true)) => Some(Failure::new(
                                failure::STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                "The specified tolerated failure threshold was exceeded",
                            )),
                            _ => None,
                        }
                    }
                    None => Some(f),
                };
                if let Some(f) = fatal {
                    let children = std::mem::take(&mut join.children);
                    parent.waiting = Waiting::Nothing;
                    parent.resume = Some(Resume::Children(Err(f)));
                    for c in children {
                        self.kill(c);
                    }
                    self.ready.push_back(p.thread);
                    return;
                }
            }
        }
        self.continue_join(p.thread, entropy);
    }

    /// Starts more children of a join if its limit allows, or resumes the
    /// parent when all are done.
    /// Ends a join with a failure: its running children are killed and the
    /// Parallel/Map state resumes with the error.
    fn abort_join(&mut self, pt: ThreadId, failure: Failure) {
        let Some(parent) = self.threads.get_mut(pt).and_then(Option::as_mut) else {
            return;
        };
        let Waiting::Children(join) = &mut parent.waiting else {
            return;
        };
        let children = std::mem::take(&mut join.children);
        parent.waiting = Waiting::Nothing;
        parent.resume = Some(Resume::Children(Err(failure)));
        for c in children {
            self.kill(c);
        }
        self.ready.push_back(pt);
    }

    fn continue_join(&mut self, pt: ThreadId, entropy: &mut dyn Entropy) {
        let def = Arc::clone(&self.def);
        loop {
            let Some(parent) = self.threads.get_mut(pt).and_then(Option::as_mut) else {
                return;
            };
            let state_id = parent.state;
            let vars = parent.vars.child();
            let last = parent.last_event;
            let quiet = parent.quiet;
            let Waiting::Children(join) = &mut parent.waiting else {
                return;
            };
            if join.remaining == 0 {
                let results = std::mem::take(&mut join.results);
                parent.waiting = Waiting::Nothing;
                parent.resume = Some(Resume::Children(Ok(results)));
                self.ready.push_back(pt);
                return;
            }
            let total = join.results.len();
            if join.next_to_start >= total || (join.limit > 0 && join.active >= join.limit) {
                return;
            }
            let slot = join.next_to_start;
            join.next_to_start += 1;
            join.active += 1;
            let mut lazy_selection = None;
            let (start, input, distributed) = match (&mut join.map, &def.states[state_id].kind) {
                (Some(m), StateKind::Map(map)) => {
                    if let (Some(sel), Some(effective)) = (&map.item_selector, &m.selector_input) {
                        lazy_selection = Some((sel, Arc::clone(effective)));
                    }
                    (
                        def.scopes[map.processor].start_at,
                        std::mem::take(&mut m.inputs[slot]),
                        m.distributed,
                    )
                }
                (None, StateKind::Parallel(par)) => {
                    let input = match &join.results[slot] {
                        Value::Null => Value::Null,
                        v => v.clone(),
                    };
                    (def.scopes[par.branches[slot]].start_at, input, false)
                }
                _ => return,
            };
            let is_map = join.map.is_some();
            let input = match lazy_selection {
                None => input,
                Some((selector, effective)) => {
                    match self.eval_template(
                        pt,
                        selector,
                        &effective,
                        Some((slot, &input)),
                        entropy,
                    ) {
                        Ok(selected) => selected,
                        Err(f) => {
                            // A failing ItemSelector fails the Map state.
                            self.abort_join(pt, f);
                            return;
                        }
                    }
                }
            };
            let first_event = if is_map && !distributed && !quiet {
                let name = def.states[state_id].name.clone();
                self.event(
                    last,
                    EventType::MapIterationStarted,
                    EventDetails {
                        name: Some(name),
                        index: Some(slot),
                        ..Default::default()
                    },
                )
            } else {
                last
            };
            let child = self.spawn(
                start,
                Arc::new(input),
                Some(Parent { thread: pt, slot }),
                vars,
                first_event,
            );
            if distributed || quiet {
                // Distributed iterations are child executions with their own
                // history; the parent's history shows only the Map Run.
                self.thread_mut(child).quiet = true;
            }
            if let Some(Some(parent)) = self.threads.get_mut(pt)
                && let Waiting::Children(join) = &mut parent.waiting
            {
                join.children.push(child);
            }
            self.ready.push_back(child);
        }
    }

    // ------------------------------------------------------------ state logic

    fn context(&self, t: ThreadId, map_item: Option<(usize, &Value)>) -> Value {
        let th = self.thread(t);
        let state = &self.def.states[th.state];
        let mut state_obj = JsonMap::new();
        state_obj.insert("Name".into(), Value::String(state.name.to_string()));
        state_obj.insert(
            "EnteredTime".into(),
            Value::String(format_timestamp(th.entered_time)),
        );
        if matches!(state.kind, StateKind::Task(_)) {
            state_obj.insert("RetryCount".into(), Value::from(th.retry_count));
        }
        let mut ctx = JsonMap::new();
        let mut exec = JsonMap::new();
        exec.insert(
            "Id".into(),
            Value::String(self.info.execution_arn.to_string()),
        );
        exec.insert("Input".into(), Value::clone(&self.input));
        exec.insert(
            "StartTime".into(),
            Value::String(format_timestamp(self.info.start_time)),
        );
        exec.insert("Name".into(), Value::String(self.info.name.to_string()));
        exec.insert(
            "RoleArn".into(),
            Value::String(self.info.role_arn.to_string()),
        );
        if let Some(n) = self.info.redrive_count {
            exec.insert("RedriveCount".into(), Value::from(n));
        }
        ctx.insert("Execution".into(), Value::Object(exec));
        let mut sm = JsonMap::new();
        sm.insert(
            "Id".into(),
            Value::String(self.info.state_machine_arn.to_string()),
        );
        sm.insert(
            "Name".into(),
            Value::String(self.info.state_machine_name.to_string()),
        );
        ctx.insert("StateMachine".into(), Value::Object(sm));
        ctx.insert("State".into(), Value::Object(state_obj));
        if let Some(token) = &th.task_token {
            let mut task = JsonMap::new();
            task.insert("Token".into(), Value::String(token.clone()));
            ctx.insert("Task".into(), Value::Object(task));
        }
        if let Some((index, value)) = map_item {
            let mut item = JsonMap::new();
            item.insert("Index".into(), Value::from(index));
            item.insert("Value".into(), value.clone());
            let mut m = JsonMap::new();
            m.insert("Item".into(), Value::Object(item));
            ctx.insert("Map".into(), Value::Object(m));
        }
        Value::Object(ctx)
    }

    /// Prefixes a runtime cause with AWS's "An error occurred while executing
    /// the state ..." sentence.
    fn runtime(&self, t: ThreadId, cause: &str) -> Failure {
        let th = self.thread(t);
        Failure::runtime(format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {}",
            self.def.states[th.state].name, th.entered_event, cause
        ))
    }

    fn wrap_runtime(&self, t: ThreadId, f: Failure) -> Failure {
        if f.error.as_deref() == Some(failure::STATES_RUNTIME) {
            self.runtime(t, f.cause.as_deref().unwrap_or(""))
        } else {
            f
        }
    }

    /// Applies `InputPath`: `None` (null) gives `{}`.
    fn apply_io_path<'v>(
        &self,
        t: ThreadId,
        path: Option<&Path>,
        value: &'v Value,
    ) -> Result<Cow<'v, Value>, Failure> {
        let Some(path) = path else {
            return Ok(Cow::Owned(Value::Object(JsonMap::new())));
        };
        if is_root(path) {
            return Ok(Cow::Borrowed(value));
        }
        let th = self.thread(t);
        let ctx;
        let context = if path.uses_context() {
            ctx = self.context(t, None);
            &ctx
        } else {
            &Value::Null
        };
        let env = PathEnv {
            input: value,
            context,
            variables: &th.vars,
        };
        path.select(&env).map(Cow::Owned).ok_or_else(|| {
            self.runtime(
                t,
                &format!(
                    "Invalid path '{}' : No results for path: {}",
                    path.text(),
                    path.normalized()
                ),
            )
        })
    }

    fn eval_template(
        &self,
        t: ThreadId,
        template: &Template,
        input: &Value,
        map_item: Option<(usize, &Value)>,
        entropy: &mut dyn Entropy,
    ) -> Result<Value, Failure> {
        let th = self.thread(t);
        let ctx;
        let context = if map_item.is_some() || template.uses_context() {
            ctx = self.context(t, map_item);
            &ctx
        } else {
            &Value::Null
        };
        let env = PathEnv {
            input,
            context,
            variables: &th.vars,
        };
        template
            .eval(&env, entropy)
            .map_err(|f| self.wrap_runtime(t, f))
    }

    fn select_path(&self, t: ThreadId, path: &Path, input: &Value) -> Option<Value> {
        let th = self.thread(t);
        let ctx;
        let context = if path.uses_context() {
            ctx = self.context(t, None);
            &ctx
        } else {
            &Value::Null
        };
        path.select(&PathEnv {
            input,
            context,
            variables: &th.vars,
        })
    }

    fn check_size(&self, t: ThreadId, value: &Value) -> Result<(), Failure> {
        if json_size(value, self.options.max_payload_bytes) > self.options.max_payload_bytes {
            let name = &self.def.states[self.thread(t).state].name;
            return Err(Failure::new(
                failure::STATES_DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
                ),
            ));
        }
        Ok(())
    }

    /// `States.DataLimitExceeded` for a state input (a Task's parameters)
    /// above the payload limit.
    fn check_input_size(&self, t: ThreadId, value: &Value) -> Result<(), Failure> {
        if json_size(value, self.options.max_payload_bytes) > self.options.max_payload_bytes {
            let name = &self.def.states[self.thread(t).state].name;
            return Err(Failure::new(
                failure::STATES_DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{name}' has an input with a size exceeding the maximum number of bytes service limit."
                ),
            ));
        }
        Ok(())
    }

    /// Evaluates `Assign` (against `assign_input`) into a map of new values;
    /// they are applied only after the state's output is computed.
    fn eval_assign(
        &self,
        t: ThreadId,
        assign: Option<&Template>,
        assign_input: &Value,
        entropy: &mut dyn Entropy,
    ) -> Result<Option<JsonMap<String, Value>>, Failure> {
        let Some(assign) = assign else {
            return Ok(None);
        };
        match self.eval_template(t, assign, assign_input, None, entropy)? {
            Value::Object(m) => {
                // AWS: the values assigned by one state may total at most
                // 256 KiB. Also what keeps a chain of self-doubling
                // assignments from exhausting memory.
                let size: usize = m
                    .iter()
                    .map(|(k, v)| k.len() + json_size(v, MAX_ASSIGN_BYTES))
                    .sum();
                if size > MAX_ASSIGN_BYTES {
                    return Err(self.runtime(
                        t,
                        &format!(
                            "The variables assigned by this state total {size} bytes, more than the {MAX_ASSIGN_BYTES}-byte limit."
                        ),
                    ));
                }
                Ok(Some(m))
            }
            _ => Ok(None),
        }
    }

    /// Common tail of a state that completed: OutputPath, Assign, Exited
    /// event, transition.
    #[allow(clippy::too_many_arguments)]
    fn complete(
        &mut self,
        def: &Definition,
        t: ThreadId,
        state_id: StateId,
        merged: Arc<Value>,
        assigned: Option<JsonMap<String, Value>>,
        transition: Option<Transition>,
    ) -> Outcome {
        let state = &def.states[state_id];
        let output = match &state.output_path {
            Some(p) if is_root(p) => merged,
            other => match self.apply_io_path(t, other.as_ref(), &merged) {
                Ok(v) => Arc::new(v.into_owned()),
                Err(f) => return Outcome::Fail(f),
            },
        };
        if let Err(f) = self.check_size(t, &output) {
            return Outcome::Fail(f);
        }
        if let Some(values) = assigned {
            self.thread_mut(t).vars.assign(values);
        }
        if let Some(exited) = EventType::state_exited(state.kind.type_name()) {
            let details = EventDetails {
                name: Some(state.name.clone()),
                output: self.options.record_history.then(|| Arc::clone(&output)),
                ..Default::default()
            };
            self.thread_event(t, exited, details);
        }
        match transition {
            Some(Transition::Next(n)) => Outcome::Next(n, output),
            Some(Transition::End) | None => Outcome::End(output),
        }
    }

    fn record_entered(&mut self, def: &Definition, t: ThreadId, state_id: StateId) {
        let state = &def.states[state_id];
        let details = EventDetails {
            name: Some(state.name.clone()),
            input: self
                .options
                .record_history
                .then(|| Arc::clone(&self.thread(t).input)),
            ..Default::default()
        };
        let id = self.thread_event(t, EventType::state_entered(state.kind.type_name()), details);
        let now = self.now;
        let th = self.thread_mut(t);
        th.entered = true;
        th.entered_event = id;
        th.entered_time = now;
    }

    fn enter_state(
        &mut self,
        def: &Definition,
        t: ThreadId,
        state_id: StateId,
        entropy: &mut dyn Entropy,
    ) -> Outcome {
        let state = &def.states[state_id];
        // States that are never retried or resumed do not need their raw
        // input kept on the thread.
        let raw = match &state.kind {
            StateKind::Pass(_) | StateKind::Choice(_) | StateKind::Succeed | StateKind::Fail(_) => {
                let null = Arc::clone(&self.null);
                std::mem::replace(&mut self.thread_mut(t).input, null)
            }
            _ => Arc::clone(&self.thread(t).input),
        };
        // Pass owns its raw input (it may move it into its output); the
        // others read an effective input borrowed from it.
        if let StateKind::Pass(pass) = &state.kind {
            return match self.run_pass(def, t, state_id, pass, raw, entropy) {
                Ok(outcome) => outcome,
                Err(f) => Outcome::Fail(f),
            };
        }
        if let StateKind::Fail(fail) = &state.kind {
            return match self.run_fail(t, fail, &raw, entropy) {
                Ok(outcome) => outcome,
                Err(f) => Outcome::Fail(f),
            };
        }
        let effective = match self.apply_io_path(t, state.input_path.as_ref(), &raw) {
            Ok(v) => v,
            Err(f) => return Outcome::Fail(f),
        };
        let result = match &state.kind {
            StateKind::Pass(pass) => {
                self.run_pass(def, t, state_id, pass, Arc::clone(&raw), entropy)
            }
            StateKind::Fail(fail) => self.run_fail(t, fail, &raw, entropy),
            StateKind::Succeed => {
                let effective = share(&raw, effective);
                Ok(self.complete(def, t, state_id, effective, None, None))
            }
            StateKind::Choice(choice) => {
                let effective = share(&raw, effective);
                self.run_choice(def, t, state_id, choice, effective, entropy)
            }
            StateKind::Wait(wait) => self.run_wait(t, wait, &effective),
            StateKind::Task(task) => self.start_task(t, state, task, &effective, entropy),
            StateKind::Parallel(par) => self.start_parallel(t, state_id, par, &effective, entropy),
            StateKind::Map(map) => self.start_map(t, state_id, map, &effective, entropy),
        };
        match result {
            Ok(outcome) => outcome,
            // A state that fails its own setup with a terminal error
            // (States.Runtime: bad path or value) records no
            // Map/ParallelStateFailed, as AWS does.
            Err(f) if f.is_terminal() => Outcome::Fail(f),
            Err(f) => self.handle_failure(def, t, state_id, f, entropy),
        }
    }

    fn resume_state(
        &mut self,
        def: &Definition,
        t: ThreadId,
        state_id: StateId,
        resume: Resume,
        entropy: &mut dyn Entropy,
    ) -> Outcome {
        let state = &def.states[state_id];
        let raw = Arc::clone(&self.thread(t).input);
        match (&state.kind, resume) {
            (StateKind::Wait(wait), Resume::TimerFired) => {
                let effective = match self.apply_io_path(t, state.input_path.as_ref(), &raw) {
                    Ok(v) => share(&raw, v),
                    Err(f) => return Outcome::Fail(f),
                };
                let assigned = match self.eval_assign(t, state.assign.as_ref(), &effective, entropy)
                {
                    Ok(a) => a,
                    Err(f) => return Outcome::Fail(f),
                };
                self.complete(def, t, state_id, effective, assigned, Some(wait.transition))
            }
            (_, Resume::TimerFired) => {
                // A retry interval elapsed: run the state again.
                self.enter_state(def, t, state_id, entropy)
            }
            (StateKind::Task(task), Resume::TaskSucceeded(result)) => {
                // AWS: States.DataLimitExceeded when "the output of a
                // connector is larger than payload size quota", before any
                // ResultSelector could shrink it; terminal, so neither
                // retried nor caught.
                if let Err(f) = self.check_size(t, &result) {
                    let mut details = failure_details(&f);
                    details.resource = Some(task.resource.clone());
                    self.thread_event(t, EventType::TaskFailed, details);
                    return Outcome::Fail(f);
                }
                self.thread_event(
                    t,
                    EventType::TaskSucceeded,
                    EventDetails {
                        resource: Some(task.resource.clone()),
                        output: self
                            .options
                            .record_history
                            .then(|| Arc::new(result.clone())),
                        ..Default::default()
                    },
                );
                match self.finish_with_result(
                    t,
                    &task.result_handling,
                    state.assign.as_ref(),
                    raw,
                    result,
                    entropy,
                ) {
                    Ok((merged, assigned)) => {
                        self.complete(def, t, state_id, merged, assigned, Some(task.transition))
                    }
                    Err(f) => self.handle_failure(def, t, state_id, f, entropy),
                }
            }
            (StateKind::Task(task), Resume::TaskFailed(f)) => {
                // A missed heartbeat is a timeout of the task too: AWS records
                // TaskTimedOut (whose details carry the error name) for both
                // States.Timeout and States.HeartbeatTimeout.
                let event_type = match f.error.as_deref() {
                    Some(failure::STATES_TIMEOUT | failure::STATES_HEARTBEAT_TIMEOUT) => {
                        EventType::TaskTimedOut
                    }
                    _ => EventType::TaskFailed,
                };
                let mut details = failure_details(&f);
                details.resource = Some(task.resource.clone());
                self.thread_event(t, event_type, details);
                self.handle_failure(def, t, state_id, f, entropy)
            }
            (StateKind::Parallel(par), Resume::Children(Ok(results))) => {
                // AWS records no ParallelStateSucceeded (none in any
                // recorded history), unlike MapStateSucceeded.
                match self.finish_with_result(
                    t,
                    &par.result_handling,
                    state.assign.as_ref(),
                    raw,
                    Value::Array(results),
                    entropy,
                ) {
                    Ok((merged, assigned)) => {
                        self.complete(def, t, state_id, merged, assigned, Some(par.transition))
                    }
                    Err(f) => self.handle_failure(def, t, state_id, f, entropy),
                }
            }
            (StateKind::Map(map), Resume::Children(Ok(results))) => {
                if map.mode == ProcessorMode::Distributed {
                    self.thread_event(t, EventType::MapRunSucceeded, EventDetails::default());
                }
                self.thread_event(t, EventType::MapStateSucceeded, EventDetails::default());
                match self.finish_with_result(
                    t,
                    &map.result_handling,
                    state.assign.as_ref(),
                    raw,
                    Value::Array(results),
                    entropy,
                ) {
                    Ok((merged, assigned)) => {
                        self.complete(def, t, state_id, merged, assigned, Some(map.transition))
                    }
                    Err(f) => self.handle_failure(def, t, state_id, f, entropy),
                }
            }
            (StateKind::Parallel(_) | StateKind::Map(_), Resume::Children(Err(f))) => {
                if let StateKind::Map(map) = &state.kind
                    && map.mode == ProcessorMode::Distributed
                {
                    self.thread_event(t, EventType::MapRunFailed, failure_details(&f));
                }
                self.handle_failure(def, t, state_id, f, entropy)
            }
            _ => Outcome::Fail(self.runtime(t, "Internal error: unexpected resumption.")),
        }
    }

    /// Assign (sees the raw result) → ResultSelector → ResultPath.
    fn finish_with_result(
        &mut self,
        t: ThreadId,
        handling: &ResultHandling,
        assign: Option<&Template>,
        raw: Arc<Value>,
        result: Value,
        entropy: &mut dyn Entropy,
    ) -> Result<(Arc<Value>, Option<Assigned>), Failure> {
        // Assign sees the raw result, before ResultSelector: the JSONPath
        // counterpart of JSONata's `$states.result`, and what LocalStack's
        // AWS-validated engine does (execute_state.py evaluates assign_decl
        // before result_selector).
        let assigned = self.eval_assign(t, assign, &result, entropy)?;
        let selected = match &handling.result_selector {
            Some(sel) => self.eval_template(t, sel, &result, None, entropy)?,
            None => result,
        };
        self.check_size(t, &selected)?;
        let merged = apply_result_path(handling.result_path.as_ref(), raw, selected)?;
        Ok((merged, assigned))
    }

    fn run_pass(
        &mut self,
        def: &Definition,
        t: ThreadId,
        state_id: StateId,
        pass: &crate::definition::Pass,
        raw: Arc<Value>,
        entropy: &mut dyn Entropy,
    ) -> Result<Outcome, Failure> {
        let state = &def.states[state_id];
        let result = {
            let effective = self.apply_io_path(t, state.input_path.as_ref(), &raw)?;
            if let Some(params) = &pass.parameters {
                self.eval_template(t, params, &effective, None, entropy)?
            } else if let Some(r) = &pass.result {
                r.clone()
            } else if pass.result_path.as_ref().is_some_and(is_root) {
                // The output is the effective input itself: share, don't copy.
                let output = share(&raw, effective);
                self.check_size(t, &output)?;
                let assigned = self.eval_assign(t, state.assign.as_ref(), &output, entropy)?;
                return Ok(self.complete(
                    def,
                    t,
                    state_id,
                    output,
                    assigned,
                    Some(pass.transition),
                ));
            } else {
                effective.into_owned()
            }
        };
        self.check_size(t, &result)?;
        let assigned = self.eval_assign(t, state.assign.as_ref(), &result, entropy)?;
        let merged = apply_result_path(pass.result_path.as_ref(), raw, result)?;
        Ok(self.complete(def, t, state_id, merged, assigned, Some(pass.transition)))
    }

    fn run_fail(
        &mut self,
        t: ThreadId,
        fail: &crate::definition::Fail,
        input: &Value,
        entropy: &mut dyn Entropy,
    ) -> Result<Outcome, Failure> {
        let field = |this: &Self,
                     f: &Option<FailField>,
                     name: &str,
                     entropy: &mut dyn Entropy|
         -> Result<Option<String>, Failure> {
            match f {
                None => Ok(None),
                Some(FailField::Literal(s)) => Ok(Some(s.clone())),
                Some(FailField::Dynamic(expr)) => {
                    let th = this.thread(t);
                    let ctx = if expr.uses_context() {
                        this.context(t, None)
                    } else {
                        Value::Null
                    };
                    let env = PathEnv {
                        input,
                        context: &ctx,
                        variables: &th.vars,
                    };
                    match expr.eval(name, &env, entropy) {
                        Ok(Value::String(s)) => Ok(Some(s)),
                        Ok(other) => Ok(Some(compact_json(&other))),
                        Err(f) => Err(this.wrap_runtime(t, f)),
                    }
                }
            }
        };
        let error = field(self, &fail.error, "ErrorPath", entropy)?;
        let cause = field(self, &fail.cause, "CausePath", entropy)?;
        Ok(Outcome::Fail(Failure { error, cause }))
    }

    fn run_choice(
        &mut self,
        def: &Definition,
        t: ThreadId,
        state_id: StateId,
        choice: &crate::definition::Choice,
        effective: Arc<Value>,
        entropy: &mut dyn Entropy,
    ) -> Result<Outcome, Failure> {
        let state = &def.states[state_id];
        let mut target = None;
        {
            let th = self.thread(t);
            let ctx = if state_uses_context_in_choice(choice) {
                self.context(t, None)
            } else {
                Value::Null
            };
            let env = PathEnv {
                input: &effective,
                context: &ctx,
                variables: &th.vars,
            };
            for branch in &choice.choices {
                if branch
                    .rule
                    .condition
                    .evaluate(&env)
                    .map_err(|f| self.wrap_runtime(t, f))?
                {
                    target = Some(branch);
                    break;
                }
            }
        }
        let (next, rule_assign) = match target {
            Some(b) => (b.next, b.assign.as_ref()),
            None => match choice.default {
                Some(d) => (d, None),
                None => {
                    return Ok(Outcome::Fail(Failure::new(
                        failure::STATES_NO_CHOICE_MATCHED,
                        format!(
                            "An error occurred while executing the state '{}' (entered at the event id #{}). No Choice Rules were matched and there was no Default specified.",
                            state.name,
                            self.thread(t).entered_event
                        ),
                    )));
                }
            },
        };
        let mut assigned = self.eval_assign(t, state.assign.as_ref(), &effective, entropy)?;
        if let Some(extra) = self.eval_assign(t, rule_assign, &effective, entropy)? {
            assigned.get_or_insert_with(JsonMap::new).extend(extra);
        }
        Ok(self.complete(
            def,
            t,
            state_id,
            effective,
            assigned,
            Some(Transition::Next(next)),
        ))
    }

    fn run_wait(
        &mut self,
        t: ThreadId,
        wait: &crate::definition::Wait,
        effective: &Value,
    ) -> Result<Outcome, Failure> {
        let fire_at = match &wait.wait_for {
            WaitFor::Seconds(s) => self.now.saturating_add((*s as i64).saturating_mul(1000)),
            WaitFor::SecondsPath(p) => {
                let v = self.select_path(t, p, effective).ok_or_else(|| {
                    self.runtime(
                        t,
                        &format!(
                            "The SecondsPath parameter does not reference an input value: {}",
                            p.text()
                        ),
                    )
                })?;
                let secs = match &v {
                    Value::Number(n) => match n.as_i64() {
                        Some(i) => i,
                        None => {
                            return Err(self.runtime(
                                t,
                                &format!("The SecondsPath parameter cannot be parsed as a long value: {} == {}", p.text(), v),
                            ));
                        }
                    },
                    _ => {
                        return Err(self.runtime(
                            t,
                            &format!("The SecondsPath parameter cannot be parsed as a long value: {} == {}", p.text(), v),
                        ));
                    }
                };
                if secs < 0 {
                    return Err(self.runtime(
                        t,
                        &format!(
                            "The SecondsPath parameter references a negative value: {} == {}",
                            p.text(),
                            secs
                        ),
                    ));
                }
                if secs > MAX_WAIT_SECONDS {
                    return Err(self.runtime(t, "Wait state delay is too long."));
                }
                self.now.saturating_add(secs * 1000)
            }
            WaitFor::Timestamp(text) => self.timestamp_millis(t, text, None)?,
            WaitFor::TimestampPath(p) => {
                let v = self.select_path(t, p, effective).ok_or_else(|| {
                    self.runtime(
                        t,
                        &format!(
                            "The TimestampPath parameter does not reference an input value: {}",
                            p.text()
                        ),
                    )
                })?;
                let text = match &v {
                    Value::String(s) => s.clone(),
                    other => compact_json(other),
                };
                self.timestamp_millis(t, &text, Some(p))?
            }
        };
        let timer = self.new_timer(TimerPurpose::Thread(t));
        self.thread_mut(t).waiting = Waiting::Timer(timer);
        self.effects.push(Effect::StartTimer { timer, fire_at });
        Ok(Outcome::Blocked)
    }

    fn timestamp_millis(
        &self,
        t: ThreadId,
        text: &str,
        path: Option<&Path>,
    ) -> Result<EpochMillis, Failure> {
        let Some(ts) = parse_timestamp(text) else {
            let p = path.map(Path::text).unwrap_or("Timestamp");
            return Err(self.runtime(
                t,
                &format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {text}"
                ),
            ));
        };
        let millis = ts.as_millisecond();
        if (millis - self.now) / 1000 > MAX_WAIT_SECONDS {
            return Err(self.runtime(t, "Wait state delay is too long."));
        }
        Ok(millis)
    }

    fn resolve_number(
        &self,
        t: ThreadId,
        n: &NumberOrPath,
        input: &Value,
        field: &str,
        kind: &str,
    ) -> Result<f64, Failure> {
        match n {
            NumberOrPath::Literal(v) => Ok(*v),
            NumberOrPath::Path(p) => {
                let v = self.select_path(t, p, input).ok_or_else(|| {
                    self.runtime(
                        t,
                        &format!(
                            "The {field}Path field does not reference an input value: {}",
                            p.text()
                        ),
                    )
                })?;
                let parsed = match (&v, kind) {
                    (Value::Number(n), "integer") => n.as_i64().map(|i| i as f64),
                    (Value::Number(n), _) => n.as_f64(),
                    (Value::String(s), "integer") => s.trim().parse::<i64>().ok().map(|i| i as f64),
                    (Value::String(s), _) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                parsed.ok_or_else(|| {
                    let shown = match &v {
                        Value::String(s) => s.clone(),
                        other => compact_json(other),
                    };
                    self.runtime(
                        t,
                        &format!("The {field}Path field refers to value \"{shown}\" which is not a valid {kind}: {}", p.text()),
                    )
                })
            }
        }
    }

    /// Resolves `TimeoutSeconds(Path)` / `HeartbeatSeconds(Path)`. AWS: "When
    /// resolved, the reference path must select fields whose values are
    /// positive integers."
    fn resolve_seconds(
        &self,
        t: ThreadId,
        n: &NumberOrPath,
        input: &Value,
        field: &str,
    ) -> Result<u64, Failure> {
        let v = self.resolve_number(t, n, input, field, "integer")?;
        if v < 1.0 {
            let path = match n {
                NumberOrPath::Path(p) => p.text(),
                NumberOrPath::Literal(_) => field,
            };
            return Err(self.runtime(
                t,
                &format!(
                    "The {field}Path field refers to value \"{v}\" which is not a valid positive integer: {path}"
                ),
            ));
        }
        Ok(v as u64)
    }

    fn start_task(
        &mut self,
        t: ThreadId,
        state: &crate::definition::State,
        task: &crate::definition::Task,
        effective: &Value,
        entropy: &mut dyn Entropy,
    ) -> Result<Outcome, Failure> {
        // Each attempt of a callback task gets a fresh token, visible to its
        // Parameters as `$$.Task.Token`; an activity's token is what its
        // worker receives from GetActivityTask.
        let task_token = is_callback_resource(&task.resource).then(|| new_task_token(entropy));
        self.thread_mut(t).task_token = task_token.clone();
        let parameters = match &task.parameters {
            Some(p) => self.eval_template(t, p, effective, None, entropy)?,
            None => effective.clone(),
        };
        // AWS: "States.DataLimitExceeded ... The input of a state is larger
        // than the payload size quota after Parameters processing."
        self.check_input_size(t, &parameters)?;
        let timeout_seconds = match &task.timeout_seconds {
            Some(n) => Some(self.resolve_seconds(t, n, effective, "TimeoutSeconds")?),
            None => None,
        };
        let heartbeat_seconds = match &task.heartbeat_seconds {
            Some(n) => Some(self.resolve_seconds(t, n, effective, "HeartbeatSeconds")?),
            None => None,
        };
        let id = self.next_task;
        self.next_task += 1;
        self.tasks.insert(id, t);
        if let Some(secs) = timeout_seconds {
            // AWS counts TimeoutSeconds from the task's start (TaskStarted,
            // recorded just below).
            let timer = self.new_timer(TimerPurpose::TaskTimeout(id));
            self.task_timeouts.insert(id, timer);
            self.effects.push(Effect::StartTimer {
                timer,
                fire_at: self.now.saturating_add((secs as i64).saturating_mul(1000)),
            });
        }
        self.thread_event(
            t,
            EventType::TaskScheduled,
            EventDetails {
                resource: Some(task.resource.clone()),
                parameters: self
                    .options
                    .record_history
                    .then(|| Arc::new(parameters.clone())),
                ..Default::default()
            },
        );
        self.thread_event(
            t,
            EventType::TaskStarted,
            EventDetails {
                resource: Some(task.resource.clone()),
                ..Default::default()
            },
        );
        self.thread_mut(t).waiting = Waiting::Task(id);
        self.effects.push(Effect::InvokeTask(TaskRequest {
            task: id,
            resource: task.resource.clone(),
            parameters,
            state_name: state.name.clone(),
            timeout_seconds,
            heartbeat_seconds,
            task_token,
        }));
        Ok(Outcome::Blocked)
    }

    fn start_parallel(
        &mut self,
        t: ThreadId,
        _state_id: StateId,
        par: &crate::definition::Parallel,
        effective: &Value,
        entropy: &mut dyn Entropy,
    ) -> Result<Outcome, Failure> {
        let input = match &par.parameters {
            Some(p) => self.eval_template(t, p, effective, None, entropy)?,
            None => effective.clone(),
        };
        self.thread_event(t, EventType::ParallelStateStarted, EventDetails::default());
        let n = par.branches.len();
        // Branch inputs are staged in `results` until each branch starts.
        let join = Join {
            children: Vec::with_capacity(n),
            results: vec![input; n],
            remaining: n,
            next_to_start: 0,
            active: 0,
            limit: 0,
            map: None,
        };
        self.thread_mut(t).waiting = Waiting::Children(Box::new(join));
        self.continue_join(t, entropy);
        Ok(Outcome::Blocked)
    }

    fn start_map(
        &mut self,
        t: ThreadId,
        state_id: StateId,
        map: &Map,
        effective: &Value,
        entropy: &mut dyn Entropy,
    ) -> Result<Outcome, Failure> {
        let def = Arc::clone(&self.def);
        let state = &def.states[state_id];
        let items = match self.select_path(t, &map.items_path, effective) {
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(self.runtime(
                    t,
                    &format!(
                        "Invalid path '{}': The value at the path is not an array: {}",
                        map.items_path.text(),
                        compact_json(&other)
                    ),
                ));
            }
            None => {
                return Err(self.runtime(
                    t,
                    &format!(
                        "Invalid path '{}' : No results for path: {}",
                        map.items_path.text(),
                        map.items_path.normalized()
                    ),
                ));
            }
        };
        let n = items.len();
        // AWS resolves MaxConcurrency before MapStateStarted and the
        // tolerated-failure fields after it (as recorded).
        let limit = match &map.max_concurrency {
            Some(m) => {
                let v = self.resolve_number(t, m, effective, "MaxConcurrency", "integer")?;
                if v < 0.0 {
                    return Err(self.runtime(t, "MaxConcurrency cannot be negative."));
                }
                v as usize
            }
            None => 0,
        };
        // AWS: an inline Map runs at most 40 iterations at once, whatever
        // MaxConcurrency says above that (0 = "as many as possible").
        let limit = match map.mode {
            ProcessorMode::Inline if limit == 0 || limit > MAX_INLINE_MAP_CONCURRENCY => {
                MAX_INLINE_MAP_CONCURRENCY
            }
            _ => limit,
        };
        self.thread_event(
            t,
            EventType::MapStateStarted,
            EventDetails {
                index: Some(n),
                ..Default::default()
            },
        );
        let tolerated_count = match &map.tolerated_failure_count {
            Some(c) => {
                let v = self.resolve_number(t, c, effective, "ToleratedFailureCount", "integer")?;
                if v < 0.0 {
                    return Err(self.runtime(t, "ToleratedFailureCount cannot be negative."));
                }
                Some(v as u64)
            }
            None => None,
        };
        let tolerated_percentage = match &map.tolerated_failure_percentage {
            Some(c) => {
                let v =
                    self.resolve_number(t, c, effective, "ToleratedFailurePercentage", "float")?;
                if !(0.0..=100.0).contains(&v) {
                    return Err(
                        self.runtime(t, "ToleratedFailurePercentage must be between 0 and 100.")
                    );
                }
                Some(v)
            }
            None => None,
        };
        // Without a batcher, ItemSelector runs as each iteration starts (at
        // most 40 at once for an inline Map), so a large Map never holds
        // every selected input at the same time. Batches need them all.
        let (inputs, selector_input) = match (&map.item_batcher, &map.item_selector) {
            (Some(batcher), _) => {
                let mut selected = Vec::with_capacity(n);
                for (index, item) in items.into_iter().enumerate() {
                    selected.push(match &map.item_selector {
                        Some(sel) => {
                            self.eval_template(t, sel, effective, Some((index, &item)), entropy)?
                        }
                        None => item,
                    });
                }
                (
                    self.batch_items(t, batcher, selected, effective, entropy)?,
                    None,
                )
            }
            (None, Some(_)) => (items, Some(Arc::new(effective.clone()))),
            (None, None) => (items, None),
        };
        let distributed = map.mode == ProcessorMode::Distributed;
        if distributed {
            self.thread_event(t, EventType::MapRunStarted, EventDetails::default());
        }
        let _ = state;
        let n = inputs.len();
        let join = Join {
            children: Vec::with_capacity(if limit == 0 { n } else { limit.min(n) }),
            results: vec![Value::Null; n],
            remaining: n,
            next_to_start: 0,
            active: 0,
            limit,
            map: Some(MapJoin {
                inputs,
                selector_input,
                tolerated_count,
                tolerated_percentage,
                failures: 0,
                distributed,
            }),
        };
        self.thread_mut(t).waiting = Waiting::Children(Box::new(join));
        self.continue_join(t, entropy);
        Ok(Outcome::Blocked)
    }

    fn batch_items(
        &self,
        t: ThreadId,
        batcher: &crate::definition::ItemBatcher,
        inputs: Vec<Value>,
        effective: &Value,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<Value>, Failure> {
        let max_items = match &batcher.max_items_per_batch {
            Some(n) => {
                self.resolve_number(t, n, effective, "MaxItemsPerBatch", "integer")? as usize
            }
            None => usize::MAX,
        }
        .max(1);
        let max_bytes = match &batcher.max_input_bytes_per_batch {
            Some(n) => {
                self.resolve_number(t, n, effective, "MaxInputBytesPerBatch", "integer")? as usize
            }
            None => usize::MAX,
        };
        let batch_input = match &batcher.batch_input {
            Some(b) => Some(self.eval_template(t, b, effective, None, entropy)?),
            None => None,
        };
        // AWS ItemBatcher: MaxInputBytesPerBatch is "the maximum number of
        // bytes that each child workflow execution processes", i.e. the
        // child's whole input `{"BatchInput": ..., "Items": [...]}`, so the
        // envelope and BatchInput count, and items are separated by commas.
        let envelope = r#"{"Items":[]}"#.len()
            + batch_input
                .as_ref()
                .map_or(0, |b| r#""BatchInput":,"#.len() + json_size(b, usize::MAX));
        let mut batches = Vec::new();
        let mut current: Vec<Value> = Vec::new();
        let mut bytes = envelope;
        for item in inputs {
            let size = json_size(&item, usize::MAX) + usize::from(!current.is_empty());
            if !current.is_empty() && (current.len() >= max_items || bytes + size > max_bytes) {
                batches.push(std::mem::take(&mut current));
                bytes = envelope;
                bytes += size - 1;
            } else {
                bytes += size;
            }
            current.push(item);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        Ok(batches
            .into_iter()
            .map(|items| {
                let mut m = JsonMap::new();
                if let Some(b) = &batch_input {
                    m.insert("BatchInput".into(), b.clone());
                }
                m.insert("Items".into(), Value::Array(items));
                Value::Object(m)
            })
            .collect())
    }

    /// Retry, then Catch, then fail the scope.
    fn handle_failure(
        &mut self,
        def: &Definition,
        t: ThreadId,
        state_id: StateId,
        f: Failure,
        entropy: &mut dyn Entropy,
    ) -> Outcome {
        let state = &def.states[state_id];
        let (retry, catch): (&[Retrier], &[Catcher]) = match &state.kind {
            StateKind::Task(x) => (&x.retry, &x.catch),
            StateKind::Parallel(x) => (&x.retry, &x.catch),
            StateKind::Map(x) => (&x.retry, &x.catch),
            _ => (&[], &[]),
        };
        let failed_event = match &state.kind {
            StateKind::Parallel(_) => Some(EventType::ParallelStateFailed),
            StateKind::Map(_) => Some(EventType::MapStateFailed),
            _ => None,
        };
        if !f.is_terminal() {
            if let Some(i) = retry
                .iter()
                .position(|r| error_matches(&r.error_equals, &f))
            {
                let r = &retry[i];
                let th = self.thread_mut(t);
                if th.retry_attempts.len() < retry.len() {
                    th.retry_attempts.resize(retry.len(), 0);
                }
                let attempt = th.retry_attempts[i];
                if attempt < r.max_attempts {
                    th.retry_attempts[i] += 1;
                    th.retry_count += 1;
                    let delay_ms = retry_delay_ms(r, attempt, entropy);
                    let timer = self.new_timer(TimerPurpose::Thread(t));
                    self.thread_mut(t).waiting = Waiting::Timer(timer);
                    self.effects.push(Effect::StartTimer {
                        timer,
                        fire_at: self.now.saturating_add(delay_ms),
                    });
                    return Outcome::Blocked;
                }
            }
            if let Some(c) = catch.iter().find(|c| error_matches(&c.error_equals, &f)) {
                if let Some(ev) = failed_event {
                    self.thread_event(t, ev, failure_details(&f));
                }
                let error_output = f.to_error_output();
                let raw = Arc::clone(&self.thread(t).input);
                let assigned = match self.eval_assign(t, c.assign.as_ref(), &error_output, entropy)
                {
                    Ok(a) => a,
                    Err(f) => return Outcome::Fail(f),
                };
                let merged = match apply_result_path(c.result_path.as_ref(), raw, error_output) {
                    Ok(v) => v,
                    Err(f) => return Outcome::Fail(f),
                };
                if let Err(f) = self.check_size(t, &merged) {
                    return Outcome::Fail(f);
                }
                if let Some(values) = assigned {
                    self.thread_mut(t).vars.assign(values);
                }
                if let Some(exited) = EventType::state_exited(state.kind.type_name()) {
                    self.thread_event(
                        t,
                        exited,
                        EventDetails {
                            name: Some(state.name.clone()),
                            output: self.options.record_history.then(|| Arc::clone(&merged)),
                            ..Default::default()
                        },
                    );
                }
                return Outcome::Next(c.next, merged);
            }
        }
        if let Some(ev) = failed_event {
            self.thread_event(t, ev, failure_details(&f));
        }
        Outcome::Fail(f)
    }
}

/// Applies `ResultPath`: `None` (null) keeps the input and drops the result;
/// `$` replaces it; anything else writes the result into (a copy of, when
/// shared) the raw input.
fn apply_result_path(
    path: Option<&Path>,
    raw_input: Arc<Value>,
    result: Value,
) -> Result<Arc<Value>, Failure> {
    let Some(path) = path else {
        return Ok(raw_input);
    };
    if is_root(path) {
        return Ok(Arc::new(result));
    }
    let mut target = unshare(raw_input);
    match set_at_reference_path(&mut target, path, result) {
        Ok(()) => Ok(Arc::new(target)),
        // AWS reports a ResultPath that cannot be applied as
        // States.ReferencePathConflict, with the bare cause.
        Err(e) => Err(Failure::new(failure::STATES_REFERENCE_PATH_CONFLICT, e.0)),
    }
}

/// The effective input as an `Arc`: the raw input itself when `InputPath`
/// selected the root (no copy), else the selected value.
fn share(raw: &Arc<Value>, effective: Cow<'_, Value>) -> Arc<Value> {
    match effective {
        Cow::Borrowed(_) => Arc::clone(raw),
        Cow::Owned(v) => Arc::new(v),
    }
}

/// Takes the value out of an `Arc`, copying only when it is shared (e.g. by
/// the history).
fn unshare(value: Arc<Value>) -> Value {
    Arc::try_unwrap(value).unwrap_or_else(|shared| Value::clone(&shared))
}

/// Whether a Task with this resource ends by a callback with a task token:
/// a `.waitForTaskToken` integration, or an activity
/// (`arn:PARTITION:states:REGION:ACCOUNT:activity:NAME`, whose worker gets
/// the token from GetActivityTask).
pub fn is_callback_resource(resource: &str) -> bool {
    resource.ends_with(".waitForTaskToken") || is_activity_arn(resource)
}

/// `arn:PARTITION:states:REGION:ACCOUNT:activity:NAME`.
pub fn is_activity_arn(resource: &str) -> bool {
    let parts: Vec<&str> = resource.split(':').collect();
    matches!(
        parts.as_slice(),
        ["arn", _, "states", region, account, "activity", name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty()
    )
}

/// An opaque callback token: 256 random bits, URL-safe. Unguessable only
/// when the caller's [`Entropy`] is a secure source (the engine's is).
fn new_task_token(entropy: &mut dyn Entropy) -> String {
    (0..4)
        .map(|_| format!("{:016x}", entropy.next_u64()))
        .collect()
}

fn is_root(path: &Path) -> bool {
    path.text() == "$"
}

/// What a timed-out execution reports: `States.Timeout`, no cause (as AWS).
fn timeout_failure() -> Failure {
    Failure {
        error: Some(failure::STATES_TIMEOUT.to_owned()),
        cause: None,
    }
}

fn failure_details(f: &Failure) -> EventDetails {
    EventDetails {
        error: f.error.clone(),
        cause: f.cause.clone(),
        ..Default::default()
    }
}

fn state_uses_context_in_choice(choice: &crate::definition::Choice) -> bool {
    choice
        .choices
        .iter()
        .any(|b| b.rule.condition.uses_context())
}

/// AWS's matching: names match exactly; `States.ALL` matches anything but the
/// terminal errors; `States.TaskFailed` matches any error but `States.Timeout`
/// and the terminal ones (AWS: "acts as a wildcard that matches any known
/// error name except for States.Timeout").
fn error_matches(error_equals: &[String], f: &Failure) -> bool {
    let name = f.error_name();
    error_equals.iter().any(|e| {
        e == name
            || (e == failure::STATES_ALL && !f.is_terminal())
            || (e == failure::STATES_TASK_FAILED
                && !f.is_terminal()
                && name != failure::STATES_TIMEOUT)
    })
}

fn retry_delay_ms(r: &Retrier, attempt: u64, entropy: &mut dyn Entropy) -> i64 {
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(attempt.min(1000) as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    if r.jitter_strategy == JitterStrategy::Full {
        secs *= entropy.next_f64();
    }
    (secs * 1000.0).clamp(0.0, 1e15) as i64
}

/// Digits (and sign) of a number as serde_json prints it, without
/// allocating for integers.
fn number_len(n: &serde_json::Number) -> usize {
    if let Some(u) = n.as_u64() {
        u.checked_ilog10().map_or(1, |d| d as usize + 1)
    } else if let Some(i) = n.as_i64() {
        1 + i
            .unsigned_abs()
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1)
    } else {
        n.to_string().len()
    }
}

/// The size in bytes of `value` serialized as compact JSON, counting stops
/// once past `limit` (so huge values are not walked entirely).
pub fn json_size(value: &Value, limit: usize) -> usize {
    fn string_len(s: &str) -> usize {
        2 + s.len()
            + s.bytes()
                .filter(|b| *b == b'"' || *b == b'\\' || *b < 0x20)
                .count()
    }
    fn walk(v: &Value, acc: &mut usize, limit: usize) {
        if *acc > limit {
            return;
        }
        match v {
            Value::Null => *acc += 4,
            Value::Bool(b) => *acc += if *b { 4 } else { 5 },
            Value::Number(n) => *acc += number_len(n),
            Value::String(s) => *acc += string_len(s),
            Value::Array(a) => {
                *acc += 2 + a.len().saturating_sub(1);
                for x in a {
                    walk(x, acc, limit);
                }
            }
            Value::Object(m) => {
                *acc += 2 + m.len().saturating_sub(1);
                for (k, x) in m {
                    *acc += string_len(k) + 1;
                    walk(x, acc, limit);
                }
            }
        }
    }
    let mut acc = 0;
    walk(value, &mut acc, limit);
    acc
}
