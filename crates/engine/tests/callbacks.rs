//! `.waitForTaskToken` callbacks over the in-memory store, on tokio's
//! paused clock: SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat,
//! single-use tokens, timeouts, heartbeats, and a restart in between.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::callbacks::CallbackError;
use engine::scheduler::{Engine, EngineClock, Limits, StartRequest, TaskFuture, TaskInvoker};
use serde_json::{Value, json};
use store::memory::MemoryStore;
use store::{ExecutionStatus, NewStateMachine, StartOutcome, StateMachineType, Store};

const SM: &str = "arn:aws:states:local:000000000000:stateMachine:cb";

/// Hands tokens over like a Lambda that stores them: records each request's
/// token and the payload it carried, and answers `{}` at once.
#[derive(Default)]
struct TokenSink {
    seen: Mutex<Vec<(String, Value)>>,
}

impl TokenSink {
    fn tokens(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }
}

impl TaskInvoker for TokenSink {
    fn invoke(&self, request: asl::interpreter::TaskRequest) -> TaskFuture {
        let token = request.task_token.clone().unwrap_or_default();
        self.seen
            .lock()
            .unwrap()
            .push((token, request.parameters.clone()));
        Box::pin(async { Ok(json!({"StatusCode": 200})) })
    }
}

fn machine(task_extra: Value) -> Value {
    let mut task = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "approver", "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"}},
        "Catch": [{"ErrorEquals": ["Rejected"], "ResultPath": "$.error", "Next": "Rejected"}],
        "End": true
    });
    if let (Some(t), Some(extra)) = (task.as_object_mut(), task_extra.as_object()) {
        t.extend(extra.clone());
    }
    json!({"StartAt": "Approve", "States": {
        "Approve": task,
        "Rejected": {"Type": "Pass", "End": true}
    }})
}

async fn store_with(definition: Value) -> MemoryStore {
    let store = MemoryStore::new();
    store
        .put_state_machine(NewStateMachine {
            arn: SM.into(),
            name: "cb".into(),
            definition: definition.to_string(),
            machine_type: StateMachineType::Standard,
            logging: "{}".into(),
            created: 0,
        })
        .await
        .expect("state machine");
    store
}

fn engine(store: MemoryStore, tasks: Arc<TokenSink>) -> Engine<MemoryStore> {
    Engine::new(
        store,
        tasks,
        EngineClock::new(1_700_000_000_000),
        Limits::default(),
        7,
    )
}

async fn start(engine: &Engine<MemoryStore>, name: &str) -> String {
    match engine
        .start_execution(StartRequest {
            state_machine_arn: SM.into(),
            name: Some(name.into()),
            input: Some(r#"{"order": 42}"#.into()),
        })
        .await
        .expect("started")
    {
        StartOutcome::Started(r) => r.arn,
        other => panic!("{other:?}"),
    }
}

/// Lets spawned tasks run (the clock is paused: this does not advance it
/// past any timer that matters here).
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
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

#[tokio::test(start_paused = true)]
async fn send_task_success_resumes_the_task_with_its_output_and_the_token_is_single_use() {
    let sink = Arc::new(TokenSink::default());
    let store = store_with(machine(json!({}))).await;
    let engine = engine(store.clone(), Arc::clone(&sink));
    let arn = start(&engine, "approve").await;
    settle().await;
    let seen = sink.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "the integration ran once, with the token");
    let (token, parameters) = &seen[0];
    assert_eq!(parameters["Payload"]["token"], json!(token));
    assert_eq!(parameters["Payload"]["order"], 42);
    // Still waiting: the integration's own answer does not end the task.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        store.execution(&arn).await.unwrap().unwrap().status,
        ExecutionStatus::Running
    );

    engine
        .send_task_success(token, r#"{"approved": true}"#)
        .await
        .expect("accepted");
    let r = finished(&engine, &arn).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(r.output.as_deref().unwrap()).unwrap(),
        json!({"approved": true})
    );
    let types: Vec<String> = store
        .history(&arn)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.event_type)
        .collect();
    assert!(types.contains(&"TaskSucceeded".to_owned()), "{types:?}");

    // Single use.
    assert_eq!(
        engine.send_task_success(token, "{}").await,
        Err(CallbackError::TaskTimedOut)
    );
    assert_eq!(
        engine.send_task_failure(token, None, None).await,
        Err(CallbackError::TaskTimedOut)
    );
    assert_eq!(
        engine.send_task_heartbeat(token),
        Err(CallbackError::TaskTimedOut)
    );
}

#[tokio::test(start_paused = true)]
async fn malformed_tokens_and_outputs_are_refused_and_change_nothing() {
    let sink = Arc::new(TokenSink::default());
    let store = store_with(machine(json!({}))).await;
    let engine = engine(store.clone(), Arc::clone(&sink));
    let arn = start(&engine, "refusals").await;
    settle().await;
    let token = sink.tokens()[0].clone();
    assert!(matches!(
        engine.send_task_success("not-a-token", "{}").await,
        Err(CallbackError::InvalidToken(_))
    ));
    assert_eq!(
        engine.send_task_success(&"0".repeat(64), "{}").await,
        Err(CallbackError::TaskTimedOut),
        "well formed but unknown"
    );
    let bad = engine.send_task_success(&token, "{not json").await;
    assert!(
        matches!(bad, Err(CallbackError::InvalidOutput(_))),
        "{bad:?}"
    );
    assert_eq!(
        store.execution(&arn).await.unwrap().unwrap().status,
        ExecutionStatus::Running
    );
    // The token still works after the refusals.
    engine
        .send_task_success(&token, "1")
        .await
        .expect("accepted");
    assert_eq!(
        finished(&engine, &arn).await.status,
        ExecutionStatus::Succeeded
    );
}

#[tokio::test(start_paused = true)]
async fn send_task_failure_goes_through_catch() {
    let sink = Arc::new(TokenSink::default());
    let store = store_with(machine(json!({}))).await;
    let engine = engine(store.clone(), Arc::clone(&sink));
    let arn = start(&engine, "reject").await;
    settle().await;
    let token = sink.tokens()[0].clone();
    engine
        .send_task_failure(
            &token,
            Some("Rejected".into()),
            Some("too expensive".into()),
        )
        .await
        .expect("accepted");
    let r = finished(&engine, &arn).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "caught");
    let output: Value = serde_json::from_str(r.output.as_deref().unwrap()).unwrap();
    assert_eq!(
        output["error"],
        json!({"Error": "Rejected", "Cause": "too expensive"})
    );
}

#[tokio::test(start_paused = true)]
async fn a_missed_heartbeat_is_states_heartbeat_timeout_and_heartbeats_keep_it_alive() {
    let sink = Arc::new(TokenSink::default());
    let store = store_with(machine(json!({"HeartbeatSeconds": 10}))).await;
    let engine = engine(store.clone(), Arc::clone(&sink));

    // Beats every 6 s for a minute, then succeeds: alive throughout.
    let alive = start(&engine, "alive").await;
    settle().await;
    let token = sink.tokens()[0].clone();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(6)).await;
        engine.send_task_heartbeat(&token).expect("heartbeat");
    }
    engine
        .send_task_success(&token, "{}")
        .await
        .expect("accepted");
    assert_eq!(
        finished(&engine, &alive).await.status,
        ExecutionStatus::Succeeded
    );

    // No heartbeat: fails after 10 s with States.HeartbeatTimeout.
    let silent = start(&engine, "silent").await;
    settle().await;
    let token = sink.tokens()[1].clone();
    let r = finished(&engine, &silent).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.HeartbeatTimeout"));
    assert!(r.stop_time.unwrap() - r.start_time >= 10_000);
    assert_eq!(
        engine.send_task_success(&token, "{}").await,
        Err(CallbackError::TaskTimedOut)
    );
}

#[tokio::test(start_paused = true)]
async fn timeout_seconds_ends_a_callback_task_and_its_token() {
    let sink = Arc::new(TokenSink::default());
    let store = store_with(machine(json!({"TimeoutSeconds": 30}))).await;
    let engine = engine(store.clone(), Arc::clone(&sink));
    let arn = start(&engine, "late").await;
    settle().await;
    let token = sink.tokens()[0].clone();
    let r = finished(&engine, &arn).await;
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        engine.send_task_success(&token, "{}").await,
        Err(CallbackError::TaskTimedOut)
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_survives_a_restart_of_the_engine() {
    let store = store_with(machine(json!({}))).await;
    let first_sink = Arc::new(TokenSink::default());
    let crashed = engine(store.clone(), Arc::clone(&first_sink));
    let arn = start(&crashed, "durable").await;
    settle().await;
    let token = first_sink.tokens()[0].clone();
    // Crash before the callback arrives.
    crashed.halt();
    settle().await;

    let second_sink = Arc::new(TokenSink::default());
    let recovered = engine(store.clone(), Arc::clone(&second_sink));
    assert_eq!(recovered.recover().await.expect("recovered"), 1);
    settle().await;
    // The integration ran again (at least once) with the very same token.
    assert_eq!(second_sink.tokens(), vec![token.clone()]);
    recovered
        .send_task_success(&token, r#""approved after restart""#)
        .await
        .expect("accepted by the new engine");
    let r = finished(&recovered, &arn).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.output.as_deref(), Some(r#""approved after restart""#));
}

/// The same across a real restart on the SQLite store: the first engine
/// and its store are dropped after a crash, a new process's worth (store
/// reopened from the file, new engine, recovery) accepts the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_survives_closing_and_reopening_the_sqlite_store() {
    use store_sqlite::{SqliteOptions, SqliteStore};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let open = || SqliteStore::open(&path, SqliteOptions::default()).expect("store");
    let sqlite_engine = |store: SqliteStore, sink: Arc<TokenSink>| {
        Engine::new(
            store,
            sink,
            EngineClock::new(1_700_000_000_000),
            Limits::default(),
            7,
        )
    };
    let first_sink = Arc::new(TokenSink::default());
    let (arn, token) = {
        let store = open();
        store
            .put_state_machine(NewStateMachine {
                arn: SM.into(),
                name: "cb".into(),
                definition: machine(json!({})).to_string(),
                machine_type: StateMachineType::Standard,
                logging: "{}".into(),
                created: 0,
            })
            .await
            .expect("state machine");
        let crashed = sqlite_engine(store, Arc::clone(&first_sink));
        let arn = match crashed
            .start_execution(StartRequest {
                state_machine_arn: SM.into(),
                name: Some("durable".into()),
                input: Some(r#"{"order": 7}"#.into()),
            })
            .await
            .expect("started")
        {
            StartOutcome::Started(r) => r.arn,
            other => panic!("{other:?}"),
        };
        let token = loop {
            if let Some(t) = first_sink.tokens().first() {
                break t.clone();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        crashed.halt();
        (arn, token)
    };
    // Everything of the first engine is gone (its store closed with it).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second_sink = Arc::new(TokenSink::default());
    let recovered = sqlite_engine(open(), Arc::clone(&second_sink));
    assert_eq!(recovered.recover().await.expect("recovered"), 1);
    recovered
        .send_task_success(&token, r#"{"approved": "after reopening"}"#)
        .await
        .expect("accepted after the restart");
    let r = recovered
        .wait_for(&arn, Duration::from_secs(10))
        .await
        .expect("store")
        .expect("record");
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        r.output.as_deref(),
        Some(r#"{"approved":"after reopening"}"#)
    );
    assert_eq!(
        recovered.send_task_success(&token, "{}").await,
        Err(CallbackError::TaskTimedOut),
        "still single use after the restart"
    );
}
