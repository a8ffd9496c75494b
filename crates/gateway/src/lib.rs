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
//! Mapping templates (the `mapping` module, over the `vtl` crate): a
//! route's `request_template` renders the request into a `StartExecution`
//! request body as on AWS (output that is not one fails the request with the
//! failure response, the reason logged, nothing started), and response
//! bodies containing `$` or `#` are rendered with the outcome
//! (`$context.executionArn`, `$context.startDate`, `$input` = the
//! StartExecution / StartSyncExecution response, `$context.responseOverride`).
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
mod mapping;
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
use serde_json::{Map, Value, json};
use store::{ExecutionStatus, StartOutcome, Store, StoreError};
use tokio::time::Instant;

use crate::mapping::ResponseSpec;
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
    /// Mapping template: renders the request into a StartExecution body.
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

    /// Warnings about the route's request template (the known pitfalls of
    /// pasted templates, from the `vtl` linter), for start-up logs.
    pub fn template_warnings(&self) -> Vec<String> {
        let Some(text) = &self.request_template else {
            return Vec::new();
        };
        match vtl::Template::parse(text) {
            Ok(t) => t
                .lint()
                .into_iter()
                .map(|w| format!("line {}, column {}: {}", w.line, w.column, w.message))
                .collect(),
            Err(e) => vec![format!("does not parse: {e}")],
        }
    }

    /// The route's name in metrics and logs: `METHOD /path/{pattern}`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path.text)
    }
}

/// A route with what serving it needs besides its config.
struct Served {
    route: GatewayRoute,
    /// The parsed `request_template`; `Err` (only for routes not checked by
    /// the config) fails every request with the reason.
    request_template: Option<Result<vtl::Template, String>>,
    /// `responses.success` or the default.
    success: ResponseSpec,
    /// `responses.failure` or the default.
    failure: ResponseSpec,
    bucket: Option<TokenBucket>,
    /// `route.label()`, shared by every metric of the route.
    label: Arc<str>,
    metrics: RouteMetrics,
}

/// A route's metric handles, registered once: `metrics::counter!` looks
/// its series up by name and labels (hashing both) on every call.
struct RouteMetrics {
    ack_seconds: metrics::Histogram,
    /// Request counters for the statuses a route usually answers; others
    /// are looked up when they happen.
    requests: Vec<(u16, metrics::Counter)>,
}

impl RouteMetrics {
    fn new(label: &Arc<str>, statuses: impl IntoIterator<Item = StatusCode>) -> Self {
        let mut codes: Vec<u16> = statuses.into_iter().map(|s| s.as_u16()).collect();
        codes.sort_unstable();
        codes.dedup();
        let route = || SharedString::from(Arc::clone(label));
        Self {
            ack_seconds: metrics::histogram!(metrics_names::ACK_SECONDS, "route" => route()),
            requests: codes
                .into_iter()
                .map(|code| {
                    let counter = metrics::counter!(metrics_names::REQUESTS, "route" => route(), "status" => code.to_string());
                    (code, counter)
                })
                .collect(),
        }
    }

    fn request(&self, label: &Arc<str>, status: StatusCode) {
        let code = status.as_u16();
        match self.requests.iter().find(|(c, _)| *c == code) {
            Some((_, counter)) => counter.increment(1),
            None => record_request(SharedString::from(Arc::clone(label)), status),
        }
    }
}

/// Counts a request by route label and status (the uncached path).
fn record_request(route: SharedString, status: StatusCode) {
    metrics::counter!(metrics_names::REQUESTS, "route" => route, "status" => status.as_u16().to_string())
        .increment(1);
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
        .map(|route| {
            let label: Arc<str> = Arc::from(route.label());
            let success = ResponseSpec::new(
                route
                    .success
                    .as_ref()
                    .unwrap_or(&config::Response::default_success()),
            );
            let failure = ResponseSpec::new(
                route
                    .failure
                    .as_ref()
                    .unwrap_or(&config::Response::default_failure()),
            );
            let metrics = RouteMetrics::new(
                &label,
                [
                    success.status,
                    failure.status,
                    StatusCode::BAD_REQUEST,
                    StatusCode::UNAUTHORIZED,
                    StatusCode::FORBIDDEN,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    StatusCode::TOO_MANY_REQUESTS,
                ],
            );
            Served {
                request_template: route
                    .request_template
                    .as_deref()
                    .map(|t| vtl::Template::parse(t).map_err(|e| e.to_string())),
                success,
                failure,
                bucket: route.rate_limit.map(TokenBucket::new),
                label,
                metrics,
                route: route.clone(),
            }
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
    let status = answer.response.status();
    match served {
        Some(s) => {
            s.metrics.request(&s.label, status);
            if answer.succeeded {
                s.metrics
                    .ack_seconds
                    .record(received.elapsed().as_secs_f64());
            }
        }
        None => record_request(SharedString::const_str(metrics_names::UNMATCHED), status),
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
    let checked = async {
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
        Ok(bytes)
    }
    .await;
    let bytes = match checked {
        Ok(bytes) => bytes,
        Err(refusal) => {
            if refusal.status == StatusCode::UNAUTHORIZED || refusal.status == StatusCode::FORBIDDEN
            {
                // The route and the verdict only: never the header's value.
                tracing::warn!(route = %served.label, status = refusal.status.as_u16(), "webhook refused by auth");
            }
            return (Some(served), refusal.into());
        }
    };
    // Templates see the request as API Gateway shows it; built only when
    // some template of the route will read it.
    let needs_context = served.request_template.is_some()
        || served.success.is_template()
        || served.failure.is_template();
    let context = needs_context.then(|| {
        mapping::request_context(route, &parts, &bytes, &uuid::Uuid::new_v4().to_string())
    });
    let request = match start_request(served, &parts, &bytes, context.as_ref()) {
        Ok(request) => request,
        Err(Invalid::Refused(refusal)) => return (Some(served), refusal.into()),
        Err(Invalid::Template(reason)) => {
            tracing::error!(route = %served.label, reason = %reason, "webhook failed: the request template did not produce a StartExecution request; nothing was started");
            let failure = json!({ "__type": "SerializationException", "message": reason });
            return (
                Some(served),
                send(&served.failure, context.as_ref(), || (failure, Map::new())).into(),
            );
        }
    };
    let started = start(&gateway.engine, route, request).await;
    let answer = match (started, route.mode) {
        (Ok(started), Mode::Async) => Answer {
            response: send(&served.success, context.as_ref(), || {
                (
                    mapping::start_response(&started.arn, started.start_time),
                    mapping::start_context(&started.arn, started.start_time),
                )
            }),
            succeeded: true,
        },
        (Ok(started), Mode::Sync { timeout }) => {
            sync_result(&gateway.engine, served, &started, timeout, context.as_ref()).await
        }
        (Err(error), _) => {
            let failure = json!({ "__type": error.name(), "message": error.to_string() });
            send(&served.failure, context.as_ref(), || (failure, Map::new())).into()
        }
    };
    (Some(served), answer)
}

/// A configured response, rendered if it is a template; always JSON.
/// `outcome` makes the template's `$input` and `$context` additions, and
/// runs only for templates: a static body (the common case) costs nothing.
fn send(
    spec: &ResponseSpec,
    context: Option<&vtl::Context>,
    outcome: impl FnOnce() -> (Value, Map<String, Value>),
) -> Response {
    let (status, headers, body) = if spec.is_template() {
        let (input, extra) = outcome();
        spec.render(&input, context.map(|c| &c.context), extra)
    } else {
        spec.render(&Value::Null, None, Map::new())
    };
    let mut response = json_response(status, body);
    response.headers_mut().extend(headers);
    response
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

/// Why a request did not become a StartExecution request.
enum Invalid {
    /// The body or a header is unusable: answered with this refusal.
    Refused(Refusal),
    /// The request template failed or its output is not a StartExecution
    /// request: the route's failure response (as AWS answers a broken
    /// integration request), the reason logged.
    Template(String),
}

/// The request as a `StartExecution` request. With a template, its output
/// is the request (as on AWS); without, the input is the body by content
/// type (`content::input`). `execution_name_header` names the execution
/// unless the template did.
fn start_request(
    served: &Served,
    parts: &Parts,
    body: &[u8],
    context: Option<&vtl::Context>,
) -> Result<StartRequest, Invalid> {
    let route = &served.route;
    let mut request = match (&served.request_template, context) {
        (Some(Ok(template)), Some(context)) => {
            mapping::start_request(template, context, route).map_err(Invalid::Template)?
        }
        (Some(Err(e)), _) => {
            return Err(Invalid::Template(format!(
                "the request template does not parse: {e}"
            )));
        }
        _ => StartRequest {
            state_machine_arn: route.state_machine_arn.clone(),
            name: None,
            input: Some(content::input(&parts.headers, body).map_err(Invalid::Refused)?),
        },
    };
    if request.name.is_none()
        && let Some(h) = &route.execution_name_header
    {
        request.name = match parts.headers.get(h.as_str()).map(HeaderValue::to_str) {
            None => None,
            Some(Ok(v)) => Some(v.to_owned()),
            Some(Err(_)) => {
                return Err(Invalid::Refused(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "bad request",
                    format!("header {h} names the execution and must be visible ASCII"),
                )));
            }
        };
    }
    Ok(request)
}

/// A durably stored execution a request started (or redelivered).
struct Started {
    arn: String,
    start_time: i64,
}

/// Starts the execution durably. `Ok` when it is stored: started now,
/// already running under this name, or (a redelivery) finished with the
/// same input. `Err` (logged) when it was not started, with AWS's error name.
async fn start<S: Store>(
    engine: &Engine<S>,
    route: &GatewayRoute,
    request: StartRequest,
) -> Result<Started, api::ApiError> {
    // A named redelivery is the same delivery, already durably accepted,
    // while the execution runs and after it finished: acknowledged again.
    match engine.start_or_find(request).await {
        Ok(StartOutcome::Started(r)) => {
            tracing::debug!(execution_arn = %r.arn, path = %route.path.text, "webhook submitted");
            Ok(Started {
                arn: r.arn,
                start_time: r.start_time,
            })
        }
        Ok(StartOutcome::AlreadyStarted(r)) => {
            tracing::info!(execution_arn = %r.arn, path = %route.path.text, status = r.status.as_str(), "redelivery acknowledged");
            Ok(Started {
                arn: r.arn,
                start_time: r.start_time,
            })
        }
        Err(e @ EngineError::Store(StoreError::ExecutionAlreadyExists { .. })) => {
            tracing::warn!(path = %route.path.text, error = %e, "webhook failed: an execution with this name exists with a different input");
            Err(e.into())
        }
        Err(e) => {
            tracing::error!(state_machine_arn = %route.state_machine_arn, path = %route.path.text, error = %e, "webhook failed: the execution was not started");
            Err(e.into())
        }
    }
}

/// A sync route's answer: waits up to `timeout` for the execution (durably
/// started) to finish, as `StartSyncExecution` does. Response templates see
/// StartSyncExecution's response as `$input` and the status, error and cause
/// in `$context`.
async fn sync_result<S: Store>(
    engine: &Engine<S>,
    served: &Served,
    started: &Started,
    timeout: Duration,
    context: Option<&vtl::Context>,
) -> Answer {
    let route = &served.route;
    let arn = started.arn.as_str();
    let record = match engine.wait_for(arn, timeout).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            tracing::error!(execution_arn = %arn, path = %route.path.text, "sync webhook failed: the started execution is not in the store");
            let failure = json!({ "__type": "InternalFailure", "message": format!("execution {arn} is not in the store") });
            return send(&served.failure, context, || (failure, Map::new())).into();
        }
        Err(e) => {
            tracing::error!(execution_arn = %arn, path = %route.path.text, error = %e, "sync webhook failed: cannot read the execution");
            let failure = json!({ "__type": "InternalFailure", "message": e.to_string() });
            return send(&served.failure, context, || (failure, Map::new())).into();
        }
    };
    let mut extra = mapping::start_context(arn, started.start_time);
    extra.insert("status".into(), json!(record.status.as_str()));
    extra.insert("error".into(), json!(record.error));
    extra.insert("cause".into(), json!(record.cause));
    match record.status {
        ExecutionStatus::Succeeded => {
            let response = if route.success.is_some() {
                send(&served.success, context, || (sync_response(&record), extra))
            } else {
                // The output is JSON text already; sent as it is stored.
                json_response(
                    StatusCode::OK,
                    record.output.unwrap_or_else(|| "null".to_owned()),
                )
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
            if route.failure.is_some() {
                send(&served.failure, context, || (sync_response(&record), extra)).into()
            } else {
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

/// StartSyncExecution's response for a finished execution.
fn sync_response(record: &store::ExecutionRecord) -> Value {
    serde_json::to_value(
        api::actions::describe_execution::DescribeExecutionOutput::from(record.clone()),
    )
    .unwrap_or(Value::Null)
}
