//! The seed scenario's state machine (lambda:invoke with `Payload.$: $`,
//! `OutputPath: $.Payload`, then a Pass) with its function built from AWS's
//! own Rust runtime client (`crates/functions/examples/lambda_echo.rs`,
//! unmodified) under `runtime = "lambda-runtime"`, through
//! `stepgate run --config` on the real binary: payload in, result out, a
//! function error caught by its name, a crash, a Task timeout.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

/// The example binary of the functions crate, built if this run did not.
fn lambda_echo() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile directory")
        .to_path_buf();
    let path = profile_dir.join("examples").join("lambda_echo");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        build.args(["build", "-q", "-p", "functions", "--example", "lambda_echo"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(
            build.status().expect("cargo build").success(),
            "cannot build the lambda_echo example"
        );
    }
    path
}

const DEFINITION: &str = r#"{
  "StartAt": "OneFuncInvoke",
  "States": {
    "OneFuncInvoke": {
      "Type": "Task",
      "Comment": "For the demo",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {
        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:sample-func",
        "Payload.$": "$"
      },
      "OutputPath": "$.Payload",
      "TimeoutSeconds": 2,
      "Retry": [{
        "ErrorEquals": ["Lambda.ClientExecutionTimeoutException", "Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException"],
        "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2
      }],
      "Catch": [{"ErrorEquals": ["HandlerError"], "ResultPath": "$.error", "Next": "Caught"}],
      "Next": "SuccessState"
    },
    "Caught": {"Type": "Pass", "End": true},
    "SuccessState": {"Type": "Pass", "End": true}
  }
}"#;

fn run(input: Value) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[functions.sample-func]\nruntime = \"lambda-runtime\"\ncommand = [{:?}]\n\n\
         [state_machines.sample]\ntype = \"EXPRESS\"\ndefinition = '''{DEFINITION}'''\n",
        lambda_echo().display().to_string()
    );
    let path = dir.path().join("stepgate.toml");
    std::fs::write(&path, config).expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .arg("run")
        .arg("--config")
        .arg(&path)
        .args(["--state-machine", "sample", "--input", &input.to_string()])
        .output()
        .expect("stepgate runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "no JSON result; status={:?} stdout={stdout} stderr={}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn the_seed_runs_through_an_unmodified_rust_lambda() {
    let payload = json!({"quote": "it's \"q\" \\ é 日本", "nested": {"a": [1, null]}});
    let result = run(payload.clone());
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    let output = &result["output"];
    assert_eq!(output["echo"], payload, "the payload arrived exactly");
    assert_eq!(output["function"], "sample-func");
    assert_eq!(
        output["invoked_arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:sample-func"
    );
}

#[test]
fn a_function_error_is_caught_by_its_name() {
    let result = run(json!({"fail": "HandlerError", "message": "bad order"}));
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    assert_eq!(result["output"]["error"]["Error"], "HandlerError");
    let cause: Value =
        serde_json::from_str(result["output"]["error"]["Cause"].as_str().expect("cause"))
            .expect("the cause is the error JSON");
    assert_eq!(cause["errorMessage"], "bad order");
}

#[test]
fn a_crash_and_a_timeout_fail_with_aws_names() {
    let crashed = run(json!({"crash": 3}));
    assert_eq!(crashed["status"], "FAILED", "{crashed}");
    assert_eq!(crashed["error"], "Lambda.Unknown");
    let slow = run(json!({"sleep_ms": 10_000}));
    assert_eq!(slow["status"], "FAILED", "{slow}");
    assert_eq!(slow["error"], "States.Timeout");
}
