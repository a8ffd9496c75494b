//! The API through `tower::ServiceExt::oneshot`, without sockets
//! (convention 12), over an engine on the in-memory store.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use engine::scheduler::{Engine, EngineClock, Limits, NoTasks};
use serde_json::{Value, json};
use store::memory::MemoryStore;
use store::{NewStateMachine, StateMachineType, Store};
use tower::ServiceExt;

const SM: &str = "arn:aws:states:local:000000000000:stateMachine:hello";
const WAITING: &str = "arn:aws:states:local:000000000000:stateMachine:waiting";

async fn engine() -> Engine<MemoryStore> {
    let store = MemoryStore::default();
    for (arn, definition) in [
        (
            SM,
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}"#,
        ),
        (
            WAITING,
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":3600,"End":true}}}"#,
        ),
    ] {
        store
            .put_state_machine(NewStateMachine {
                arn: arn.into(),
                name: arn.rsplit(':').next().unwrap_or_default().into(),
                definition: definition.into(),
                machine_type: StateMachineType::Standard,
                logging: "{}".into(),
                created: 1_700_000_000_000,
            })
            .await
            .expect("put state machine");
    }
    Engine::new(
        store,
        Arc::new(NoTasks),
        EngineClock::new(1_700_000_000_000),
        Limits::default(),
        7,
    )
}

async fn call(engine: &Engine<MemoryStore>, target: &str, body: Value) -> (StatusCode, Value) {
    call_raw(engine, Some(target), body.to_string()).await
}

async fn call_raw(
    engine: &Engine<MemoryStore>,
    target: Option<&str>,
    body: String,
) -> (StatusCode, Value) {
    let mut request = Request::post("/").header("content-type", api::CONTENT_TYPE);
    if let Some(t) = target {
        request = request.header("x-amz-target", format!("AWSStepFunctions.{t}"));
    }
    let response = api::router(engine.clone())
        .oneshot(request.body(Body::from(body)).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(api::CONTENT_TYPE.as_bytes())
    );
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

#[tokio::test]
async fn start_describe_history_and_list_an_execution() {
    let engine = engine().await;
    let (status, started) = call(
        &engine,
        "StartExecution",
        json!({"stateMachineArn": SM, "name": "run-1", "input": "{\"a\":1}"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let arn = started["executionArn"].as_str().expect("executionArn");
    assert_eq!(
        arn,
        "arn:aws:states:local:000000000000:execution:hello:run-1"
    );
    assert!(started["startDate"].as_f64().expect("number") > 1.6e9);

    let done = engine
        .wait_for(arn, Duration::from_secs(5))
        .await
        .expect("wait");
    assert_eq!(done.map(|r| r.status.as_str()), Some("SUCCEEDED"));

    let (status, described) =
        call(&engine, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(described["status"], "SUCCEEDED");
    assert_eq!(described["name"], "run-1");
    assert_eq!(described["stateMachineArn"], SM);
    assert_eq!(described["input"], "{\"a\":1}");
    assert_eq!(described["output"], "{\"ok\":true}");
    assert!(described["stopDate"].is_number());

    let (status, history) =
        call(&engine, "GetExecutionHistory", json!({"executionArn": arn})).await;
    assert_eq!(status, StatusCode::OK);
    let events = history["events"].as_array().expect("events");
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"));
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1));
        assert!(e["previousEventId"].as_u64() < e["id"].as_u64());
        assert!(e["timestamp"].is_number());
    }
    assert!(
        events[0]["executionStartedEventDetails"].is_object(),
        "{}",
        events[0]
    );

    let (status, reversed) = call(
        &engine,
        "GetExecutionHistory",
        json!({"executionArn": arn, "reverseOrder": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reversed["events"][0]["type"], "ExecutionSucceeded");

    let (status, list) = call(
        &engine,
        "ListExecutions",
        json!({"stateMachineArn": SM, "statusFilter": "SUCCEEDED"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["executions"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["executions"][0]["executionArn"], arn);
    assert!(list.get("nextToken").is_none());
}

#[tokio::test]
async fn a_finished_name_is_execution_already_exists() {
    let engine = engine().await;
    let body = json!({"stateMachineArn": SM, "name": "once"});
    let (status, started) = call(&engine, "StartExecution", body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let arn = started["executionArn"].as_str().expect("arn").to_owned();
    engine
        .wait_for(&arn, Duration::from_secs(5))
        .await
        .expect("wait");
    let (status, error) = call(&engine, "StartExecution", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["__type"], "ExecutionAlreadyExists");
    assert!(error["message"].as_str().is_some_and(|m| m.contains(&arn)));
}

#[tokio::test]
async fn a_repeated_start_while_running_returns_the_same_execution() {
    let engine = engine().await;
    let body = json!({"stateMachineArn": WAITING, "name": "retry", "input": "{}"});
    let (s1, first) = call(&engine, "StartExecution", body.clone()).await;
    let (s2, second) = call(&engine, "StartExecution", body).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first, second);
}

#[tokio::test]
async fn stop_execution_aborts_with_error_and_cause() {
    let engine = engine().await;
    let (_, started) = call(
        &engine,
        "StartExecution",
        json!({"stateMachineArn": WAITING, "name": "to-stop"}),
    )
    .await;
    let arn = started["executionArn"].as_str().expect("arn");
    let (status, stopped) = call(
        &engine,
        "StopExecution",
        json!({"executionArn": arn, "error": "Operator", "cause": "maintenance"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert!(stopped["stopDate"].is_number());
    let (_, described) = call(&engine, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(described["status"], "ABORTED");
    assert_eq!(described["error"], "Operator");
    assert_eq!(described["cause"], "maintenance");
    // Stopping again is harmless and reports the same stop.
    let (status, again) = call(&engine, "StopExecution", json!({"executionArn": arn})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["stopDate"], stopped["stopDate"]);
}

#[tokio::test]
async fn list_executions_pages_with_next_token() {
    let engine = engine().await;
    for i in 0..5 {
        let (status, _) = call(
            &engine,
            "StartExecution",
            json!({"stateMachineArn": WAITING, "name": format!("p{i}")}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"stateMachineArn": WAITING, "maxResults": 2});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let (status, page) = call(&engine, "ListExecutions", body).await;
        assert_eq!(status, StatusCode::OK);
        for e in page["executions"].as_array().expect("executions") {
            names.push(e["name"].as_str().expect("name").to_owned());
        }
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    names.sort();
    assert_eq!(names, ["p0", "p1", "p2", "p3", "p4"]);
}

#[tokio::test]
async fn errors_are_aws_shaped() {
    let engine = engine().await;
    let cases: Vec<(Option<&str>, String, StatusCode, &str)> = vec![
        (
            Some("DescribeExecution"),
            json!({"executionArn": "arn:aws:states:local:000000000000:execution:hello:nope"})
                .to_string(),
            StatusCode::BAD_REQUEST,
            "ExecutionDoesNotExist",
        ),
        (
            Some("StartExecution"),
            json!({"stateMachineArn": "arn:aws:states:local:000000000000:stateMachine:nope"})
                .to_string(),
            StatusCode::BAD_REQUEST,
            "StateMachineDoesNotExist",
        ),
        (
            Some("StartExecution"),
            json!({"stateMachineArn": SM, "name": "has space"}).to_string(),
            StatusCode::BAD_REQUEST,
            "InvalidName",
        ),
        (
            Some("StartExecution"),
            json!({"stateMachineArn": SM, "input": "{not json"}).to_string(),
            StatusCode::BAD_REQUEST,
            "InvalidExecutionInput",
        ),
        (
            Some("StartExecution"),
            json!({"name": "no-machine"}).to_string(),
            StatusCode::BAD_REQUEST,
            "ValidationException",
        ),
        (
            Some("StartExecution"),
            "{not json".to_owned(),
            StatusCode::BAD_REQUEST,
            "SerializationException",
        ),
        (
            Some("ListExecutions"),
            json!({"stateMachineArn": SM, "statusFilter": "DONE"}).to_string(),
            StatusCode::BAD_REQUEST,
            "ValidationException",
        ),
        (
            Some("ListExecutions"),
            json!({"stateMachineArn": SM, "maxResults": 1001}).to_string(),
            StatusCode::BAD_REQUEST,
            "ValidationException",
        ),
        (
            Some("GetExecutionHistory"),
            json!({"executionArn": "arn:aws:states:local:000000000000:execution:hello:nope"})
                .to_string(),
            StatusCode::BAD_REQUEST,
            "ExecutionDoesNotExist",
        ),
        (
            Some("CreateStateMachine"),
            "{}".to_owned(),
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
        ),
        (
            None,
            "{}".to_owned(),
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
        ),
    ];
    for (target, body, want_status, want_type) in cases {
        let (status, error) = call_raw(&engine, target, body.clone()).await;
        assert_eq!(status, want_status, "{target:?} {body}: {error}");
        assert_eq!(error["__type"], want_type, "{target:?} {body}: {error}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}
