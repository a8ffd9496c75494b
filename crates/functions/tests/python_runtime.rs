//! The `lambda-runtime` runtime with a Python function written for AWS's
//! Python runtime interface client (`awslambdaric` from PyPI), run
//! unmodified: `python3 -m awslambdaric app.handler`, as in AWS's own
//! container images. The function is `tests/fixtures/python/app.py`.
//!
//! awslambdaric must be installed for `python3` (`.ci/run` installs it);
//! without it these tests fail, saying how to install it.

mod common;
use common::{INVOKE, error, invoke, task};

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use engine::scheduler::TaskInvoker;
use functions::FunctionInvoker;
use serde_json::{Value, json};

/// The version `.ci/run` installs.
const INSTALL: &str = "python3 -m pip install --only-binary=:all: awslambdaric==4.2.2";
/// The function's `timeout_seconds` in these tests.
const TIMEOUT_SECONDS: u64 = 10;

/// Fails (never skips) when `python3` cannot import awslambdaric.
fn require_awslambdaric() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        match std::process::Command::new("python3")
            .args(["-c", "import awslambdaric, runtime_client"])
            .output()
        {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "`python3 -c \"import awslambdaric, runtime_client\"` failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim_end()
            )),
            Err(e) => Err(format!("cannot run python3: {e}")),
        }
    });
    if let Err(why) = checked {
        panic!(
            "these tests run a Python function under AWS's Python runtime interface \
             client, which is not installed: {why}\n\
             Install it with:\n    {INSTALL}\n(.ci/run does this)"
        );
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    invoker: FunctionInvoker,
}

/// A `stepgate.toml` with `[functions.py]` and `app.py` beside it.
fn setup() -> Setup {
    logs();
    require_awslambdaric();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python/app.py");
    std::fs::copy(&app, dir.path().join("app.py")).expect("copy app.py");
    let text = format!(
        "[functions.py]\n\
         runtime = \"lambda-runtime\"\n\
         command = [\"python3\", \"-m\", \"awslambdaric\", \"app.handler\"]\n\
         timeout_seconds = {TIMEOUT_SECONDS}\n"
    );
    let path = dir.path().join("stepgate.toml");
    std::fs::write(&path, &text).expect("write stepgate.toml");
    let config = config::parse(&text, &path).unwrap_or_else(|e| panic!("config: {e}"));
    let invoker = FunctionInvoker::from_config(&config, dir.path()).expect("invoker");
    Setup { _dir: dir, invoker }
}

fn pid(out: &Value) -> u64 {
    out["Payload"]["pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("a pid in {out}"))
}

/// Collects what the fmt subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log events of every test in this binary. A global subscriber, set
/// before any function runs (by [`setup`]): a per-test `set_default` can
/// miss events whose callsite another test's thread registered first.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        captured
    })
}

/// The logged lines that contain `text`, waiting up to 5 s for one: the
/// stdout reader may log a line a moment after the invocation's answer.
async fn logged(text: &str) -> Vec<String> {
    for _ in 0..250 {
        let all = String::from_utf8_lossy(&logs().0.lock().expect("lock")).into_owned();
        let lines: Vec<String> = all
            .lines()
            .filter(|l| l.contains(text))
            .map(str::to_owned)
            .collect();
        if !lines.is_empty() {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Vec::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmodified_python_lambda_gets_the_event_and_lambdas_context() {
    let s = setup();

    let event = json!({
        "quote": "it's \"x\" \\ \\\" \\\\n é 日本 😀 \u{0001} \t\n",
        "json_text": "{\"a\": [1, \"b\"]}",
        "nested": {"n": [1, -2, 9007199254740991_u64, 1.5, -0.25, true, null, [], {}],
                   "deep": {"ключ": {"ü": ["\\", "\""]}}},
        "log": "hello from python ✓"
    });
    let out = invoke(&s.invoker, "py", event.clone())
        .await
        .expect("invoked");
    assert_eq!(out["StatusCode"], 200);
    let payload = &out["Payload"];
    assert_eq!(payload["echo"], event, "the event arrives exactly");
    assert_eq!(payload["function"], "py");
    let request_id = out["SdkResponseMetadata"]["RequestId"]
        .as_str()
        .expect("a request id")
        .to_owned();
    assert!(!request_id.is_empty());
    assert_eq!(
        payload["request_id"], request_id,
        "the request id the function saw is the one in the response"
    );
    assert_eq!(
        payload["invoked_arn"],
        "arn:aws:lambda:local:000000000000:function:py"
    );
    let remaining = payload["remaining_ms"].as_u64().expect("remaining_ms");
    assert!(
        // A cold start's init is not counted: the whole timeout is left.
        remaining > 0 && remaining <= TIMEOUT_SECONDS * 1000,
        "remaining time {remaining} ms is within the {TIMEOUT_SECONDS} s timeout"
    );

    // The line the handler printed is a log event of the function. (Its
    // request id is not checked: the runtime reads it when it logs the
    // line, which may be after the answer.)
    let lines = logged("app.py log: hello from python ✓").await;
    assert_eq!(lines.len(), 1, "the printed line is logged once: {lines:?}");
    assert!(lines[0].contains(" INFO "), "{}", lines[0]);
    assert!(lines[0].contains("function=py"), "{}", lines[0]);

    // Events that are not objects round-trip too.
    for event in [
        json!("just a \"string\" é"),
        json!([1, "two", {"3": null}]),
        json!(null),
    ] {
        let out = invoke(&s.invoker, "py", event.clone())
            .await
            .expect("invoked");
        assert_eq!(out["Payload"]["echo"], event);
    }

    // A full ARN with a qualifier reaches the same function and is what the
    // function sees as invoked.
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:py:live";
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
    assert_eq!(out["Payload"]["function"], "py");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_process_stays_warm_and_is_reused() {
    let s = setup();
    let mut pids = Vec::new();
    let mut request_ids = std::collections::BTreeSet::new();
    for i in 0..10 {
        let out = invoke(&s.invoker, "py", json!({"i": i}))
            .await
            .expect("invoked");
        assert_eq!(out["Payload"]["echo"], json!({"i": i}));
        pids.push(pid(&out));
        request_ids.insert(out["Payload"]["request_id"].to_string());
    }
    assert!(
        pids.iter().all(|p| *p == pids[0]),
        "one warm process served every invocation: {pids:?}"
    );
    assert_eq!(request_ids.len(), 10, "each invocation has its own id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_exception_is_named_by_its_class_and_keeps_the_process() {
    let s = setup();
    let before = invoke(&s.invoker, "py", json!({})).await.expect("invoked");
    let (name, cause) = error(
        invoke(
            &s.invoker,
            "py",
            json!({"fail": true, "message": "bad input: \"x\" é"}),
        )
        .await,
    );
    assert_eq!(name, "HandlerError", "{cause}");
    let cause: Value = serde_json::from_str(&cause)
        .unwrap_or_else(|e| panic!("the cause is the error JSON ({e}): {cause}"));
    assert_eq!(cause["errorType"], "HandlerError");
    assert_eq!(cause["errorMessage"], "bad input: \"x\" é");
    let trace = cause["stackTrace"].as_array().expect("a stack trace");
    assert!(
        trace
            .iter()
            .any(|f| f.as_str().is_some_and(|f| f.contains("app.py"))),
        "the trace names the handler's file: {cause}"
    );
    // An error is an answer: the same process serves the next invocation.
    let after = invoke(&s.invoker, "py", json!({"again": 1}))
        .await
        .expect("invoked");
    assert_eq!(after["Payload"]["echo"], json!({"again": 1}));
    assert_eq!(pid(&before), pid(&after), "the process is still warm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_is_lambda_unknown_and_the_next_invocation_starts_a_new_process() {
    let s = setup();
    let before = invoke(&s.invoker, "py", json!({})).await.expect("invoked");
    let (name, cause) = error(invoke(&s.invoker, "py", json!({"crash": true})).await);
    assert_eq!(name, "Lambda.Unknown", "{cause}");
    assert!(
        cause.contains("Runtime exited with error") && cause.contains('3'),
        "{cause}"
    );
    let after = invoke(&s.invoker, "py", json!({"after": "crash"}))
        .await
        .expect("restarted");
    assert_eq!(after["Payload"]["echo"], json!({"after": "crash"}));
    assert_ne!(pid(&before), pid(&after), "a fresh process");
}
