//! `stepgate serve --config`: a real process serving a webhook route from
//! `stepgate.toml`, driven with raw HTTP/1.1 over `TcpStream` (as in
//! `crash.rs`), checked through the admin API.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Server, api, wait_until_done};
use serde_json::{Value, json};

/// One request; returns the status and the JSON body.
fn request(addr: SocketAddr, head: &str, body: &str) -> (u16, Value) {
    let response = common::request(addr, head, body.as_bytes());
    (response.status, response.json())
}

/// Starts `stepgate serve --config project/stepgate.toml` from `dir` (so
/// paths relative to the config are told apart from the working directory)
/// with extra environment variables; returns the server and its two
/// addresses.
fn serve(dir: &Path, toml: &str, envs: &[(&str, &str)]) -> (Server, SocketAddr, SocketAddr) {
    std::fs::create_dir_all(dir.join("project")).expect("project dir");
    std::fs::write(dir.join("project/stepgate.toml"), toml).expect("write config");
    let server = Server::start_with_env(dir, &["--config", "project/stepgate.toml"], envs);
    let (listen, admin) = (server.addr("listen"), server.addr("admin_listen"));
    (server, listen, admin)
}

#[test]
fn webhook_from_config_runs_to_success_with_the_payload() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, listen, admin) = serve(
        dir.path(),
        r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
store = "sqlite://store.db"

[state_machines.hooks]
type = "STANDARD"
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"}}}'

[[routes]]
method = "POST"
path = "/hooks/{source}"
state_machine = "hooks"
mode = "async"
responses.success = { status = 200, body = '{"status": "webhook submitted"}' }
responses.failure = { status = 500, body = '{"status": "webhook failed"}' }
"#,
        &[],
    );
    assert_ne!(listen.port(), 0);
    assert_ne!(admin.port(), 0);
    assert!(
        dir.path().join("project/store.db").exists(),
        "store relative to the config"
    );

    let payload = r##"{"msg": "say \"hi\" \\ C:\\path", "u": "héllo 😀 \u00e9", "t": "$input #set", "n": [1, {"x": null}]}"##;
    let (status, body) = request(
        listen,
        "POST /hooks/github HTTP/1.1\r\nContent-Type: application/json",
        payload,
    );
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "webhook submitted"}));

    // Wrong path on the webhook address: JSON 404, nothing started.
    let (status, _) = request(listen, "POST /nope HTTP/1.1", "{}");
    assert_eq!(status, 404);

    let machine = "arn:aws:states:local:000000000000:stateMachine:hooks";
    let list = api(
        admin,
        "ListExecutions",
        &json!({ "stateMachineArn": machine }),
    );
    let executions = list["executions"].as_array().expect("executions");
    assert_eq!(executions.len(), 1, "{list}");
    let arn = executions[0]["executionArn"]
        .as_str()
        .expect("arn")
        .to_owned();
    let described = wait_until_done(admin, &arn, Duration::from_secs(10));
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let expected: Value = serde_json::from_str(payload).expect("json");
    let input: Value =
        serde_json::from_str(described["input"].as_str().expect("input")).expect("json");
    let output: Value =
        serde_json::from_str(described["output"].as_str().expect("output")).expect("json");
    assert_eq!(input, expected);
    assert_eq!(output, expected);
    drop(server);
}

#[test]
fn invalid_config_exits_1_with_the_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("stepgate.toml");
    std::fs::write(&config, "[server]\nlisten = \"nope\"\nbogus = 1\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stepgate.toml:2"), "{stderr}");
    assert!(stderr.contains("bogus"), "{stderr}");
    assert!(out.stdout.is_empty());
}

const PROTECTED: &str = r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
store = "sqlite://store.db"

[state_machines.hooks]
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"}}}'

[state_machines.shaping]
type = "EXPRESS"
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"received.$":"$"},"End":true}}}'

[[routes]]
method = "POST"
path = "/github"
state_machine = "hooks"
auth = { type = "hmac_sha256", header = "X-Hub-Signature-256", secret_env = "STEPGATE_TEST_SECRET", prefix = "sha256=" }

[[routes]]
method = "POST"
path = "/sync"
state_machine = "shaping"
mode = "sync"
timeout_seconds = 10
"#;

#[test]
fn hmac_route_and_sync_route_on_the_real_binary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, listen, admin) = serve(
        dir.path(),
        PROTECTED,
        &[("STEPGATE_TEST_SECRET", "It's a Secret to Everybody")],
    );
    let list = |machine: &str| {
        let arn = format!("arn:aws:states:local:000000000000:stateMachine:{machine}");
        let list = api(admin, "ListExecutions", &json!({ "stateMachineArn": arn }));
        list["executions"].as_array().expect("executions").clone()
    };
    // GitHub's documented test vector ("Validating webhook deliveries"):
    // secret "It's a Secret to Everybody", payload "Hello, World!".
    let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    let bad = "sha256=0000000000000000000000000000000000000000000000000000000000000000";
    let head = |signature: &str| {
        format!(
            "POST /github HTTP/1.1\r\nContent-Type: text/plain\r\nX-Hub-Signature-256: {signature}"
        )
    };
    let (status, body) = request(listen, &head(bad), "Hello, World!");
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["status"], "forbidden");
    let (status, body) = request(
        listen,
        "POST /github HTTP/1.1\r\nContent-Type: text/plain",
        "Hello, World!",
    );
    assert_eq!(status, 401, "{body}");
    let (status, _) = request(listen, &head(good), "Hello, World?");
    assert_eq!(status, 403, "signed for another body");
    assert!(list("hooks").is_empty(), "nothing stored on failure");

    let (status, body) = request(listen, &head(good), "Hello, World!");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"status": "webhook submitted"}));
    let executions = list("hooks");
    assert_eq!(executions.len(), 1);
    let arn = executions[0]["executionArn"].as_str().expect("arn");
    let described = api(admin, "DescribeExecution", &json!({ "executionArn": arn }));
    let input: Value =
        serde_json::from_str(described["input"].as_str().expect("input")).expect("json");
    assert_eq!(
        input,
        json!({"contentType": "text/plain", "body": "Hello, World!"})
    );

    // Sync: the answer is the execution's output.
    let payload = r#"{"msg": "say \"hi\"", "n": [1, 2]}"#;
    let (status, body) = request(
        listen,
        "POST /sync HTTP/1.1\r\nContent-Type: application/json",
        payload,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"received": {"msg": "say \"hi\"", "n": [1, 2]}})
    );
    drop(server);
}

#[test]
fn a_missing_secret_stops_serve_with_the_key_and_the_variable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("stepgate.toml");
    std::fs::write(&config, PROTECTED).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("STEPGATE_TEST_SECRET")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "routes[0].auth.secret_env: environment variable STEPGATE_TEST_SECRET is not set"
        ),
        "{stderr}"
    );
    assert!(
        !dir.path().join("store.db").exists(),
        "refused before opening the store"
    );
}
