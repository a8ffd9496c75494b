//! The AWS Step Functions JSON API, so the `aws` CLI, boto3 and every AWS SDK
//! work against stepgate with `--endpoint-url`.
//!
//! Owns the wire protocol: `POST /` with `X-Amz-Target:
//! AWSStepFunctions.<Action>` and a camelCase JSON body
//! (`application/x-amz-json-1.0`), answered with JSON and, on failure, HTTP
//! 400/500 and `{"__type": "<AwsErrorName>", "message": "..."}`
//! ([`ApiError`]). It must not hold execution semantics: every action is a
//! thin translation onto [`engine::scheduler::Engine`] and [`store::Store`].
//!
//! Principal items: [`router`] (the one entry point), [`ApiError`], and
//! one module per action under [`actions`] (its `Input`, `Output` and
//! `handle`).
//!
//! Served so far: `StartExecution`, `DescribeExecution`, `StopExecution`,
//! `GetExecutionHistory` (no pagination yet: every event in one page),
//! `ListExecutions` (offset-based `nextToken`). Timestamps are epoch seconds
//! as JSON numbers, as the AWS JSON protocol sends them.
//!
//! The key decision: one `POST /` handler dispatching on the header, not one
//! axum route per action — that is how the protocol is shaped, and it keeps
//! the "unknown action" answer (`UnknownOperationException`) in one place.
//! The content type is not enforced (AWS rejects others; being lenient lets
//! `curl -d` work and costs nothing).
//!
//! ```no_run
//! # async fn demo(engine: engine::scheduler::Engine<store::memory::MemoryStore>) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! axum::serve(listener, api::router(engine)).await
//! # }
//! ```

pub mod actions;
mod error;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use engine::scheduler::Engine;
use serde::Serialize;
use serde::de::DeserializeOwned;
use store::Store;

pub use error::ApiError;

/// The content type of every request and response of the protocol.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The prefix of `X-Amz-Target` for Step Functions actions.
const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// The API over `engine`: `POST /` dispatching on `X-Amz-Target`.
pub fn router<S: Store>(engine: Engine<S>) -> Router {
    Router::new()
        .route("/", post(dispatch::<S>))
        .with_state(engine)
}

async fn dispatch<S: Store>(
    State(engine): State<Engine<S>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match call(&engine, &headers, &body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn call<S: Store>(
    engine: &Engine<S>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let action = target.strip_prefix(TARGET_PREFIX).unwrap_or_default();
    match action {
        "StartExecution" => reply(actions::start_execution::handle(engine, parse(body)?).await),
        "DescribeExecution" => {
            reply(actions::describe_execution::handle(engine, parse(body)?).await)
        }
        "StopExecution" => reply(actions::stop_execution::handle(engine, parse(body)?).await),
        "GetExecutionHistory" => {
            reply(actions::get_execution_history::handle(engine, parse(body)?).await)
        }
        "ListExecutions" => reply(actions::list_executions::handle(engine, parse(body)?).await),
        _ => Err(ApiError::UnknownOperationException(if target.is_empty() {
            "missing X-Amz-Target header (expected AWSStepFunctions.<Action>)".to_owned()
        } else {
            format!("unknown operation '{target}'")
        })),
    }
}

/// Two steps, as AWS distinguishes them: a body that is not JSON is a
/// `SerializationException`; JSON that does not fit the action's input
/// (missing or mistyped member) is a `ValidationException`.
fn parse<I: DeserializeOwned>(body: &[u8]) -> Result<I, ApiError> {
    // The CLI always sends `{}`, but an empty body means "no parameters" to
    // hand-written clients, so accept it.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::SerializationException(format!("the body is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::SerializationException(
            "the body must be a JSON object".to_owned(),
        ));
    }
    serde_json::from_value(value).map_err(|e| ApiError::ValidationException(e.to_string()))
}

fn reply<O: Serialize>(output: Result<O, ApiError>) -> Result<Response, ApiError> {
    let output = output?;
    let value = serde_json::to_value(&output)
        .map_err(|e| ApiError::InternalFailure(format!("cannot encode the response: {e}")))?;
    Ok(json_response(StatusCode::OK, &value))
}

/// A JSON response with the protocol's content type.
pub(crate) fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// Milliseconds since the epoch → the protocol's timestamps (epoch seconds,
/// fractional).
pub(crate) fn epoch_seconds(millis: store::EpochMillis) -> f64 {
    millis as f64 / 1000.0
}
