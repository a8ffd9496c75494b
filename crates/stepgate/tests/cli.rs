//! End-to-end tests of `stepgate run` and `stepgate validate` on the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn stepgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args(args)
        .output()
        .expect("stepgate runs")
}

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stepgate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write temp file");
    path
}

fn stdout_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| {
            panic!(
                "no JSON on stdout; stdout={text} stderr={}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    serde_json::from_str(line).expect("stdout is JSON")
}

fn run_def(def: &Value, input: &str, extra: &[&str]) -> (Output, Value) {
    let file = temp_file(
        &format!("def-{}.json", rand_name()),
        def.to_string().as_bytes(),
    );
    let mut args = vec![
        "run",
        "--definition",
        file.to_str().expect("utf8 path"),
        "--input",
        input,
    ];
    args.extend_from_slice(extra);
    let out = stepgate(&args);
    let v = stdout_json(&out);
    (out, v)
}

fn rand_name() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[test]
fn example_from_the_readme_succeeds() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello.asl.json");
    let out = stepgate(&[
        "run",
        "--fast-wait",
        "--definition",
        example.to_str().unwrap(),
        "--input",
        r#"{"name":"stepgate"}"#,
    ]);
    assert!(out.status.success());
    let v = stdout_json(&out);
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"]["greeting"], "Hello, stepgate!");
    assert_eq!(
        v["output"]["squares"][2],
        json!({"n": 3, "who": "stepgate"})
    );
}

#[test]
fn failed_execution_still_exits_zero_with_error_and_cause() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "because"}}});
    let (out, v) = run_def(&def, "{}", &[]);
    assert!(out.status.success());
    assert_eq!(
        v,
        json!({"status": "FAILED", "error": "Boom", "cause": "because"})
    );
}

#[test]
fn task_without_functions_fails_with_task_failed_naming_the_resource() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}});
    let (out, v) = run_def(&def, "{}", &[]);
    assert!(out.status.success());
    assert_eq!(v["status"], "FAILED");
    assert_eq!(v["error"], "States.TaskFailed");
    assert!(
        v["cause"]
            .as_str()
            .unwrap()
            .contains("arn:aws:states:::lambda:invoke"),
        "{v}"
    );
}

#[test]
fn history_lists_aws_event_types_with_chained_ids() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "W"}, "W": {"Type": "Wait", "Seconds": 5, "End": true}}});
    let (_, v) = run_def(&def, "{}", &["--history", "--fast-wait"]);
    let types: Vec<&str> = v["event_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "ExecutionSucceeded"
        ]
    );
    let history = v["history"].as_array().unwrap();
    for (i, e) in history.iter().enumerate() {
        assert_eq!(e["id"], json!(i + 1));
        assert_eq!(e["previousEventId"], json!(i));
    }
}

#[test]
fn wait_sleeps_for_real_without_fast_wait() {
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}});
    let t = std::time::Instant::now();
    let (_, v) = run_def(&def, "{}", &[]);
    assert_eq!(v["status"], "SUCCEEDED");
    assert!(t.elapsed().as_millis() >= 1000);
}

#[test]
fn execution_timeout_gives_timed_out() {
    let def = json!({"TimeoutSeconds": 1, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let (_, v) = run_def(&def, "{}", &["--fast-wait"]);
    assert_eq!(v["status"], "TIMED_OUT", "{v}");
}

#[test]
fn invalid_definition_is_refused_with_a_location() {
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}});
    let (out, v) = run_def(&def, "{}", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["status"], "INVALID_DEFINITION");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/States/A/Next"), "{stderr}");
}

#[test]
fn bad_input_json_is_a_clear_error() {
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}});
    let file = temp_file("def-bad-input.json", def.to_string().as_bytes());
    let out = stepgate(&[
        "run",
        "--definition",
        file.to_str().unwrap(),
        "--input",
        "{not json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--input"), "{stderr}");
}

#[test]
fn malformed_inputs_never_panic() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not-json", b"{\"StartAt\": ".to_vec()),
        ("invalid-utf8", vec![b'{', 0xff, 0xfe, b'}']),
        ("deep", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
        ("deep-object", format!("{{\"StartAt\":\"A\",\"States\":{{\"A\":{{\"Type\":\"Pass\",\"Result\":{}1{},\"End\":true}}}}}}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes()),
        ("huge-name", format!("{{\"StartAt\":\"{}\",\"States\":{{}}}}", "x".repeat(2_000_000)).into_bytes()),
        ("wrong-types", br#"{"StartAt": 1, "States": [], "TimeoutSeconds": "x", "Comment": {}}"#.to_vec()),
        ("wrong-state-types", br#"{"StartAt": "A", "States": {"A": {"Type": "Map", "ItemsPath": 3, "MaxConcurrency": "x", "ItemProcessor": [], "Retry": {}, "Catch": "x", "Next": 1, "ResultPath": 2, "Parameters": "x"}}}"#.to_vec()),
    ];
    for (name, bytes) in cases {
        let file = temp_file(&format!("{name}.json"), &bytes);
        for args in [
            vec![
                "run",
                "--definition",
                file.to_str().unwrap(),
                "--input",
                "{}",
            ],
            vec!["validate", file.to_str().unwrap()],
            vec!["validate", "--json", file.to_str().unwrap()],
        ] {
            let out = stepgate(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !stderr.contains("panicked"),
                "{name}: {args:?} panicked: {stderr}"
            );
            assert!(
                matches!(out.status.code(), Some(1) | Some(2)),
                "{name}: {args:?} exit {:?}",
                out.status
            );
        }
    }
}

#[test]
fn validate_reports_json_diagnostics() {
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Next": "A"}}});
    let file = temp_file("validate-end-next.json", def.to_string().as_bytes());
    let out = stepgate(&["validate", "--json", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let diags = v["files"][0]["diagnostics"].as_array().unwrap();
    assert!(!diags.is_empty());
    assert!(
        diags
            .iter()
            .all(|d| d["code"].is_string() && d["location"].as_str().unwrap().starts_with('/'))
    );

    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello.asl.json");
    let out = stepgate(&["validate", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
