//! The HTTP Task (`arn:aws:states:::http:invoke`) against a real local
//! HTTP server (axum on `127.0.0.1:0`), invoked as the engine invokes tasks
//! (`TaskInvoker::invoke`), with the `[http_task] allow` list of a parsed
//! config.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use asl::failure::{Failure, STATES_TIMEOUT};
use asl::interpreter::TaskRequest;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use engine::scheduler::TaskInvoker;
use functions::FunctionInvoker;
use functions::http_task::{STATES_HTTP_SOCKET, STATES_PERMISSIONS};
use serde_json::{Value, json};

const HTTP_INVOKE: &str = "arn:aws:states:::http:invoke";
/// The environment variable an allow entry's `headers_env` names; given to
/// the config through `parse_with_env`, never set in the process.
const TOKEN_VAR: &str = "HTTP_TASK_TEST_TOKEN";
const TOKEN: &str = "Bearer s3cret-t0ken";

/// One request the server saw.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    /// Path and query, as sent.
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Debug, Default)]
struct Server {
    requests: Mutex<Vec<Seen>>,
    /// Every request to any path, recorded or not.
    count: AtomicUsize,
}

impl Server {
    fn requests(&self) -> Vec<Seen> {
        self.requests.lock().expect("lock").clone()
    }
}

fn routes(server: Arc<Server>) -> Router {
    Router::new()
        .route("/hooks/echo", any(echo))
        .route("/hooks/secure/echo", any(echo))
        .route(
            "/hooks/missing",
            any(|| async {
                (
                    StatusCode::NOT_FOUND,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"message": "no such order"}"#,
                )
            }),
        )
        .route(
            "/hooks/text",
            any(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "plain hello",
                )
            }),
        )
        .route(
            "/hooks/hang",
            any(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                StatusCode::OK
            }),
        )
        .fallback(|| async { StatusCode::IM_A_TEAPOT })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&server),
            count,
        ))
        .with_state(server)
}

async fn count(
    State(server): State<Arc<Server>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    server.count.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

/// Records the request and answers with what it saw, plus a header sent
/// twice.
async fn echo(
    State(server): State<Arc<Server>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method: method.clone(),
        uri: uri.to_string(),
        headers,
        body: body.clone(),
    };
    server.requests.lock().expect("lock").push(seen);
    let mut response = axum::Json(json!({
        "method": method.as_str(),
        "uri": uri.to_string(),
        "body": String::from_utf8_lossy(&body),
    }))
    .into_response();
    let h = response.headers_mut();
    h.append("x-seen", "a".parse().expect("value"));
    h.append("x-seen", "b".parse().expect("value"));
    response
}

struct Setup {
    server: Arc<Server>,
    invoker: FunctionInvoker,
    /// `http://127.0.0.1:PORT`
    base: String,
    port: u16,
}

/// Starts the server and builds an invoker for `config`, a TOML text in
/// which `{base}` stands for the server's `http://IP:PORT`.
async fn setup(config: &str) -> Setup {
    let server = Arc::new(Server::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = routes(Arc::clone(&server));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server");
    });
    let base = format!("http://{addr}");
    let text = config.replace("{base}", &base);
    let env = |name: &str| (name == TOKEN_VAR).then(|| TOKEN.to_owned());
    let config = config::parse_with_env(&text, "stepgate.toml".as_ref(), &env)
        .unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    let invoker = FunctionInvoker::from_config(&config, ".".as_ref()).expect("invoker");
    Setup {
        server,
        invoker,
        base,
        port: addr.port(),
    }
}

/// `/hooks/` for anyone, `/hooks/secure/` with the token from the
/// environment.
const ALLOW: &str = "[http_task]\nallow = [\n  \"{base}/hooks/\",\n  { url = \"{base}/hooks/secure/\", headers_env = { Authorization = \"HTTP_TASK_TEST_TOKEN\" } },\n]\n";

fn task(parameters: Value, timeout_seconds: Option<u64>) -> TaskRequest {
    TaskRequest {
        task: 1,
        resource: HTTP_INVOKE.to_owned(),
        parameters,
        state_name: "Call".into(),
        timeout_seconds,
        heartbeat_seconds: None,
        task_token: None,
    }
}

async fn call(s: &Setup, parameters: Value) -> Result<Value, Failure> {
    s.invoker.invoke(task(parameters, None)).await
}

fn error(result: Result<Value, Failure>) -> (String, String) {
    let f = result.expect_err("a failure");
    (f.error.unwrap_or_default(), f.cause.unwrap_or_default())
}

fn header(seen: &Seen, name: &str) -> String {
    seen.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_with_query_parameters_returns_aws_result_shape() {
    let s = setup(ALLOW).await;
    let out = call(
        &s,
        json!({
            "ApiEndpoint": format!("{}/hooks/echo?fixed=1", s.base),
            "Method": "GET",
            "QueryParameters": {"q": "a b&c", "tag": ["x", "y"], "n": 3, "ok": true},
            "Authentication": {"ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c/1"}
        }),
    )
    .await
    .expect("called");

    let keys: Vec<&str> = out
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["Headers", "ResponseBody", "StatusCode", "StatusText"]
    );
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["StatusText"], "OK");
    assert_eq!(out["Headers"]["content-type"], json!(["application/json"]));
    assert_eq!(
        out["Headers"]["x-seen"],
        json!(["a", "b"]),
        "every value, in order"
    );
    let expected_uri = "/hooks/echo?fixed=1&q=a+b%26c&tag=x&tag=y&n=3&ok=true";
    assert_eq!(
        out["ResponseBody"],
        json!({"method": "GET", "uri": expected_uri, "body": ""}),
        "a JSON answer is parsed"
    );

    let requests = s.server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, Method::GET);
    assert_eq!(requests[0].uri, expected_uri);
    assert!(requests[0].body.is_empty());
    assert_eq!(
        header(&requests[0], "authorization"),
        "",
        "not a secure target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_sends_json_body_and_headers_with_the_entry_credentials() {
    let s = setup(ALLOW).await;
    let body = json!({"order": {"id": 7, "items": ["é", "日本"]}, "note": "it's \"x\""});
    let out = call(
        &s,
        json!({
            "ApiEndpoint": format!("{}/hooks/secure/echo", s.base),
            "Method": "POST",
            "Headers": {"X-Request-Source": "stepgate-test", "X-Count": 2, "Authorization": "Bearer from-definition"},
            "RequestBody": body
        }),
    )
    .await
    .expect("called");
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["ResponseBody"]["method"], "POST");

    let requests = s.server.requests();
    let seen = &requests[0];
    assert_eq!(seen.method, Method::POST);
    let sent: Value = serde_json::from_slice(&seen.body).expect("a JSON body");
    assert_eq!(sent, body);
    assert_eq!(
        header(seen, "content-type"),
        "application/json; charset=UTF-8"
    );
    assert_eq!(header(seen, "x-request-source"), "stepgate-test");
    assert_eq!(header(seen, "x-count"), "2");
    assert_eq!(
        header(seen, "authorization"),
        TOKEN,
        "the allow entry's headers_env replaces the definition's"
    );
    assert_eq!(seen.headers.get_all("authorization").iter().count(), 1);

    // A definition's Content-Type is kept; PUT, PATCH and DELETE send
    // bodies too.
    for method in ["PUT", "PATCH", "DELETE"] {
        call(
            &s,
            json!({
                "ApiEndpoint": format!("{}/hooks/echo", s.base),
                "Method": method,
                "Headers": {"Content-Type": "application/vnd.test+json"},
                "RequestBody": [1, 2]
            }),
        )
        .await
        .expect("called");
        let requests = s.server.requests();
        let seen = requests.last().expect("seen");
        assert_eq!(seen.method.as_str(), method);
        assert_eq!(seen.body.as_ref(), b"[1,2]");
        assert_eq!(header(seen, "content-type"), "application/vnd.test+json");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_encoded_bodies_follow_each_array_format() {
    let s = setup(ALLOW).await;
    let body = json!({"tags": ["a", "b c"], "n": 1, "who": {"name": "Zoë"}});
    let cases = [
        (
            None,
            "tags%5B0%5D=a&tags%5B1%5D=b+c&n=1&who%5Bname%5D=Zo%C3%AB",
        ),
        (
            Some("INDICES"),
            "tags%5B0%5D=a&tags%5B1%5D=b+c&n=1&who%5Bname%5D=Zo%C3%AB",
        ),
        (Some("REPEAT"), "tags=a&tags=b+c&n=1&who%5Bname%5D=Zo%C3%AB"),
        (Some("COMMAS"), "tags=a,b+c&n=1&who%5Bname%5D=Zo%C3%AB"),
        (
            Some("BRACKETS"),
            "tags%5B%5D=a&tags%5B%5D=b+c&n=1&who%5Bname%5D=Zo%C3%AB",
        ),
    ];
    for (format, expected) in cases {
        let mut transform = json!({"RequestBodyEncoding": "URL_ENCODED"});
        if let Some(format) = format {
            transform["RequestEncodingOptions"] = json!({"ArrayFormat": format});
        }
        call(
            &s,
            json!({
                "ApiEndpoint": format!("{}/hooks/echo", s.base),
                "Method": "POST",
                "RequestBody": body,
                "Transform": transform
            }),
        )
        .await
        .expect("called");
        let requests = s.server.requests();
        let seen = requests.last().expect("seen");
        assert_eq!(
            String::from_utf8_lossy(&seen.body),
            expected,
            "ArrayFormat {format:?}"
        );
        assert_eq!(
            header(seen, "content-type"),
            "application/x-www-form-urlencoded"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_fails_with_its_status_code_and_the_result_as_cause() {
    let s = setup(ALLOW).await;
    let (name, cause) = error(
        call(
            &s,
            json!({"ApiEndpoint": format!("{}/hooks/missing", s.base), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(name, "States.Http.StatusCode.404");
    let cause: Value = serde_json::from_str(&cause).expect("the cause is JSON");
    assert_eq!(cause["StatusCode"], 404);
    assert_eq!(cause["StatusText"], "Not Found");
    assert_eq!(cause["ResponseBody"], json!({"message": "no such order"}));
    assert_eq!(
        cause["Headers"]["content-type"],
        json!(["application/json"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_json_body_is_returned_as_text() {
    let s = setup(ALLOW).await;
    let out = call(
        &s,
        json!({"ApiEndpoint": format!("{}/hooks/text", s.base), "Method": "GET"}),
    )
    .await
    .expect("called");
    assert_eq!(out["ResponseBody"], "plain hello");
    assert_eq!(
        out["Headers"]["content-type"],
        json!(["text/plain; charset=utf-8"])
    );

    // HEAD: no body, an empty text.
    let out = call(
        &s,
        json!({"ApiEndpoint": format!("{}/hooks/text", s.base), "Method": "HEAD"}),
    )
    .await
    .expect("called");
    assert_eq!(out["ResponseBody"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_off_the_allow_list_are_refused_without_a_request() {
    let s = setup(ALLOW).await;
    let port = s.port;
    for endpoint in [
        format!("http://127.0.0.1:{port}/admin"),
        format!("http://127.0.0.1:{port}/hooks"),
        format!("http://127.0.0.1:{port}/hooks-admin/x"),
        format!("http://127.0.0.1:{port}/hooks/../admin"),
        format!("http://127.0.0.1:{port}/hooks/..%2fadmin"),
        format!("http://localhost:{port}/hooks/echo"),
        format!("https://127.0.0.1:{port}/hooks/echo"),
    ] {
        let (name, cause) =
            error(call(&s, json!({"ApiEndpoint": endpoint, "Method": "GET"})).await);
        assert_eq!(name, STATES_PERMISSIONS, "{endpoint}");
        assert!(
            cause.contains("no [http_task] allow entry of the config covers it"),
            "{cause}"
        );
    }
    assert_eq!(
        s.server.count.load(Ordering::SeqCst),
        0,
        "no request was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookalike_hosts_are_refused() {
    let s = setup(ALLOW).await;
    let port = s.port;
    for endpoint in [
        // The allowed host as a prefix of another name: refused before any
        // DNS lookup.
        format!("http://127.0.0.1.nip.io:{port}/hooks/echo"),
        // The allowed host as user info.
        format!("http://127.0.0.1:{port}@127.0.0.2:{port}/hooks/echo"),
        // Another port of the allowed host.
        format!(
            "http://127.0.0.1:{}/hooks/echo",
            port.wrapping_add(1).max(1)
        ),
    ] {
        let (name, cause) =
            error(call(&s, json!({"ApiEndpoint": endpoint, "Method": "GET"})).await);
        assert_eq!(name, STATES_PERMISSIONS, "{endpoint}: {cause}");
        assert!(!cause.contains(TOKEN), "{cause}");
    }
    assert_eq!(
        s.server.count.load(Ordering::SeqCst),
        0,
        "no request was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_allow_list_every_http_task_is_refused_with_the_key_to_add() {
    let s = setup("").await;
    let (name, cause) = error(
        call(
            &s,
            json!({"ApiEndpoint": format!("{}/hooks/echo", s.base), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(name, STATES_PERMISSIONS);
    assert!(
        cause.contains("the config has no [http_task] allow entries"),
        "{cause}"
    );
    assert!(
        cause.contains(&format!("[http_task] allow = [\"{}/\"]", s.base)),
        "{cause}"
    );
    assert_eq!(s.server.count.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_with_the_task() {
    let s = setup(ALLOW).await;
    let started = Instant::now();
    let f = s
        .invoker
        .invoke(task(
            json!({"ApiEndpoint": format!("{}/hooks/hang", s.base), "Method": "GET"}),
            Some(1),
        ))
        .await
        .expect_err("timed out");
    assert_eq!(f.error_name(), STATES_TIMEOUT);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(10),
        "{elapsed:?}"
    );
    assert_eq!(
        s.server.count.load(Ordering::SeqCst),
        1,
        "the request was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_a_socket_error() {
    // A port nothing listens on: bind one, then free it.
    let port = {
        let l = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
        l.local_addr().expect("address").port()
    };
    let s = setup(&format!(
        "[http_task]\nallow = [\"http://127.0.0.1:{port}/\"]\n"
    ))
    .await;
    let (name, cause) = error(
        call(
            &s,
            json!({"ApiEndpoint": format!("http://127.0.0.1:{port}/x"), "Method": "GET"}),
        )
        .await,
    );
    assert_eq!(name, STATES_HTTP_SOCKET);
    assert!(
        cause.starts_with(&format!("GET http://127.0.0.1:{port}/x failed: ")),
        "{cause}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_parameters_are_runtime_errors_without_a_request() {
    let s = setup(ALLOW).await;
    for parameters in [
        json!({"Method": "GET"}),
        json!({"ApiEndpoint": format!("{}/hooks/echo", s.base)}),
        json!({"ApiEndpoint": format!("{}/hooks/echo", s.base), "Method": "TRACE"}),
        json!({"ApiEndpoint": format!("{}/hooks/echo", s.base), "Method": "GET", "RequestBody": {}}),
        json!({"ApiEndpoint": format!("{}/hooks/echo", s.base), "Method": "GET", "Url": "x"}),
    ] {
        let (name, _) = error(call(&s, parameters.clone()).await);
        assert_eq!(name, asl::failure::STATES_RUNTIME, "{parameters}");
    }
    assert_eq!(s.server.count.load(Ordering::SeqCst), 0);
}
