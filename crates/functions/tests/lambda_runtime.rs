//! The `lambda-runtime` runtime with a function built from AWS's own Rust
//! runtime client (`examples/lambda_echo.rs`, the `lambda_runtime` crate,
//! unmodified), invoked as the engine invokes tasks.

mod common;
use common::{INVOKE, error, invoke, task};

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use engine::scheduler::TaskInvoker;
use functions::FunctionInvoker;
use serde_json::{Value, json};

/// The example binary, built once if this test run did not build it.
fn lambda_echo() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // target/<profile>/deps/<this test> -> target/<profile>/examples/lambda_echo
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target profile directory");
        let path = profile_dir.join("examples").join("lambda_echo");
        if !path.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let release = profile_dir.ends_with("release");
            let mut build = std::process::Command::new(cargo);
            build.args(["build", "-q", "-p", "functions", "--example", "lambda_echo"]);
            if release {
                build.arg("--release");
            }
            let status = build
                .status()
                .expect("cargo build of the lambda_echo example");
            assert!(status.success(), "cannot build examples/lambda_echo.rs");
        }
        path
    })
    .clone()
}

struct Setup {
    _dir: tempfile::TempDir,
    invoker: FunctionInvoker,
}

fn setup(extra: &str) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "[functions.echo]\nruntime = \"lambda-runtime\"\ncommand = [{:?}]\n{extra}\n",
        lambda_echo().display().to_string()
    );
    let path = dir.path().join("stepgate.toml");
    let config = config::parse(&text, &path).unwrap_or_else(|e| panic!("config: {e}"));
    let invoker = FunctionInvoker::from_config(&config, dir.path()).expect("invoker");
    Setup { _dir: dir, invoker }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmodified_rust_lambda_gets_the_event_and_lambdas_context() {
    let s = setup("");
    let event = json!({"quote": "it's \"x\" \\ é 日本", "n": [1, 2, {"a": null}]});
    let out = invoke(&s.invoker, "echo", event.clone())
        .await
        .expect("invoked");
    assert_eq!(out["StatusCode"], 200);
    let payload = &out["Payload"];
    assert_eq!(payload["echo"], event, "the event arrives exactly");
    assert_eq!(payload["function"], "echo");
    assert_eq!(payload["memory"], 128);
    assert_eq!(
        payload["request_id"], out["SdkResponseMetadata"]["RequestId"],
        "the request id the function saw is the one in the response"
    );
    assert_eq!(
        payload["invoked_arn"],
        "arn:aws:lambda:local:000000000000:function:echo"
    );
    let deadline = payload["deadline_ms"].as_u64().expect("deadline");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    assert!(
        deadline > now_ms && deadline <= now_ms + 31_000,
        "deadline {deadline} is within the default 30 s timeout of now {now_ms}"
    );

    // A full ARN with a qualifier reaches the same function and is what the
    // function sees as invoked.
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:echo:live";
    let out = s
        .invoker
        .invoke(task(
            INVOKE,
            json!({"FunctionName": arn, "Payload": {}}),
            None,
        ))
        .await
        .expect("invoked by ARN");
    assert_eq!(out["Payload"]["invoked_arn"], arn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_stay_warm_and_are_reused() {
    let s = setup("");
    let mut pids = Vec::new();
    for i in 0..20 {
        let out = invoke(&s.invoker, "echo", json!({"i": i}))
            .await
            .expect("invoked");
        pids.push(out["Payload"]["pid"].as_u64().expect("pid"));
    }
    assert!(
        pids.iter().all(|p| *p == pids[0]),
        "one warm process served every invocation: {pids:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_keep_their_type_and_the_process() {
    let s = setup("");
    let (name, cause) = error(
        invoke(
            &s.invoker,
            "echo",
            json!({"fail": "HandlerError", "message": "bad input"}),
        )
        .await,
    );
    assert_eq!(name, "HandlerError");
    let cause: Value = serde_json::from_str(&cause).expect("the cause is the error JSON");
    assert_eq!(cause["errorType"], "HandlerError");
    assert_eq!(cause["errorMessage"], "bad input");
    // An error is an answer: the process is still warm.
    let a = invoke(&s.invoker, "echo", json!({}))
        .await
        .expect("invoked");
    let b = invoke(&s.invoker, "echo", json!({}))
        .await
        .expect("invoked");
    assert_eq!(a["Payload"]["pid"], b["Payload"]["pid"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_invocation_is_lambda_unknown_and_the_next_one_restarts_it() {
    let s = setup("");
    let before = invoke(&s.invoker, "echo", json!({}))
        .await
        .expect("invoked");
    let (name, cause) = error(invoke(&s.invoker, "echo", json!({"crash": 3})).await);
    assert_eq!(name, "Lambda.Unknown");
    assert!(
        cause.contains("Runtime exited with error") && cause.contains('3'),
        "{cause}"
    );
    let after = invoke(&s.invoker, "echo", json!({}))
        .await
        .expect("restarted");
    assert_ne!(
        before["Payload"]["pid"], after["Payload"]["pid"],
        "a fresh process"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_invocation_is_killed_at_the_function_timeout() {
    let s = setup("timeout_seconds = 1");
    let started = Instant::now();
    let (name, cause) = error(invoke(&s.invoker, "echo", json!({"sleep_ms": 10_000})).await);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(name, "Lambda.Unknown");
    assert!(
        cause.contains("Task timed out after 1.00 seconds"),
        "{cause}"
    );
    // The next invocation gets a fresh process and works.
    invoke(&s.invoker, "echo", json!({}))
        .await
        .expect("after the timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_task_timeout_is_states_timeout() {
    let s = setup("timeout_seconds = 30");
    let result = s
        .invoker
        .invoke(task(
            INVOKE,
            json!({"FunctionName": "echo", "Payload": {"sleep_ms": 10_000}}),
            Some(1),
        ))
        .await;
    let f = result.expect_err("timed out");
    assert_eq!(f.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_exits_at_init_fails_the_invocation_clearly() {
    let s = setup("environment = { LAMBDA_ECHO_EXIT_AT_INIT = \"7\" }");
    let (name, cause) = error(invoke(&s.invoker, "echo", json!({})).await);
    assert_eq!(name, "Lambda.Unknown");
    assert!(cause.contains("Runtime exited with error"), "{cause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_past_6_mb_are_refused() {
    let s = setup("");
    let started = Instant::now();
    let (name, cause) = error(invoke(&s.invoker, "echo", json!({"big": 7_000_000})).await);
    assert_eq!(name, "Function.ResponseSizeTooLarge", "{cause}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered, not timed out"
    );
    let ok = invoke(&s.invoker, "echo", json!({"big": 1000}))
        .await
        .expect("small");
    assert_eq!(ok["Payload"].as_str().map(str::len), Some(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_the_warm_processes() {
    let s = setup("concurrency = 3");
    let mut calls = Vec::new();
    for i in 0..12 {
        let invoker = s.invoker.clone();
        calls.push(tokio::spawn(async move {
            invoke(&invoker, "echo", json!({"sleep_ms": 100, "i": i})).await
        }));
    }
    let started = Instant::now();
    let mut pids = std::collections::BTreeSet::new();
    for call in calls {
        let out = call.await.expect("joined").expect("invoked");
        pids.insert(out["Payload"]["pid"].as_u64().expect("pid"));
    }
    assert!(pids.len() <= 3, "at most 3 processes, got {}", pids.len());
    assert!(
        started.elapsed() >= Duration::from_millis(390),
        "12 × 100 ms over 3 processes takes at least 400 ms"
    );
}
