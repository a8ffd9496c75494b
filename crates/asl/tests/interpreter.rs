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
