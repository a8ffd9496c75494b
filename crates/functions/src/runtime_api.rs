//! The `lambda-runtime` runtime: warm processes that speak the AWS Lambda
//! Runtime API, so a function built for Lambda runs unmodified.
//!
//! Owns [`LambdaRuntimeFunction`] — a pool of at most `concurrency` warm
//! *instances* of one function — and the Runtime API server each instance
//! talks to. An instance is one process started with
//! `AWS_LAMBDA_RUNTIME_API` pointing at a loopback listener of its own (one
//! per instance, so every request on it comes from that process: an
//! invocation is always known to be held by exactly one process). The
//! process polls `GET /2018-06-01/runtime/invocation/next`, which answers
//! with the next event and the `Lambda-Runtime-*` headers, and posts the
//! result to `…/invocation/{id}/response` or `…/invocation/{id}/error`
//! (`/init/error` before its first poll). After an answer the process is
//! warm and is reused; one that crashed, timed out or reported an init
//! error is discarded (its process group killed) and the next invocation
//! starts a fresh one. stdout and stderr lines are logs of the function,
//! with the request id in flight.
//!
//! It must not know about ASL resources or Lambda's `Invoke` response shape
//! (`lib.rs` and `lambda.rs` do): it turns an event into a [`Response`] or
//! an [`InvokeError`], exactly like the `command` runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::command::{
    InvokeError, ProcessGroup, RESPONSE_LIMIT_BYTES, Response, acquire_slot, invocation_deadline,
};
use crate::lambda::FUNCTION_RESPONSE_SIZE_TOO_LARGE;

/// The memory size the process is told it has (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`,
/// which the Rust runtime requires); Lambda's default.
const MEMORY_SIZE_MB: &str = "128";
/// How long a new process may take to initialise (until its first
/// `/next`): Lambda's init phase limit.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest log line kept whole.
const LOG_LINE_BYTES: usize = 256 * 1024;
/// Longest error body (`/error`, `/init/error`) read; Lambda's own limit
/// for an error response is the response limit.
const ERROR_BODY_BYTES: usize = RESPONSE_LIMIT_BYTES;

/// One `[functions.NAME]` with `runtime = "lambda-runtime"`.
#[derive(Debug)]
pub(crate) struct LambdaRuntimeFunction {
    spec: Arc<Spec>,
    /// Warm instances waiting for an invocation.
    idle: Mutex<Vec<Instance>>,
    /// One per instance that may exist at once (`concurrency`).
    permits: Semaphore,
}

/// How to start an instance.
#[derive(Debug)]
struct Spec {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    base_dir: PathBuf,
    timeout: Duration,
    environment: BTreeMap<String, String>,
    region: String,
}

impl LambdaRuntimeFunction {
    /// `command` is never empty (the config crate guarantees it); relative
    /// programs resolve like the `command` runtime's.
    pub(crate) fn new(
        name: &str,
        command: &[String],
        base_dir: &Path,
        timeout: Duration,
        concurrency: usize,
        environment: BTreeMap<String, String>,
    ) -> Self {
        let (program, args) = crate::command::program_and_args(command, base_dir);
        Self {
            spec: Arc::new(Spec {
                name: name.to_owned(),
                program,
                args,
                base_dir: base_dir.to_path_buf(),
                timeout,
                environment,
                region: crate::resource::LOCAL_REGION.to_owned(),
            }),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(concurrency.clamp(1, Semaphore::MAX_PERMITS)),
        }
    }

    /// Runs the function once with `event` on a warm instance (starting
    /// one if none is idle). `invoked_arn` is the function ARN as the task
    /// named it (`Lambda-Runtime-Invoked-Function-Arn`); `task_deadline` is
    /// when the Task's `TimeoutSeconds` runs out.
    pub(crate) async fn invoke(
        &self,
        event: &Value,
        request_id: &str,
        invoked_arn: &str,
        task_deadline: Option<Instant>,
    ) -> Result<Response, InvokeError> {
        let _permit = acquire_slot(&self.permits, task_deadline, &self.spec.name).await?;
        let event = event.to_string();
        // A warm process that died while idle never saw the invocation:
        // it goes to a fresh one instead (once).
        let mut warm = self.take_idle();
        let (mut instance, deadline, delivery) = loop {
            let was_warm = warm.is_some();
            let mut instance = match warm.take() {
                Some(instance) => instance,
                None => {
                    let mut fresh = Instance::start(&self.spec).await?;
                    // The init phase has a budget of its own, as on Lambda: a
                    // cold start does not eat into the function's timeout.
                    fresh.initialised(task_deadline).await?;
                    fresh
                }
            };
            let deadline = invocation_deadline(self.spec.timeout, task_deadline);
            let invocation = Invocation {
                request_id: request_id.to_owned(),
                event: event.clone(),
                invoked_arn: invoked_arn.to_owned(),
                deadline_epoch_ms: epoch_ms_at(deadline),
            };
            let delivery = tokio::time::timeout_at(deadline, instance.invoke(invocation)).await;
            match delivery {
                Ok(Delivery::NotDelivered(_)) if was_warm => continue,
                other => break (instance, deadline, other),
            }
        };
        match delivery {
            Ok(Delivery::Answered(result) | Delivery::NotDelivered(result)) => {
                if instance.is_reusable() {
                    self.put_idle(instance);
                }
                result
            }
            Err(_) => {
                // The process may still be working on it: it cannot be
                // reused, and dropping the instance kills its group.
                instance.discard();
                if task_deadline == Some(deadline) {
                    return Err(InvokeError::TaskTimedOut);
                }
                Err(InvokeError::Unknown(format!(
                    "RequestId: {request_id} Error: Task timed out after {:.2} seconds (function {} was killed)",
                    self.spec.timeout.as_secs_f64(),
                    self.spec.name
                )))
            }
        }
    }

    fn take_idle(&self) -> Option<Instance> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(instance) = idle.pop() {
            if instance.is_reusable() {
                return Some(instance);
            }
        }
        None
    }

    fn put_idle(&self, instance: Instance) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(instance);
    }
}

/// What became of an invocation handed to an instance.
#[derive(Debug)]
enum Delivery {
    /// The process took it; this is its outcome.
    Answered(Result<Response, InvokeError>),
    /// The process ended before taking it (the error says how).
    NotDelivered(Result<Response, InvokeError>),
}

/// What `/next` hands the process.
#[derive(Debug)]
struct Invocation {
    request_id: String,
    event: String,
    invoked_arn: String,
    deadline_epoch_ms: u64,
}

type Reply = oneshot::Sender<Result<Response, InvokeError>>;

/// One process and its Runtime API listener.
#[derive(Debug)]
struct Instance {
    shared: Arc<Shared>,
    invocations: mpsc::Sender<(Invocation, Reply)>,
    exited: watch::Receiver<Option<String>>,
    /// Becomes true at the process's first `/next`: it is initialised.
    polled: watch::Receiver<bool>,
    /// Killed when the instance is dropped.
    group: Arc<ProcessGroup>,
    server: tokio::task::JoinHandle<()>,
    discarded: bool,
}

/// State the Runtime API handlers share with the instance.
#[derive(Debug)]
struct Shared {
    function: String,
    /// Invocations waiting for the process's next `/next`.
    pending: tokio::sync::Mutex<mpsc::Receiver<(Invocation, Reply)>>,
    /// The invocation the process holds: its request id and where its
    /// answer goes.
    current: Mutex<Option<(String, Reply)>>,
    /// What the process posted to `/init/error`, if anything.
    init_error: Mutex<Option<String>>,
    /// Set at the process's first `/next`.
    polled: watch::Sender<bool>,
    /// The request id of the last invocation handed out: the process's
    /// output is logged with it (also what it prints just after answering).
    log_request_id: Mutex<String>,
}

impl Shared {
    fn log_request_id(&self) -> String {
        self.log_request_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Fails the invocation the process holds, if any, with
    /// `Lambda.Unknown`: `why` is what happened.
    fn fail_current(&self, why: &str) {
        let held = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((id, reply)) = held {
            let _ = reply.send(Err(InvokeError::Unknown(format!(
                "RequestId: {id} Error: {why} (function {})",
                self.function
            ))));
        }
    }

    /// Takes the current invocation if `request_id` is it.
    fn take_current(&self, request_id: &str) -> Option<Reply> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match current.as_ref() {
            Some((id, _)) if id == request_id => current.take().map(|(_, reply)| reply),
            _ => None,
        }
    }
}

impl Instance {
    async fn start(spec: &Spec) -> Result<Instance, InvokeError> {
        let cannot = |what: &str, e: &dyn std::fmt::Display| {
            InvokeError::Unknown(format!("function {}: {what}: {e}", spec.name))
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| cannot("cannot listen for its Runtime API", &e))?;
        let address = listener
            .local_addr()
            .map_err(|e| cannot("cannot read the Runtime API address", &e))?;
        let (invocations, pending) = mpsc::channel(1);
        let (polled_tx, polled) = watch::channel(false);
        let shared = Arc::new(Shared {
            function: spec.name.clone(),
            pending: tokio::sync::Mutex::new(pending),
            current: Mutex::new(None),
            init_error: Mutex::new(None),
            polled: polled_tx,
            log_request_id: Mutex::new(String::new()),
        });
        let server = tokio::spawn({
            let app = runtime_api(Arc::clone(&shared));
            async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::warn!(error = %e, "a function's Runtime API server stopped");
                }
            }
        });
        let instance_id = uuid::Uuid::new_v4().simple().to_string();
        let date = jiff::Timestamp::now().strftime("%Y/%m/%d").to_string();
        let mut command = tokio::process::Command::new(&spec.program);
        command
            .args(&spec.args)
            .current_dir(&spec.base_dir)
            .envs(&spec.environment)
            // Lambda's reserved variables: set after `environment` so they win.
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_SIZE_MB)
            .env(
                "AWS_LAMBDA_FUNCTION_TIMEOUT",
                spec.timeout.as_secs().to_string(),
            )
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", spec.name),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("{date}/[$LATEST]{instance_id}"),
            )
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", &spec.region)
            .env("AWS_DEFAULT_REGION", &spec.region)
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_stepgate")
            .env("LAMBDA_TASK_ROOT", &spec.base_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                server.abort();
                return Err(InvokeError::Unknown(format!(
                    "function {}: cannot start {:?} in {}: {e}",
                    spec.name,
                    spec.program,
                    spec.base_dir.display()
                )));
            }
        };
        let group = Arc::new(ProcessGroup::new(child.id()));
        if let Some(out) = child.stdout.take() {
            tokio::spawn(log_lines(out, Arc::clone(&shared)));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(log_lines(err, Arc::clone(&shared)));
        }
        let (exit_tx, exited) = watch::channel(None);
        tokio::spawn({
            let group = Arc::clone(&group);
            let shared = Arc::clone(&shared);
            async move {
                let how = match child.wait().await {
                    Ok(status) => status.to_string(),
                    Err(e) => format!("could not be waited for ({e})"),
                };
                // Leftovers of the process die with it (Lambda freezes or
                // discards the whole sandbox).
                group.kill();
                group.mark_done();
                let init = shared
                    .init_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let reason = match init {
                    Some(body) => {
                        format!("Runtime exited with error: {how}; its init error: {body}")
                    }
                    None => format!("Runtime exited with error: {how}"),
                };
                // The invocation it held, if any, fails now.
                shared.fail_current(&reason);
                let _ = exit_tx.send(Some(reason));
            }
        });
        Ok(Instance {
            shared,
            invocations,
            exited,
            polled,
            group,
            server,
            discarded: false,
        })
    }

    /// Waits until a new process polls for its first invocation, at most
    /// [`INIT_TIMEOUT`] (and not past the Task's deadline).
    async fn initialised(&mut self, task_deadline: Option<Instant>) -> Result<(), InvokeError> {
        let init_deadline = Instant::now() + INIT_TIMEOUT;
        let deadline = match task_deadline {
            Some(t) if t < init_deadline => t,
            _ => init_deadline,
        };
        let mut polled = self.polled.clone();
        let mut exited = self.exited.clone();
        let outcome = tokio::time::timeout_at(deadline, async {
            tokio::select! {
                ready = polled.wait_for(|p| *p) => ready.is_ok(),
                _ = exited.wait_for(Option::is_some) => false,
            }
        })
        .await;
        match outcome {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.discard();
                let reason = self.exited.borrow().clone().unwrap_or_default();
                Err(InvokeError::Unknown(format!(
                    "function {} failed to initialise: {reason}",
                    self.shared.function
                )))
            }
            Err(_) => {
                self.discard();
                if task_deadline == Some(deadline) {
                    return Err(InvokeError::TaskTimedOut);
                }
                Err(InvokeError::Unknown(format!(
                    "function {}: Init timed out after {:.2} seconds (it never asked for an invocation)",
                    self.shared.function,
                    INIT_TIMEOUT.as_secs_f64()
                )))
            }
        }
    }

    /// Hands the invocation to the process and waits for its answer (or
    /// its end).
    async fn invoke(&mut self, invocation: Invocation) -> Delivery {
        let request_id = invocation.request_id.clone();
        let (reply, answer) = oneshot::channel();
        let exited = |reason: &str, shared: &Shared| {
            Err(InvokeError::Unknown(format!(
                "RequestId: {request_id} Error: {reason} (function {})",
                shared.function
            )))
        };
        if let Some(reason) = self.exited.borrow().clone() {
            self.discarded = true;
            return Delivery::NotDelivered(exited(&reason, &self.shared));
        }
        if self.invocations.send((invocation, reply)).await.is_err() {
            self.discarded = true;
            return Delivery::NotDelivered(exited("the Runtime API stopped", &self.shared));
        }
        let mut watch_exit = self.exited.clone();
        tokio::select! {
            // An answer posted just before the process exited wins.
            biased;
            answer = answer => match answer {
                Ok(result) => {
                    let broken = match &result {
                        // A crash or an init error.
                        Err(InvokeError::Unknown(_)) => true,
                        // The runtime client was refused its answer; some
                        // clients exit on that.
                        Err(InvokeError::Function { error_type, .. }) => {
                            error_type == FUNCTION_RESPONSE_SIZE_TOO_LARGE
                        }
                        _ => false,
                    };
                    if broken {
                        self.discarded = true;
                    }
                    Delivery::Answered(result)
                }
                Err(_) => {
                    self.discarded = true;
                    Delivery::Answered(exited("the invocation was dropped", &self.shared))
                }
            },
            ended = watch_exit.wait_for(Option::is_some) => {
                self.discarded = true;
                let reason = ended.ok().and_then(|r| r.clone()).unwrap_or_default();
                if self.shared.log_request_id() == request_id {
                    Delivery::Answered(exited(&reason, &self.shared))
                } else {
                    // It ended before it asked for this invocation.
                    Delivery::NotDelivered(exited(&reason, &self.shared))
                }
            }
        }
    }

    fn is_reusable(&self) -> bool {
        !self.discarded && self.exited.borrow().is_none()
    }

    fn discard(&mut self) {
        self.discarded = true;
        self.group.kill_unless_done();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
        self.group.kill_unless_done();
    }
}

/// Epoch milliseconds at a tokio instant (`Lambda-Runtime-Deadline-Ms`).
fn epoch_ms_at(at: Instant) -> u64 {
    let now_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let left = at.saturating_duration_since(Instant::now());
    u64::try_from((now_epoch + left).as_millis()).unwrap_or(u64::MAX)
}

/// The Runtime API of one instance.
fn runtime_api(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            // Read with its own cap below, so an oversized result fails the
            // invocation instead of leaving it unanswered.
            post(response).layer(DefaultBodyLimit::disable()),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .layer(DefaultBodyLimit::max(RESPONSE_LIMIT_BYTES + 1))
        .with_state(shared)
}

/// `GET /invocation/next`: waits for the next event.
async fn next(State(shared): State<Arc<Shared>>) -> HttpResponse {
    shared.polled.send_replace(true);
    let mut pending = shared.pending.lock().await;
    let Some((invocation, reply)) = pending.recv().await else {
        return runtime_error(
            StatusCode::GONE,
            "ServiceShutdown",
            "the function is shutting down",
        );
    };
    drop(pending);
    invocation.request_id.clone_into(
        &mut shared
            .log_request_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    *shared.current.lock().unwrap_or_else(|p| p.into_inner()) =
        Some((invocation.request_id.clone(), reply));
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("content-type", "application/json");
    put("lambda-runtime-aws-request-id", &invocation.request_id);
    put(
        "lambda-runtime-deadline-ms",
        &invocation.deadline_epoch_ms.to_string(),
    );
    put(
        "lambda-runtime-invoked-function-arn",
        &invocation.invoked_arn,
    );
    put("lambda-runtime-trace-id", &trace_id());
    (StatusCode::OK, headers, invocation.event).into_response()
}

/// `POST /invocation/{id}/response`: the result.
async fn response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: axum::body::Body,
) -> HttpResponse {
    let Some(reply) = shared.take_current(&id) else {
        return unknown_request(&id);
    };
    match axum::body::to_bytes(body, RESPONSE_LIMIT_BYTES).await {
        Ok(bytes) => {
            let _ = reply.send(crate::command::parse_output(&shared.function, &bytes));
            accepted()
        }
        Err(_) => {
            // Lambda's answer to an oversized result.
            let error = json!({
                "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes)."),
                "errorType": FUNCTION_RESPONSE_SIZE_TOO_LARGE
            });
            let _ = reply.send(Err(InvokeError::Function {
                error_type: FUNCTION_RESPONSE_SIZE_TOO_LARGE.to_owned(),
                payload: error.to_string(),
            }));
            (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(error)).into_response()
        }
    }
}

/// `POST /invocation/{id}/error`: the function's error.
async fn error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let Some(reply) = shared.take_current(&id) else {
        return unknown_request(&id);
    };
    let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_BYTES)]).into_owned();
    let from_body = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        v.get("errorType")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    });
    let from_header = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let error_type = from_body
        .or(from_header)
        .unwrap_or_else(|| "Unhandled".to_owned());
    let _ = reply.send(Err(InvokeError::Function {
        error_type,
        payload: text,
    }));
    accepted()
}

/// `POST /init/error`: the process could not initialise. It is expected
/// to exit; the invocation it may hold fails now.
async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> HttpResponse {
    let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_BYTES)]).into_owned();
    tracing::warn!(function = %shared.function, error = %text, "the function reported an init error");
    *shared.init_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(text.clone());
    shared.fail_current(&format!("the function failed to initialise: {text}"));
    accepted()
}

fn accepted() -> HttpResponse {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn unknown_request(id: &str) -> HttpResponse {
    runtime_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        &format!("no invocation {id} is in flight on this runtime"),
    )
}

/// The Runtime API's error body.
fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> HttpResponse {
    (
        status,
        axum::Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

/// An X-Ray style trace header (`Lambda-Runtime-Trace-Id`); not sampled.
fn trace_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let root = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{now:08x}-{};Parent={};Sampled=0",
        &root[..24],
        &parent[..16]
    )
}

/// Logs each line of a process's stdout or stderr as the function's, with
/// the request id in flight. Lines are cut at [`LOG_LINE_BYTES`].
async fn log_lines(stream: impl AsyncRead + Unpin, shared: Arc<Shared>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line_capped(&mut reader, &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let request_id = shared.log_request_id();
        tracing::info!(function = %shared.function, request_id = %request_id, "{text}");
    }
}

/// Reads one line into `line`, keeping at most [`LOG_LINE_BYTES`] of it
/// (the rest is read and dropped). Returns the bytes consumed.
async fn read_line_capped<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(consumed);
        }
        let (piece, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..=i], true),
            None => (chunk, false),
        };
        let room = LOG_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&piece[..piece.len().min(room)]);
        let n = piece.len();
        reader.consume(n);
        consumed += n;
        if done {
            return Ok(consumed);
        }
    }
}
