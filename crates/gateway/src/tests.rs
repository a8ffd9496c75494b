//! The gateway over a `MemoryStore` engine, driven with `oneshot`: routes
//! come from a real `stepgate.toml` text so the config and the gateway are
//! tested together.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use engine::scheduler::{Engine, EngineClock, Limits, NoTasks};
use serde_json::{Value, json};
use store::memory::MemoryStore;
use store::{
    ExecutionFilter, ExecutionRecord, ExecutionStatus, ExecutionStep, HistoryRow, JournalEntry,
    NewExecution, NewStateMachine, StateMachineRecord, StateMachineType, Store, TimerRow,
};
use tower::ServiceExt;

use super::*;

const CONFIG: &str = r##"
[state_machines.hooks]
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"}}}'

[state_machines.ghost]
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Next":"S"},"S":{"Type":"Succeed"}}}'

[state_machines.failing]
definition = '{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Boom","Cause":"it broke"}}}'

[state_machines.slow]
type = "EXPRESS"
definition = '{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}'

[state_machines.shaping]
type = "EXPRESS"
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"got.$":"$"},"End":true}}}'

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
path = "/templated"
state_machine = "hooks"
request_template = '''
#set($input = $input.json('$'))
{
  "input": "$util.escapeJavaScript($input).replaceAll("\\'", "'")",
  "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:hooks"
}
'''
responses.success = { status = 200, body = '''{"executionArn": "$context.executionArn", "startDate": "$context.startDate", "requestId": "$context.requestId", "fromInput": $input.json('$.executionArn')}''' }

[[routes]]
method = "POST"
path = "/params/{id}"
state_machine = "hooks"
request_template = '''
{
  "input": "{\"id\": \"$input.params('id')\", \"q\": \"$input.params('q')\", \"sig\": \"$input.params('X-Sig')\", \"n\": $input.path('$.n'), \"method\": \"$context.httpMethod\", \"resource\": \"$context.resourcePath\"}",
  "name": "order-$input.params('id')"
}
'''

[[routes]]
method = "POST"
path = "/template/not-json"
state_machine = "hooks"
request_template = 'not JSON: $input.body'

[[routes]]
method = "POST"
path = "/template/other-machine"
state_machine = "hooks"
request_template = '{"input": "{}", "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:ghost"}'

[[routes]]
method = "POST"
path = "/template/object-input"
state_machine = "hooks"
request_template = '''{"input": $input.body}'''

[[routes]]
method = "POST"
path = "/sync/templated"
state_machine = "shaping"
mode = "sync"
responses.success = { status = 200, body = '''{"result": $input.path('$.output'), "status": "$context.status"}''' }

[[routes]]
method = "POST"
path = "/sync/fail/templated"
state_machine = "failing"
mode = "sync"
responses.failure = { status = 500, body = '''#set($context.responseOverride.status = 422){"error": "$context.error", "cause": "$util.escapeJavaScript($context.cause)"}''' }

[[routes]]
method = "POST"
path = "/ghost/templated"
state_machine = "ghost"
responses.failure = { status = 503, body = '''{"type": "$input.path('$.__type')"}''' }

[[routes]]
method = "POST"
path = "/keyed"
state_machine = "hooks"
auth = { type = "api_key", header = "x-api-key", keys_env = "KEYS" }

[[routes]]
method = "POST"
path = "/signed"
state_machine = "hooks"
auth = { type = "hmac_sha256", header = "X-Hub-Signature-256", secret_env = "SECRET", prefix = "sha256=" }

[[routes]]
method = "POST"
path = "/limited"
state_machine = "hooks"
rate_limit = { requests_per_second = 1, burst = 2 }

[[routes]]
method = "POST"
path = "/small"
state_machine = "hooks"
max_body_bytes = 16

[[routes]]
method = "POST"
path = "/sync"
state_machine = "shaping"
mode = "sync"

[[routes]]
method = "POST"
path = "/sync/standard"
state_machine = "hooks"
mode = "sync"
responses.success = { status = 201, body = '{"done": true}' }

[[routes]]
method = "POST"
path = "/sync/fail"
state_machine = "failing"
mode = "sync"

[[routes]]
method = "POST"
path = "/sync/fail/configured"
state_machine = "failing"
mode = "sync"
responses.failure = { status = 502, body = '{"status": "workflow failed"}' }

[[routes]]
method = "POST"
path = "/sync/slow"
state_machine = "slow"
mode = "sync"
timeout_seconds = 2
"##;

const SECRET: &str = "It's a Secret to Everybody";

/// The routes of [`CONFIG`], with its secrets in a test environment.
fn routes() -> Vec<GatewayRoute> {
    let env = |name: &str| match name {
        "KEYS" => Some("key-one, key-two".to_owned()),
        "SECRET" => Some(SECRET.to_owned()),
        _ => None,
    };
    let config =
        config::parse_with_env(CONFIG, "stepgate.toml".as_ref(), &env).expect("valid config");
    GatewayRoute::from_config(&config)
}

/// Every state machine of [`CONFIG`] but `ghost`, so the `/ghost` route's
/// start fails.
async fn engine_over<S: Store>(store: S) -> Engine<S> {
    let config =
        config::parse_with_env(CONFIG, "stepgate.toml".as_ref(), &|_| Some("x".to_owned()))
            .expect("valid config");
    for machine in config.state_machines() {
        if machine.name == "ghost" {
            continue;
        }
        store
            .put_state_machine(NewStateMachine {
                arn: state_machine_arn(&machine.name),
                name: machine.name.clone(),
                definition: machine.definition.clone(),
                machine_type: match machine.state_machine_type {
                    config::StateMachineType::Standard => StateMachineType::Standard,
                    config::StateMachineType::Express => StateMachineType::Express,
                },
                logging: "{}".into(),
                created: 1_700_000_000_000,
            })
            .await
            .expect("put state machine");
    }
    Engine::new(
        store,
        Arc::new(NoTasks),
        EngineClock::new(1_700_000_000_000),
        Limits::default(),
        7,
    )
}

async fn setup() -> (Engine<MemoryStore>, Router) {
    let engine = engine_over(MemoryStore::new()).await;
    let app = router(engine.clone(), routes());
    (engine, app)
}

/// Status and headers of an answer, with its JSON body.
struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn reply(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).expect("JSON response body");
    Reply {
        status,
        headers,
        body,
    }
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

async fn executions<S: Store>(engine: &Engine<S>) -> Vec<store::ExecutionRecord> {
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
async fn non_json_bodies_are_400_and_form_encoded_json_passes() {
    let (engine, app) = setup().await;
    let (status, _, body) = send(&app, post("/hooks/x", "{nope")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains("content type is application/json"),
        "{message}"
    );
    let (status, _, _) = send(&app, post("/hooks/x", vec![0xff, 0xfe])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // No content type and not JSON: 400 that names the fix.
    let bare = Request::post("/hooks/x")
        .body(Body::from("a=1"))
        .expect("request");
    let (status, _, body) = send(&app, bare).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("Content-Type: text/plain"), "{message}");
    assert!(executions(&engine).await.is_empty());
    // A JSON body sent as form-encoded (what `curl -d` does) is JSON.
    let curl = Request::post("/hooks/x")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(r#"{"a": 1}"#))
        .expect("request");
    let (status, _, _) = send(&app, curl).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(executions(&engine).await[0].input, r#"{"a": 1}"#);
}

/// The stored input of one request to `/hooks/x`.
async fn stored_input(content_type: Option<&str>, body: &'static [u8]) -> Value {
    let (engine, app) = setup().await;
    let mut request = Request::post("/hooks/x");
    if let Some(t) = content_type {
        request = request.header("content-type", t);
    }
    let reply = reply(&app, request.body(Body::from(body)).expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let all = executions(&engine).await;
    assert_eq!(all.len(), 1);
    serde_json::from_str(&all[0].input).expect("JSON input")
}

#[tokio::test]
async fn every_envelope() {
    assert_eq!(
        stored_input(
            Some("text/plain; charset=utf-8"),
            "héllo\n\"world\"".as_bytes()
        )
        .await,
        json!({"contentType": "text/plain", "body": "héllo\n\"world\""})
    );
    assert_eq!(
        stored_input(
            Some("application/x-www-form-urlencoded"),
            b"a=1&b=x+y%26z&a=2"
        )
        .await,
        json!({
            "contentType": "application/x-www-form-urlencoded",
            "form": {"a": ["1", "2"], "b": "x y&z"},
            "body": "a=1&b=x+y%26z&a=2",
        })
    );
    assert_eq!(
        stored_input(
            Some("application/cloudevents+json"),
            br#"{"specversion": "1.0"}"#
        )
        .await,
        json!({"specversion": "1.0"})
    );
    assert_eq!(stored_input(None, b"[1, 2]").await, json!([1, 2]));
    assert_eq!(stored_input(Some("text/plain"), b"").await, json!({}));
}

#[tokio::test]
async fn invalid_form_and_unsupported_types_are_refused_and_not_stored() {
    let (engine, app) = setup().await;
    let bad_form = Request::post("/hooks/x")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("a=%ff%fe"))
        .expect("request");
    let r = reply(&app, bad_form).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["status"], "bad request");
    let xml = Request::post("/hooks/x")
        .header("content-type", "application/xml")
        .body(Body::from("<a/>"))
        .expect("request");
    let r = reply(&app, xml).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.body["status"], "unsupported media type");
    assert!(
        r.body["message"]
            .as_str()
            .expect("message")
            .contains("application/xml")
    );
    assert!(executions(&engine).await.is_empty());
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

// ------------------------------------------------------------------ templates

#[tokio::test]
async fn the_seed_template_starts_the_route_machine_with_the_exact_payload() {
    let (engine, app) = setup().await;
    for payload in [
        r#"{"msg": "it's \"quoted\" \\ C:\\path", "u": "é 日本 😀 \u0001", "slash": "a/b", "n": [1, 2.5, {"x": null}], "t": "$x #y"}"#,
        r#"{}"#,
        r#"{"apostrophes": "'''", "newline": "a\nb"}"#,
    ] {
        let r = reply(&app, post("/templated", payload)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let arn = r.body["executionArn"]
            .as_str()
            .expect("executionArn")
            .to_owned();
        assert!(
            arn.starts_with("arn:aws:states:local:000000000000:execution:hooks:"),
            "{arn}"
        );
        assert_eq!(
            r.body["fromInput"],
            json!(arn),
            "$input is StartExecution's response"
        );
        assert!(
            r.body["startDate"]
                .as_str()
                .is_some_and(|d| d.ends_with('Z'))
        );
        assert_eq!(r.body["requestId"].as_str().map(str::len), Some(36));
        let record = engine
            .store()
            .execution(&arn)
            .await
            .expect("read")
            .expect("stored");
        let input: Value = serde_json::from_str(&record.input).expect("JSON input");
        assert_eq!(
            input,
            serde_json::from_str::<Value>(payload).expect("payload")
        );
    }
}

#[tokio::test]
async fn templates_see_path_query_headers_and_name_the_execution() {
    let (engine, app) = setup().await;
    let request = Request::post("/params/A%2D17?q=x+y&q=last")
        .header("content-type", "application/json")
        .header("x-sig", "sha=1")
        .body(Body::from(r#"{"n": 42}"#))
        .expect("request");
    let r = reply(&app, request).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = executions(&engine).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "order-A-17");
    let input: Value = serde_json::from_str(&list[0].input).expect("JSON input");
    assert_eq!(
        input,
        json!({"id": "A-17", "q": "last", "sig": "sha=1", "n": 42, "method": "POST", "resource": "/params/{id}"})
    );
}

#[tokio::test]
async fn a_template_whose_output_is_not_a_start_execution_request_fails_and_stores_nothing() {
    let (engine, app) = setup().await;
    for path in [
        "/template/not-json",
        "/template/other-machine",
        "/template/object-input",
    ] {
        let r = reply(&app, post(path, r#"{"a": 1}"#)).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(r.body, json!({"status": "webhook failed"}), "{path}");
    }
    assert!(executions(&engine).await.is_empty());
}

#[tokio::test]
async fn response_templates_see_the_outcome() {
    let (_engine, app) = setup().await;
    let r = reply(&app, post("/sync/templated", r#"{"k": "v"}"#)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"result": {"got": {"k": "v"}}, "status": "SUCCEEDED"})
    );

    let r = reply(&app, post("/sync/fail/templated", "{}")).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "responseOverride.status"
    );
    assert_eq!(r.body, json!({"error": "Boom", "cause": "it broke"}));

    let r = reply(&app, post("/ghost/templated", "{}")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.body, json!({"type": "StateMachineDoesNotExist"}));
}

// ------------------------------------------------------------------ auth

fn keyed(key: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/keyed").header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.body(Body::from(r#"{"n": 1}"#)).expect("request")
}

#[tokio::test]
async fn api_key_ok_missing_and_wrong() {
    let (engine, app) = setup().await;
    let r = reply(&app, keyed(None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["status"], "unauthorized");
    assert!(
        r.body["message"]
            .as_str()
            .expect("message")
            .contains("x-api-key")
    );
    let r = reply(&app, keyed(Some("key-three"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["status"], "forbidden");
    assert!(!r.body.to_string().contains("key-"), "no key echoed");
    let r = reply(&app, keyed(Some("key-one "))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "keys match exactly");
    assert!(executions(&engine).await.is_empty(), "nothing stored");
    for key in ["key-one", "key-two"] {
        let r = reply(&app, keyed(Some(key))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, json!({"status": "webhook submitted"}));
    }
    assert_eq!(executions(&engine).await.len(), 2);
}

fn signed(body: &'static str, signature: Option<String>) -> Request<Body> {
    let mut request = Request::post("/signed").header("content-type", "application/json");
    if let Some(s) = signature {
        request = request.header("X-Hub-Signature-256", s);
    }
    request.body(Body::from(body)).expect("request")
}

#[tokio::test]
async fn hmac_ok_missing_wrong_and_wrong_prefix() {
    let (engine, app) = setup().await;
    // Odd spacing: the signature covers the raw bytes, not re-serialised JSON.
    let body = r#"{ "action" : "opened", "n":1.50 }"#;
    let good = auth::sign(SECRET, body.as_bytes());

    let r = reply(&app, signed(body, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["status"], "unauthorized");
    let wrong = auth::sign("another secret", body.as_bytes());
    let r = reply(&app, signed(body, Some(format!("sha256={wrong}")))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["status"], "forbidden");
    assert!(!r.body.to_string().contains(&wrong), "no signature echoed");
    let r = reply(&app, signed(body, Some(good.clone()))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "missing prefix");
    assert!(
        r.body["message"]
            .as_str()
            .expect("message")
            .contains("must start with \"sha256=\"")
    );
    let r = reply(&app, signed(body, Some(format!("sha1={good}")))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "wrong prefix");
    let r = reply(&app, signed(body, Some("sha256=zz".to_owned()))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not hex");
    // Signed for another body.
    let r = reply(
        &app,
        signed(r#"{"action": "opened"}"#, Some(format!("sha256={good}"))),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(executions(&engine).await.is_empty(), "nothing stored");

    let r = reply(&app, signed(body, Some(format!("sha256={good}")))).await;
    assert_eq!(r.status, StatusCode::OK);
    let upper = good.to_ascii_uppercase();
    let r = reply(&app, signed(body, Some(format!("sha256={upper}")))).await;
    assert_eq!(r.status, StatusCode::OK, "hex in either case");
    let all = executions(&engine).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].input, body, "the signed bytes are the input");
}

// ------------------------------------------------------------ limits

#[tokio::test(start_paused = true)]
async fn rate_limit_429_with_retry_after_then_recovery() {
    let (engine, app) = setup().await;
    for _ in 0..2 {
        let r = reply(&app, post("/limited", "{}")).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = reply(&app, post("/limited", "{}")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.body["status"], "too many requests");
    assert_eq!(
        r.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    assert_eq!(
        executions(&engine).await.len(),
        2,
        "the refused one is not stored"
    );
    // Other routes have their own (or no) bucket.
    let r = reply(&app, post("/hooks/x", "{}")).await;
    assert_eq!(r.status, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(1)).await;
    let r = reply(&app, post("/limited", "{}")).await;
    assert_eq!(r.status, StatusCode::OK, "one token back after a second");
    let r = reply(&app, post("/limited", "{}")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn body_limit_is_per_route() {
    let (engine, app) = setup().await;
    let body = r#"{"x": "0123456789"}"#;
    assert!(body.len() > 16);
    let r = reply(&app, post("/small", body)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        r.body["message"]
            .as_str()
            .expect("message")
            .contains("limit of 16 bytes")
    );
    assert!(executions(&engine).await.is_empty());
    let r = reply(&app, post("/hooks/x", body)).await;
    assert_eq!(r.status, StatusCode::OK, "the default limit is larger");
    let r = reply(&app, post("/small", r#"{"x": 1}"#)).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn limits_apply_before_auth() {
    let (engine, app) = setup().await;
    // An oversize body is refused as such, not as unauthenticated: the body
    // limit comes first, so a signature is never computed over a huge body.
    let big = Request::post("/signed")
        .header("content-length", (BODY_LIMIT + 1).to_string())
        .body(Body::from("x"))
        .expect("request");
    let r = reply(&app, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Auth before the content type: an unsigned XML body is 401, not 415.
    let xml = Request::post("/signed")
        .header("content-type", "application/xml")
        .body(Body::from("<a/>"))
        .expect("request");
    let r = reply(&app, xml).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(executions(&engine).await.is_empty());
}

// -------------------------------------------------------------- sync

#[tokio::test]
async fn sync_success_answers_the_output() {
    let (engine, app) = setup().await;
    let r = reply(&app, post("/sync", r#"{"q": "say \"hi\""}"#)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"got": {"q": "say \"hi\""}}));
    assert_eq!(
        r.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let all = executions(&engine).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, ExecutionStatus::Succeeded);
    // A STANDARD machine runs synchronously too; a configured success wins.
    let r = reply(&app, post("/sync/standard", "{}")).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body, json!({"done": true}));
}

#[tokio::test]
async fn sync_failure_answers_500_with_error_and_cause() {
    let (engine, app) = setup().await;
    let r = reply(&app, post("/sync/fail", "{}")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let arn = executions(&engine).await[0].arn.clone();
    assert_eq!(
        r.body,
        json!({"status": "FAILED", "executionArn": arn, "error": "Boom", "cause": "it broke"})
    );
    let r = reply(&app, post("/sync/fail/configured", "{}")).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(r.body, json!({"status": "workflow failed"}));
}

#[tokio::test(start_paused = true)]
async fn sync_timeout_is_504_and_the_execution_keeps_running() {
    let (engine, app) = setup().await;
    let r = reply(&app, post("/sync/slow", "{}")).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT);
    let all = executions(&engine).await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, ExecutionStatus::Running);
    assert_eq!(
        r.body,
        json!({
            "status": "timeout",
            "executionArn": all[0].arn,
            "message": "the execution is still running after 2 s; follow it with DescribeExecution",
        })
    );
    let done = engine
        .wait_for(&all[0].arn, Duration::from_secs(120))
        .await
        .expect("wait")
        .expect("exists");
    assert_eq!(done.status, ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn sync_not_started_answers_the_failure_response() {
    let engine = engine_over(FailingStore(MemoryStore::new())).await;
    let app = router(engine.clone(), routes());
    let r = reply(&app, post("/sync/fail/configured", "{}")).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    let r = reply(&app, post("/sync", "{}")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.body, json!({"status": "webhook failed"}));
    assert!(executions(&engine).await.is_empty());
}

// -------------------------------------------------------- store down

/// A store whose starts always fail, as a full disk or a lost
/// database connection would; everything else is a `MemoryStore`.
struct FailingStore(MemoryStore);

impl Store for FailingStore {
    async fn put_state_machine(
        &self,
        sm: NewStateMachine,
    ) -> Result<StateMachineRecord, store::StoreError> {
        self.0.put_state_machine(sm).await
    }
    async fn state_machine(
        &self,
        arn: &str,
        version: Option<u64>,
    ) -> Result<Option<StateMachineRecord>, store::StoreError> {
        self.0.state_machine(arn, version).await
    }
    async fn start_execution(
        &self,
        _execution: NewExecution,
    ) -> Result<StartOutcome, store::StoreError> {
        Err(store::StoreError::Backend(
            "disk I/O error (simulated)".into(),
        ))
    }
    async fn start_execution_with_step(
        &self,
        _execution: NewExecution,
        _first_step: ExecutionStep,
    ) -> Result<StartOutcome, store::StoreError> {
        Err(store::StoreError::Backend(
            "disk I/O error (simulated)".into(),
        ))
    }
    async fn commit_step(&self, step: ExecutionStep) -> Result<(), store::StoreError> {
        self.0.commit_step(step).await
    }
    async fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>, store::StoreError> {
        self.0.execution(arn).await
    }
    async fn list_executions(
        &self,
        filter: ExecutionFilter,
    ) -> Result<Vec<ExecutionRecord>, store::StoreError> {
        self.0.list_executions(filter).await
    }
    async fn history(&self, arn: &str) -> Result<Vec<HistoryRow>, store::StoreError> {
        self.0.history(arn).await
    }
    async fn journal(&self, arn: &str) -> Result<Vec<JournalEntry>, store::StoreError> {
        self.0.journal(arn).await
    }
    async fn running_executions(&self) -> Result<Vec<ExecutionRecord>, store::StoreError> {
        self.0.running_executions().await
    }
    async fn timers(&self, arn: &str) -> Result<Vec<TimerRow>, store::StoreError> {
        self.0.timers(arn).await
    }
    async fn timers_due(
        &self,
        up_to: store::EpochMillis,
        limit: usize,
    ) -> Result<Vec<TimerRow>, store::StoreError> {
        self.0.timers_due(up_to, limit).await
    }
}

#[tokio::test]
async fn store_down_answers_the_configured_failure_and_acknowledges_nothing() {
    let engine = engine_over(FailingStore(MemoryStore::new())).await;
    let app = router(engine.clone(), routes());
    let r = reply(&app, post("/hooks/x", "{}")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.body, json!({"status": "webhook failed"}));
    let r = reply(&app, post("/ghost", "{}")).await;
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "configured failure"
    );
    let r = reply(&app, post("/github", "{}")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "not the 202");
    assert!(executions(&engine).await.is_empty());
}

// ----------------------------------------------------------- metrics

/// Every metric recorded: (name, sorted labels) → counter total or
/// histogram sample count.
#[derive(Default, Clone)]
struct Captured(Arc<Mutex<Samples>>);

/// (metric name, sorted labels) → total.
type Samples = std::collections::BTreeMap<(String, Vec<(String, String)>), u64>;

struct Handle(Captured, metrics::Key);

impl Captured {
    fn add(&self, key: &metrics::Key, n: u64) {
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        labels.sort();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((key.name().to_owned(), labels)).or_default() += n;
    }

    fn get(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        labels.sort();
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(name.to_owned(), labels)).copied().unwrap_or(0)
    }
}

impl metrics::CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.0.add(&self.1, value);
    }
    fn absolute(&self, value: u64) {
        self.0.add(&self.1, value);
    }
}

impl metrics::HistogramFn for Handle {
    fn record(&self, _value: f64) {
        self.0.add(&self.1, 1);
    }
}

impl metrics::Recorder for Captured {
    fn describe_counter(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: metrics::KeyName, _: Option<metrics::Unit>, _: SharedString) {}
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(Arc::new(Handle(self.clone(), key.clone())))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::from_arc(Arc::new(Handle(self.clone(), key.clone())))
    }
}

#[tokio::test]
async fn requests_are_counted_by_route_and_status() {
    let captured = Captured::default();
    // The current-thread test runtime polls the handler on this thread.
    let _local = metrics::set_default_local_recorder(&captured);
    let (_engine, app) = setup().await;
    for _ in 0..2 {
        send(&app, post("/hooks/a", "{}")).await;
    }
    send(&app, post("/hooks/a", "{nope")).await;
    send(&app, post("/nowhere", "{}")).await;
    send(&app, keyed(None)).await;
    let requests = metrics_names::REQUESTS;
    let route = "POST /hooks/{source}";
    assert_eq!(
        captured.get(requests, &[("route", route), ("status", "200")]),
        2
    );
    assert_eq!(
        captured.get(requests, &[("route", route), ("status", "400")]),
        1
    );
    assert_eq!(
        captured.get(requests, &[("route", "unmatched"), ("status", "404")]),
        1
    );
    assert_eq!(
        captured.get(requests, &[("route", "POST /keyed"), ("status", "401")]),
        1
    );
    assert_eq!(
        captured.get(metrics_names::ACK_SECONDS, &[("route", route)]),
        2,
        "only acknowledgements are timed"
    );
    assert_eq!(
        captured.get(metrics_names::ACK_SECONDS, &[("route", "POST /keyed")]),
        0
    );
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
