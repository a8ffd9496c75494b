//! The `http` runtime against a real local HTTP server (axum on
//! `127.0.0.1:0`) playing the function, invoked as the engine invokes tasks
//! (`TaskInvoker::invoke`).

mod common;
use common::{INVOKE, error, invoke, task};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use engine::scheduler::TaskInvoker;
use functions::FunctionInvoker;
use serde_json::{Value, json};

/// The environment variable `headers_env` names; given to the config
/// through `parse_with_env`, never set in the process.
const TOKEN_VAR: &str = "HTTP_RUNTIME_TEST_TOKEN";
const TOKEN: &str = "Bearer s3cret-t0ken";

/// What the function server saw.
#[derive(Debug, Default)]
struct Seen {
    /// Headers and raw body of each `/echo` request.
    requests: Mutex<Vec<(HeaderMap, Bytes)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    /// Requests that followed the redirect of `/redirect`.
    redirect_target: AtomicUsize,
}

/// The endpoints a function URL can point at.
fn function_server(seen: Arc<Seen>) -> Router {
    Router::new()
        .route("/echo", post(echo))
        .route("/empty", post(|| async { StatusCode::OK }))
        .route("/no-content", post(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/error",
            post(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"errorType": "ResizeFailed", "errorMessage": "image too large"}"#,
                )
            }),
        )
        .route(
            "/unavailable",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "upstream is down") }),
        )
        .route(
            "/redirect",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/target")],
                )
            }),
        )
        .route("/target", post(target))
        .route(
            "/not-json",
            post(|| async { (StatusCode::OK, "<html>hello</html>") }),
        )
        .route(
            "/hang",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                StatusCode::OK
            }),
        )
        .route(
            "/big",
            post(|| async {
                // A JSON string of 7,000,002 bytes: over Lambda's 6 MB.
                (StatusCode::OK, format!("\"{}\"", "x".repeat(7_000_000)))
            }),
        )
        .route("/slow", post(slow))
        .with_state(seen)
}

/// Records the request and answers `{"received": <the event>}`.
async fn echo(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: Bytes) -> Response {
    seen.requests
        .lock()
        .expect("lock")
        .push((headers, body.clone()));
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    axum::Json(json!({"received": event})).into_response()
}

async fn target(State(seen): State<Arc<Seen>>) -> Response {
    seen.redirect_target.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!("followed")).into_response()
}

/// Holds each request 150 ms, counting how many are in flight at once.
async fn slow(State(seen): State<Arc<Seen>>) -> Response {
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    axum::Json(json!({"done": true})).into_response()
}

struct Setup {
    seen: Arc<Seen>,
    invoker: FunctionInvoker,
}

/// Starts the function server and builds an invoker for `functions`, a
/// `[functions.*]` TOML text in which `{base}` stands for the server's
/// `http://IP:PORT`.
async fn setup(functions: &str) -> Setup {
    let seen = Arc::new(Seen::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = function_server(Arc::clone(&seen));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("function server");
    });
    let text = functions.replace("{base}", &format!("http://{addr}"));
    let env = |name: &str| (name == TOKEN_VAR).then(|| TOKEN.to_owned());
    let config = config::parse_with_env(&text, "stepgate.toml".as_ref(), &env)
        .unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    let invoker = FunctionInvoker::from_config(&config, ".".as_ref()).expect("invoker");
    Setup { seen, invoker }
}

/// One `[functions.NAME]` with `runtime = "http"` at `{base}PATH`.
fn function(name: &str, path: &str, extra: &str) -> String {
    format!("[functions.{name}]\nruntime = \"http\"\nurl = \"{{base}}{path}\"\n{extra}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_json_body_is_the_result_and_the_request_carries_the_event_and_headers() {
    let s = setup(&function(
        "echo",
        "/echo",
        &format!(
            "headers_env = {{ Authorization = \"{TOKEN_VAR}\", X-Api-Version = \"{TOKEN_VAR}\" }}"
        ),
    ))
    .await;
    let event = json!({"quote": "it's \"x\" \\ é 日本", "n": [1, 2.5, {"z": null, "a": true}]});
    let out = invoke(&s.invoker, "echo", event.clone())
        .await
        .expect("invoked");

    // Lambda's Invoke response shape, the answer as the Payload.
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["ExecutedVersion"], "$LATEST");
    assert_eq!(out["Payload"], json!({"received": event}));
    let request_id = out["SdkResponseMetadata"]["RequestId"]
        .as_str()
        .expect("request id");

    let requests = s.seen.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 1);
    let (headers, body) = &requests[0];
    assert_eq!(
        body.as_ref(),
        serde_json::to_string(&event).expect("json").as_bytes(),
        "the event arrives byte for byte"
    );
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("lambda-runtime-aws-request-id"), request_id);
    assert_eq!(
        header("lambda-runtime-invoked-function-arn"),
        "arn:aws:lambda:local:000000000000:function:echo"
    );
    assert_eq!(header("authorization"), TOKEN, "from headers_env");
    assert_eq!(header("x-api-version"), TOKEN);

    // A Lambda ARN as the Resource: the answer is the result itself, and
    // the ARN as the task named it is the one the function sees.
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:echo:live";
    let out = s
        .invoker
        .invoke(task(arn, json!({"direct": 1}), None))
        .await
        .expect("invoked by ARN");
    assert_eq!(out, json!({"received": {"direct": 1}}));
    let requests = s.seen.requests.lock().expect("lock").clone();
    assert_eq!(
        requests[1].0["lambda-runtime-invoked-function-arn"], arn,
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_body_is_null() {
    let s = setup(&format!(
        "{}{}",
        function("empty", "/empty", ""),
        function("nocontent", "/no-content", "")
    ))
    .await;
    for name in ["empty", "nocontent"] {
        let out = invoke(&s.invoker, name, json!({})).await.expect("invoked");
        assert_eq!(out["Payload"], Value::Null, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_status_with_an_error_type_is_that_error() {
    let s = setup(&function("fails", "/error", "")).await;
    let (name, cause) = error(invoke(&s.invoker, "fails", json!({})).await);
    assert_eq!(name, "ResizeFailed");
    let cause: Value = serde_json::from_str(&cause).expect("the cause is the error body");
    assert_eq!(
        cause,
        json!({"errorType": "ResizeFailed", "errorMessage": "image too large"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_statuses_are_lambda_unknown_naming_the_status_and_the_body() {
    let s = setup(&format!(
        "{}{}",
        function("unavailable", "/unavailable", ""),
        function("moved", "/redirect", "")
    ))
    .await;
    let (name, cause) = error(invoke(&s.invoker, "unavailable", json!({})).await);
    assert_eq!(name, "Lambda.Unknown");
    assert!(cause.contains("function unavailable"), "{cause}");
    assert!(cause.contains("503 Service Unavailable"), "{cause}");
    assert!(cause.contains("upstream is down"), "{cause}");

    // Redirects are answers, not followed.
    let (name, cause) = error(invoke(&s.invoker, "moved", json!({})).await);
    assert_eq!(name, "Lambda.Unknown");
    assert!(cause.contains("307 Temporary Redirect"), "{cause}");
    assert_eq!(s.seen.redirect_target.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_body_that_is_not_json_is_lambda_unknown() {
    let s = setup(&function("html", "/not-json", "")).await;
    let (name, cause) = error(invoke(&s.invoker, "html", json!({})).await);
    assert_eq!(name, "Lambda.Unknown");
    assert!(
        cause.contains("function html answered 200 OK with a body that is not JSON"),
        "{cause}"
    );
    assert!(cause.contains("<html>hello</html>"), "{cause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_that_never_answers_times_out() {
    let s = setup(&function("stuck", "/hang", "timeout_seconds = 1")).await;
    let started = Instant::now();
    let (name, cause) = error(invoke(&s.invoker, "stuck", json!({})).await);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    assert_eq!(name, "Lambda.Unknown");
    assert!(
        cause.contains("Task timed out after 1.00 seconds"),
        "{cause}"
    );
    assert!(cause.contains("function stuck"), "{cause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_task_timeout_is_states_timeout() {
    let s = setup(&function("stuck", "/hang", "timeout_seconds = 30")).await;
    let started = Instant::now();
    let f = s
        .invoker
        .invoke(task(
            INVOKE,
            json!({"FunctionName": "stuck", "Payload": {}}),
            Some(1),
        ))
        .await
        .expect_err("timed out");
    assert_eq!(f.error.as_deref(), Some("States.Timeout"));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_lambda_unknown_naming_the_url() {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let s = setup(&format!(
        "[functions.gone]\nruntime = \"http\"\nurl = \"http://127.0.0.1:{port}/fn\"\n"
    ))
    .await;
    let (name, cause) = error(invoke(&s.invoker, "gone", json!({})).await);
    assert_eq!(name, "Lambda.Unknown");
    assert!(cause.contains("function gone"), "{cause}");
    assert!(
        cause.contains(&format!("POST http://127.0.0.1:{port}/fn failed")),
        "{cause}"
    );
    assert!(
        cause.to_lowercase().contains("connection refused"),
        "{cause}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_6_mb_are_function_response_size_too_large() {
    let s = setup(&format!(
        "{}{}",
        function("big", "/big", ""),
        function("echo", "/echo", "")
    ))
    .await;
    let started = Instant::now();
    let (name, cause) = error(invoke(&s.invoker, "big", json!({})).await);
    assert_eq!(name, "Function.ResponseSizeTooLarge", "{cause}");
    let cause: Value = serde_json::from_str(&cause).expect("Lambda's error JSON");
    assert_eq!(cause["errorType"], "Function.ResponseSizeTooLarge");
    assert!(started.elapsed() < Duration::from_secs(10));
    // The function's server is still fine for the next one.
    invoke(&s.invoker, "echo", json!({})).await.expect("small");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bounds_requests_in_flight() {
    let s = setup(&function("slow", "/slow", "concurrency = 2")).await;
    let started = Instant::now();
    let calls: Vec<_> = (0..8)
        .map(|i| {
            let invoker = s.invoker.clone();
            tokio::spawn(async move { invoke(&invoker, "slow", json!({"i": i})).await })
        })
        .collect();
    for call in calls {
        let out = call.await.expect("joined").expect("invoked");
        assert_eq!(out["Payload"], json!({"done": true}));
    }
    assert_eq!(
        s.seen.max_in_flight.load(Ordering::SeqCst),
        2,
        "two at a time, never more"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(590),
        "8 × 150 ms two at a time takes at least 600 ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_defaults_to_one() {
    let s = setup(&function("slow", "/slow", "")).await;
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let invoker = s.invoker.clone();
            tokio::spawn(async move { invoke(&invoker, "slow", json!({})).await })
        })
        .collect();
    for call in calls {
        call.await.expect("joined").expect("invoked");
    }
    assert_eq!(s.seen.max_in_flight.load(Ordering::SeqCst), 1);
}
