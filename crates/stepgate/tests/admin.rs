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
    for series in [
        "stepgate_store_commits_total",
        "stepgate_store_commands_total",
        "stepgate_store_commit_seconds_bucket",
        "stepgate_store_batch_commands",
    ] {
        assert!(
            metrics.body.contains(series),
            "{series} in:\n{}",
            metrics.body
        );
    }
}

#[test]
fn a_non_loopback_admin_address_needs_the_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Without a token the config is refused, before the store is opened.
    std::fs::write(
        dir.path().join("open.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"0.0.0.0:0\"\nstore = \"sqlite://open.db\"\n",
    )
    .expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args(["serve", "--config", "open.toml"])
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("admin_token"), "{stderr}");
    assert!(!dir.path().join("open.db").exists());

    std::fs::write(
        dir.path().join("stepgate.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"0.0.0.0:0\"\nadmin_token = \"s3cret-token\"\nstore = \"sqlite://s.db\"\n",
    )
    .expect("config");
    let server = Server::start(dir.path(), &["--config", "stepgate.toml"]);
    let port = server.addr("admin_listen").port();
    let admin: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let list = "POST / HTTP/1.1\r\nX-Amz-Target: AWSStepFunctions.ListExecutions\r\nContent-Type: application/x-amz-json-1.0";
    let body = br#"{"stateMachineArn": "arn:aws:states:local:000000000000:stateMachine:none"}"#;
    // Probes need no token; everything else does.
    assert_eq!(request(admin, "GET /healthz HTTP/1.1", b"").status, 200);
    assert_eq!(request(admin, "GET /readyz HTTP/1.1", b"").status, 200);
    let missing = request(admin, list, body);
    assert_eq!(missing.status, 401, "{}", missing.body);
    assert_eq!(missing.json()["status"], "unauthorized");
    let wrong = request(
        admin,
        &format!("{list}\r\nAuthorization: Bearer s3cret-tokeN"),
        body,
    );
    assert_eq!(wrong.status, 403);
    assert_eq!(
        request(admin, "GET /metrics HTTP/1.1", b"").status,
        401,
        "metrics are behind the token"
    );
    let right = request(
        admin,
        &format!("{list}\r\nAuthorization: Bearer s3cret-token"),
        body,
    );
    assert_ne!(right.status, 401);
    assert_ne!(right.status, 403, "{}", right.body);
    assert!(
        !server.log_text().contains("s3cret-token"),
        "the token is never logged"
    );
}
