//! The webhook gateway: the `[[routes]]` of `stepgate.toml` served over HTTP.
//!
//! Owns, per request: matching a route (method + path with literal segments,
//! `{param}`, greedy `{proxy+}`, `ANY`), the body limit, turning the body into
//! an execution input, starting the execution through
//! [`engine::scheduler::Engine::start_execution`] (which returns only once the
//! start is durable), and answering with the route's configured success or
//! failure response. Refusals are JSON: `{"status": "...", "message": "..."}`.
//!
//! It must not hold execution semantics (the engine does), must not read the
//! config file or open sockets (the `stepgate` binary does), and must never
//! answer a route's success response unless the execution is durably stored.
//!
//! Served so far: `mode = "async"` routes whose JSON body is the input,
//! passed through as the very text the client sent (so quotes, backslashes,
//! unicode, `$` and `#` arrive exactly), and `execution_name_header`
//! idempotency. Not yet: `mode = "sync"` and `request_template` (both answer
//! 501, never a fake success), form/text envelopes (400), auth, rate limits.
//!
//! The key decision: one fallback handler doing its own matching rather than
//! one axum route per config route — axum's router cannot express greedy
//! `{proxy+}` next to literals with API Gateway's precedence, nor our JSON
//! 404/405 answers with `Allow`.

#![deny(missing_docs)]

mod matching;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use config::{Config, Method, Mode, RoutePath};
use engine::scheduler::{Engine, EngineError, StartRequest};
use serde_json::{Value, json};
use store::{StartOutcome, Store, StoreError};

use crate::matching::{Match, select};

/// The ARN prefix of the state machines of `stepgate.toml`.
pub const STATE_MACHINE_ARN_PREFIX: &str = "arn:aws:states:local:000000000000:stateMachine:";

/// The largest request body a route accepts (API Gateway's payload limit
/// for Step Functions input is also 256 KiB).
pub const BODY_LIMIT: usize = 256 * 1024;

/// The ARN under which `stepgate serve --config` stores state machine `name`.
pub fn state_machine_arn(name: &str) -> String {
    format!("{STATE_MACHINE_ARN_PREFIX}{name}")
}

/// One route, resolved: its state machine named by ARN.
#[derive(Debug, Clone)]
pub struct GatewayRoute {
    /// HTTP method (`ANY` matches all).
    pub method: Method,
    /// Path pattern.
    pub path: RoutePath,
    /// The one state machine this route may start.
    pub state_machine_arn: String,
    /// `async` or `sync` (sync answers 501 for now).
    pub mode: Mode,
    /// Mapping template (answers 501 for now).
    pub request_template: Option<String>,
    /// Request header whose value names the execution.
    pub execution_name_header: Option<String>,
    /// Answer once the execution is durably started.
    pub success: config::Response,
    /// Answer when it could not be started.
    pub failure: config::Response,
}

impl GatewayRoute {
    /// The routes of `config`, in file order, each naming its state machine
    /// by [`state_machine_arn`].
    pub fn from_config(config: &Config) -> Vec<GatewayRoute> {
        config
            .routes()
            .iter()
            .map(|r| GatewayRoute {
                method: r.method,
                path: r.path.clone(),
                state_machine_arn: state_machine_arn(&config.state_machine(r.state_machine).name),
                mode: r.mode,
                request_template: r.request_template.clone(),
                execution_name_header: r.execution_name_header.clone(),
                success: r.success.clone(),
                failure: r.failure.clone(),
            })
            .collect()
    }

    /// Why this route cannot serve requests yet (it answers 501), if so.
    pub fn unsupported(&self) -> Option<&'static str> {
        if self.mode == Mode::Sync {
            Some("sync mode (StartSyncExecution) is not supported yet; use mode = \"async\"")
        } else if self.request_template.is_some() {
            Some(
                "request templates are not supported yet; remove request_template to pass the JSON body through as the input",
            )
        } else {
            None
        }
    }
}

struct Gateway<S: Store> {
    engine: Engine<S>,
    routes: Vec<GatewayRoute>,
}

/// The webhook router over `engine`: every request goes through route
/// matching; unmatched paths answer 404, wrong methods 405.
pub fn router<S: Store>(engine: Engine<S>, routes: Vec<GatewayRoute>) -> Router {
    Router::new()
        .fallback(handle::<S>)
        .with_state(Arc::new(Gateway { engine, routes }))
}

/// A refusal: `{"status": label, "message": message}`.
fn refuse(status: StatusCode, label: &str, message: impl Into<String>) -> Response {
    let body = json!({ "status": label, "message": message.into() });
    (status, axum::Json(body)).into_response()
}

/// A configured response, sent as JSON (the contract's bodies are JSON).
fn configured(response: &config::Response) -> Response {
    // The config validates 100–599, so the fallback is unreachable in practice.
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        response.body.clone(),
    )
        .into_response()
}

async fn handle<S: Store>(State(gateway): State<Arc<Gateway<S>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let route = match select(&gateway.routes, parts.method.as_str(), parts.uri.path()) {
        Match::Route(i) => &gateway.routes[i],
        Match::NotFound => {
            return refuse(
                StatusCode::NOT_FOUND,
                "not found",
                format!("no route matches the path {}", parts.uri.path()),
            );
        }
        Match::MethodNotAllowed(allowed) => {
            let allow = allowed.join(", ");
            let mut response = refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                format!(
                    "{} is not allowed on {}; allowed: {allow}",
                    parts.method,
                    parts.uri.path()
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, v);
            }
            return response;
        }
    };
    if let Some(reason) = route.unsupported() {
        return refuse(StatusCode::NOT_IMPLEMENTED, "not implemented", reason);
    }
    let input = match read_input(&parts.headers, body).await {
        Ok(input) => input,
        Err(response) => return response,
    };
    let name = match &route.execution_name_header {
        None => None,
        Some(h) => match parts.headers.get(h.as_str()).map(HeaderValue::to_str) {
            None => None,
            Some(Ok(v)) => Some(v.to_owned()),
            Some(Err(_)) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "bad request",
                    format!("header {h} names the execution and must be visible ASCII"),
                );
            }
        },
    };
    start(&gateway.engine, route, name, input).await
}

/// The body as execution input text: the client's own JSON text, checked to
/// be JSON but not re-serialised, so it arrives exactly as sent.
async fn read_input(headers: &axum::http::HeaderMap, body: Body) -> Result<String, Response> {
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload too large",
            format!("the request body is larger than {BODY_LIMIT} bytes (256 KiB)"),
        )
    };
    // An announced oversize body is refused before reading any of it.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    // `to_bytes` fails when the limit is passed (chunked bodies) or the
    // client breaks off; in the second case nobody reads the answer.
    let bytes = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| too_large())?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    let not_json = |why: String| {
        refuse(
            StatusCode::BAD_REQUEST,
            "bad request",
            format!(
                "the request body is not JSON (content-type {content_type}): {why}; only JSON bodies are accepted for now (form-encoded and text envelopes are not supported yet)"
            ),
        )
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| not_json(e.to_string()))?;
    // No body (a bare GET or POST) starts with `{}`, as StartExecution does
    // without `input`.
    if text.trim().is_empty() {
        return Ok("{}".to_owned());
    }
    // The content type is not enforced: `curl -d` sends form-encoded for a
    // JSON body, and what matters is what the bytes are.
    serde_json::from_str::<Value>(text).map_err(|e| not_json(e.to_string()))?;
    Ok(text.to_owned())
}

async fn start<S: Store>(
    engine: &Engine<S>,
    route: &GatewayRoute,
    name: Option<String>,
    input: String,
) -> Response {
    let named = name.is_some();
    let outcome = engine
        .start_execution(StartRequest {
            state_machine_arn: route.state_machine_arn.clone(),
            name,
            input: Some(input.clone()),
        })
        .await;
    match outcome {
        Ok(StartOutcome::Started(r)) => {
            tracing::info!(execution_arn = %r.arn, path = %route.path.text, "webhook submitted");
            configured(&route.success)
        }
        Ok(StartOutcome::AlreadyStarted(r)) => {
            tracing::info!(execution_arn = %r.arn, path = %route.path.text, "redelivery of a running execution acknowledged");
            configured(&route.success)
        }
        // A named redelivery after the execution finished: the store cannot
        // tell "finished" from "different input", so look. Same input = the
        // same delivery, already durably accepted: acknowledge it again.
        Err(EngineError::Store(StoreError::ExecutionAlreadyExists { arn })) if named => {
            match engine.store().execution(&arn).await {
                Ok(Some(existing)) if same_json(&existing.input, &input) => {
                    tracing::info!(execution_arn = %arn, path = %route.path.text, "redelivery of a finished execution acknowledged");
                    configured(&route.success)
                }
                Ok(_) => {
                    tracing::warn!(execution_arn = %arn, path = %route.path.text, "webhook failed: an execution with this name exists with a different input");
                    configured(&route.failure)
                }
                Err(e) => {
                    tracing::error!(execution_arn = %arn, path = %route.path.text, error = %e, "webhook failed");
                    configured(&route.failure)
                }
            }
        }
        Err(e) => {
            tracing::error!(state_machine_arn = %route.state_machine_arn, path = %route.path.text, error = %e, "webhook failed: the execution was not started");
            configured(&route.failure)
        }
    }
}

/// JSON equality (object key order does not matter).
fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
