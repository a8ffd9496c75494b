//! Behaviour of the interpreter through its public API: data flow, errors,
//! retries, Map and Parallel, variables, timers, history.

use std::sync::Arc;

use asl::entropy::SplitMix64;
use asl::failure::Failure;
use asl::history::EventType;
use asl::interpreter::{Effect, Execution, ExecutionInfo, Options, Status, TaskRequest};
use asl::parse::parse_definition;
use asl::runner::{Clock, TaskHandler, VirtualClock, run_to_completion};
use serde_json::{Value, json};

fn def(v: Value) -> Arc<asl::definition::Definition> {
    Arc::new(
        parse_definition(&v.to_string()).unwrap_or_else(|d| panic!("definition invalid: {d:?}")),
    )
}

struct Echo;
impl TaskHandler for Echo {
    fn invoke(&mut self, req: &TaskRequest) -> Result<Value, Failure> {
        Ok(req.parameters.clone())
    }
}

/// Fails the first `n` invocations with `error`, then echoes.
struct Flaky {
    left: u32,
    error: &'static str,
    calls: u32,
}
impl TaskHandler for Flaky {
    fn invoke(&mut self, req: &TaskRequest) -> Result<Value, Failure> {
        self.calls += 1;
        if self.left > 0 {
            self.left -= 1;
            return Err(Failure::new(self.error, "flaky"));
        }
        Ok(req.parameters.clone())
    }
}

fn run_with(
    d: Value,
    input: Value,
    handler: &mut dyn TaskHandler,
) -> (Status, Vec<EventType>, i64) {
    let mut clock = VirtualClock(1_000_000);
    let r = run_to_completion(
        def(d),
        ExecutionInfo::local("sm", "ex", 1_000_000),
        Options::default(),
        input,
        handler,
        &mut clock,
        &mut SplitMix64(3),
    );
    (
        r.status,
        r.history.iter().map(|e| e.event_type).collect(),
        clock.now() - 1_000_000,
    )
}

fn run(d: Value, input: Value) -> Status {
    run_with(d, input, &mut Echo).0
}

fn ok(s: Status) -> Value {
    match s {
        Status::Succeeded(v) => Value::clone(&v),
        other => panic!("expected success, got {other:?}"),
    }
}

fn failed(s: Status) -> (Option<String>, Option<String>) {
    match s {
        Status::Failed(f) => (f.error, f.cause),
        other => panic!("expected failure, got {other:?}"),
    }
}

#[test]
fn data_flow_order_is_inputpath_parameters_resultselector_resultpath_outputpath() {
    let d = json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "InputPath": "$.in",
        "Parameters": {"x.$": "$.v", "const": 1},
        "ResultSelector": {"picked.$": "$.x"},
        "ResultPath": "$.out.result",
        "OutputPath": "$.out",
        "End": true}}});
    let out = ok(run(d, json!({"in": {"v": 7}, "keep": true})));
    assert_eq!(out, json!({"result": {"picked": 7}}));
}

#[test]
fn null_paths_give_empty_objects_and_discard_results() {
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": null, "Result": 5, "ResultPath": null, "Next": "Q"},
        "Q": {"Type": "Pass", "OutputPath": null, "End": true}}});
    assert_eq!(ok(run(d, json!({"a": 1}))), json!({}));
    let d =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": null, "End": true}}});
    assert_eq!(ok(run(d, json!({"a": 1}))), json!({}));
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 5, "ResultPath": null, "End": true}}});
    assert_eq!(ok(run(d, json!({"a": 1}))), json!({"a": 1}));
}

#[test]
fn result_path_creates_nested_objects() {
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "r", "ResultPath": "$.a.b.c", "End": true}}});
    assert_eq!(
        ok(run(d, json!({"x": 1}))),
        json!({"x": 1, "a": {"b": {"c": "r"}}})
    );
}

#[test]
fn missing_input_path_is_states_runtime_with_aws_cause() {
    let d = json!({"StartAt": "pass", "States": {"pass": {"Type": "Pass", "InputPath": "$.NoSuchInputPath", "End": true}}});
    let (e, c) = failed(run(d, json!({})));
    assert_eq!(e.as_deref(), Some("States.Runtime"));
    assert_eq!(
        c.as_deref(),
        Some(
            "An error occurred while executing the state 'pass' (entered at the event id #2). Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        )
    );
}

#[test]
fn retry_backs_off_then_succeeds() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}], "End": true}}});
    let mut h = Flaky {
        left: 2,
        error: "Boom",
        calls: 0,
    };
    let (s, _, elapsed) = run_with(d, json!({"k": 1}), &mut h);
    assert_eq!(ok(s), json!({"k": 1}));
    assert_eq!(h.calls, 3);
    assert_eq!(elapsed, 2_000 + 6_000, "intervals 2 s then 2×3 s");
}

#[test]
fn retry_max_attempts_zero_never_retries_and_max_delay_caps() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}], "End": true}}});
    let mut h = Flaky {
        left: 5,
        error: "Boom",
        calls: 0,
    };
    let (s, _, _) = run_with(d, json!({}), &mut h);
    assert_eq!(failed(s).0.as_deref(), Some("Boom"));
    assert_eq!(h.calls, 1);

    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 3, "MaxDelaySeconds": 15}], "End": true}}});
    let mut h = Flaky {
        left: 3,
        error: "Boom",
        calls: 0,
    };
    let (s, _, elapsed) = run_with(d, json!({}), &mut h);
    ok(s);
    assert_eq!(elapsed, 10_000 + 15_000 + 15_000);
}

#[test]
fn full_jitter_waits_at_most_the_backoff() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 1, "JitterStrategy": "FULL"}], "End": true}}});
    let mut h = Flaky {
        left: 1,
        error: "Boom",
        calls: 0,
    };
    let (s, _, elapsed) = run_with(d, json!({}), &mut h);
    ok(s);
    assert!((0..=10_000).contains(&elapsed));
}

#[test]
fn catch_merges_error_output_at_result_path_and_task_failed_is_a_wildcard() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
              "Catch": [{"ErrorEquals": ["Other"], "Next": "Wrong"}, {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Caught"}], "End": true},
        "Wrong": {"Type": "Fail"},
        "Caught": {"Type": "Pass", "End": true}}});
    let mut h = Flaky {
        left: 1,
        error: "HandlerError",
        calls: 0,
    };
    let (s, _, _) = run_with(d, json!({"a": 1}), &mut h);
    assert_eq!(
        ok(s),
        json!({"a": 1, "err": {"Error": "HandlerError", "Cause": "flaky"}})
    );
}

#[test]
fn states_all_does_not_catch_runtime_errors() {
    let d = json!({"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$.missing", "End": true}}}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    assert_eq!(
        failed(run(d, json!({}))).0.as_deref(),
        Some("States.Runtime")
    );
}

#[test]
fn parallel_outputs_in_branch_order_and_first_failure_fails() {
    let d = json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 1, "Next": "B2"}, "B2": {"Type": "Pass", "Result": "b", "End": true}}},
        {"StartAt": "C", "States": {"C": {"Type": "Pass", "Result": "c", "End": true}}}]}}});
    assert_eq!(ok(run(d, json!({}))), json!(["a", "b", "c"]));
    let d = json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 5, "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Fail", "Error": "E", "Cause": "C"}}}]}}});
    assert_eq!(
        failed(run(d, json!({}))),
        (Some("E".into()), Some("C".into()))
    );
}

#[test]
fn map_preserves_order_and_respects_max_concurrency() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
        "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "c.$": "$.c"},
        "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}}}}});
    let mut exec = Execution::new(
        def(d),
        ExecutionInfo::local("sm", "ex", 0),
        Options::default(),
    );
    let mut rng = SplitMix64(1);
    let mut pending: Vec<TaskRequest> = exec
        .start(
            json!({"items": ["a", "b", "c", "d", "e"], "c": 1}),
            0,
            &mut rng,
        )
        .into_iter()
        .filter_map(|e| match e {
            Effect::InvokeTask(r) => Some(r),
            _ => None,
        })
        .collect();
    let mut max_in_flight = 0;
    while let Some(req) = pending.pop() {
        max_in_flight = max_in_flight.max(pending.len() + 1);
        let more = exec.task_succeeded(req.task, req.parameters.clone(), 0, &mut rng);
        pending.extend(more.into_iter().filter_map(|e| match e {
            Effect::InvokeTask(r) => Some(r),
            _ => None,
        }));
    }
    assert_eq!(max_in_flight, 2);
    let out = ok(exec.status().clone());
    let values: Vec<&str> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["v"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["a", "b", "c", "d", "e"]);
    assert_eq!(out[3], json!({"i": 3, "v": "d", "c": 1}));
}

#[test]
fn map_tolerated_failures() {
    let d = |tolerated: u64| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailureCount": tolerated, "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "F"}], "Default": "OK"},
            "F": {"Type": "Fail", "Error": "Big"}, "OK": {"Type": "Pass", "End": true}}}}}})
    };
    let out = ok(run(d(2), json!([1, 2, 3])));
    assert_eq!(out[0], json!(1));
    let (e, _) = failed(run(d(1), json!([1, 2, 3])));
    assert_eq!(e.as_deref(), Some("States.ExceedToleratedFailureThreshold"));
}

#[test]
fn item_batcher_groups_items() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"k": "v"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let out = ok(run(d, json!([1, 2, 3])));
    assert_eq!(
        out,
        json!([{"BatchInput": {"k": "v"}, "Items": [1, 2]}, {"BatchInput": {"k": "v"}, "Items": [3]}])
    );
}

#[test]
fn variables_are_scoped_and_assigned_after_output() {
    let d = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "Next": "B",
              "ItemProcessor": {"StartAt": "In", "States": {"In": {"Type": "Pass", "Assign": {"y": 2}, "Parameters": {"x.$": "$x"}, "End": true}}}},
        "B": {"Type": "Pass", "Parameters": {"x.$": "$x", "out.$": "$"}, "Assign": {"x": 3}, "OutputPath": "$.x", "End": true}}});
    let out = ok(run(d, json!({"items": [0, 0]})));
    assert_eq!(out, json!(1));
}

#[test]
fn choice_no_match_without_default() {
    let d = json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": "x", "Next": "D"}]}, "D": {"Type": "Succeed"}}});
    assert_eq!(
        failed(run(d, json!({"a": "y"}))).0.as_deref(),
        Some("States.NoChoiceMatched")
    );
}

#[test]
fn wait_state_waits_until_its_time() {
    let d = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "T"},
        "T": {"Type": "Wait", "Timestamp": "1970-01-01T00:20:00Z", "End": true}}});
    let (s, _, elapsed) = run_with(d, json!({"s": 7}), &mut Echo);
    ok(s);
    assert_eq!(elapsed, 1_200_000 - 1_000_000);
}

#[test]
fn data_limit_is_enforced() {
    let big = "x".repeat(300_000);
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": big, "End": true}}});
    let (e, c) = failed(run(d, json!({})));
    assert_eq!(e.as_deref(), Some("States.DataLimitExceeded"));
    assert!(c.unwrap().contains("'P'"));
}

#[test]
fn history_ids_are_contiguous_and_chained() {
    let d = json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]}}});
    let r = run_to_completion(
        def(d),
        ExecutionInfo::local("sm", "ex", 0),
        Options::default(),
        json!({}),
        &mut Echo,
        &mut VirtualClock(0),
        &mut SplitMix64(1),
    );
    for (i, e) in r.history.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert!(e.previous_event_id < e.id);
    }
    assert_eq!(
        r.history.last().unwrap().event_type,
        EventType::ExecutionSucceeded
    );
}

// ------------------------------------------------------------------------
// Review against AWS's documented behaviour (retry, catch, timeouts, Map,
// Parallel, variables). Each test names the AWS behaviour it pins down.

const FN: &str = "arn:aws:lambda:us-east-1:1:function:f";

/// Answers each invocation from a script (then echoes), recording every
/// request and the virtual time it arrived at.
struct Script {
    results: std::collections::VecDeque<Result<Value, Failure>>,
    requests: Vec<TaskRequest>,
}

impl Script {
    fn new(results: Vec<Result<Value, Failure>>) -> Self {
        Self {
            results: results.into(),
            requests: Vec::new(),
        }
    }
    fn fail(error: &str) -> Result<Value, Failure> {
        Err(Failure::new(error, format!("{error} cause")))
    }
}

impl TaskHandler for Script {
    fn invoke(&mut self, req: &TaskRequest) -> Result<Value, Failure> {
        self.requests.push(req.clone());
        self.results
            .pop_front()
            .unwrap_or_else(|| Ok(req.parameters.clone()))
    }
}

fn invoked(effects: &[Effect]) -> Vec<TaskRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::InvokeTask(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn timers(effects: &[Effect]) -> Vec<(u64, i64)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartTimer { timer, fire_at } => Some((*timer, *fire_at)),
            _ => None,
        })
        .collect()
}

fn cancelled(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::CancelTask { task } => Some(*task),
            _ => None,
        })
        .collect()
}

fn new_exec(d: Value) -> Execution {
    Execution::new(
        def(d),
        ExecutionInfo::local("sm", "ex", 0),
        Options::default(),
    )
}

// AWS, "Handling errors in Step Functions workflows" > "Complex retry
// scenarios": a task fails with ErrorA, ErrorB, ErrorC, ErrorB; the first two
// use the first retrier (waits 1 s and 2 s), ErrorC the second (5 s); the
// fourth error matches the first retrier again, which has used its two
// attempts, so the error goes to Catch (no later retrier is consulted).
#[test]
fn retry_counts_per_retrier_and_an_exhausted_retrier_goes_to_catch() {
    let d = json!({"StartAt": "X", "States": {
        "X": {"Type": "Task", "Resource": FN, "Next": "Y",
              "Retry": [
                  {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2},
                  {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5},
                  {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 100, "MaxAttempts": 5}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}]},
        "Y": {"Type": "Succeed"},
        "Z": {"Type": "Pass", "End": true}}});
    let mut h = Script::new(vec![
        Script::fail("ErrorA"),
        Script::fail("ErrorB"),
        Script::fail("ErrorC"),
        Script::fail("ErrorB"),
    ]);
    let (s, _, elapsed) = run_with(d, json!({}), &mut h);
    assert_eq!(
        ok(s),
        json!({"Error": "ErrorB", "Cause": "ErrorB cause"}),
        "caught by Z"
    );
    assert_eq!(h.requests.len(), 4);
    assert_eq!(elapsed, 1_000 + 2_000 + 5_000);
}

// AWS (same page): "This example of a Retry field retries any error except
// States.Timeout" — a MaxAttempts 0 retrier that matches first stops the
// search even though States.ALL follows.
#[test]
fn retry_max_attempts_zero_shadows_a_later_states_all() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": true,
        "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}]}}});
    let mut h = Script::new(vec![Script::fail("States.Timeout")]);
    let (s, _, _) = run_with(d.clone(), json!({}), &mut h);
    assert_eq!(failed(s).0.as_deref(), Some("States.Timeout"));
    assert_eq!(h.requests.len(), 1);
    let mut h = Script::new(vec![Script::fail("Other"), Script::fail("Other")]);
    let (s, _, elapsed) = run_with(d, json!({}), &mut h);
    ok(s);
    assert_eq!(h.requests.len(), 3);
    assert_eq!(elapsed, 1_000 + 2_000, "defaults: 1 s, backoff 2.0");
}

// AWS context object: `$$.State.RetryCount` is the number of retries of the
// current state so far; Parameters are evaluated again for each attempt.
#[test]
fn retry_count_is_visible_in_parameters_of_each_attempt() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": true,
        "Parameters": {"n.$": "$$.State.RetryCount", "name.$": "$$.State.Name"},
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]}}});
    let mut h = Script::new(vec![Script::fail("E"), Script::fail("E")]);
    let (s, _, _) = run_with(d, json!({}), &mut h);
    assert_eq!(ok(s), json!({"n": 2, "name": "T"}));
    let ns: Vec<Value> = h
        .requests
        .iter()
        .map(|r| r.parameters["n"].clone())
        .collect();
    assert_eq!(ns, [json!(0), json!(1), json!(2)]);
}

// AWS history of a retried Task: TaskScheduled/TaskStarted/TaskFailed repeat,
// the state is entered (and exited) once.
#[test]
fn retried_task_history_repeats_scheduling_but_not_state_entered() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"]}]}}});
    let mut h = Script::new(vec![Script::fail("E")]);
    let (s, events, _) = run_with(d, json!({}), &mut h);
    ok(s);
    use EventType::*;
    assert_eq!(
        events,
        [
            ExecutionStarted,
            TaskStateEntered,
            TaskScheduled,
            TaskStarted,
            TaskFailed,
            TaskScheduled,
            TaskStarted,
            TaskSucceeded,
            TaskStateExited,
            ExecutionSucceeded
        ]
    );
}

// AWS JitterStrategy FULL: a random delay between 0 and the computed backoff,
// which MaxDelaySeconds caps.
#[test]
fn full_jitter_delays_stay_under_max_delay_seconds() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 5,
                   "MaxDelaySeconds": 15, "JitterStrategy": "FULL"}]}}});
    let mut exec = new_exec(d);
    let mut rng = SplitMix64(9);
    let mut effects = exec.start(json!({}), 0, &mut rng);
    let mut now = 0;
    let mut delays = Vec::new();
    for _ in 0..5 {
        let task = invoked(&effects)[0].task;
        effects = exec.task_failed(task, Failure::new("E", "c"), now, &mut rng);
        let (timer, fire_at) = timers(&effects)[0];
        delays.push(fire_at - now);
        now = fire_at;
        effects = exec.timer_fired(timer, now, &mut rng);
    }
    assert!(
        delays.iter().all(|d| (0..=15_000).contains(d)),
        "{delays:?}"
    );
    assert!(
        delays.iter().any(|d| *d != delays[0]),
        "randomized: {delays:?}"
    );
}

// AWS: retrying a Parallel re-runs all of its branches (the corpus records
// ParallelStateStarted again and no new ParallelStateEntered).
#[test]
fn retried_parallel_reruns_every_branch() {
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 1}],
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": FN, "Parameters": {"b": "a"}, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": FN, "Parameters": {"b": "b"}, "End": true}}}]}}});
    let mut h = Script::new(vec![Ok(json!("a1")), Script::fail("E")]);
    let (s, events, _) = run_with(d, json!({}), &mut h);
    assert_eq!(ok(s), json!([{"b": "a"}, {"b": "b"}]));
    assert_eq!(h.requests.len(), 4, "both branches ran twice");
    let count = |t| events.iter().filter(|e| **e == t).count();
    assert_eq!(count(EventType::ParallelStateEntered), 1);
    assert_eq!(count(EventType::ParallelStateStarted), 2);
}

// AWS: "States.TaskFailed ... acts as a wildcard that matches any known error
// name except for States.Timeout".
#[test]
fn task_failed_wildcard_does_not_catch_states_timeout() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": FN, "End": true,
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "A"}, {"ErrorEquals": ["States.ALL"], "Next": "B"}]},
        "A": {"Type": "Pass", "Result": "A", "End": true},
        "B": {"Type": "Pass", "Result": "B", "End": true}}});
    let mut h = Script::new(vec![Script::fail("States.Timeout")]);
    assert_eq!(ok(run_with(d.clone(), json!({}), &mut h).0), json!("B"));
    let mut h = Script::new(vec![Script::fail("Lambda.Unknown")]);
    assert_eq!(ok(run_with(d, json!({}), &mut h).0), json!("A"));
}

// AWS: States.DataLimitExceeded is terminal — "cannot be caught by the
// States.ALL error type" (nor retried), including a connector output larger
// than the payload quota even when ResultSelector would shrink it.
#[test]
fn data_limit_exceeded_on_a_task_result_is_neither_retried_nor_caught() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": FN, "End": true,
              "ResultSelector": {"small": 1},
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
        "C": {"Type": "Succeed"}}});
    let big = "x".repeat(300_000);
    let mut h = Script::new(vec![Ok(json!({ "big": big }))]);
    let (s, events, _) = run_with(d, json!({}), &mut h);
    assert_eq!(failed(s).0.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(h.requests.len(), 1);
    assert_eq!(
        events[events.len() - 2..],
        [EventType::TaskFailed, EventType::ExecutionFailed]
    );
}

// AWS: "States.DataLimitExceeded ... The input of a state is larger than the
// payload size quota after Parameters processing."
#[test]
fn data_limit_exceeded_on_task_parameters() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": true,
        "Parameters": {"a.$": "$.s", "b.$": "$.s"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
        "C": {"Type": "Succeed"}}});
    let mut h = Script::new(vec![]);
    let (s, _, _) = run_with(d, json!({"s": "x".repeat(140_000)}), &mut h);
    assert_eq!(failed(s).0.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(h.requests.len(), 0, "the task is never invoked");
}

// AWS Catch: the catcher's ResultPath applies to the state's raw input (not
// the InputPath-filtered one); null keeps the input; the default `$` replaces
// it; the state's OutputPath is not applied to a catcher's output.
#[test]
fn catcher_result_path_applies_to_the_raw_input() {
    let d = |rp: Value| {
        let mut catcher = json!({"ErrorEquals": ["States.ALL"], "Next": "C"});
        if !rp.is_string() || rp != json!("default") {
            catcher["ResultPath"] = rp;
        }
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": FN, "End": true, "InputPath": "$.sub", "OutputPath": "$.sub",
                  "Catch": [catcher]},
            "C": {"Type": "Pass", "End": true}}})
    };
    let input = json!({"sub": {"k": 1}, "top": true});
    let run1 = |rp: Value| {
        let mut h = Script::new(vec![Script::fail("E")]);
        ok(run_with(d(rp), input.clone(), &mut h).0)
    };
    assert_eq!(
        run1(json!("$.err.info")),
        json!({"sub": {"k": 1}, "top": true, "err": {"info": {"Error": "E", "Cause": "E cause"}}})
    );
    assert_eq!(run1(Value::Null), input);
    assert_eq!(
        run1(json!("default")),
        json!({"Error": "E", "Cause": "E cause"})
    );
}

// AWS variables: a catcher's Assign sees the error output as `$` and the
// variable values from before the state; the state's own Assign is not
// applied when it fails.
#[test]
fn catcher_assign_sees_error_output_and_previous_variables() {
    let d = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"x": 1}, "Next": "T"},
        "T": {"Type": "Task", "Resource": FN, "End": true, "Assign": {"x": 99, "state": "ran"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C", "ResultPath": "$.e",
                         "Assign": {"err.$": "$.Error", "before.$": "$x", "x": 2}}]},
        "C": {"Type": "Pass", "Parameters": {"err.$": "$err", "before.$": "$before", "x.$": "$x",
              "state.$": "States.ArrayLength(States.Array())"}, "End": true}}});
    let mut h = Script::new(vec![Script::fail("Boom")]);
    let out = ok(run_with(d, json!({}), &mut h).0);
    assert_eq!(out, json!({"err": "Boom", "before": 1, "x": 2, "state": 0}));
}

// AWS history of a caught Task failure: TaskFailed, then TaskStateExited
// (with the catcher's output), then the catcher's Next.
#[test]
fn caught_task_records_task_failed_then_task_state_exited() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": FN, "End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]},
        "C": {"Type": "Pass", "End": true}}});
    let mut h = Script::new(vec![Script::fail("E")]);
    let (s, events, _) = run_with(d, json!({}), &mut h);
    ok(s);
    use EventType::*;
    assert_eq!(
        events,
        [
            ExecutionStarted,
            TaskStateEntered,
            TaskScheduled,
            TaskStarted,
            TaskFailed,
            TaskStateExited,
            PassStateEntered,
            PassStateExited,
            ExecutionSucceeded
        ]
    );
}

// AWS Task state: "TimeoutSeconds — If the task runs longer than the
// specified seconds, this state fails with a States.Timeout error name"; the
// interpreter must enforce it itself (a timer), not rely on the caller.
#[test]
fn task_timeout_seconds_fails_the_task_with_states_timeout() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": FN, "TimeoutSeconds": 5, "End": true,
              "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "C"}]},
        "C": {"Type": "Pass", "End": true}}});
    let mut exec = new_exec(d);
    let mut rng = SplitMix64(1);
    let effects = exec.start(json!({}), 1_000, &mut rng);
    let req = invoked(&effects).remove(0);
    assert_eq!(req.timeout_seconds, Some(5));
    let t = timers(&effects);
    assert_eq!(t.len(), 1, "a timeout timer: {effects:?}");
    assert_eq!(t[0].1, 6_000);
    let effects = exec.timer_fired(t[0].0, 6_000, &mut rng);
    assert_eq!(cancelled(&effects), [req.task]);
    assert_eq!(
        ok(exec.status().clone()),
        json!({"Error": "States.Timeout"})
    );
    let types: Vec<EventType> = exec.take_history().iter().map(|e| e.event_type).collect();
    assert!(types.contains(&EventType::TaskTimedOut), "{types:?}");
    // A late result is ignored.
    assert!(
        exec.task_succeeded(req.task, json!(1), 7_000, &mut rng)
            .is_empty()
    );
}

// A task that finishes in time leaves its timeout timer without effect, and a
// retried attempt gets a fresh timeout.
#[test]
fn task_timeout_timer_is_per_attempt() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "TimeoutSeconds": 5, "End": true,
        "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1}]}}});
    let mut exec = new_exec(d);
    let mut rng = SplitMix64(1);
    let effects = exec.start(json!({}), 0, &mut rng);
    let first_timeout = timers(&effects)[0];
    let effects = exec.timer_fired(first_timeout.0, 5_000, &mut rng);
    let (retry_timer, at) = timers(&effects)[0];
    assert_eq!(at, 6_000);
    let effects = exec.timer_fired(retry_timer, 6_000, &mut rng);
    let req = invoked(&effects).remove(0);
    let second_timeout = timers(&effects)[0];
    assert_eq!(second_timeout.1, 11_000);
    exec.task_succeeded(req.task, json!("done"), 7_000, &mut rng);
    assert_eq!(ok(exec.status().clone()), json!("done"));
    assert!(
        exec.timer_fired(second_timeout.0, 11_000, &mut rng)
            .is_empty()
    );
}

// AWS: TimeoutSecondsPath "must select fields whose values are positive
// integers".
#[test]
fn timeout_seconds_path_must_be_a_positive_integer() {
    for bad in [json!(0), json!(-3), json!(1.5), json!("x")] {
        let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN,
            "TimeoutSecondsPath": "$.t", "End": true}}});
        let mut h = Script::new(vec![]);
        let (s, _, _) = run_with(d, json!({ "t": bad }), &mut h);
        let (e, c) = failed(s);
        assert_eq!(e.as_deref(), Some("States.Runtime"), "{bad}");
        assert!(c.unwrap().contains("TimeoutSecondsPath"));
        assert!(h.requests.is_empty());
    }
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN,
        "TimeoutSecondsPath": "$.t", "HeartbeatSecondsPath": "$.h", "End": true}}});
    let mut h = Script::new(vec![]);
    ok(run_with(d, json!({"t": 30, "h": 10}), &mut h).0);
    assert_eq!(h.requests[0].timeout_seconds, Some(30));
    assert_eq!(h.requests[0].heartbeat_seconds, Some(10));
}

// A heartbeat timeout reported by the caller is a timeout of the task:
// TaskTimedOut with error States.HeartbeatTimeout, catchable by that name.
#[test]
fn heartbeat_timeout_is_recorded_as_task_timed_out() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": FN, "HeartbeatSeconds": 2, "End": true,
              "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "C"}]},
        "C": {"Type": "Pass", "End": true}}});
    let mut h = Script::new(vec![Err(Failure {
        error: Some("States.HeartbeatTimeout".into()),
        cause: None,
    })]);
    let (s, events, _) = run_with(d, json!({}), &mut h);
    assert_eq!(ok(s), json!({"Error": "States.HeartbeatTimeout"}));
    assert!(events.contains(&EventType::TaskTimedOut), "{events:?}");
    assert!(!events.contains(&EventType::TaskFailed));
}

// AWS: an execution past the definition's TimeoutSeconds ends TIMED_OUT with
// ExecutionTimedOut; pending work is cancelled and late results are ignored.
#[test]
fn execution_timeout_cancels_pending_tasks() {
    let d = json!({"TimeoutSeconds": 10, "StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": FN, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 60, "End": true}}}]}}});
    let mut exec = new_exec(d);
    let mut rng = SplitMix64(1);
    let effects = exec.start(json!({}), 0, &mut rng);
    let req = invoked(&effects).remove(0);
    let exec_timer = timers(&effects)
        .into_iter()
        .find(|(_, at)| *at == 10_000)
        .expect("execution timer");
    let effects = exec.timer_fired(exec_timer.0, 10_000, &mut rng);
    assert_eq!(cancelled(&effects), [req.task]);
    match exec.status() {
        Status::TimedOut(f) => assert_eq!(f.error.as_deref(), Some("States.Timeout")),
        other => panic!("{other:?}"),
    }
    let last = exec.take_history().pop().unwrap();
    assert_eq!(last.event_type, EventType::ExecutionTimedOut);
    assert!(
        exec.task_succeeded(req.task, json!(1), 11_000, &mut rng)
            .is_empty()
    );
}

// AWS Map (distributed): ToleratedFailureCount and ToleratedFailurePercentage
// each say "the Map Run fails if it exceeds this" — so with both set, going
// over either one fails it, and reaching a threshold exactly is tolerated.
#[test]
fn map_fails_when_either_tolerated_threshold_is_exceeded() {
    let d = |extra: Value| {
        let mut m = json!({"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 1, "Next": "F"}], "Default": "OK"},
                "F": {"Type": "Fail", "Error": "Big"}, "OK": {"Type": "Pass", "End": true}}}});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        json!({"StartAt": "M", "States": {"M": m}})
    };
    // One failure of three is 33 %: over 10 %, within a count of 5.
    let (e, c) = failed(run(
        d(json!({"ToleratedFailureCount": 5, "ToleratedFailurePercentage": 10})),
        json!([0, 1, 2]),
    ));
    assert_eq!(e.as_deref(), Some("States.ExceedToleratedFailureThreshold"));
    assert!(c.is_some());
    // Two failures of four: over a count of 1, within 60 %.
    let (e, _) = failed(run(
        d(json!({"ToleratedFailureCount": 1, "ToleratedFailurePercentage": 60})),
        json!([0, 2, 3, 1]),
    ));
    assert_eq!(e.as_deref(), Some("States.ExceedToleratedFailureThreshold"));
    // Exactly at both thresholds: tolerated.
    ok(run(
        d(json!({"ToleratedFailureCount": 2, "ToleratedFailurePercentage": 50})),
        json!([0, 2, 3, 1]),
    ));
    ok(run(
        d(json!({"ToleratedFailurePercentage": 50})),
        json!([0, 2]),
    ));
    let (e, _) = failed(run(d(json!({"ToleratedFailureCount": 0})), json!([0, 2])));
    assert_eq!(e.as_deref(), Some("States.ExceedToleratedFailureThreshold"));
}

// AWS Map: a failing iteration fails the Map; iterations in flight are
// aborted (their tasks cancelled) and no further iteration starts.
#[test]
fn map_failure_cancels_running_iterations_and_starts_no_more() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": true}}}}}});
    let mut exec = new_exec(d);
    let mut rng = SplitMix64(1);
    let effects = exec.start(json!([1, 2, 3, 4]), 0, &mut rng);
    let reqs = invoked(&effects);
    assert_eq!(reqs.len(), 2);
    let effects = exec.task_failed(reqs[0].task, Failure::new("E", "c"), 0, &mut rng);
    assert!(invoked(&effects).is_empty(), "{effects:?}");
    assert_eq!(cancelled(&effects), [reqs[1].task]);
    assert_eq!(failed(exec.status().clone()).0.as_deref(), Some("E"));
}

// AWS Map: ItemsPath must select an array.
#[test]
fn map_items_path_must_select_an_array() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "End": true,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}],
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}},
        "C": {"Type": "Succeed"}}});
    let (e, c) = failed(run(d, json!({"items": {"a": 1}})));
    assert_eq!(e.as_deref(), Some("States.Runtime"), "not catchable");
    assert!(c.unwrap().contains("$.items"));
}

// AWS ItemBatcher: batches hold at most MaxItemsPerBatch items and at most
// MaxInputBytesPerBatch bytes; the child input is {"BatchInput", "Items"}.
#[test]
fn item_batcher_limits_bytes_per_batch() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemBatcher": {"MaxItemsPerBatch": 10, "MaxInputBytesPerBatch": 30},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let out = ok(run(d, json!(["aaaaaaaa", "bbbbbbbb", "cccccccc"])));
    for batch in out.as_array().unwrap() {
        assert!(serde_json::to_string(batch).unwrap().len() <= 30, "{batch}");
        assert!(batch.get("BatchInput").is_none());
    }
    let items: Vec<Value> = out
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["Items"].as_array().unwrap().clone())
        .collect();
    assert_eq!(
        items,
        [json!("aaaaaaaa"), json!("bbbbbbbb"), json!("cccccccc")]
    );
    assert!(out.as_array().unwrap().len() >= 2);
    // BatchInput is part of each child's input, so it counts too: a 44-byte
    // limit holds three items without it, and with it not even one (a batch
    // is never empty, so each item then goes alone).
    let d = |batch_input: Option<Value>| {
        let mut b = json!({"MaxInputBytesPerBatch": 44});
        if let Some(bi) = batch_input {
            b["BatchInput"] = bi;
        }
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemBatcher": b,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}})
    };
    let items = json!(["aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd"]);
    assert_eq!(ok(run(d(None), items.clone())).as_array().unwrap().len(), 2);
    let out = ok(run(d(Some(json!({"k": "v"}))), items));
    assert_eq!(out.as_array().unwrap().len(), 4);
    assert_eq!(
        out[0],
        json!({"BatchInput": {"k": "v"}, "Items": ["aaaaaaaa"]})
    );
}

// AWS Parallel: Parameters build the input of every branch; the first
// failing branch fails the state and aborts the others (tasks cancelled).
#[test]
fn parallel_parameters_feed_every_branch_and_failure_cancels_siblings() {
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Parameters": {"v.$": "$.x"},
        "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": FN, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": FN, "End": true}}}]}}});
    let mut exec = new_exec(d);
    let mut rng = SplitMix64(1);
    let reqs = invoked(&exec.start(json!({"x": 7}), 0, &mut rng));
    assert_eq!(reqs.len(), 2);
    assert!(reqs.iter().all(|r| r.parameters == json!({"v": 7})));
    let effects = exec.task_failed(reqs[1].task, Failure::new("E", "c"), 0, &mut rng);
    assert_eq!(cancelled(&effects), [reqs[0].task]);
    assert_eq!(failed(exec.status().clone()).0.as_deref(), Some("E"));
}

// AWS variables: Assign is evaluated with the values from before the state;
// Parameters, ResultPath and OutputPath of the same state see the old values.
#[test]
fn assign_and_paths_see_values_from_before_the_state() {
    let d = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"p.$": "$x"}, "Assign": {"x": 2, "old.$": "$x", "res.$": "$.p"}, "Next": "C"},
        "C": {"Type": "Pass", "Parameters": {"x.$": "$x", "old.$": "$old", "res.$": "$res", "in.$": "$"}, "End": true}}});
    assert_eq!(
        ok(run(d, json!({}))),
        json!({"x": 2, "old": 1, "res": 1, "in": {"p": 1}})
    );
}

// AWS variables: inner scopes (Map iterations, Parallel branches) read outer
// variables; what they assign stays inside, even under an outer name.
#[test]
fn inner_assignments_do_not_leak_out_of_parallel_branches() {
    let d = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": "outer"}, "Next": "P"},
        "P": {"Type": "Parallel", "Next": "B", "Branches": [
            {"StartAt": "I", "States": {"I": {"Type": "Pass", "Assign": {"x": "inner", "y": 1}, "Next": "J"},
                                        "J": {"Type": "Pass", "Parameters": {"x.$": "$x"}, "End": true}}},
            {"StartAt": "K", "States": {"K": {"Type": "Pass", "Parameters": {"x.$": "$x"}, "End": true}}}]},
        "B": {"Type": "Pass", "Parameters": {"x.$": "$x", "branches.$": "$"}, "End": true}}});
    assert_eq!(
        ok(run(d, json!({}))),
        json!({"x": "outer", "branches": [{"x": "inner"}, {"x": "outer"}]})
    );
}

// AWS Choice: a matched rule's Assign and the state-level Assign both apply
// ("You can also specify an Assign block at the state level, which applies
// regardless of which choice rule matches").
#[test]
fn choice_rule_assign_and_state_assign_both_apply() {
    let d = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Assign": {"s": "state", "both": "state"},
              "Choices": [{"Variable": "$.v", "NumericEquals": 1, "Next": "D", "Assign": {"r": "rule", "both": "rule"}}],
              "Default": "D"},
        "D": {"Type": "Pass", "Parameters": {"s.$": "$s", "r.$": "$r", "both.$": "$both"}, "End": true}}});
    assert_eq!(
        ok(run(d, json!({"v": 1}))),
        json!({"s": "state", "r": "rule", "both": "rule"})
    );
}

// AWS Wait: a timestamp in the past and SecondsPath 0 continue at once.
#[test]
fn wait_in_the_past_or_for_zero_seconds_continues_immediately() {
    let d = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "Next": "Z"},
        "Z": {"Type": "Wait", "SecondsPath": "$.z", "End": true}}});
    let (s, _, elapsed) = run_with(d, json!({"t": "1970-01-01T00:00:01Z", "z": 0}), &mut Echo);
    ok(s);
    assert_eq!(elapsed, 0);
}

#[test]
fn task_assign_sees_the_raw_result_before_result_selector() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
              "Parameters": {"Payload": {"x": 1}},
              "ResultSelector": {"picked.$": "$.Payload.x"},
              "Assign": {"raw.$": "$.Payload.x", "selectedMissing.$": "States.ArrayLength(States.Array())"},
              "Next": "Out"},
        "Out": {"Type": "Pass", "Parameters": {"raw.$": "$raw", "out.$": "$"}, "End": true}}});
    let out = ok(run(d, json!({})));
    assert_eq!(out, json!({"raw": 1, "out": {"picked": 1}}));
}

#[test]
fn wait_for_task_token_puts_a_fresh_token_in_the_context_and_the_request() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}});
    let mut exec = Execution::new(
        def(d),
        ExecutionInfo::local("sm", "ex", 0),
        Options::default(),
    );
    let mut rng = SplitMix64(9);
    let effects = exec.start(json!({}), 0, &mut rng);
    let req = effects
        .iter()
        .find_map(|e| match e {
            Effect::InvokeTask(r) => Some(r.clone()),
            _ => None,
        })
        .expect("task invoked");
    let token = req
        .task_token
        .clone()
        .expect("a token for .waitForTaskToken");
    assert_eq!(token.len(), 64);
    assert_eq!(req.parameters["MessageBody"]["token"], json!(token));

    // A plain request/response task has no token, and `$$.Task.Token` is absent.
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"token.$": "$$.Task.Token"}, "End": true}}});
    let mut exec = Execution::new(
        def(d),
        ExecutionInfo::local("sm", "ex", 0),
        Options::default(),
    );
    exec.start(json!({}), 0, &mut rng);
    assert_eq!(
        failed(exec.status().clone()).0.as_deref(),
        Some("States.Runtime")
    );
}

#[test]
fn a_definition_that_loops_forever_fails_at_the_history_limit() {
    let d = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 5, "Next": "C"}], "Default": "A"},
        "C": {"Type": "Succeed"}}});
    let (e, c) = failed(run(d.clone(), json!({"n": 1})));
    assert_eq!(e.as_deref(), Some("States.Runtime"));
    assert!(
        c.unwrap()
            .contains("maximum number of history events (25000)")
    );
    // Also without recording history, and inside Distributed Map iterations.
    let r = run_to_completion(
        def(d),
        ExecutionInfo::local("sm", "ex", 0),
        Options {
            record_history: false,
            ..Options::default()
        },
        json!({"n": 1}),
        &mut Echo,
        &mut VirtualClock(0),
        &mut SplitMix64(1),
    );
    assert!(matches!(r.status, Status::Failed(_)));
    let looping_map = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 5, "Next": "C"}], "Default": "A"},
            "C": {"Type": "Succeed"}}}}}});
    assert_eq!(
        failed(run(looping_map, json!([1]))).0.as_deref(),
        Some("States.Runtime")
    );
}

#[test]
fn assigned_variables_are_limited_to_256_kib_per_state() {
    let mut states = serde_json::Map::new();
    for i in 0..25 {
        let mut s = json!({"Type": "Pass", "Assign": {"x.$": "States.Array($x, $x)"}});
        if i == 24 {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("S{}", i + 1));
        }
        states.insert(format!("S{i}"), s);
    }
    let d = json!({"StartAt": "Init", "States": {"Init": {"Type": "Pass", "Assign": {"x": "seed"}, "Next": "S0"}}});
    let mut d = d;
    d["States"].as_object_mut().unwrap().extend(states);
    let (e, c) = failed(run(d, json!({})));
    assert_eq!(e.as_deref(), Some("States.Runtime"));
    assert!(c.unwrap().contains("-byte limit"));
}

#[test]
fn an_inline_map_runs_at_most_40_iterations_at_once() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}}}}});
    let mut exec = Execution::new(
        def(d),
        ExecutionInfo::local("sm", "ex", 0),
        Options::default(),
    );
    let mut rng = SplitMix64(1);
    let effects = exec.start(json!((0..100).collect::<Vec<_>>()), 0, &mut rng);
    let in_flight = effects
        .iter()
        .filter(|e| matches!(e, Effect::InvokeTask(_)))
        .count();
    assert_eq!(in_flight, 40);
}

#[test]
fn item_selector_runs_as_iterations_start_and_its_failure_fails_the_map() {
    // Only 40 iterations hold a selected input at once; the selector sees
    // the Map's effective input and the item.
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemsPath": "$.items",
        "ItemSelector": {"v.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
        "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}}}}});
    let mut exec = Execution::new(
        def(d.clone()),
        ExecutionInfo::local("sm", "ex", 0),
        Options::default(),
    );
    let mut rng = SplitMix64(1);
    let effects = exec.start(
        json!({"items": (0..100).collect::<Vec<_>>(), "tag": "t"}),
        0,
        &mut rng,
    );
    let first: Vec<TaskRequest> = effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::InvokeTask(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(first.len(), 40);
    assert_eq!(first[39].parameters, json!({"v": 39, "tag": "t"}));

    // A selector path that matches nothing for some item fails the Map.
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemSelector": {"x.$": "$$.Map.Item.Value.x"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let (e, c) = failed(run(d, json!([{"x": 1}, {"y": 2}])));
    assert_eq!(e.as_deref(), Some("States.Runtime"));
    assert!(c.unwrap().contains("'M'"));
}
