//! The scheduler over the in-memory store, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use engine::scheduler::{
    Engine, EngineClock, Limits, NoTasks, StartRequest, TaskFuture, TaskInvoker,
};
use serde_json::{Value, json};
use store::memory::MemoryStore;
use store::{ExecutionStatus, NewStateMachine, StartOutcome, StateMachineType, Store, StoreError};

const SM: &str = "arn:aws:states:local:000000000000:stateMachine:sm";

async fn store_with(definition: Value, machine_type: StateMachineType) -> MemoryStore {
    let store = MemoryStore::new();
    store
        .put_state_machine(NewStateMachine {
            arn: SM.into(),
            name: "sm".into(),
            definition: definition.to_string(),
            machine_type,
            logging: "{}".into(),
            created: 0,
        })
        .await
        .expect("state machine stored");
    store
}

fn engine(store: MemoryStore, tasks: Arc<dyn TaskInvoker>) -> Engine<MemoryStore> {
    Engine::new(
        store,
        tasks,
        EngineClock::new(1_700_000_000_000),
        Limits::default(),
        42,
    )
}

fn waiting_machine() -> Value {
    json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Result": "x", "ResultPath": "$.p", "Next": "W"},
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Done"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}}})
}

fn started(outcome: StartOutcome) -> String {
    match outcome {
        StartOutcome::Started(r) => r.arn,
        other => panic!("expected a new execution, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_wait_of_an_hour_fires_on_time_and_the_history_is_durable() {
    let store = store_with(waiting_machine(), StateMachineType::Standard).await;
    let engine = engine(store.clone(), Arc::new(NoTasks));
    let arn = started(
        engine
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: Some("one".into()),
                input: Some(r#"{"n":1}"#.into()),
            })
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(3599)).await;
    assert_eq!(
        store.execution(&arn).await.unwrap().unwrap().status,
        ExecutionStatus::Running
    );
    let record = engine
        .wait_for(&arn, Duration::from_secs(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, ExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(record.output.as_deref().unwrap()).unwrap(),
        json!({"n": 1, "p": "x"})
    );
    assert_eq!(record.stop_time.unwrap() - record.start_time, 3_600_000);
    let history = store.history(&arn).await.unwrap();
    let types: Vec<&str> = history.iter().map(|h| h.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (i, h) in history.iter().enumerate() {
        assert_eq!(h.id, i as u64 + 1);
    }
}

#[tokio::test(start_paused = true)]
async fn names_are_idempotent_for_standard_machines() {
    let store = store_with(waiting_machine(), StateMachineType::Standard).await;
    let engine = engine(store, Arc::new(NoTasks));
    let req = |input: &str| StartRequest {
        state_machine_arn: SM.into(),
        name: Some("same".into()),
        input: Some(input.into()),
    };
    let first = started(engine.start_execution(req("{}")).await.unwrap());
    match engine.start_execution(req("{}")).await.unwrap() {
        StartOutcome::AlreadyStarted(r) => assert_eq!(r.arn, first),
        other => panic!("{other:?}"),
    }
    let err = engine
        .start_execution(req(r#"{"other":1}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            engine::scheduler::EngineError::Store(StoreError::ExecutionAlreadyExists { .. })
        ),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn bad_input_and_names_are_refused() {
    let store = store_with(waiting_machine(), StateMachineType::Standard).await;
    let engine = engine(store.clone(), Arc::new(NoTasks));
    let e = engine
        .start_execution(StartRequest {
            state_machine_arn: SM.into(),
            name: None,
            input: Some("{nope".into()),
        })
        .await;
    assert!(
        e.unwrap_err()
            .to_string()
            .starts_with("InvalidExecutionInput")
    );
    let big = format!("\"{}\"", "x".repeat(300_000));
    let e = engine
        .start_execution(StartRequest {
            state_machine_arn: SM.into(),
            name: None,
            input: Some(big),
        })
        .await;
    assert!(e.unwrap_err().to_string().contains("limit is 262144 bytes"));
    let e = engine
        .start_execution(StartRequest {
            state_machine_arn: SM.into(),
            name: Some("a b".into()),
            input: None,
        })
        .await;
    assert!(e.unwrap_err().to_string().starts_with("InvalidName"));
    assert!(
        store
            .list_executions(Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn stop_execution_aborts() {
    let store = store_with(waiting_machine(), StateMachineType::Standard).await;
    let engine = engine(store.clone(), Arc::new(NoTasks));
    let arn = started(
        engine
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: None,
                input: None,
            })
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(engine.stop_execution(&arn, Some("Stopped".into()), Some("by test".into())));
    let r = engine
        .wait_for(&arn, Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.status, r.error.as_deref(), r.cause.as_deref()),
        (ExecutionStatus::Aborted, Some("Stopped"), Some("by test"))
    );
    assert_eq!(
        store
            .history(&arn)
            .await
            .unwrap()
            .last()
            .unwrap()
            .event_type,
        "ExecutionAborted"
    );
    assert!(store.timers(&arn).await.unwrap().is_empty());
}

/// Counts invocations; answers after a delay.
struct SlowEcho(std::sync::atomic::AtomicUsize);
impl TaskInvoker for SlowEcho {
    fn invoke(&self, request: asl::interpreter::TaskRequest) -> TaskFuture {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(request.parameters)
        })
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_crash_timers_resume_once_and_tasks_in_flight_run_again() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 60, "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}});
    let store = store_with(def, StateMachineType::Standard).await;
    let crashed = engine(store.clone(), Arc::new(SlowEcho(0.into())));
    let waiting = started(
        crashed
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: Some("waiting".into()),
                input: Some("{}".into()),
            })
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    let in_task = started(
        crashed
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: Some("in-task".into()),
                input: Some(r#"{"k":1}"#.into()),
            })
            .await
            .unwrap(),
    );
    // "in-task" started 30 s later: at 62 s it is waiting, "waiting" is in its task.
    tokio::time::sleep(Duration::from_secs(32)).await;
    // Crash: this engine stops dead; a new engine recovers from the store.
    crashed.halt();
    tokio::task::yield_now().await;
    let invoker = Arc::new(SlowEcho(0.into()));
    let recovered = engine(store.clone(), invoker.clone());
    assert_eq!(recovered.recover().await.unwrap(), 2);
    for arn in [&waiting, &in_task] {
        let r = recovered
            .wait_for(arn, Duration::from_secs(120))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.status, ExecutionStatus::Succeeded, "{arn}");
        let history = store.history(arn).await.unwrap();
        let types: Vec<&str> = history.iter().map(|h| h.event_type.as_str()).collect();
        assert_eq!(
            types.iter().filter(|t| **t == "WaitStateExited").count(),
            1,
            "{types:?}"
        );
        assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
        for (i, h) in history.iter().enumerate() {
            assert_eq!(h.id, i as u64 + 1);
        }
    }
    // The task in flight at the crash ran again; the other ran once, after recovery.
    assert_eq!(invoker.0.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn express_runs_in_memory_and_only_its_end_is_stored() {
    let store = store_with(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        StateMachineType::Express,
    )
    .await;
    let engine = engine(store.clone(), Arc::new(NoTasks));
    let arn = started(
        engine
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: Some("e".into()),
                input: Some(r#"{"a":1}"#.into()),
            })
            .await
            .unwrap(),
    );
    assert!(arn.contains(":express:sm:e:"), "{arn}");
    let r = engine
        .wait_for(&arn, Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert!(store.history(&arn).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn express_times_out_after_five_minutes() {
    let store = store_with(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}),
        StateMachineType::Express,
    )
    .await;
    let engine = engine(store, Arc::new(NoTasks));
    let arn = started(
        engine
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: None,
                input: None,
            })
            .await
            .unwrap(),
    );
    let r = engine
        .wait_for(&arn, Duration::from_secs(400))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (r.status, r.error.as_deref()),
        (ExecutionStatus::TimedOut, Some("States.Timeout"))
    );
    assert_eq!(r.stop_time.unwrap() - r.start_time, 300_000);
}

#[tokio::test(start_paused = true)]
async fn express_history_goes_to_the_execution_log_only() {
    let log =
        std::env::temp_dir().join(format!("stepgate-express-log-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let store = MemoryStore::new();
    store
        .put_state_machine(NewStateMachine {
            arn: SM.into(),
            name: "sm".into(),
            definition: json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string(),
            machine_type: StateMachineType::Express,
            logging: json!({"level": "ALL", "include_execution_data": true, "destination": log.display().to_string()}).to_string(),
            created: 0,
        })
        .await
        .unwrap();
    let engine = engine(store.clone(), Arc::new(NoTasks));
    let arn = started(
        engine
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: None,
                input: Some(r#"{"a":1}"#.into()),
            })
            .await
            .unwrap(),
    );
    engine.wait_for(&arn, Duration::from_secs(5)).await.unwrap();
    assert!(store.history(&arn).await.unwrap().is_empty());
    let lines: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &Value| l["execution_arn"] == json!(arn))
        .collect();
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(lines[0]["details"]["input"], "{\"a\":1}");
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(start_paused = true)]
async fn a_start_stored_without_its_first_step_runs_after_recovery() {
    // A crash between the durable start (the 200 went out) and the commit
    // of the first step leaves a RUNNING record with no history; found by
    // the kill -9 test of `stepgate serve`.
    let store = store_with(waiting_machine(), StateMachineType::Standard).await;
    let arn = "arn:aws:states:local:000000000000:execution:sm:cut".to_owned();
    store
        .start_execution(store::NewExecution {
            arn: arn.clone(),
            name: "cut".into(),
            state_machine_arn: SM.into(),
            state_machine_version: 1,
            machine_type: StateMachineType::Standard,
            input: r#"{"n":1}"#.into(),
            start_time: 1_700_000_000_000,
            seed: [7; 32],
        })
        .await
        .unwrap();
    assert!(store.history(&arn).await.unwrap().is_empty());
    let recovered = engine(store.clone(), Arc::new(NoTasks));
    assert_eq!(recovered.recover().await.unwrap(), 1);
    let r = recovered
        .wait_for(&arn, Duration::from_secs(7200))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    let history = store.history(&arn).await.unwrap();
    assert_eq!(
        history.first().map(|h| h.event_type.as_str()),
        Some("ExecutionStarted")
    );
    assert_eq!(
        history.last().map(|h| h.event_type.as_str()),
        Some("ExecutionSucceeded")
    );
}

#[tokio::test(start_paused = true)]
async fn an_execution_that_ends_in_its_first_step_is_stored_finished_when_the_start_returns() {
    for machine_type in [StateMachineType::Standard, StateMachineType::Express] {
        let store = store_with(
            json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Result": {"ok": true}, "ResultPath": "$.a", "Next": "B"},
                "B": {"Type": "Pass", "End": true}}}),
            machine_type,
        )
        .await;
        let engine = engine(store.clone(), Arc::new(NoTasks));
        let outcome = engine
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: None,
                input: Some(r#"{"in":1}"#.into()),
            })
            .await
            .unwrap();
        let StartOutcome::Started(record) = outcome else {
            panic!("expected Started, got {outcome:?}")
        };
        // No waiting: the start and the whole run were one write.
        let stored = store.execution(&record.arn).await.unwrap().unwrap();
        assert_eq!(
            stored.status,
            ExecutionStatus::Succeeded,
            "{machine_type:?}"
        );
        let output: Value = serde_json::from_str(stored.output.as_deref().unwrap()).unwrap();
        assert_eq!(output, json!({"in": 1, "a": {"ok": true}}));
        let history = store.history(&record.arn).await.unwrap();
        match machine_type {
            StateMachineType::Standard => {
                let types: Vec<&str> = history.iter().map(|h| h.event_type.as_str()).collect();
                assert_eq!(types.first(), Some(&"ExecutionStarted"));
                assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
            }
            StateMachineType::Express => assert!(history.is_empty()),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn starts_beyond_the_running_slots_are_stored_and_run_when_a_slot_frees() {
    let store = store_with(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}}),
        StateMachineType::Standard,
    )
    .await;
    let engine = Engine::new(
        store.clone(),
        Arc::new(NoTasks),
        EngineClock::new(1_700_000_000_000),
        Limits {
            max_running: 1,
            ..Limits::default()
        },
        42,
    );
    let mut arns = Vec::new();
    for name in ["first", "second", "third"] {
        arns.push(started(
            engine
                .start_execution(StartRequest {
                    state_machine_arn: SM.into(),
                    name: Some(name.into()),
                    input: Some("{}".into()),
                })
                .await
                .unwrap(),
        ));
    }
    // The first holds the only slot (its first step is stored with the
    // start); the others are durable, RUNNING, without history yet.
    let types: Vec<String> = store
        .history(&arns[0])
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.event_type)
        .collect();
    assert_eq!(types, ["ExecutionStarted", "WaitStateEntered"]);
    for arn in &arns[1..] {
        let r = store.execution(arn).await.unwrap().unwrap();
        assert_eq!(r.status, ExecutionStatus::Running);
    }
    // Bad input is refused on the slow path too, and nothing is stored.
    let refused = engine
        .start_execution(StartRequest {
            state_machine_arn: SM.into(),
            name: Some("bad".into()),
            input: Some("{not json".into()),
        })
        .await;
    assert!(
        matches!(
            refused,
            Err(engine::scheduler::EngineError::InvalidExecutionInput(_))
        ),
        "{refused:?}"
    );
    // One at a time: each ends after the one before it freed the slot.
    let mut previous_stop = 0;
    for arn in &arns {
        let r = engine
            .wait_for(arn, Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.status, ExecutionStatus::Succeeded);
        let stop = r.stop_time.unwrap();
        assert!(stop - r.start_time >= 10_000);
        assert!(stop >= previous_stop);
        previous_stop = stop;
    }
}

#[tokio::test(start_paused = true)]
async fn start_or_find_returns_a_finished_execution_of_the_same_name_and_input() {
    let store = store_with(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        StateMachineType::Standard,
    )
    .await;
    let engine = engine(store, Arc::new(NoTasks));
    let request = |input: &str| StartRequest {
        state_machine_arn: SM.into(),
        name: Some("again".into()),
        input: Some(input.into()),
    };
    let first = started(engine.start_or_find(request(r#"{"a": 1}"#)).await.unwrap());
    // Finished already (a Pass); the same input, spaced differently, is it.
    match engine.start_or_find(request(r#"{"a":1}"#)).await.unwrap() {
        StartOutcome::AlreadyStarted(r) => {
            assert_eq!(r.arn, first);
            assert_eq!(r.status, ExecutionStatus::Succeeded);
        }
        other => panic!("{other:?}"),
    }
    let other = engine.start_or_find(request(r#"{"a": 2}"#)).await;
    assert!(
        matches!(
            other,
            Err(engine::scheduler::EngineError::Store(
                StoreError::ExecutionAlreadyExists { .. }
            ))
        ),
        "{other:?}"
    );
}
