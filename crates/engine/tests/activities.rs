//! Activities over the in-memory store, on tokio's paused clock: a Task on
//! an activity ARN waits for a worker's GetActivityTask, then for
//! SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat on its token.

use std::sync::Arc;
use std::time::Duration;

use engine::callbacks::CallbackError;
use engine::scheduler::{Engine, EngineClock, Limits, NoTasks, StartRequest};
use serde_json::{Value, json};
use store::memory::MemoryStore;
use store::{ExecutionStatus, NewStateMachine, StartOutcome, StateMachineType, Store};

const SM: &str = "arn:aws:states:local:000000000000:stateMachine:work";
const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:resize";

async fn setup(task_extra: Value) -> (MemoryStore, Engine<MemoryStore>) {
    let mut task = json!({
        "Type": "Task", "Resource": ACTIVITY,
        "Parameters": {"image.$": "$.image", "size": 64},
        "End": true
    });
    if let (Some(t), Some(extra)) = (task.as_object_mut(), task_extra.as_object()) {
        t.extend(extra.clone());
    }
    let store = MemoryStore::new();
    store
        .put_state_machine(NewStateMachine {
            arn: SM.into(),
            name: "work".into(),
            definition: json!({"StartAt": "Resize", "States": {"Resize": task}}).to_string(),
            machine_type: StateMachineType::Standard,
            logging: "{}".into(),
            created: 0,
        })
        .await
        .expect("state machine");
    let engine = engine(&store);
    (store, engine)
}

fn engine(store: &MemoryStore) -> Engine<MemoryStore> {
    Engine::new(
        store.clone(),
        Arc::new(NoTasks),
        EngineClock::new(1_700_000_000_000),
        Limits::default(),
        3,
    )
}

async fn start(engine: &Engine<MemoryStore>, name: &str) -> String {
    match engine
        .start_execution(StartRequest {
            state_machine_arn: SM.into(),
            name: Some(name.into()),
            input: Some(r#"{"image": "cat.png"}"#.into()),
        })
        .await
        .expect("started")
    {
        StartOutcome::Started(r) => r.arn,
        other => panic!("{other:?}"),
    }
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
async fn a_worker_gets_the_task_and_its_answer_ends_it() {
    let (_store, engine) = setup(json!({})).await;
    // Nothing scheduled yet: the long poll ends empty.
    assert_eq!(
        engine
            .get_activity_task(ACTIVITY, Duration::from_secs(60))
            .await,
        None
    );
    let arn = start(&engine, "one").await;
    let task = engine
        .get_activity_task(ACTIVITY, Duration::from_secs(60))
        .await
        .expect("a task");
    assert_eq!(
        serde_json::from_str::<Value>(&task.input).unwrap(),
        json!({"image": "cat.png", "size": 64})
    );
    // Handed out once.
    assert_eq!(
        engine
            .get_activity_task(ACTIVITY, Duration::from_secs(1))
            .await,
        None
    );
    engine
        .send_task_success(&task.task_token, r#"{"thumbnail": "cat-64.png"}"#)
        .await
        .expect("accepted");
    let r = finished(&engine, &arn).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.output.as_deref(), Some(r#"{"thumbnail":"cat-64.png"}"#));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_worker_is_woken_by_a_new_task_and_other_activities_stay_apart() {
    let (_store, engine) = setup(json!({})).await;
    let poll = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .get_activity_task(ACTIVITY, Duration::from_secs(60))
                .await
        })
    };
    let other = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .get_activity_task(
                    "arn:aws:states:us-east-1:123456789012:activity:other",
                    Duration::from_secs(60),
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let arn = start(&engine, "woken").await;
    let task = poll.await.expect("joined").expect("woken with the task");
    assert_eq!(other.await.expect("joined"), None);
    engine
        .send_task_failure(
            &task.task_token,
            Some("ResizeFailed".into()),
            Some("corrupt".into()),
        )
        .await
        .expect("accepted");
    let r = finished(&engine, &arn).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("ResizeFailed"));
}

#[tokio::test(start_paused = true)]
async fn a_task_that_timed_out_is_not_handed_out_and_its_token_is_dead() {
    let (_store, engine) = setup(json!({"TimeoutSeconds": 10})).await;
    let arn = start(&engine, "late").await;
    let r = finished(&engine, &arn).await;
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        engine
            .get_activity_task(ACTIVITY, Duration::from_secs(1))
            .await,
        None,
        "the timed-out task is gone from the queue"
    );
}

#[tokio::test(start_paused = true)]
async fn a_worker_that_stops_heartbeating_times_the_task_out() {
    let (_store, engine) = setup(json!({"HeartbeatSeconds": 5})).await;
    let arn = start(&engine, "beats").await;
    let task = engine
        .get_activity_task(ACTIVITY, Duration::from_secs(1))
        .await
        .expect("a task");
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        engine.send_task_heartbeat(&task.task_token).expect("alive");
    }
    let r = finished(&engine, &arn).await;
    assert_eq!(r.error.as_deref(), Some("States.HeartbeatTimeout"));
    assert!(r.stop_time.unwrap() - r.start_time >= 17_000);
    assert_eq!(
        engine.send_task_heartbeat(&task.task_token),
        Err(CallbackError::TaskTimedOut)
    );
}

#[tokio::test(start_paused = true)]
async fn after_a_restart_the_task_is_queued_again_with_the_same_token() {
    let (store, crashed) = setup(json!({})).await;
    let arn = start(&crashed, "durable").await;
    let before = crashed
        .get_activity_task(ACTIVITY, Duration::from_secs(1))
        .await
        .expect("a task");
    crashed.halt();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let recovered = engine(&store);
    assert_eq!(recovered.recover().await.expect("recovered"), 1);
    let again = recovered
        .get_activity_task(ACTIVITY, Duration::from_secs(1))
        .await
        .expect("queued again");
    assert_eq!(again, before);
    // A worker that took it before the crash can still answer.
    recovered
        .send_task_success(&before.task_token, "true")
        .await
        .expect("accepted");
    assert_eq!(
        finished(&recovered, &arn).await.status,
        ExecutionStatus::Succeeded
    );
}
