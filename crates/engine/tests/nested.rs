//! Nested workflows (`arn:aws:states:::states:startExecution`, `.sync`,
//! `.sync:2`) over the in-memory store, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use engine::scheduler::{Engine, EngineClock, Limits, NoTasks, StartRequest};
use serde_json::{Value, json};
use store::memory::MemoryStore;
use store::{
    ExecutionFilter, ExecutionStatus, NewStateMachine, StartOutcome, StateMachineType, Store,
};

const PREFIX: &str = "arn:aws:states:local:000000000000:stateMachine:";

async fn put(store: &MemoryStore, name: &str, definition: Value) {
    store
        .put_state_machine(NewStateMachine {
            arn: format!("{PREFIX}{name}"),
            name: name.into(),
            definition: definition.to_string(),
            machine_type: StateMachineType::Standard,
            logging: "{}".into(),
            created: 0,
        })
        .await
        .expect("state machine");
}

fn engine(store: &MemoryStore) -> Engine<MemoryStore> {
    Engine::new(
        store.clone(),
        Arc::new(NoTasks),
        EngineClock::new(1_700_000_000_000),
        Limits::default(),
        11,
    )
}

fn parent(resource: &str, child: &str, extra: Value) -> Value {
    let mut parameters = json!({
        "StateMachineArn": format!("{PREFIX}{child}"),
        "Input": {"n.$": "$.n", "from": "parent"}
    });
    if let (Some(p), Some(extra)) = (parameters.as_object_mut(), extra.as_object()) {
        p.extend(extra.clone());
    }
    json!({"StartAt": "Child", "States": {
        "Child": {
            "Type": "Task", "Resource": resource, "Parameters": parameters,
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failed", "Next": "Caught"}],
            "End": true
        },
        "Caught": {"Type": "Pass", "End": true}
    }})
}

fn doubler() -> Value {
    json!({"StartAt": "Double", "States": {
        "Double": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)", "from.$": "$.from"}, "End": true}
    }})
}

async fn run(engine: &Engine<MemoryStore>, machine: &str, input: &str) -> store::ExecutionRecord {
    let outcome = engine
        .start_execution(StartRequest {
            state_machine_arn: format!("{PREFIX}{machine}"),
            name: Some("p".into()),
            input: Some(input.into()),
        })
        .await
        .expect("started");
    let StartOutcome::Started(r) = outcome else {
        panic!("{outcome:?}")
    };
    finished(engine, &r.arn).await
}

async fn finished(engine: &Engine<MemoryStore>, arn: &str) -> store::ExecutionRecord {
    let r = engine
        .wait_for(arn, Duration::from_secs(3600))
        .await
        .expect("store")
        .expect("record");
    assert_ne!(r.status, ExecutionStatus::Running, "{r:?}");
    r
}

fn output(r: &store::ExecutionRecord) -> Value {
    serde_json::from_str(r.output.as_deref().expect("output")).expect("json")
}

#[tokio::test(start_paused = true)]
async fn sync_2_waits_for_the_child_and_returns_its_output_as_json() {
    let store = MemoryStore::new();
    put(&store, "child", doubler()).await;
    put(
        &store,
        "parent",
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            "child",
            json!({}),
        ),
    )
    .await;
    let engine = engine(&store);
    let r = run(&engine, "parent", r#"{"n": 21}"#).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    let out = output(&r);
    assert_eq!(out["Status"], "SUCCEEDED");
    assert_eq!(out["Output"], json!({"doubled": 42, "from": "parent"}));
    assert_eq!(out["Input"], json!({"n": 21, "from": "parent"}));
    assert_eq!(out["StateMachineArn"], format!("{PREFIX}child"));
    assert!(
        out["ExecutionArn"]
            .as_str()
            .unwrap()
            .contains(":execution:child:")
    );
    assert!(out["StartDate"].is_i64() && out["StopDate"].is_i64());
}

#[tokio::test(start_paused = true)]
async fn sync_returns_input_and_output_as_text() {
    let store = MemoryStore::new();
    put(&store, "child", doubler()).await;
    put(
        &store,
        "parent",
        parent(
            "arn:aws:states:::states:startExecution.sync",
            "child",
            json!({}),
        ),
    )
    .await;
    let engine = engine(&store);
    let out = output(&run(&engine, "parent", r#"{"n": 2}"#).await);
    let text = out["Output"].as_str().expect("Output is JSON text");
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"doubled": 4, "from": "parent"})
    );
    assert!(out["Input"].is_string());
}

#[tokio::test(start_paused = true)]
async fn a_failed_child_fails_the_task_with_its_description() {
    let store = MemoryStore::new();
    put(
        &store,
        "child",
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}),
    )
    .await;
    put(
        &store,
        "parent",
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            "child",
            json!({}),
        ),
    )
    .await;
    let engine = engine(&store);
    let out = output(&run(&engine, "parent", r#"{"n": 1}"#).await);
    assert_eq!(out["failed"]["Error"], "States.TaskFailed");
    let cause: Value =
        serde_json::from_str(out["failed"]["Cause"].as_str().unwrap()).expect("cause is JSON");
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "Broken");
    assert_eq!(cause["Cause"], "on purpose");
}

#[tokio::test(start_paused = true)]
async fn start_execution_returns_at_once_and_the_child_runs_on() {
    let store = MemoryStore::new();
    put(
        &store,
        "slow",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
    )
    .await;
    put(
        &store,
        "parent",
        parent(
            "arn:aws:states:::states:startExecution",
            "slow",
            json!({"Name": "kid"}),
        ),
    )
    .await;
    let engine = engine(&store);
    let r = run(&engine, "parent", r#"{"n": 1}"#).await;
    let out = output(&r);
    let child_arn = out["ExecutionArn"].as_str().expect("arn").to_owned();
    assert!(child_arn.ends_with(":execution:slow:kid"), "{child_arn}");
    assert!(out["StartDate"].is_i64());
    assert_eq!(out.as_object().unwrap().len(), 2);
    assert!(r.stop_time.unwrap() - r.start_time < 60_000, "did not wait");
    let child = finished(&engine, &child_arn).await;
    assert_eq!(child.status, ExecutionStatus::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn an_arn_from_another_account_finds_the_state_machine_of_that_name() {
    let store = MemoryStore::new();
    put(&store, "child", doubler()).await;
    let mut def = parent(
        "arn:aws:states:::states:startExecution.sync:2",
        "child",
        json!({}),
    );
    def["States"]["Child"]["Parameters"]["StateMachineArn"] =
        json!("arn:aws:states:eu-west-1:123456789012:stateMachine:child");
    put(&store, "parent", def).await;
    let engine = engine(&store);
    let out = output(&run(&engine, "parent", r#"{"n": 5}"#).await);
    assert_eq!(out["Output"]["doubled"], 10);

    let mut def = parent(
        "arn:aws:states:::states:startExecution.sync:2",
        "nobody",
        json!({}),
    );
    def["Comment"] = json!("v2");
    put(&store, "parent", def).await;
    let engine = self::engine(&store);
    let r = engine
        .start_execution(StartRequest {
            state_machine_arn: format!("{PREFIX}parent"),
            name: Some("missing".into()),
            input: Some(r#"{"n": 1}"#.into()),
        })
        .await
        .expect("started");
    let StartOutcome::Started(r) = r else {
        panic!()
    };
    // States.TaskFailed in a Catch matches every error but States.Timeout.
    let out = output(&finished(&engine, &r.arn).await);
    assert_eq!(
        out["failed"]["Error"],
        "StepFunctions.StateMachineDoesNotExistException"
    );
}

#[tokio::test(start_paused = true)]
async fn after_a_crash_the_parent_finds_its_child_instead_of_starting_another() {
    let store = MemoryStore::new();
    put(
        &store,
        "slow",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "Next": "D"}, "D": {"Type": "Pass", "Result": "done", "End": true}}}),
    )
    .await;
    put(
        &store,
        "parent",
        parent(
            "arn:aws:states:::states:startExecution.sync:2",
            "slow",
            json!({}),
        ),
    )
    .await;
    let crashed = engine(&store);
    let outcome = crashed
        .start_execution(StartRequest {
            state_machine_arn: format!("{PREFIX}parent"),
            name: Some("p".into()),
            input: Some(r#"{"n": 1}"#.into()),
        })
        .await
        .expect("started");
    let StartOutcome::Started(parent_record) = outcome else {
        panic!()
    };
    tokio::time::sleep(Duration::from_secs(10)).await;
    crashed.halt();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }

    let recovered = engine(&store);
    assert_eq!(
        recovered.recover().await.expect("recovered"),
        2,
        "parent and child"
    );
    let r = finished(&recovered, &parent_record.arn).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(output(&r)["Output"], "done");
    let children = store
        .list_executions(ExecutionFilter {
            state_machine_arn: Some(format!("{PREFIX}slow")),
            ..ExecutionFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(
        children.len(),
        1,
        "one child, found again after the restart"
    );
}
