//! Functions: what runs when a Task state calls Lambda.
//!
//! This crate owns [`FunctionInvoker`], the engine's
//! [`TaskInvoker`] for the `[functions.NAME]`
//! of `stepgate.toml`. It answers the Task resources that name a function —
//! `arn:aws:states:::lambda:invoke` (result shaped like Lambda's `Invoke`
//! response, `Payload` inside) and a Lambda function ARN used directly (the
//! result is the payload) — and the HTTP Task,
//! `arn:aws:states:::http:invoke` (to the targets of `[http_task] allow`
//! only), and hands every other resource to
//! [`NoTasks`]. It must not hold ASL semantics
//! (retries, catchers, timeouts as `States.Timeout` are the interpreter's)
//! nor durability (the engine re-invokes tasks after a crash: functions run
//! at least once).
//!
//! Principal types and modules:
//! - [`FunctionInvoker`]: built once from the typed config
//!   ([`FunctionInvoker::from_config`]); cheap to share.
//! - [`FunctionsError`]: why a config's functions cannot run here.
//! - [`resource`]: parsing `Resource` and Lambda's `FunctionName` forms.
//! - [`lambda`]: AWS's response shape, error names and causes.
//! - [`http_task`]: the HTTP Task — its parameters, the allow-list check,
//!   AWS's result shape and `States.Http.*` errors.
//!
//! The three runtimes, one module each; every one bounds an invocation by
//! the function's `timeout_seconds` and the Task's `TimeoutSeconds`, its
//! result at Lambda's 6 MB, and runs at most `concurrency` invocations of a
//! function at once (default 1):
//! - `command` (module `command`): one process per invocation, the event as
//!   JSON on stdin, the result as JSON on stdout, stderr lines as logs.
//! - `lambda-runtime` (module `runtime_api`): warm processes that speak the
//!   AWS Lambda Runtime API (a function built with AWS's runtime client for
//!   Rust, Go, Python or Node runs unmodified), restarted after a crash or a
//!   timeout.
//! - `http` (module `http`): the event POSTed to a URL; a 2xx JSON body is
//!   the result, other statuses are errors (a body with Lambda's
//!   `errorType` keeps its name); `headers_env` adds headers whose values
//!   come from the environment.
//!
//! ```
//! let text = r#"
//! [functions.print]
//! runtime = "command"
//! command = ["python3", "print_event.py"]
//!
//! [functions.echo]
//! runtime = "lambda-runtime"
//! command = ["./bootstrap"]
//! concurrency = 4
//!
//! [functions.resize]
//! runtime = "http"
//! url = "http://127.0.0.1:9000/resize"
//! timeout_seconds = 10
//! "#;
//! let config = config::parse(text, "stepgate.toml".as_ref()).expect("valid config");
//! // Nothing starts here: processes and connections open on first use.
//! let invoker = functions::FunctionInvoker::from_config(&config, ".".as_ref()).expect("built");
//! assert_eq!(
//!     invoker.function_names().collect::<Vec<_>>(),
//!     ["echo", "print", "resize"]
//! );
//! ```
//!
//! Not built yet: activities. Their resources fail the task with a cause
//! that says so, never a fake success.
//!
//! Design: the `command` runtime starts a process per invocation (the
//! simplest thing that honours Lambda's contract and isolates invocations);
//! `lambda-runtime` keeps processes warm, as Lambda does, with one Runtime
//! API listener per process so that an invocation is always known to be
//! held by exactly one process (its crash fails exactly that invocation).
//! Rejected: running commands through `sh -c` (quoting bugs, and the group
//! kill would only reach the shell's tree by accident).

pub mod http_task;
pub mod lambda;
pub mod resource;

mod command;
mod http;
mod runtime_api;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use asl::failure::{Failure, STATES_TASK_FAILED};
use asl::interpreter::TaskRequest;
use engine::scheduler::{NoTasks, TaskFuture, TaskInvoker};
use serde_json::{Map, Value};
use tokio::time::Instant;

pub use command::RESPONSE_LIMIT_BYTES;

use crate::command::CommandFunction;
use crate::http::HttpFunction;
use crate::http_task::HttpTaskClient;
use crate::resource::{FunctionRef, TaskResource};
use crate::runtime_api::LambdaRuntimeFunction;

/// One configured function, by runtime.
#[derive(Debug)]
enum Runner {
    Command(CommandFunction),
    LambdaRuntime(LambdaRuntimeFunction),
    Http(HttpFunction),
}

impl Runner {
    async fn invoke(
        &self,
        event: &Value,
        request_id: &str,
        invoked_arn: &str,
        task_deadline: Option<Instant>,
    ) -> Result<command::Response, command::InvokeError> {
        match self {
            Runner::Command(f) => f.invoke(event, request_id, task_deadline).await,
            Runner::LambdaRuntime(f) => {
                f.invoke(event, request_id, invoked_arn, task_deadline)
                    .await
            }
            Runner::Http(f) => {
                f.invoke(event, request_id, invoked_arn, task_deadline)
                    .await
            }
        }
    }
}

/// Why the functions of a config cannot run.
#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    /// An `http` function cannot be set up: its URL does not parse as a
    /// URL, a `headers_env` header is not one, or its HTTP client cannot be
    /// built (e.g. an `https://` URL and no CA certificates on the system).
    #[error("functions.{name}: {reason}")]
    InvalidHttpFunction {
        /// The function's name.
        name: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// An `[http_task] allow` entry cannot be set up: its URL does not
    /// parse, a `headers_env` header is not one, or the HTTP client cannot
    /// be built (e.g. an `https://` entry and no CA certificates on the
    /// system).
    #[error("http_task.allow: \"{url}\": {reason}")]
    InvalidHttpTaskTarget {
        /// The entry's URL as written.
        url: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The config file's directory cannot be made absolute.
    #[error("{}: cannot resolve the config file's directory: {source}", dir.display())]
    BaseDir {
        /// The directory given.
        dir: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs `[functions.NAME]` and HTTP Tasks for Task states; see the crate
/// docs.
#[derive(Debug, Clone)]
pub struct FunctionInvoker {
    functions: Arc<BTreeMap<String, Runner>>,
    /// The HTTP Task's client and `[http_task] allow` list.
    http_task: Arc<HttpTaskClient>,
}

impl FunctionInvoker {
    /// Builds the invoker for `config`'s functions. `base_dir` is the config
    /// file's directory: commands run there. Nothing is started or
    /// connected yet. An `http` function that cannot be set up is refused
    /// (the first one, by name), as is an `[http_task] allow` entry.
    ///
    /// `concurrency` not set means 1 invocation at a time per function (the
    /// functions issue's rule: a function is not assumed to be safe to run
    /// in parallel with itself); further invocations wait for a slot.
    pub fn from_config(
        config: &config::Config,
        base_dir: &Path,
    ) -> Result<FunctionInvoker, FunctionsError> {
        let base_dir = std::path::absolute(base_dir).map_err(|source| FunctionsError::BaseDir {
            dir: base_dir.to_path_buf(),
            source,
        })?;
        let mut functions = BTreeMap::new();
        for (name, function) in config.functions() {
            let concurrency = function
                .concurrency
                .map_or(1, |n| usize::try_from(n.get()).unwrap_or(usize::MAX));
            let runner = match &function.runtime {
                config::Runtime::Command { command } => Runner::Command(CommandFunction::new(
                    name,
                    command,
                    &base_dir,
                    function.timeout,
                    concurrency,
                    function.environment.clone(),
                )),
                config::Runtime::LambdaRuntime { command } => {
                    Runner::LambdaRuntime(LambdaRuntimeFunction::new(
                        name,
                        command,
                        &base_dir,
                        function.timeout,
                        concurrency,
                        function.environment.clone(),
                    ))
                }
                // `environment` is for processes; an http function has none.
                config::Runtime::Http { url, headers } => Runner::Http(HttpFunction::new(
                    name,
                    url,
                    headers,
                    function.timeout,
                    concurrency,
                )?),
            };
            functions.insert(name.clone(), runner);
        }
        let http_task =
            HttpTaskClient::new(config.http_task(), http_task::DEFAULT_REQUEST_TIMEOUT)?;
        Ok(FunctionInvoker {
            functions: Arc::new(functions),
            http_task: Arc::new(http_task),
        })
    }

    /// The names of the functions it runs, sorted.
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    async fn perform(self, request: TaskRequest) -> Result<Value, Failure> {
        // Counted from when the task was handed over, like the
        // interpreter's own `TimeoutSeconds` timer.
        let task_deadline = request
            .timeout_seconds
            .map(|s| command::deadline_after(Duration::from_secs(s)));
        match resource::parse_resource(&request.resource) {
            // For a callback the engine hands the token over by invoking
            // the function (the token is in its payload, `$$.Task.Token`)
            // and then waits for SendTaskSuccess/Failure: the invocation's
            // result is ignored, its failure fails the task.
            TaskResource::LambdaInvoke | TaskResource::LambdaInvokeWaitForTaskToken => {
                let (function, event) = invoke_parameters(&request.parameters)?;
                let request_id = new_request_id();
                let function = match function {
                    Ok(function) => function,
                    Err(e) => {
                        return Err(Failure::new(
                            lambda::LAMBDA_INVALID_PARAMETER_VALUE,
                            lambda::invalid_name_cause(&e.to_string(), &request_id),
                        ));
                    }
                };
                let response = self
                    .call(&function, &event, &request_id, task_deadline)
                    .await?;
                Ok(lambda::invoke_result(
                    response.payload,
                    response.payload_bytes,
                    &request_id,
                ))
            }
            TaskResource::LambdaFunction(function) => {
                let request_id = new_request_id();
                let response = self
                    .call(&function, &request.parameters, &request_id, task_deadline)
                    .await?;
                Ok(response.payload)
            }
            TaskResource::HttpInvoke => {
                self.http_task
                    .invoke(&request.parameters, task_deadline)
                    .await
            }
            TaskResource::Other => NoTasks.invoke(request).await,
        }
    }

    async fn call(
        &self,
        function: &FunctionRef,
        event: &Value,
        request_id: &str,
        task_deadline: Option<Instant>,
    ) -> Result<command::Response, Failure> {
        let Some(runner) = self.functions.get(&function.name) else {
            return Err(Failure::new(
                lambda::LAMBDA_RESOURCE_NOT_FOUND,
                lambda::not_found_cause(function, request_id),
            ));
        };
        runner
            .invoke(event, request_id, &function.to_string(), task_deadline)
            .await
            .map_err(lambda::failure)
    }
}

impl TaskInvoker for FunctionInvoker {
    fn invoke(&self, request: TaskRequest) -> TaskFuture {
        Box::pin(self.clone().perform(request))
    }
}

/// A Lambda request id (AWS: a UUID).
fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The function (or why its name is malformed) and the event.
type InvokeParameters = (Result<FunctionRef, resource::InvalidFunctionName>, Value);

/// `lambda:invoke`'s `Parameters`: the function and the event.
///
/// No `Payload` means an empty event: Lambda's `Invoke` without a payload
/// hands the function `{}`. A `Qualifier` parameter is tolerated like a
/// qualifier in the name (one version of each function). Only the
/// `RequestResponse` invocation type exists here; `Event` and `DryRun` fail
/// the task rather than pretend. A missing or non-string `FunctionName` is
/// `States.Runtime` (AWS refuses it when the definition is created).
fn invoke_parameters(parameters: &Value) -> Result<InvokeParameters, Failure> {
    let empty = Map::new();
    let fields = match parameters {
        Value::Object(fields) => fields,
        Value::Null => &empty,
        other => {
            return Err(Failure::runtime(format!(
                "arn:aws:states:::lambda:invoke needs Parameters with a FunctionName; got {other}"
            )));
        }
    };
    let Some(Value::String(name)) = fields.get("FunctionName") else {
        return Err(Failure::runtime(match fields.get("FunctionName") {
            None => {
                "arn:aws:states:::lambda:invoke: the field 'FunctionName' is required".to_owned()
            }
            Some(other) => format!(
                "arn:aws:states:::lambda:invoke: the value for the field 'FunctionName' must be a STRING, got {other}"
            ),
        }));
    };
    if let Some(kind) = fields.get("InvocationType")
        && kind.as_str() != Some("RequestResponse")
    {
        return Err(Failure::new(
            STATES_TASK_FAILED,
            format!(
                "arn:aws:states:::lambda:invoke: InvocationType {kind} is not supported yet; only \"RequestResponse\" (the default) is"
            ),
        ));
    }
    let mut function = FunctionRef::parse(name);
    if let (Ok(function), Some(Value::String(q))) = (&mut function, fields.get("Qualifier"))
        && function.qualifier.is_none()
    {
        function.qualifier = Some(q.clone());
    }
    let event = fields
        .get("Payload")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    Ok((function, event))
}

#[cfg(test)]
mod tests {
    use asl::failure::STATES_RUNTIME;
    use serde_json::json;

    use super::*;

    #[test]
    fn invoke_parameters_defaults_and_refusals() {
        let (f, event) = invoke_parameters(&json!({"FunctionName": "f"})).expect("ok");
        assert_eq!(f.expect("name").name, "f");
        assert_eq!(event, json!({}), "no Payload: an empty event");

        let (f, event) =
            invoke_parameters(&json!({"FunctionName": "f", "Qualifier": "live", "Payload": [1]}))
                .expect("ok");
        assert_eq!(f.expect("name").qualifier.as_deref(), Some("live"));
        assert_eq!(event, json!([1]));

        let (f, _) = invoke_parameters(&json!({"FunctionName": "a:b:c"})).expect("ok");
        assert!(f.is_err());

        for bad in [json!({}), json!({"FunctionName": 3}), json!("x")] {
            let e = invoke_parameters(&bad).expect_err("refused");
            assert_eq!(e.error_name(), STATES_RUNTIME, "{bad}");
        }
        let e = invoke_parameters(&json!({"FunctionName": "f", "InvocationType": "Event"}))
            .expect_err("refused");
        assert_eq!(e.error_name(), STATES_TASK_FAILED);
        assert!(
            invoke_parameters(&json!({"FunctionName": "f", "InvocationType": "RequestResponse"}))
                .is_ok()
        );
    }
}
