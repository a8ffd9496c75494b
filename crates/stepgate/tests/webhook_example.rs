//! The seed scenario end to end: `examples/webhook` copied to a temp dir,
//! served by the real binary (`serve --config`), driven with raw HTTP/1.1
//! over `TcpStream` (as `serve_config.rs` does), checked through the admin
//! API, the process's stderr (the function's log lines) and the execution
//! log file. Also: a function's error caught by a `Catch` with its name, and
//! an http function behind a route (one that cannot be set up is refused at
//! start-up).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SUBMITTED: &str = r#"{"status": "webhook submitted"}"#;

/// The example served by the real binary (killed on drop).
struct Server {
    server: common::Server,
    listen: SocketAddr,
    admin: SocketAddr,
}

impl Server {
    /// `stepgate serve --config FILE`, once it printed its bound ports.
    fn start(config: &Path) -> Server {
        let dir = config.parent().expect("config dir");
        let server = common::Server::start(dir, &["--config", &config.to_string_lossy()]);
        Server {
            listen: server.addr("listen"),
            admin: server.addr("admin_listen"),
            server,
        }
    }

    fn stderr(&self) -> String {
        self.server.log_text()
    }

    fn api(&self, action: &str, body: &Value) -> Value {
        common::api(self.admin, action, body)
    }

    /// Waits until the state machine has `count` executions, none running.
    fn finished_executions(&self, machine: &str, count: usize) -> Vec<Value> {
        let arn = format!("arn:aws:states:local:000000000000:stateMachine:{machine}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let list = self.api("ListExecutions", &json!({ "stateMachineArn": arn }));
            let executions = list["executions"].as_array().cloned().unwrap_or_default();
            if executions.len() == count && executions.iter().all(|e| e["status"] != "RUNNING") {
                return executions
                    .iter()
                    .map(|e| {
                        self.api(
                            "DescribeExecution",
                            &json!({ "executionArn": e["executionArn"] }),
                        )
                    })
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "not finished: {list}\nstderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// One request; returns the status and the body text.
fn request(addr: SocketAddr, head: &str, body: &str) -> (u16, String) {
    let response = common::request(addr, head, body.as_bytes());
    (response.status, response.body)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        // What a local run of the example may have left behind.
        if name == "logs" || name.to_string_lossy().starts_with("stepgate.db") {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/webhook")
}

/// The example in a temp dir, listening on free ports.
fn example_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&example_dir(), dir.path());
    let config = dir.path().join("stepgate.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let patched = text
        .replace("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"")
        .replace(
            "admin_listen = \"127.0.0.1:8083\"",
            "admin_listen = \"127.0.0.1:0\"",
        );
    assert_eq!(
        patched.matches("127.0.0.1:0").count(),
        2,
        "the example's addresses changed:\n{text}"
    );
    std::fs::write(&config, patched).expect("write config");
    (dir, config)
}

#[test]
fn the_example_config_passes_check_config() {
    let out = Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .arg("check-config")
        .arg(example_dir().join("stepgate.toml"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_payload_is_submitted_run_logged_and_printed_byte_for_byte() {
    let (dir, config) = example_copy();
    let server = Server::start(&config);
    let payloads = [
        r#"{"quote": "say \"hi\"", "path": "C:\\temp\\new\\", "apostrophe": "O'Brien's"}"#,
        r#"{"unicode": "é 日本 😀", "escaped": "\u00e9\u65e5\ud83d\ude00"}"#,
        r##"{"dollar": "$.Payload $$ ${x} $input.body", "hash": "#set($a = 1) ## comment #"}"##,
        r#"{"nested": {"a": [1, -2, {"b": {"c": [true, false, null]}}], "json": "{\"inner\": [\"x\"]}"}}"#,
        r#"{"control": "tab\there\nnew line", "empty": {}, "list": [], "n": 12345678901234}"#,
    ];
    let mut slowest = Duration::ZERO;
    for payload in payloads {
        let started = Instant::now();
        let (status, body) = request(
            server.listen,
            "POST / HTTP/1.1\r\nContent-Type: application/json",
            payload,
        );
        slowest = slowest.max(started.elapsed());
        assert_eq!((status, body.as_str()), (200, SUBMITTED), "{payload}");
    }
    // AWS's promise for this pattern is "well under 500 ms"; the bound is
    // loose for loaded CI machines.
    assert!(
        slowest < Duration::from_secs(2),
        "slowest answer {slowest:?}"
    );
    eprintln!("slowest webhook answer: {slowest:?}");

    let executions = server.finished_executions("sample", payloads.len());
    let mut by_input: BTreeMap<String, Value> = BTreeMap::new();
    for e in executions {
        assert_eq!(
            e["status"],
            "SUCCEEDED",
            "{e}\nstderr:\n{}",
            server.stderr()
        );
        // No return value: Payload is null, and OutputPath $.Payload keeps it.
        assert_eq!(e["output"], "null", "{e}");
        let input: Value = serde_json::from_str(e["input"].as_str().expect("input")).expect("json");
        by_input.insert(input.to_string(), e);
    }

    let stderr = server.stderr();
    let log = dir.path().join("logs/sample.jsonl");
    for payload in payloads {
        let value: Value = serde_json::from_str(payload).expect("payload JSON");
        let compact = serde_json::to_string(&value).expect("compact");
        let execution = by_input
            .get(&compact)
            .unwrap_or_else(|| panic!("no execution got {compact}"));
        assert!(
            stderr.contains(&format!("Printing out the event {compact}")),
            "the function's log line for {compact} is missing:\n{stderr}"
        );
        let arn = execution["executionArn"].as_str().expect("arn");
        let events = logged_events(&log, arn, "ExecutionSucceeded");
        let types: Vec<&str> = events
            .iter()
            .map(|e| e["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            types,
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskSucceeded",
                "TaskStateExited",
                "PassStateEntered",
                "PassStateExited",
                "ExecutionSucceeded"
            ],
            "{arn}"
        );
        let scheduled = &events[2]["details"];
        assert_eq!(scheduled["resource"], "arn:aws:states:::lambda:invoke");
        let parameters: Value =
            serde_json::from_str(scheduled["parameters"].as_str().expect("parameters"))
                .expect("json");
        assert_eq!(
            parameters,
            json!({
                "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:sample-func",
                "Payload": value
            })
        );
        let output: Value = serde_json::from_str(
            events[4]["details"]["output"]
                .as_str()
                .expect("task output"),
        )
        .expect("json");
        assert_eq!(output["Payload"], Value::Null);
        assert_eq!(output["StatusCode"], 200);
        assert_eq!(output["ExecutedVersion"], "$LATEST");
        let request_id = output["SdkResponseMetadata"]["RequestId"]
            .as_str()
            .expect("request id");
        assert!(
            stderr.contains(request_id),
            "the log line carries the Lambda request id {request_id}"
        );
    }
    // The same story in the metrics of the admin address.
    let metrics = common::request(server.admin, "GET /metrics HTTP/1.1", b"");
    assert_eq!(metrics.status, 200);
    let n = payloads.len();
    for line in [
        format!(r#"stepgate_webhook_requests_total{{route="POST /",status="200"}} {n}"#),
        format!(r#"stepgate_executions_started_total{{type="EXPRESS"}} {n}"#),
        format!(r#"stepgate_executions_finished_total{{status="SUCCEEDED"}} {n}"#),
        format!(r#"stepgate_webhook_ack_seconds_count{{route="POST /"}} {n}"#),
    ] {
        assert!(metrics.body.contains(&line), "{line} in:\n{}", metrics.body);
    }
    drop(server);
}

/// The events of one execution in a JSON-lines execution log, waiting until
/// `last` is there (the log is written after the step commits).
fn logged_events(log: &Path, arn: &str, last: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let events: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["execution_arn"] == arn)
            .collect();
        if events.iter().any(|e| e["type"] == last) {
            return events;
        }
        assert!(Instant::now() < deadline, "{arn}: no {last} in {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_function_error_is_caught_by_its_error_type() {
    let dir = tempfile::tempdir().expect("temp dir");
    let line = r#"{"errorMessage": "card \"4242\" declined", "errorType": "PaymentDeclined"}"#;
    std::fs::write(
        dir.path().join("charge.sh"),
        format!("cat > /dev/null\necho 'charging' >&2\necho '{line}' >&2\nexit 1\n"),
    )
    .expect("script");
    let definition = json!({
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Catch": [
                    {"ErrorEquals": ["Lambda.Unknown"], "Next": "Wrong"},
                    {"ErrorEquals": ["PaymentDeclined"], "ResultPath": "$.error", "Next": "Declined"}
                ],
                "End": true
            },
            "Declined": {"Type": "Pass", "End": true},
            "Wrong": {"Type": "Fail", "Error": "WrongCatcher"}
        }
    });
    let config = dir.path().join("stepgate.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
store = "sqlite://store.db"

[functions.charge]
runtime = "command"
command = ["sh", "charge.sh"]

[state_machines.pay]
definition = '{definition}'

[[routes]]
method = "POST"
path = "/pay"
state_machine = "pay"
"#
        ),
    )
    .expect("config");
    let server = Server::start(&config);
    let (status, _) = request(server.listen, "POST /pay HTTP/1.1", r#"{"card": "4242"}"#);
    assert_eq!(status, 200);
    let executions = server.finished_executions("pay", 1);
    let e = &executions[0];
    assert_eq!(
        e["status"],
        "SUCCEEDED",
        "{e}\nstderr:\n{}",
        server.stderr()
    );
    let output: Value = serde_json::from_str(e["output"].as_str().expect("output")).expect("json");
    assert_eq!(
        output,
        json!({"card": "4242", "error": {"Error": "PaymentDeclined", "Cause": line}})
    );
    assert!(server.stderr().contains("charging"), "{}", server.stderr());
}

#[test]
fn an_http_function_serves_a_route_and_a_broken_one_is_refused_at_start() {
    use std::io::{BufRead, BufReader, Read, Write};

    /// The function: answers each POST with `{"resized": <event>,
    /// "authorization": <its Authorization header>}`.
    fn serve_function(listener: std::net::TcpListener) {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream);
            let (mut length, mut authorization) = (0, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or_default();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "authorization" => authorization = value.trim().to_owned(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let answer = json!({"resized": event, "authorization": authorization}).to_string();
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    }

    let function = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let function_addr = function.local_addr().expect("address");
    std::thread::spawn(move || serve_function(function));

    let dir = tempfile::tempdir().expect("temp dir");
    let definition = json!({
        "StartAt": "Resize",
        "States": {
            "Resize": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "resize", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": true
            }
        }
    });
    let config = dir.path().join("stepgate.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
store = "sqlite://store.db"

[functions.resize]
runtime = "http"
url = "http://{function_addr}/resize"
headers_env = {{ Authorization = "STEPGATE_TEST_RESIZE_TOKEN" }}

[state_machines.resize]
definition = '{definition}'

[[routes]]
method = "POST"
path = "/resize"
state_machine = "resize"
"#
        ),
    )
    .expect("config");
    let server = common::Server::start_with_env(
        dir.path(),
        &["--config", &config.to_string_lossy()],
        &[("STEPGATE_TEST_RESIZE_TOKEN", "Bearer t0ken")],
    );
    let server = Server {
        listen: server.addr("listen"),
        admin: server.addr("admin_listen"),
        server,
    };
    let (status, _) = request(
        server.listen,
        "POST /resize HTTP/1.1",
        r#"{"image": "cat.png"}"#,
    );
    assert_eq!(status, 200);
    let executions = server.finished_executions("resize", 1);
    let e = &executions[0];
    assert_eq!(
        e["status"],
        "SUCCEEDED",
        "{e}\nstderr:\n{}",
        server.stderr()
    );
    let output: Value = serde_json::from_str(e["output"].as_str().expect("output")).expect("json");
    assert_eq!(
        output,
        json!({"resized": {"image": "cat.png"}, "authorization": "Bearer t0ken"})
    );
    drop(server);

    // A URL the config accepts but no HTTP client can use: refused at
    // start-up, before the store is opened.
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("stepgate.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nstore = \"sqlite://s.db\"\n\n[functions.f]\nruntime = \"http\"\nurl = \"http://exa mple/f\"\n",
    )
    .expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"functions.f: url "http://exa mple/f" is not a valid URL"#),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(
        !dir.path().join("s.db").exists(),
        "refused before the store"
    );
}
