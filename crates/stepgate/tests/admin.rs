//! The admin address of the real binary: `/healthz`, `/readyz`, `/metrics`
//! next to the Step Functions API.

mod common;

use std::time::Duration;

use common::{Server, api, request, wait_until_done};
use serde_json::json;

#[test]
fn health_readiness_and_metrics_are_served_next_to_the_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let definition = dir.path().join("hello.asl.json");
    std::fs::write(
        &definition,
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
    )
    .expect("definition");
    let server = Server::start(
        dir.path(),
        &[
            "--store",
            "sqlite://store.db",
            "--admin-listen",
            "127.0.0.1:0",
            "--state-machine",
            &format!("hello={}", definition.display()),
        ],
    );
    let admin = server.addr("admin_listen");

    let health = request(admin, "GET /healthz HTTP/1.1", b"");
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({"status": "ok"}));
    let ready = request(admin, "GET /readyz HTTP/1.1", b"");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.json(), json!({"status": "ready"}));

    let started = api(
        admin,
        "StartExecution",
        &json!({
            "stateMachineArn": "arn:aws:states:local:000000000000:stateMachine:hello",
            "input": "{}"
        }),
    );
    let arn = started["executionArn"].as_str().expect("arn");
    let done = wait_until_done(admin, arn, Duration::from_secs(10));
    assert_eq!(done["status"], "SUCCEEDED");

    let metrics = request(admin, "GET /metrics HTTP/1.1", b"");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        metrics.headers
    );
    assert!(
        metrics
            .body
            .contains(r#"stepgate_executions_started_total{type="STANDARD"} 1"#),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains(r#"stepgate_executions_finished_total{status="SUCCEEDED"} 1"#),
        "{}",
        metrics.body
    );
}
