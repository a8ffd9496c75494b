//! The gateway over a `MemoryStore` engine, driven with `oneshot`: routes
//! come from a real `stepgate.toml` text so the config and the gateway are
//! tested together.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use engine::scheduler::{Engine, EngineClock, Limits, NoTasks};
use serde_json::{Value, json};
use store::memory::MemoryStore;
use store::{ExecutionFilter, ExecutionStatus, NewStateMachine, StateMachineType, Store};
use tower::ServiceExt;

use super::*;

const PASS: &str =
    r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"}}}"#;

const CONFIG: &str = r#"
[state_machines.hooks]
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"}}}'

[state_machines.ghost]
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"}}}'

[[routes]]
method = "POST"
path = "/hooks/{source}"
state_machine = "hooks"

[[routes]]
method = "PUT"
path = "/hooks/{source}"
state_machine = "hooks"

[[routes]]
method = "POST"
path = "/github"
state_machine = "hooks"
execution_name_header = "X-GitHub-Delivery"
responses.success = { status = 202, body = '{"ok": true}' }

[[routes]]
method = "ANY"
path = "/files/{proxy+}"
state_machine = "hooks"

[[routes]]
method = "POST"
path = "/ghost"
state_machine = "ghost"
responses.failure = { status = 503, body = '{"status": "webhook failed"}' }

[[routes]]
method = "POST"
path = "/sync"
state_machine = "hooks"
mode = "sync"

[[routes]]
method = "POST"
path = "/templated"
state_machine = "hooks"
request_template = '{"input": "$input.body"}'
"#;

const HOOKS: &str = "arn:aws:states:local:000000000000:stateMachine:hooks";

/// An engine whose store holds `hooks` but not `ghost`, so the `/ghost`
/// route's start fails.
async fn setup() -> (Engine<MemoryStore>, Router) {
    let config = config::parse(CONFIG, "stepgate.toml".as_ref()).expect("valid config");
    let store = MemoryStore::new();
    store
        .put_state_machine(NewStateMachine {
            arn: HOOKS.into(),
            name: "hooks".into(),
            definition: PASS.into(),
            machine_type: StateMachineType::Standard,
            logging: "{}".into(),
            created: 1_700_000_000_000,
        })
        .await
        .expect("put state machine");
    let engine = Engine::new(
        store,
        Arc::new(NoTasks),
        EngineClock::new(1_700_000_000_000),
        Limits::default(),
        7,
    );
    let app = router(engine.clone(), GatewayRoute::from_config(&config));
    (engine, app)
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).expect("JSON response body");
    (status, allow, body)
}

fn post(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(body.into())
        .expect("request")
}

async fn executions(engine: &Engine<MemoryStore>) -> Vec<store::ExecutionRecord> {
    engine
        .store()
        .list_executions(ExecutionFilter::default())
        .await
        .expect("list")
}

#[tokio::test]
async fn nasty_payload_arrives_exactly_and_is_the_output() {
    let (engine, app) = setup().await;
    // Quotes, backslashes, escapes, unicode (raw and escaped, astral),
    // template-looking `$`/`#`, nesting, and odd spacing kept as sent.
    let payload = r##"{"q": "say \"hi\"", "b": "C:\\dir\\n", "u": "héllo ✓ 😀 \u00e9\ud83d\ude00", "t": "$input.body #set($x = 1) ${x}", "$": {"#": [1, 2.50, null, true]},  "empty": ""}"##;
    let (status, _, body) = send(&app, post("/hooks/github", payload)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "webhook submitted"}));
    let all = executions(&engine).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].input, payload, "the input is the body byte for byte");
    let done = engine
        .wait_for(&all[0].arn, Duration::from_secs(5))
        .await
        .expect("wait")
        .expect("exists");
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let output: Value =
        serde_json::from_str(done.output.as_deref().expect("output")).expect("json");
    assert_eq!(
        output,
        serde_json::from_str::<Value>(payload).expect("json")
    );
}

#[tokio::test]
async fn empty_body_starts_with_an_empty_object() {
    let (engine, app) = setup().await;
    let (status, _, _) = send(&app, post("/hooks/x", Body::empty())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(executions(&engine).await[0].input, "{}");
}

#[tokio::test]
async fn unknown_path_is_404_and_wrong_method_is_405_with_allow() {
    let (engine, app) = setup().await;
    for path in ["/nope", "/hooks", "/hooks/a/b", "/hooks/", "/files", "/"] {
        let (status, _, body) = send(&app, post(path, "{}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["status"], "not found");
        assert!(body["message"].as_str().expect("message").contains(path));
    }
    let get = Request::get("/hooks/github")
        .body(Body::empty())
        .expect("request");
    let (status, allow, body) = send(&app, get).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(allow.as_deref(), Some("POST, PUT"));
    assert_eq!(body["status"], "method not allowed");
    assert!(
        executions(&engine).await.is_empty(),
        "nothing refused is stored"
    );
}

#[tokio::test]
async fn greedy_path_and_any_method_match() {
    let (engine, app) = setup().await;
    let delete = Request::delete("/files/a/b/c.txt")
        .body(Body::from("[1]"))
        .expect("request");
    let (status, _, _) = send(&app, delete).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(executions(&engine).await.len(), 1);
}

#[tokio::test]
async fn oversize_body_is_413_and_not_stored() {
    let (engine, app) = setup().await;
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(BODY_LIMIT));
    let (status, _, body) = send(&app, post("/hooks/x", big.clone())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["status"], "payload too large");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("256 KiB")
    );
    // `oneshot` sends no Content-Length, so that was the read limit; an
    // announced oversize body is refused before it is read.
    let announced = Request::post("/hooks/x")
        .header("content-length", (BODY_LIMIT + 1).to_string())
        .body(Body::from(big))
        .expect("request");
    let (status, _, _) = send(&app, announced).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(executions(&engine).await.is_empty());
    // Exactly at the limit is accepted.
    let at_limit = format!("{{\"x\": \"{}\"}}", "a".repeat(BODY_LIMIT - 9));
    assert_eq!(at_limit.len(), BODY_LIMIT);
    let (status, _, _) = send(&app, post("/hooks/x", at_limit)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn non_json_body_is_400_and_says_envelopes_come_later() {
    let (engine, app) = setup().await;
    let form = Request::post("/hooks/x")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("a=1&b=2"))
        .expect("request");
    let (status, _, body) = send(&app, form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("not supported yet"), "{message}");
    assert!(
        message.contains("application/x-www-form-urlencoded"),
        "{message}"
    );
    let (status, _, _) = send(&app, post("/hooks/x", vec![0xff, 0xfe])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A JSON body sent as form-encoded (what `curl -d` does) is accepted.
    let curl = Request::post("/hooks/x")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(r#"{"a": 1}"#))
        .expect("request");
    let (status, _, _) = send(&app, curl).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(executions(&engine).await.len(), 1);
}

#[tokio::test]
async fn execution_name_header_makes_redelivery_idempotent() {
    let (engine, app) = setup().await;
    let delivery = |body: &str| {
        Request::post("/github")
            .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
            .body(Body::from(body.to_owned()))
            .expect("request")
    };
    let (status, _, body) = send(&app, delivery(r#"{"n": 1}"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body, json!({"ok": true}));
    let arn = executions(&engine).await[0].arn.clone();
    assert!(
        arn.ends_with(":72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        "{arn}"
    );
    // Redelivered after it finished: acknowledged, not started again.
    engine
        .wait_for(&arn, Duration::from_secs(5))
        .await
        .expect("wait");
    let (status, _, _) = send(&app, delivery(r#"{ "n" : 1 }"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(executions(&engine).await.len(), 1);
    // Same name, different payload: not acknowledged.
    let (status, _, body) = send(&app, delivery(r#"{"n": 2}"#)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, json!({"status": "webhook failed"}));
    assert_eq!(executions(&engine).await.len(), 1);
}

#[tokio::test]
async fn failed_start_answers_the_failure_response() {
    let (engine, app) = setup().await;
    let (status, _, body) = send(&app, post("/ghost", "{}")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, json!({"status": "webhook failed"}));
    assert!(executions(&engine).await.is_empty());
}

#[tokio::test]
async fn sync_routes_and_templates_answer_501() {
    let (engine, app) = setup().await;
    let (status, _, body) = send(&app, post("/sync", "{}")).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("sync mode")
    );
    let (status, _, body) = send(&app, post("/templated", "{}")).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("request templates are not supported yet")
    );
    assert!(executions(&engine).await.is_empty());
}

#[test]
fn literal_beats_param_beats_greedy_and_exact_method_beats_any() {
    let text = r#"
[state_machines.m]
definition = '{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}'
[[routes]]
method = "ANY"
path = "/{proxy+}"
state_machine = "m"
[[routes]]
method = "POST"
path = "/a/{id}"
state_machine = "m"
[[routes]]
method = "POST"
path = "/a/b"
state_machine = "m"
[[routes]]
method = "ANY"
path = "/a/b"
state_machine = "m"
"#;
    let config = config::parse(text, "stepgate.toml".as_ref()).expect("valid config");
    let routes = GatewayRoute::from_config(&config);
    use crate::matching::{Match, select};
    assert_eq!(select(&routes, "POST", "/a/b"), Match::Route(2));
    assert_eq!(select(&routes, "GET", "/a/b"), Match::Route(3));
    assert_eq!(select(&routes, "POST", "/a/c"), Match::Route(1));
    assert_eq!(select(&routes, "GET", "/a/c"), Match::Route(0));
    assert_eq!(select(&routes, "GET", "/x/y/z"), Match::Route(0));
    assert_eq!(select(&routes, "GET", "/"), Match::NotFound);
}
