//! Runs one execution to completion in memory, performing its effects.
//!
//! Owns the loop around [`Execution`]: tasks go to a [`TaskHandler`], timers
//! wait on a [`Clock`]. Both are traits so that this stays free of IO: the
//! CLI passes the system clock (real waits) or a [`VirtualClock`]
//! (`--fast-wait`, tests, benchmarks). The durable engine does not use this
//! module; it persists each step instead.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use serde_json::Value;

use crate::definition::Definition;
use crate::entropy::Entropy;
use crate::failure::{self, Failure};
use crate::history::HistoryEvent;
use crate::interpreter::{Effect, Execution, ExecutionInfo, Options, Status, TaskRequest};
use crate::timestamp::EpochMillis;

/// Runs Task states.
pub trait TaskHandler {
    /// Performs the task and returns its result or its failure.
    fn invoke(&mut self, request: &TaskRequest) -> Result<Value, Failure>;
}

/// A handler with no functions configured: every Task fails with
/// `States.TaskFailed`, naming the resource.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTaskHandlers;

impl TaskHandler for NoTaskHandlers {
    fn invoke(&mut self, request: &TaskRequest) -> Result<Value, Failure> {
        Err(Failure::new(
            failure::STATES_TASK_FAILED,
            format!(
                "No task handler is configured for resource '{}' (state '{}'). Pass --config with a [functions] table to run Task states.",
                request.resource, request.state_name
            ),
        ))
    }
}

/// Where time comes from.
pub trait Clock {
    /// The current time.
    fn now(&mut self) -> EpochMillis;
    /// Returns once `deadline` has been reached.
    fn sleep_until(&mut self, deadline: EpochMillis);
}

/// A clock that jumps to each deadline instead of sleeping.
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock(pub EpochMillis);

impl Clock for VirtualClock {
    fn now(&mut self) -> EpochMillis {
        self.0
    }
    fn sleep_until(&mut self, deadline: EpochMillis) {
        self.0 = self.0.max(deadline);
    }
}

/// The result of [`run_to_completion`].
#[derive(Debug, Clone)]
pub struct RunResult {
    /// How it ended.
    pub status: Status,
    /// Every event, in order.
    pub history: Vec<HistoryEvent>,
}

/// Runs `definition` on `input` until the execution ends.
pub fn run_to_completion(
    definition: Arc<Definition>,
    info: ExecutionInfo,
    options: Options,
    input: Value,
    handler: &mut dyn TaskHandler,
    clock: &mut dyn Clock,
    entropy: &mut dyn Entropy,
) -> RunResult {
    let mut exec = Execution::new(definition, info, options);
    let mut history = Vec::new();
    let mut timers: BinaryHeap<Reverse<(EpochMillis, u64, u64)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut pending = exec.start(input, clock.now(), entropy);
    loop {
        if history.is_empty() {
            history = exec.take_history();
        } else {
            history.append(&mut exec.take_history());
        }
        if *exec.status() != Status::Running {
            break;
        }
        if let Some(effect) = (!pending.is_empty()).then(|| pending.remove(0)) {
            match effect {
                Effect::InvokeTask(req) => {
                    let result = handler.invoke(&req);
                    let now = clock.now();
                    let more = match result {
                        Ok(v) => exec.task_succeeded(req.task, v, now, entropy),
                        Err(f) => exec.task_failed(req.task, f, now, entropy),
                    };
                    pending.extend(more);
                }
                Effect::StartTimer { timer, fire_at } => {
                    seq += 1;
                    timers.push(Reverse((fire_at, seq, timer)));
                }
                Effect::CancelTask { .. } => {}
            }
            continue;
        }
        let Some(Reverse((fire_at, _, timer))) = timers.pop() else {
            // Nothing left to wait for: the execution cannot progress. This
            // only happens on an interpreter bug; report it rather than hang.
            let more = exec.abort(
                Some("States.Runtime".into()),
                Some("The execution stalled with no pending task or timer.".into()),
                clock.now(),
            );
            pending.extend(more);
            continue;
        };
        clock.sleep_until(fire_at);
        let now = clock.now();
        pending.extend(exec.timer_fired(timer, now, entropy));
    }
    RunResult {
        status: exec.status().clone(),
        history,
    }
}
