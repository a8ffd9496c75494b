//! `stepgate run --config` in memory: the loop of `asl::runner::run_to_completion`,
//! with Task states performed concurrently by a [`TaskInvoker`].
//!
//! Owns one thing: feeding an [`Execution`] its task results and timers
//! while several tasks are in flight (a Map's iterations, Parallel
//! branches), so a function's `concurrency` is what bounds them, as under
//! `serve`. It must not hold ASL semantics (the interpreter's) nor
//! durability (`run --store` uses the engine).
//!
//! Design: `asl::runner` performs one task at a time through a synchronous
//! `TaskHandler` (it stays free of IO, convention 1), so wrapping the
//! `TaskInvoker` in a blocking adapter would run a Map of 1,000 items one
//! invocation after the other whatever the function's `concurrency`.
//! Rejected: running in memory through the engine on the memory store —
//! it would lose `--fast-wait` (its clock is tokio's) and `--history`'s
//! in-memory events.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use asl::definition::Definition;
use asl::entropy::Entropy;
use asl::failure::Failure;
use asl::interpreter::{Effect, Execution, ExecutionInfo, Options, Status, TaskId, TimerId};
use asl::runner::RunResult;
use asl::timestamp::EpochMillis;
use engine::scheduler::TaskInvoker;
use serde_json::Value;
use tokio::task::{AbortHandle, JoinSet};

use crate::system::now_millis;

/// A task's result, as its invocation returns it.
type Finished = (TaskId, Result<Value, Failure>);

/// What the loop waits for next.
enum Next {
    Task(TaskId, Result<Value, Failure>),
    Timer(TimerId, EpochMillis),
    /// An aborted task was reaped; nothing to report.
    Nothing,
    Stalled,
}

/// Runs `definition` on `input` until the execution ends, every Task
/// through `tasks`, concurrently. With `fast_wait`, time is virtual: tasks
/// take none, and a timer fires (time jumping to it) only when no task is
/// in flight, as in `asl::runner` with a `VirtualClock`; otherwise timers
/// fire on the system clock.
pub(crate) async fn run_to_completion(
    definition: Arc<Definition>,
    info: ExecutionInfo,
    options: Options,
    input: Value,
    tasks: Arc<dyn TaskInvoker>,
    fast_wait: bool,
    entropy: &mut dyn Entropy,
) -> RunResult {
    let mut virtual_now = info.start_time;
    let mut now = |at_least: EpochMillis| -> EpochMillis {
        if fast_wait {
            virtual_now = virtual_now.max(at_least);
            virtual_now
        } else {
            now_millis().max(at_least)
        }
    };
    let mut exec = Execution::new(definition, info, options);
    let mut history = Vec::new();
    let mut timers: BinaryHeap<Reverse<(EpochMillis, u64, TimerId)>> = BinaryHeap::new();
    let mut seq = 0u64;
    // Dropping the set (when the execution ends) aborts what is still in
    // flight, which kills those invocations' processes.
    let mut running: JoinSet<Finished> = JoinSet::new();
    let mut in_flight: HashMap<TaskId, AbortHandle> = HashMap::new();
    let mut effects = exec.start(input, now(0), entropy);
    loop {
        history.append(&mut exec.take_history());
        if *exec.status() != Status::Running {
            break;
        }
        for effect in effects.drain(..) {
            match effect {
                Effect::InvokeTask(request) => {
                    let task = request.task;
                    let call = tasks.invoke(request);
                    let handle = running.spawn(async move { (task, call.await) });
                    in_flight.insert(task, handle);
                }
                Effect::StartTimer { timer, fire_at } => {
                    seq += 1;
                    timers.push(Reverse((fire_at, seq, timer)));
                }
                Effect::CancelTask { task } => {
                    if let Some(handle) = in_flight.remove(&task) {
                        handle.abort();
                    }
                }
            }
        }
        let next_timer = timers.peek().map(|Reverse((at, _, _))| *at);
        let next = if fast_wait && in_flight.is_empty() && next_timer.is_some() {
            pop_timer(&mut timers)
        } else if fast_wait || next_timer.is_none() {
            reap(running.join_next().await, &in_flight)
        } else {
            let at = next_timer.unwrap_or_default();
            let wait = Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0));
            tokio::select! {
                joined = running.join_next(), if !running.is_empty() => reap(joined, &in_flight),
                () = tokio::time::sleep(wait) => pop_timer(&mut timers),
            }
        };
        effects = match next {
            Next::Task(task, result) => {
                in_flight.remove(&task);
                let at = now(0);
                match result {
                    Ok(output) => exec.task_succeeded(task, output, at, entropy),
                    Err(failure) => exec.task_failed(task, failure, at, entropy),
                }
            }
            Next::Timer(timer, fire_at) => exec.timer_fired(timer, now(fire_at), entropy),
            Next::Nothing => Vec::new(),
            // Nothing left to wait for: only an interpreter bug gets here;
            // report it rather than hang (as `asl::runner` does).
            Next::Stalled => exec.abort(
                Some("States.Runtime".into()),
                Some("The execution stalled with no pending task or timer.".into()),
                now(0),
            ),
        };
    }
    RunResult {
        status: exec.status().clone(),
        history,
    }
}

fn pop_timer(timers: &mut BinaryHeap<Reverse<(EpochMillis, u64, TimerId)>>) -> Next {
    match timers.pop() {
        Some(Reverse((fire_at, _, timer))) => Next::Timer(timer, fire_at),
        None => Next::Stalled,
    }
}

/// A finished task's result; an aborted (cancelled) task reports nothing.
/// A task whose invocation panicked fails with `States.TaskFailed` rather
/// than leave the execution waiting for it.
fn reap(
    joined: Option<Result<Finished, tokio::task::JoinError>>,
    in_flight: &HashMap<TaskId, AbortHandle>,
) -> Next {
    match joined {
        None => Next::Stalled,
        Some(Ok((task, result))) => Next::Task(task, result),
        Some(Err(e)) if e.is_cancelled() => Next::Nothing,
        Some(Err(e)) => match in_flight.iter().find(|(_, h)| h.id() == e.id()) {
            Some((&task, _)) => Next::Task(
                task,
                Err(Failure::new(
                    asl::failure::STATES_TASK_FAILED,
                    format!("The task's invocation panicked (a stepgate bug): {e}"),
                )),
            ),
            None => Next::Nothing,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use asl::entropy::SplitMix64;
    use asl::interpreter::TaskRequest;
    use engine::scheduler::TaskFuture;
    use serde_json::json;

    use super::*;

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:test";

    /// Sleeps `parameters.ms` real milliseconds, then returns its
    /// parameters (or fails with `Boom` if `parameters.fail`); records the
    /// most invocations in flight at once.
    #[derive(Default)]
    struct Sleeper {
        in_flight: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
    }

    impl TaskInvoker for Sleeper {
        fn invoke(&self, request: TaskRequest) -> TaskFuture {
            let in_flight = Arc::clone(&self.in_flight);
            let peak = Arc::clone(&self.peak);
            Box::pin(async move {
                peak.fetch_max(
                    in_flight.fetch_add(1, Ordering::SeqCst) + 1,
                    Ordering::SeqCst,
                );
                let ms = request.parameters["ms"].as_u64().unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                if request.parameters["fail"] == true {
                    return Err(Failure::new("Boom", "asked to fail"));
                }
                Ok(request.parameters)
            })
        }
    }

    async fn run(definition: Value, input: Value, fast_wait: bool, tasks: Arc<Sleeper>) -> Status {
        let definition = asl::parse::parse_definition(&definition.to_string()).expect("valid");
        run_to_completion(
            Arc::new(definition),
            ExecutionInfo::local("test", "run", 1_000),
            Options::default(),
            input,
            tasks,
            fast_wait,
            &mut SplitMix64(7),
        )
        .await
        .status
    }

    #[tokio::test]
    async fn map_iterations_run_at_once_and_their_results_keep_the_items_order() {
        let definition = json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "MaxConcurrency": 0, "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {
                "T": {"Type": "Task", "Resource": FUNCTION, "End": true}}}}}});
        // Later items finish first.
        let items: Vec<Value> = (0..20)
            .map(|i| json!({"i": i, "ms": 100 - 4 * i}))
            .collect();
        let tasks = Arc::new(Sleeper::default());
        let status = run(definition, json!(items), false, Arc::clone(&tasks)).await;
        assert_eq!(status, Status::Succeeded(Arc::new(json!(items))));
        assert_eq!(tasks.peak.load(Ordering::SeqCst), 20);
    }

    #[tokio::test]
    async fn with_fast_wait_waits_take_no_time_and_task_timeouts_wait_for_the_task() {
        let definition = json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 3600, "Next": "T"},
            "T": {"Type": "Task", "Resource": FUNCTION, "TimeoutSeconds": 1,
                  "Parameters": {"ms": 50}, "End": true}}});
        let started = Instant::now();
        let status = run(definition, json!({}), true, Arc::default()).await;
        assert_eq!(status, Status::Succeeded(Arc::new(json!({"ms": 50}))));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_failed_branch_cancels_the_other_branchs_task() {
        let branch = |name: &str, parameters: Value| {
            json!({"StartAt": name, "States": {name: {"Type": "Task",
                "Resource": FUNCTION, "Parameters": parameters, "End": true}}})
        };
        let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Branches": [branch("Slow", json!({"ms": 60_000})), branch("Fails", json!({"ms": 10, "fail": true}))]}}});
        let started = Instant::now();
        let status = run(definition, json!({}), false, Arc::default()).await;
        assert_eq!(
            status,
            Status::Failed(Failure::new("Boom", "asked to fail"))
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the 60 s task was not cancelled"
        );
    }
}
