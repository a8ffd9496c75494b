//! The webhook gateway: the `[[routes]]` of `stepgate.toml` served over HTTP.
//!
//! Owns, per request and in this order (nothing is stored unless every step
//! passes): matching a route (method + path with literal segments,
//! `{param}`, greedy `{proxy+}`, `ANY`), the route's rate limit (429 with
//! `Retry-After`), its body limit (413), its auth over the raw body bytes
//! (`api_key`, `hmac_sha256`: 401 / 403), turning the body into an
//! execution input by content type (JSON byte for byte, `text/*` and
//! form-encoded envelopes; 400 / 415), starting the execution through
//! [`engine::scheduler::Engine::start_execution`] (which returns only once the
//! start is durable) and answering: async routes with the configured success
//! or failure response, sync routes (`StartSyncExecution` semantics, STANDARD
//! or EXPRESS) with the execution's result after waiting up to the route's
//! timeout (504 after it). Refusals are JSON: `{"status": "...", "message":
//! "..."}`. Every answer is counted in [`metrics_names::REQUESTS`]. The
//! content types, envelopes and answers are documented in `docs/gateway.md`.
//!
//! It must not hold execution semantics (the engine does), must not read the
//! config file or open sockets (the `stepgate` binary does), must never
//! answer a route's success response unless the execution is durably
//! stored, and must never log a secret, an API key or a signature.
//!
//! Not served yet: `request_template` (answers 501, never a fake success;
//! [`GatewayRoute::unsupported`] says so at start-up). Templates slot in at
//! one seam, the function that turns a request into a
//! [`StartRequest`](engine::scheduler::StartRequest).
//!
//! The key decision: one fallback handler doing its own matching rather than
//! one axum route per config route — axum's router cannot express greedy
//! `{proxy+}` next to literals with API Gateway's precedence, nor our JSON
//! 404/405 answers with `Allow`; and the protection steps run in the order
//! above inside it rather than as tower layers, because each needs the
//! matched route's own settings.

#![deny(missing_docs)]

mod auth;
mod content;
mod matching;
pub mod metrics_names;
mod rate_limit;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use config::{Auth, Config, Method, Mode, RateLimit, RoutePath};
use engine::scheduler::{Engine, EngineError, StartRequest};
use metrics::SharedString;
use serde_json::{Value, json};
use store::{ExecutionStatus, StartOutcome, Store, StoreError};
use tokio::time::Instant;

use crate::matching::{Match, select};
use crate::rate_limit::TokenBucket;

/// The ARN prefix of the state machines of `stepgate.toml`.
pub const STATE_MACHINE_ARN_PREFIX: &str = "arn:aws:states:local:000000000000:stateMachine:";

/// The default body limit of a route (`[server] max_body_bytes`): API
/// Gateway's payload limit for a Step Functions input is also 256 KiB.
pub const BODY_LIMIT: usize = config::DEFAULT_MAX_BODY_BYTES;

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
    /// `async`, or `sync` with its timeout.
    pub mode: Mode,
    /// Mapping template (answers 501 for now).
    pub request_template: Option<String>,
    /// Request header whose value names the execution.
    pub execution_name_header: Option<String>,
    /// `responses.success` if configured (see [`GatewayRoute::from_config`]).
    pub success: Option<config::Response>,
    /// `responses.failure` if configured.
    pub failure: Option<config::Response>,
    /// Who may call (secrets redacted from `Debug`).
    pub auth: Auth,
    /// The route's token bucket, if limited.
    pub rate_limit: Option<RateLimit>,
    /// Largest body, in bytes.
    pub max_body_bytes: usize,
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
                auth: r.auth.clone(),
                rate_limit: r.rate_limit,
                max_body_bytes: r.max_body_bytes,
            })
            .collect()
    }

    /// Why this route cannot serve requests yet (it answers 501), if so.
    pub fn unsupported(&self) -> Option<&'static str> {
        self.request_template.as_ref().map(|_| {
            "request templates are not supported yet; remove request_template to pass the body through as the input"
        })
    }

    /// The route's name in metrics and logs: `METHOD /path/{pattern}`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path.text)
    }

    /// The answer once the execution is durably started (async): the
    /// configured success response or `200 {"status": "webhook submitted"}`.
    fn acknowledgement(&self) -> Response {
        configured(
            self.success
                .as_ref()
                .unwrap_or(&config::Response::default_success()),
        )
    }

    /// The answer when the execution was not started: the configured
    /// failure response or `500 {"status": "webhook failed"}`.
    fn not_started(&self) -> Response {
        configured(
            self.failure
                .as_ref()
                .unwrap_or(&config::Response::default_failure()),
        )
    }
}

/// A route with what serving it needs besides its config.
struct Served {
    route: GatewayRoute,
    bucket: Option<TokenBucket>,
    /// `route.label()`, shared by every metric of the route.
    label: Arc<str>,
}

struct Gateway<S: Store> {
    engine: Engine<S>,
    /// Route configs, for matching (the same order as `served`).
    routes: Vec<GatewayRoute>,
    served: Vec<Served>,
}

/// The webhook router over `engine`: every request goes through route
/// matching; unmatched paths answer 404, wrong methods 405.
pub fn router<S: Store>(engine: Engine<S>, routes: Vec<GatewayRoute>) -> Router {
    let served = routes
        .iter()
        .map(|route| Served {
            bucket: route.rate_limit.map(TokenBucket::new),
            label: Arc::from(route.label()),
            route: route.clone(),
        })
        .collect();
    Router::new()
        .fallback(handle::<S>)
        .with_state(Arc::new(Gateway {
            engine,
            routes,
            served,
        }))
}

/// A refusal: `{"status": label, "message": message}`, with `Retry-After`
/// when it is a rate limit.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    label: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, label: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            label,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({ "status": self.label, "message": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A configured response, sent as JSON (the contract's bodies are JSON).
fn configured(response: &config::Response) -> Response {
    // The config validates 100–599, so the fallback is unreachable in practice.
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, response.body.clone())
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// An answer and whether it is the route's success (for the ack histogram).
struct Answer {
    response: Response,
    succeeded: bool,
}

impl<T: IntoResponse> From<T> for Answer {
    fn from(response: T) -> Self {
        Self {
            response: response.into_response(),
            succeeded: false,
        }
    }
}

async fn handle<S: Store>(State(gateway): State<Arc<Gateway<S>>>, request: Request) -> Response {
    let received = Instant::now();
    let (served, answer) = answer(&gateway, request, received).await;
    let route: SharedString = match served {
        Some(s) => SharedString::from(Arc::clone(&s.label)),
        None => SharedString::const_str(metrics_names::UNMATCHED),
    };
    let status = answer.response.status().as_u16().to_string();
    metrics::counter!(metrics_names::REQUESTS, "route" => route.clone(), "status" => status)
        .increment(1);
    if answer.succeeded {
        metrics::histogram!(metrics_names::ACK_SECONDS, "route" => route)
            .record(received.elapsed().as_secs_f64());
    }
    answer.response
}

/// Runs the steps of the module doc in order; the first refusal answers.
async fn answer<S: Store>(
    gateway: &Gateway<S>,
    request: Request,
    received: Instant,
) -> (Option<&Served>, Answer) {
    let (parts, body) = request.into_parts();
    let served = match select(&gateway.routes, parts.method.as_str(), parts.uri.path()) {
        Match::Route(i) => &gateway.served[i],
        Match::NotFound => {
            let refusal = Refusal::new(
                StatusCode::NOT_FOUND,
                "not found",
                format!("no route matches the path {}", parts.uri.path()),
            );
            return (None, refusal.into());
        }
        Match::MethodNotAllowed(allowed) => {
            let allow = allowed.join(", ");
            let mut response = Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed",
                format!(
                    "{} is not allowed on {}; allowed: {allow}",
                    parts.method,
                    parts.uri.path()
                ),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, v);
            }
            return (None, response.into());
        }
    };
    let route = &served.route;
    let result = async {
        if let Some(bucket) = &served.bucket
            && let Err(retry_after) = bucket.take(received)
        {
            let mut refusal = Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests",
                format!(
                    "route {} is limited; retry after {retry_after} s",
                    served.label
                ),
            );
            refusal.retry_after = Some(retry_after);
            return Err(refusal);
        }
        let bytes = read_body(&parts, body, route.max_body_bytes).await?;
        auth::check(&route.auth, &parts.headers, &bytes)?;
        start_request(route, &parts, &bytes)
    }
    .await;
    let request = match result {
        Ok(request) => request,
        Err(refusal) => {
            if refusal.status == StatusCode::UNAUTHORIZED || refusal.status == StatusCode::FORBIDDEN
            {
                // The route and the verdict only: never the header's value.
                tracing::warn!(route = %served.label, status = refusal.status.as_u16(), "webhook refused by auth");
            }
            return (Some(served), refusal.into());
        }
    };
    let answer = match route.mode {
        Mode::Async => match start(&gateway.engine, route, request).await {
            Some(_) => Answer {
                response: route.acknowledgement(),
                succeeded: true,
            },
            None => route.not_started().into(),
        },
        Mode::Sync { timeout } => match start(&gateway.engine, route, request).await {
            Some(arn) => sync_result(&gateway.engine, route, &arn, timeout).await,
            None => route.not_started().into(),
        },
    };
    (Some(served), answer)
}

/// The body, at most `limit` bytes (413 otherwise).
async fn read_body(parts: &Parts, body: Body, limit: usize) -> Result<Bytes, Refusal> {
    let too_large = || {
        let kib = if limit.is_multiple_of(1024) {
            format!(" ({} KiB)", limit / 1024)
        } else {
            String::new()
        };
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload too large",
            format!("the request body is larger than this route's limit of {limit} bytes{kib}"),
        )
    };
    // An announced oversize body is refused before reading any of it.
    let announced = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // `to_bytes` fails when the limit is passed (chunked bodies) or the
    // client breaks off; in the second case nobody reads the answer.
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())
}

/// The request as a `StartExecution` request: the seam where request
/// templates will slot in (they see the same parts and raw body). Without a
/// template the input is the body by content type (`content::input`) and
/// `execution_name_header` names the execution.
fn start_request(
    route: &GatewayRoute,
    parts: &Parts,
    body: &[u8],
) -> Result<StartRequest, Refusal> {
    if let Some(reason) = route.unsupported() {
        return Err(Refusal::new(
            StatusCode::NOT_IMPLEMENTED,
            "not implemented",
            reason,
        ));
    }
    let input = content::input(&parts.headers, body)?;
    let name = match &route.execution_name_header {
        None => None,
        Some(h) => match parts.headers.get(h.as_str()).map(HeaderValue::to_str) {
            None => None,
            Some(Ok(v)) => Some(v.to_owned()),
            Some(Err(_)) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "bad request",
                    format!("header {h} names the execution and must be visible ASCII"),
                ));
            }
        },
    };
    Ok(StartRequest {
        state_machine_arn: route.state_machine_arn.clone(),
        name,
        input: Some(input),
    })
}

/// Starts the execution durably. `Some(arn)` when it is stored: started
/// now, already running under this name, or (a redelivery) finished with the
/// same input. `None` when it was not started (the reason is logged).
async fn start<S: Store>(
    engine: &Engine<S>,
    route: &GatewayRoute,
    request: StartRequest,
) -> Option<String> {
    // Kept only for a named start: comparing a redelivery's payload.
    let named_input = request
        .name
        .is_some()
        .then(|| request.input.clone().unwrap_or_default());
    match engine.start_execution(request).await {
        Ok(StartOutcome::Started(r)) => {
            tracing::debug!(execution_arn = %r.arn, path = %route.path.text, "webhook submitted");
            Some(r.arn)
        }
        Ok(StartOutcome::AlreadyStarted(r)) => {
            tracing::debug!(execution_arn = %r.arn, path = %route.path.text, "redelivery of a running execution acknowledged");
            Some(r.arn)
        }
        // A named redelivery after the execution finished: the store cannot
        // tell "finished" from "different input", so look. Same input = the
        // same delivery, already durably accepted: acknowledge it again.
        Err(EngineError::Store(StoreError::ExecutionAlreadyExists { arn }))
            if let Some(input) = &named_input =>
        {
            match engine.store().execution(&arn).await {
                Ok(Some(existing)) if same_json(&existing.input, input) => {
                    tracing::info!(execution_arn = %arn, path = %route.path.text, "redelivery of a finished execution acknowledged");
                    Some(arn)
                }
                Ok(_) => {
                    tracing::warn!(execution_arn = %arn, path = %route.path.text, "webhook failed: an execution with this name exists with a different input");
                    None
                }
                Err(e) => {
                    tracing::error!(execution_arn = %arn, path = %route.path.text, error = %e, "webhook failed");
                    None
                }
            }
        }
        Err(e) => {
            tracing::error!(state_machine_arn = %route.state_machine_arn, path = %route.path.text, error = %e, "webhook failed: the execution was not started");
            None
        }
    }
}

/// A sync route's answer: waits up to `timeout` for the execution `arn`
/// (durably started) to finish, as `StartSyncExecution` does.
async fn sync_result<S: Store>(
    engine: &Engine<S>,
    route: &GatewayRoute,
    arn: &str,
    timeout: Duration,
) -> Answer {
    let record = match engine.wait_for(arn, timeout).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            tracing::error!(execution_arn = %arn, path = %route.path.text, "sync webhook failed: the started execution is not in the store");
            return route.not_started().into();
        }
        Err(e) => {
            tracing::error!(execution_arn = %arn, path = %route.path.text, error = %e, "sync webhook failed: cannot read the execution");
            return route.not_started().into();
        }
    };
    match record.status {
        ExecutionStatus::Succeeded => {
            let response = match &route.success {
                Some(configured_success) => configured(configured_success),
                // The output is JSON text already; sent as it is stored.
                None => json_response(
                    StatusCode::OK,
                    record.output.unwrap_or_else(|| "null".to_owned()),
                ),
            };
            Answer {
                response,
                succeeded: true,
            }
        }
        ExecutionStatus::Running => {
            let secs = timeout.as_secs();
            tracing::info!(execution_arn = %arn, path = %route.path.text, "sync webhook timed out waiting; the execution keeps running");
            let body = json!({
                "status": "timeout",
                "executionArn": arn,
                "message": format!("the execution is still running after {secs} s; follow it with DescribeExecution"),
            });
            (StatusCode::GATEWAY_TIMEOUT, axum::Json(body)).into()
        }
        ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => {
            tracing::info!(execution_arn = %arn, path = %route.path.text, status = record.status.as_str(), "sync webhook: the execution did not succeed");
            match &route.failure {
                Some(configured_failure) => configured(configured_failure).into(),
                None => {
                    let body = json!({
                        "status": record.status.as_str(),
                        "executionArn": arn,
                        "error": record.error,
                        "cause": record.cause,
                    });
                    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into()
                }
            }
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
