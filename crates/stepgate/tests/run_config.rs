//! `stepgate run --config`: Task states run the config's functions, in one
//! command, on the real binary (functions are python3 scripts run by the
//! `command` runtime).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::{Value, json};

fn stepgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args(args)
        .output()
        .expect("stepgate runs")
}

/// The result line `run` prints.
fn result(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "no JSON result; status={:?} stdout={stdout} stderr={}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The python3 interpreter itself: `python3` on PATH may be a shim (pyenv's
/// is a shell script) that costs more than the function, 1,000 times over.
fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 runs (the functions of these tests are python scripts)");
    assert!(out.status.success(), "python3 -c failed");
    String::from_utf8(out.stdout)
        .expect("utf8 path")
        .trim()
        .to_owned()
}

/// A project directory with `stepgate.toml` (`functions` and
/// `state_machines` tables as given) and the given files.
fn project(config: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("stepgate.toml"), config).expect("write config");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write file");
    }
    dir
}

fn config_path(dir: &Path) -> PathBuf {
    dir.join("stepgate.toml")
}

/// A TOML string holding `text` (JSON's escapes are TOML's).
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).expect("string")
}

const GREET_PY: &str = r#"
import json, sys
event = json.load(sys.stdin)
print("greeting " + event["name"], file=sys.stderr)
json.dump({"greeting": "Hello, " + event["name"] + "!"}, sys.stdout)
"#;

/// Like the seed scenario's state machine: a `lambda:invoke` Task (its
/// `Payload` taken out by `OutputPath`), then a Pass.
const GREET_ASL: &str = r#"{
  "StartAt": "OneFuncInvoke",
  "States": {
    "OneFuncInvoke": {
      "Type": "Task",
      "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {
        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:greet",
        "Payload.$": "$"
      },
      "OutputPath": "$.Payload",
      "Next": "SuccessState"
    },
    "SuccessState": {"Type": "Pass", "Parameters": {"message.$": "$.greeting"}, "End": true}
  }
}"#;

#[test]
fn a_lambda_invoke_task_then_a_pass_prints_the_functions_result() {
    let config = format!(
        "[functions.greet]\nruntime = \"command\"\ncommand = [{}, \"greet.py\"]\n\n\
         [state_machines.greeter]\ndefinition_file = \"greeter.asl.json\"\n",
        toml_string(&python())
    );
    let dir = project(
        &config,
        &[("greet.py", GREET_PY), ("greeter.asl.json", GREET_ASL)],
    );
    let config = config_path(dir.path());
    let config = config.to_str().expect("utf8 path");
    let expected = json!({"message": "Hello, stepgate!"});

    // A state machine of the config, by name.
    let out = stepgate(&[
        "run",
        "--config",
        config,
        "--state-machine",
        "greeter",
        "--input",
        r#"{"name":"stepgate"}"#,
        "--history",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v = result(&out);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"], expected);
    let types = v["event_types"].as_array().expect("event types");
    assert!(types.contains(&json!("TaskSucceeded")), "{types:?}");
    // The history shows Lambda's response around the payload.
    let succeeded = v["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|e| e["type"] == "TaskSucceeded")
        .expect("a TaskSucceeded event");
    let output: Value = serde_json::from_str(
        succeeded["taskSucceededEventDetails"]["output"]
            .as_str()
            .expect("output text"),
    )
    .expect("output JSON");
    assert_eq!(output["StatusCode"], 200);
    assert_eq!(output["Payload"], json!({"greeting": "Hello, stepgate!"}));

    // A definition file, with the config's functions.
    let definition = dir.path().join("greeter.asl.json");
    let out = stepgate(&[
        "run",
        "--config",
        config,
        "--definition",
        definition.to_str().expect("utf8 path"),
        "--input",
        r#"{"name":"stepgate"}"#,
    ]);
    let v = result(&out);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"], expected);

    // Durably, on a store: the engine runs the same function.
    let store = format!("sqlite://{}", dir.path().join("run.db").display());
    let out = stepgate(&[
        "run",
        "--config",
        config,
        "--state-machine",
        "greeter",
        "--store",
        &store,
        "--input",
        r#"{"name":"stepgate"}"#,
    ]);
    let v = result(&out);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"], expected);
    assert!(
        v["executionArn"]
            .as_str()
            .is_some_and(|a| a.contains(":execution:greeter:")),
        "{v}"
    );

    // Without --config the same definition still runs, and its Task fails.
    let out = stepgate(&[
        "run",
        "--definition",
        definition.to_str().expect("utf8 path"),
        "--input",
        r#"{"name":"stepgate"}"#,
    ]);
    let v = result(&out);
    assert_eq!(v["status"], "FAILED", "{v}");
    assert_eq!(v["error"], "States.TaskFailed", "{v}");
}

#[test]
fn a_functions_error_type_is_caught_by_a_catch() {
    let reject_py = r#"
import json, sys
event = json.load(sys.stdin)
print(json.dumps({"errorType": "OrderRejected", "errorMessage": "too big: %d" % event["amount"]}), file=sys.stderr)
sys.exit(1)
"#;
    let definition = r#"{
      "StartAt": "Check",
      "States": {
        "Check": {
          "Type": "Task",
          "Resource": "arn:aws:states:::lambda:invoke",
          "Parameters": {"FunctionName": "reject", "Payload.$": "$"},
          "Catch": [
            {"ErrorEquals": ["Lambda.Unknown"], "Next": "Wrong"},
            {"ErrorEquals": ["OrderRejected"], "ResultPath": "$.error", "Next": "Rejected"}
          ],
          "Next": "Wrong"
        },
        "Wrong": {"Type": "Fail", "Error": "Wrong"},
        "Rejected": {"Type": "Pass", "End": true}
      }
    }"#;
    let config = format!(
        "[functions.reject]\nruntime = \"command\"\ncommand = [{}, \"reject.py\"]\n\n\
         [state_machines.orders]\ndefinition = '''{definition}'''\n",
        toml_string(&python())
    );
    let dir = project(&config, &[("reject.py", reject_py)]);
    let out = stepgate(&[
        "run",
        "--config",
        config_path(dir.path()).to_str().expect("utf8 path"),
        "--state-machine",
        "orders",
        "--input",
        r#"{"amount":500}"#,
    ]);
    let v = result(&out);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"]["amount"], 500, "{v}");
    assert_eq!(v["output"]["error"]["Error"], "OrderRejected", "{v}");
    // The Cause is the function's error JSON, as on AWS.
    let cause: Value = serde_json::from_str(
        v["output"]["error"]["Cause"]
            .as_str()
            .expect("Cause is text"),
    )
    .expect("Cause is the error JSON");
    assert_eq!(cause["errorMessage"], "too big: 500");
}

/// Counts invocations in flight across processes: a file holding
/// "CURRENT PEAK CALLS", updated under `flock`. Each invocation holds its
/// slot for 5 to 9 ms (varying with the item, so results finish out of
/// order) and returns the item's index and its value squared.
const SQUARE_PY: &str = r#"
import fcntl, json, sys, time

def bump(delta):
    with open("inflight.txt", "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        current, peak, calls = (int(x) for x in f.read().split())
        current += delta
        peak = max(peak, current)
        calls += 1 if delta > 0 else 0
        f.seek(0)
        f.write("%d %d %d\n" % (current, peak, calls))
        f.truncate()
        # Closing flushes, then releases the lock.

event = json.load(sys.stdin)
bump(1)
time.sleep((5 + event["index"] * 7 % 5) / 1000)
bump(-1)
json.dump({"index": event["index"], "square": event["value"] ** 2}, sys.stdout)
"#;

/// A Map over the items with no limit of its own (`MaxConcurrency: 0`):
/// only the function's `concurrency` bounds the invocations.
const SQUARES_ASL: &str = r#"{
  "StartAt": "Squares",
  "States": {
    "Squares": {
      "Type": "Map",
      "ItemsPath": "$.items",
      "MaxConcurrency": 0,
      "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value"},
      "ItemProcessor": {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": "Square",
        "States": {
          "Square": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:square",
            "End": true
          }
        }
      },
      "End": true
    }
  }
}"#;

#[test]
fn a_map_of_1000_items_never_has_more_than_the_functions_concurrency_in_flight() {
    const ITEMS: i64 = 1000;
    const CONCURRENCY: i64 = 8;
    let config = format!(
        "[functions.square]\nruntime = \"command\"\n\
         command = [{}, \"-S\", \"square.py\"]\nconcurrency = {CONCURRENCY}\n\n\
         [state_machines.squares]\ndefinition_file = \"squares.asl.json\"\n",
        toml_string(&python())
    );
    let items: Vec<i64> = (0..ITEMS).map(|i| i * 3 - 100).collect();
    let input = json!({ "items": items }).to_string();
    let dir = project(
        &config,
        &[
            ("square.py", SQUARE_PY),
            ("squares.asl.json", SQUARES_ASL),
            ("inflight.txt", "0 0 0\n"),
            ("input.json", &input),
        ],
    );
    let started = Instant::now();
    let out = stepgate(&[
        "run",
        "--config",
        config_path(dir.path()).to_str().expect("utf8 path"),
        "--state-machine",
        "squares",
        "--input-file",
        dir.path().join("input.json").to_str().expect("utf8 path"),
    ]);
    let took = started.elapsed();
    eprintln!("{ITEMS} invocations, concurrency {CONCURRENCY}: {took:?}");
    let v = result(&out);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");

    // Every item's result, in the items' order.
    let output = v["output"].as_array().expect("the Map's output array");
    assert_eq!(output.len(), items.len());
    for (i, (result, value)) in output.iter().zip(&items).enumerate() {
        assert_eq!(
            result,
            &json!({"index": i, "square": value * value}),
            "item {i}"
        );
    }

    let counter = std::fs::read_to_string(dir.path().join("inflight.txt")).expect("counter");
    let [current, peak, calls]: [i64; 3] = counter
        .split_whitespace()
        .map(|n| n.parse().expect("number"))
        .collect::<Vec<_>>()
        .try_into()
        .expect("three numbers");
    eprintln!("peak in flight: {peak}");
    assert_eq!(calls, ITEMS, "one invocation per item");
    assert_eq!(current, 0, "every invocation ended");
    assert!(
        peak <= CONCURRENCY,
        "{peak} invocations were in flight at once; the function's concurrency is {CONCURRENCY}"
    );
    assert!(
        peak >= 2,
        "never more than {peak} invocation in flight: the Map's iterations did not run concurrently"
    );
}

#[test]
fn config_problems_name_the_file_and_the_fix() {
    let dir = project(
        "[state_machines.sample]\ndefinition = '{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Succeed\"}}}'\n",
        &[],
    );
    let config = config_path(dir.path());
    let config = config.to_str().expect("utf8 path");

    let out = stepgate(&["run", "--config", config, "--state-machine", "smaple"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(config) && stderr.contains("smaple") && stderr.contains("defined: sample"),
        "{stderr}"
    );

    // The config's own state machine, with no Task: runs as it is.
    let out = stepgate(&["run", "--config", config, "--state-machine", "sample"]);
    assert_eq!(result(&out)["status"], "SUCCEEDED");

    // An invalid config: its problems as `check-config` prints them.
    std::fs::write(
        dir.path().join("bad.toml"),
        "[functions.f]\nruntime = \"command\"\n",
    )
    .expect("write config");
    let bad = dir.path().join("bad.toml");
    let out = stepgate(&[
        "run",
        "--config",
        bad.to_str().expect("utf8 path"),
        "--state-machine",
        "sample",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let check = Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args(["check-config", bad.to_str().expect("utf8 path")])
        .output()
        .expect("check-config runs");
    assert!(!check.stderr.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&check.stderr)
    );

    // --state-machine names a state machine of a config.
    let out = stepgate(&["run", "--state-machine", "sample"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config"));
}
