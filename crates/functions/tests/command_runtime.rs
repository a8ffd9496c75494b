//! The `command` runtime through the public API: a config with small `sh`
//! scripts, invoked as the engine invokes tasks (`TaskInvoker::invoke`).

mod common;
use common::{INVOKE, error, invoke, task};

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine::scheduler::TaskInvoker;
use functions::FunctionInvoker;
use serde_json::{Value, json};

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function";

/// A temp dir holding `stepgate.toml` and the scripts it runs.
struct Setup {
    dir: tempfile::TempDir,
    invoker: FunctionInvoker,
}

/// `functions` is the `[functions.*]` TOML; `scripts` are (file, body).
fn setup(functions: &str, scripts: &[(&str, &str)]) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, body) in scripts {
        std::fs::write(dir.path().join(name), body).expect("script");
    }
    let path = dir.path().join("stepgate.toml");
    let config = config::parse(functions, &path).unwrap_or_else(|e| panic!("config: {e}"));
    let invoker = FunctionInvoker::from_config(&config, dir.path()).expect("invoker");
    Setup { dir, invoker }
}

fn function(name: &str, script: &str, extra: &str) -> String {
    format!(
        "[functions.{name}]\nruntime = \"command\"\ncommand = [\"sh\", \"{script}\"]\n{extra}\n"
    )
}

/// Whether a process is gone (or a zombie, which holds no resources but
/// its table entry).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn read_pid(dir: &Path, file: &str) -> Option<u32> {
    std::fs::read_to_string(dir.join(file))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[tokio::test]
async fn echo_returns_the_event_in_lambdas_response_shape() {
    let s = setup(&function("echo", "echo.sh", ""), &[("echo.sh", "cat\n")]);
    let event =
        json!({"q": "say \"hi\" \\ it's", "u": "é 日本 😀", "t": "$x #y", "n": [1, {"x": null}]});
    let result = invoke(&s.invoker, "echo", event.clone()).await.expect("ok");
    assert_eq!(result["Payload"], event);
    assert_eq!(result["ExecutedVersion"], "$LATEST");
    assert_eq!(result["StatusCode"], 200);
    assert_eq!(result["SdkHttpMetadata"]["HttpStatusCode"], 200);
    let request_id = result["SdkResponseMetadata"]["RequestId"]
        .as_str()
        .expect("request id");
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    assert_eq!(
        result["SdkHttpMetadata"]["HttpHeaders"]["x-amzn-RequestId"],
        request_id
    );
    assert_eq!(
        result["SdkHttpMetadata"]["AllHttpHeaders"]["x-amzn-RequestId"],
        json!([request_id])
    );
    assert_eq!(
        result["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"],
        event.to_string().len().to_string()
    );
}

#[tokio::test]
async fn no_output_is_null_and_no_payload_is_an_empty_event() {
    let s = setup(
        &format!(
            "{}{}",
            function("quiet", "quiet.sh", ""),
            function("echo", "echo.sh", "")
        ),
        &[("quiet.sh", "cat >/dev/null\n"), ("echo.sh", "cat\n")],
    );
    let result = invoke(&s.invoker, "quiet", json!({"a": 1}))
        .await
        .expect("ok");
    assert_eq!(result["Payload"], Value::Null);
    let result = s
        .invoker
        .invoke(task(INVOKE, json!({"FunctionName": "echo"}), None))
        .await
        .expect("ok");
    assert_eq!(result["Payload"], json!({}));
}

#[tokio::test]
async fn a_lambda_arn_resource_returns_the_payload_itself() {
    let s = setup(&function("echo", "echo.sh", ""), &[("echo.sh", "cat\n")]);
    let result = s
        .invoker
        .invoke(task(&format!("{ARN}:echo"), json!({"a": [1, 2]}), None))
        .await
        .expect("ok");
    assert_eq!(result, json!({"a": [1, 2]}));
    let result = s
        .invoker
        .invoke(task(&format!("{ARN}:echo:$LATEST"), json!("s"), None))
        .await
        .expect("ok");
    assert_eq!(result, json!("s"));
}

#[tokio::test]
async fn every_function_name_form_reaches_the_function() {
    let s = setup(
        &function("sample-func", "echo.sh", ""),
        &[("echo.sh", "cat\n")],
    );
    for name in [
        "sample-func".to_owned(),
        "sample-func:live".to_owned(),
        "123456789012:function:sample-func".to_owned(),
        "123456789012:function:sample-func:3".to_owned(),
        format!("{ARN}:sample-func"),
        format!("{ARN}:sample-func:$LATEST"),
        "arn:aws:lambda:local:000000000000:function:sample-func".to_owned(),
    ] {
        let result = invoke(&s.invoker, &name, json!({"n": name})).await;
        assert_eq!(result.expect(&name)["Payload"], json!({"n": name}));
    }
}

#[tokio::test]
async fn unknown_and_malformed_function_names() {
    let s = setup(&function("echo", "echo.sh", ""), &[("echo.sh", "cat\n")]);
    let (e, cause) = error(invoke(&s.invoker, &format!("{ARN}:nope"), json!({})).await);
    assert_eq!(e, "Lambda.ResourceNotFoundException");
    assert!(
        cause.starts_with(&format!(
            "Function not found: {ARN}:nope (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: "
        )),
        "{cause}"
    );
    let (e, cause) = error(invoke(&s.invoker, "nope", json!({})).await);
    assert_eq!(e, "Lambda.ResourceNotFoundException");
    assert!(
        cause.contains("arn:aws:lambda:local:000000000000:function:nope"),
        "{cause}"
    );
    // As a Resource too.
    let (e, _) = error(
        s.invoker
            .invoke(task(&format!("{ARN}:nope"), json!({}), None))
            .await,
    );
    assert_eq!(e, "Lambda.ResourceNotFoundException");
    let (e, cause) = error(invoke(&s.invoker, "a:b:c:d:e", json!({})).await);
    assert_eq!(e, "Lambda.InvalidParameterValueException");
    assert!(cause.contains("a:b:c:d:e"), "{cause}");
}

#[tokio::test]
async fn error_type_on_stderr_with_a_non_zero_exit_is_the_error() {
    let line = r#"{"errorMessage": "card declined: \"4242\"", "errorType": "PaymentDeclined", "stackTrace": []}"#;
    let s = setup(
        &function("pay", "pay.sh", ""),
        &[(
            "pay.sh",
            &format!("echo 'a log line' >&2\necho '{line}' >&2\nexit 1\n"),
        )],
    );
    let (e, cause) = error(invoke(&s.invoker, "pay", json!({})).await);
    assert_eq!(e, "PaymentDeclined");
    assert_eq!(cause, line, "the error payload is the cause, as on AWS");
    // Same through a Lambda ARN resource.
    let (e, _) = error(
        s.invoker
            .invoke(task(&format!("{ARN}:pay"), json!({}), None))
            .await,
    );
    assert_eq!(e, "PaymentDeclined");
}

#[tokio::test]
async fn crashes_are_lambda_unknown_with_the_exit_and_last_stderr_lines() {
    let s = setup(
        &format!(
            "{}{}{}",
            function("crash", "crash.sh", ""),
            function("signal", "signal.sh", ""),
            function("silent", "silent.sh", "")
        ),
        &[
            (
                "crash.sh",
                "echo 'Traceback (most recent call last):' >&2\necho 'KeyError: x' >&2\necho '{\"partial\": ' \nexit 3\n",
            ),
            ("signal.sh", "kill -9 $$\n"),
            ("silent.sh", "exit 2\n"),
        ],
    );
    let (e, cause) = error(invoke(&s.invoker, "crash", json!({})).await);
    assert_eq!(e, "Lambda.Unknown");
    assert!(cause.contains("exited with status 3"), "{cause}");
    assert!(
        cause.contains("Traceback (most recent call last):\n  KeyError: x"),
        "{cause}"
    );
    let (e, cause) = error(invoke(&s.invoker, "signal", json!({})).await);
    assert_eq!(e, "Lambda.Unknown");
    assert!(cause.contains("killed by signal 9"), "{cause}");
    let (_, cause) = error(invoke(&s.invoker, "silent", json!({})).await);
    assert!(cause.contains("exited with status 2"), "{cause}");
    assert!(cause.contains("wrote nothing on stderr"), "{cause}");
}

#[tokio::test]
async fn invalid_json_on_stdout_is_a_clear_error() {
    let s = setup(
        &function("text", "text.sh", ""),
        &[("text.sh", "cat >/dev/null\necho 'Hello, not JSON'\n")],
    );
    let (e, cause) = error(invoke(&s.invoker, "text", json!({})).await);
    assert_eq!(e, "Lambda.Unknown");
    assert!(cause.contains("invalid JSON"), "{cause}");
    assert!(cause.contains("Hello, not JSON"), "{cause}");
}

#[tokio::test]
async fn stdout_past_6_mb_kills_the_process() {
    // `yes` never ends: only the limit stops it.
    let s = setup(&function("flood", "flood.sh", ""), &[("flood.sh", "yes\n")]);
    let started = Instant::now();
    let (e, cause) = error(invoke(&s.invoker, "flood", json!({})).await);
    let took = started.elapsed();
    assert_eq!(e, "Lambda.Unknown");
    assert!(cause.contains("6 MB"), "{cause}");
    assert!(cause.contains("killed"), "{cause}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn the_function_timeout_kills_the_process_group() {
    let s = setup(
        &function("slow", "slow.sh", "timeout_seconds = 1"),
        &[(
            "slow.sh",
            "echo $$ > leader.pid\nsleep 30 &\necho $! > child.pid\nwait\n",
        )],
    );
    let started = Instant::now();
    let (e, cause) = error(invoke(&s.invoker, "slow", json!({})).await);
    let took = started.elapsed();
    assert_eq!(e, "Lambda.Unknown");
    assert!(cause.contains("timed out after 1 seconds"), "{cause}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    let leader = read_pid(s.dir.path(), "leader.pid").expect("leader pid");
    let child = read_pid(s.dir.path(), "child.pid").expect("child pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(dead(leader) && dead(child)) {
        assert!(Instant::now() < deadline, "{leader} or {child} still alive");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn a_shorter_task_timeout_is_states_timeout() {
    let s = setup(
        &function("slow", "slow.sh", "timeout_seconds = 30"),
        &[("slow.sh", "sleep 30\n")],
    );
    let started = Instant::now();
    let f = s
        .invoker
        .invoke(task(INVOKE, json!({"FunctionName": "slow"}), Some(1)))
        .await
        .expect_err("timed out");
    assert_eq!(f.error_name(), "States.Timeout");
    assert_eq!(f.cause, None, "as the interpreter's own timer reports it");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_dropped_invocation_leaves_no_process() {
    let s = setup(
        &function("slow", "slow.sh", ""),
        &[(
            "slow.sh",
            "echo $$ > leader.pid\nsleep 30 &\necho $! > child.pid\nwait\n",
        )],
    );
    let call = invoke(&s.invoker, "slow", json!({}));
    // Dropped (as when the engine halts) once both processes run.
    let dir = s.dir.path().to_owned();
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::select! {
            _ = call => panic!("it cannot finish"),
            () = async {
                while read_pid(&dir, "child.pid").is_none() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            } => {}
        }
    })
    .await;
    assert!(outcome.is_ok(), "the script never started");
    let leader = read_pid(&dir, "leader.pid").expect("leader pid");
    let child = read_pid(&dir, "child.pid").expect("child pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(dead(leader) && dead(child)) {
        assert!(Instant::now() < deadline, "{leader} or {child} still alive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Each run marks itself in-flight with a file, records how many marks it
/// sees, holds for a while, and removes its mark.
const COUNTING: &str = "touch \"run.$$\"\nls run.* | wc -l >> counts\nsleep 0.3\nrm \"run.$$\"\n";

async fn max_in_flight(extra: &str, parallel: usize) -> (usize, Duration) {
    let s = setup(
        &function("count", "count.sh", extra),
        &[("count.sh", COUNTING)],
    );
    let started = Instant::now();
    let calls: Vec<_> = (0..parallel)
        .map(|_| {
            let invoker = s.invoker.clone();
            tokio::spawn(async move { invoke(&invoker, "count", json!({})).await })
        })
        .collect();
    for call in calls {
        call.await.expect("join").expect("ok");
    }
    let took = started.elapsed();
    let counts = std::fs::read_to_string(s.dir.path().join("counts")).expect("counts");
    let seen: Vec<usize> = counts
        .lines()
        .map(|l| l.trim().parse().expect("count"))
        .collect();
    assert_eq!(seen.len(), parallel);
    (seen.into_iter().max().unwrap_or(0), took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_never_exceeded() {
    let (max, took) = max_in_flight("concurrency = 2", 6).await;
    assert_eq!(max, 2, "at most 2 at once, and 2 did run together");
    assert!(
        took >= Duration::from_millis(850),
        "3 rounds of 0.3 s: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unset_concurrency_means_one_at_a_time() {
    let (max, took) = max_in_flight("", 3).await;
    assert_eq!(max, 1);
    assert!(took >= Duration::from_millis(850), "{took:?}");
}

#[tokio::test]
async fn environment_directory_and_lambda_variables() {
    let script = r#"cat >/dev/null
printf '{"name":"%s","timeout":"%s","request":"%s","greeting":"%s","pwd":"%s","home":"%s"}' \
  "$AWS_LAMBDA_FUNCTION_NAME" "$AWS_LAMBDA_FUNCTION_TIMEOUT" "$AWS_REQUEST_ID" "$GREETING" "$(pwd -P)" "${HOME:+set}"
"#;
    let s = setup(
        &function(
            "env",
            "env.sh",
            "timeout_seconds = 7\nenvironment = { GREETING = \"hello\", AWS_LAMBDA_FUNCTION_NAME = \"spoofed\" }",
        ),
        &[("env.sh", script)],
    );
    let result = invoke(&s.invoker, "env", json!({})).await.expect("ok");
    let payload = &result["Payload"];
    assert_eq!(payload["name"], "env", "Lambda's reserved variables win");
    assert_eq!(payload["timeout"], "7");
    assert_eq!(
        payload["request"],
        result["SdkResponseMetadata"]["RequestId"]
    );
    assert_eq!(payload["greeting"], "hello");
    let dir = s.dir.path().canonicalize().expect("canonical");
    assert_eq!(payload["pwd"], dir.to_string_lossy().as_ref());
    if std::env::var_os("HOME").is_some() {
        assert_eq!(
            payload["home"], "set",
            "the parent's environment is inherited"
        );
    }
}

#[tokio::test]
async fn a_program_that_cannot_start_is_lambda_unknown() {
    let s = setup(
        "[functions.gone]\nruntime = \"command\"\ncommand = [\"./no-such-program\"]\n",
        &[],
    );
    let (e, cause) = error(invoke(&s.invoker, "gone", json!({})).await);
    assert_eq!(e, "Lambda.Unknown");
    assert!(cause.contains("cannot start"), "{cause}");
    assert!(cause.contains("no-such-program"), "{cause}");
}

#[tokio::test]
async fn callbacks_hand_the_token_over_and_other_resources_fail_the_task() {
    let s = setup(&function("echo", "echo.sh", ""), &[("echo.sh", "cat\n")]);
    // The engine waits for the callback; the invocation only delivers the
    // payload (with the token in it) and reports whether that worked.
    let delivered = s
        .invoker
        .invoke(task(
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            json!({"FunctionName": "echo", "Payload": {"token": "t"}}),
            None,
        ))
        .await
        .expect("delivered");
    assert_eq!(delivered["Payload"], json!({"token": "t"}));
    let (e, _) = error(
        s.invoker
            .invoke(task(
                "arn:aws:states:::lambda:invoke.waitForTaskToken",
                json!({"FunctionName": "nobody"}),
                None,
            ))
            .await,
    );
    assert_eq!(e, "Lambda.ResourceNotFoundException");
    let (e, cause) = error(
        s.invoker
            .invoke(task("arn:aws:states:::sqs:sendMessage", json!({}), None))
            .await,
    );
    assert_eq!(e, "States.TaskFailed");
    assert_eq!(
        cause,
        "No task handler is configured for resource 'arn:aws:states:::sqs:sendMessage'"
    );
}

#[test]
fn every_runtime_is_built_and_no_functions_is_fine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stepgate.toml");
    // The http runtime (tests/http_runtime.rs) is built too; nothing
    // connects until an invocation.
    let text = "[functions.f]\nruntime = \"http\"\nurl = \"http://127.0.0.1:9/\"\n";
    let config = config::parse(text, &path).expect("valid");
    let invoker = FunctionInvoker::from_config(&config, dir.path()).expect("built");
    assert_eq!(invoker.function_names().collect::<Vec<_>>(), ["f"]);
    let config = config::parse("", &path).expect("valid");
    let invoker = FunctionInvoker::from_config(&config, dir.path()).expect("no functions");
    assert_eq!(invoker.function_names().count(), 0);
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

#[tokio::test]
async fn stderr_lines_are_log_events_with_function_and_request_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The current-thread runtime runs the whole invocation on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);
    let s = setup(
        &function("talk", "talk.sh", ""),
        &[(
            "talk.sh",
            "cat >/dev/null\necho 'first line' >&2\necho >&2\necho 'é second' >&2\n",
        )],
    );
    let result = invoke(&s.invoker, "talk", json!({})).await.expect("ok");
    let request_id = result["SdkResponseMetadata"]["RequestId"]
        .as_str()
        .expect("id")
        .to_owned();
    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), 2, "blank lines are not logged: {logs}");
    for (line, text) in lines.iter().zip(["first line", "é second"]) {
        assert!(line.contains(" INFO "), "{line}");
        assert!(line.contains(text), "{line}");
        assert!(line.contains("function=\"talk\""), "{line}");
        assert!(
            line.contains(&format!("request_id=\"{request_id}\"")),
            "{line}"
        );
    }
}

#[tokio::test]
async fn huge_timeouts_do_not_overflow() {
    let s = setup(
        &function(
            "echo",
            "echo.sh",
            "timeout_seconds = 9223372036854775807\nconcurrency = 4294967295",
        ),
        &[("echo.sh", "cat\n")],
    );
    let result = s
        .invoker
        .invoke(task(
            INVOKE,
            json!({"FunctionName": "echo", "Payload": 1}),
            Some(u64::MAX),
        ))
        .await
        .expect("ok");
    assert_eq!(result["Payload"], 1);
}
