//! `stepgate.toml`: the config file, parsed and validated into typed values.
//!
//! This crate owns the config contract of issue 4 — `[server]`,
//! `[functions.NAME]`, `[state_machines.NAME]`, `[[routes]]` — plus
//! `[http_task]` (issue 5: where HTTP Tasks may send requests) and
//! `[activities.NAME]` (issue 5: the activities workers poll), and every
//! rule about them. It must not run anything: no sockets, no store, no
//! functions. The only IO is reading the config file and the definition
//! files it names.
//!
//! Principal types:
//! - [`Config`]: the validated config. Its invariants hold by construction: a
//!   [`Route`] names its state machine by a [`StateMachineId`] that only this
//!   crate can make, a [`StateMachine`] holds its definition text (already
//!   validated by `asl`), a [`Function`]'s [`Runtime`] carries exactly the
//!   fields that runtime needs.
//! - [`RawConfig`]: the serde mirror of the file, every value with its span.
//! - [`ConfigErrors`]: every problem found, each with file, line, column, key
//!   path and a fix.
//! - [`Auth`], [`RateLimit`], [`Mode`]: a route's protection and how it
//!   answers.
//! - [`HttpTask`]: the allow-list of HTTP Task targets ([`HttpTaskTarget`]).
//! - [`Config::activities`]: the activities `[activities.NAME]` declares
//!   (issue 5), each with its local ARN ([`activity_arn`]); a Task whose
//!   `Resource` is an undeclared activity is a config error.
//!
//! Secrets (a route's `keys_env`, `secret_env`, an http function's or an
//! allow-list entry's `headers_env`) are read from the environment while the
//! config is validated ([`parse_with_env`] lets tests pass their own), never
//! from the file, and sit in [`Secret`], whose `Debug` is redacted.
//!
//! ```
//! let text = r#"
//! [state_machines.sample]
//! definition = '{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}'
//!
//! [[routes]]
//! method = "POST"
//! path = "/"
//! state_machine = "smaple"
//! "#;
//! let errors = config::parse(text, "stepgate.toml".as_ref()).unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     r#"stepgate.toml:8:17: routes[0].state_machine: no state machine named "smaple"; defined: sample"#
//! );
//! ```
//!
//! Design: parse, then validate (convention 6). The file is first read into
//! [`RawConfig`] one item at a time (one function, one route, ...) with unknown
//! keys reported and dropped before serde sees the item, then each item is
//! validated. Rejected alternative: one `toml::from_str::<Config>` with
//! `deny_unknown_fields` — serde stops at the first error, so a user fixing a
//! config would see one problem per run.

#![deny(missing_docs)]

mod error;
mod raw;
mod validate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use asl::parse::StateMachineType;
pub use error::{ConfigError, ConfigErrors};
pub use raw::{
    RawActivity, RawAllowEntry, RawAllowTable, RawAuth, RawConfig, RawFunction, RawHttpTask,
    RawLogging, RawRateLimit, RawResponse, RawResponses, RawRoute, RawServer, RawStateMachine,
    SpannedString,
};

/// The default config file name, looked up in the current directory.
pub const DEFAULT_FILE: &str = "stepgate.toml";

/// The default of `[server] max_body_bytes`: 256 KiB, API Gateway's
/// payload limit for a Step Functions input.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Looks up an environment variable: `None` when it is unset (or not
/// UTF-8). Secrets (`keys_env`, `secret_env`, `headers_env`) are read
/// through it, so tests can pass their own instead of changing the process
/// environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as an [`Env`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads and validates a config file. Relative paths in it (definition files,
/// log destinations, the SQLite file) are resolved against its directory;
/// secrets are read from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with_env(path, &process_env)
}

/// [`load`] with secrets read from `env`.
pub fn load_with_env(path: &Path, env: Env<'_>) -> Result<Config, ConfigErrors> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse_with_env(&text, path, env),
            Err(e) => {
                let mut problems = error::Problems::new(path, "");
                problems.whole_file(format!(
                    "not valid UTF-8 (first invalid byte at offset {}); save the file as UTF-8",
                    e.utf8_error().valid_up_to()
                ));
                problems.finish(None)
            }
        },
        Err(e) => {
            let mut problems = error::Problems::new(path, "");
            problems.whole_file(format!("cannot read the config file: {e}"));
            problems.finish(None)
        }
    }
}

/// Validates config text. `path` names the file in messages, and its
/// directory is where relative paths in the config are resolved; secrets
/// are read from the process environment.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    parse_with_env(text, path, &process_env)
}

/// [`parse`] with secrets read from `env`.
pub fn parse_with_env(text: &str, path: &Path, env: Env<'_>) -> Result<Config, ConfigErrors> {
    validate::parse(text, path, env)
}

/// A validated `stepgate.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    server: Server,
    functions: BTreeMap<String, Function>,
    state_machines: Vec<StateMachine>,
    routes: Vec<Route>,
    http_task: HttpTask,
    activities: Vec<String>,
}

impl Config {
    /// `[server]`.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Functions by name.
    pub fn functions(&self) -> &BTreeMap<String, Function> {
        &self.functions
    }

    /// State machines, sorted by name.
    pub fn state_machines(&self) -> &[StateMachine] {
        &self.state_machines
    }

    /// The state machine a [`StateMachineId`] of this config refers to.
    pub fn state_machine(&self, id: StateMachineId) -> &StateMachine {
        &self.state_machines[id.0]
    }

    /// The state machine with this name.
    pub fn state_machine_named(&self, name: &str) -> Option<(StateMachineId, &StateMachine)> {
        self.state_machines
            .iter()
            .position(|m| m.name == name)
            .map(|i| (StateMachineId(i), &self.state_machines[i]))
    }

    /// Routes, in file order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// `[http_task]` (empty when the section is absent).
    pub fn http_task(&self) -> &HttpTask {
        &self.http_task
    }

    /// Declared activities (`[activities.NAME]`), their names sorted. Every
    /// activity ARN in a Task of a state machine of this config names one of
    /// them; [`activity_arn`] gives each its local ARN.
    pub fn activities(&self) -> &[String] {
        &self.activities
    }
}

/// What a declared activity's ARN starts with: the local region and account,
/// as the gateway's state machine ARNs (`arn:aws:states:local:000000000000:stateMachine:`).
pub const ACTIVITY_ARN_PREFIX: &str = "arn:aws:states:local:000000000000:activity:";

/// The local ARN of the activity `name`, e.g.
/// `arn:aws:states:local:000000000000:activity:resize`. A Task may name the
/// activity with any region and account; only the name is matched.
pub fn activity_arn(name: &str) -> String {
    format!("{ACTIVITY_ARN_PREFIX}{name}")
}

/// `[http_task]`: where `arn:aws:states:::http:invoke` Tasks may send
/// requests, e.g.
///
/// ```toml
/// [http_task]
/// allow = [
///   "http://127.0.0.1:8099/hooks/",
///   { url = "https://api.example.com/v1/", headers_env = { Authorization = "EXAMPLE_TOKEN" } },
/// ]
/// ```
///
/// On AWS the execution role's `states:InvokeHTTPEndpoint` permission
/// (scoped by endpoint) and an EventBridge connection play these parts;
/// stepgate has neither, so the config names the targets and holds their
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpTask {
    /// `allow`, in file order; empty (the default) refuses every HTTP Task.
    pub allow: Vec<HttpTaskTarget>,
}

/// One `[http_task] allow` entry: a URL prefix, compared by scheme, host,
/// port and whole path segments (the functions crate parses both sides as
/// URLs, so `https://api.example.com.evil.com/` is not under
/// `https://api.example.com/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTaskTarget {
    /// As written: `http://` or `https://`, a host, an optional port and an
    /// optional path; no user info, query, fragment or wildcard. A path that
    /// ends in `/` covers everything below it; one that does not covers
    /// itself and everything below it as whole segments (`/v1` covers
    /// `/v1` and `/v1/x`, not `/v10`).
    pub url: String,
    /// `headers_env`: headers added to every request to this target, their
    /// values read from the environment (so credentials never sit in a
    /// definition); sorted by name, no two with the same name in any case.
    pub headers: Vec<HttpHeader>,
}

/// `[server]`. Every key is optional; the defaults are the ones in the
/// contract's example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Webhook routes (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// API, console, metrics and health (default `127.0.0.1:8083`).
    pub admin_listen: SocketAddr,
    /// Where executions are kept (default `sqlite://stepgate.db`).
    pub store: Store,
    /// Bearer token for the admin address; always present when
    /// `admin_listen` is not a loopback address.
    pub admin_token: Option<String>,
    /// Largest request body a route accepts, in bytes, unless the route
    /// sets its own (default [`DEFAULT_MAX_BODY_BYTES`]).
    pub max_body_bytes: usize,
}

/// The store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// `sqlite://FILE`; the file resolved against the config's directory.
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
}

/// `[functions.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The name under `[functions]`.
    pub name: String,
    /// How to run it.
    pub runtime: Runtime,
    /// Per-invocation timeout (default 30 s), never zero.
    pub timeout: Duration,
    /// Maximum concurrent invocations; `None`: the key is absent, which
    /// means 1 (one invocation at a time, the functions issue's default),
    /// not unlimited.
    pub concurrency: Option<NonZeroU32>,
    /// Extra environment variables.
    pub environment: BTreeMap<String, String>,
}

/// How a function runs, with exactly the fields that runtime needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// `command`: the event as JSON on stdin, the result as JSON on stdout.
    Command {
        /// Program and arguments, never empty.
        command: Vec<String>,
    },
    /// `lambda-runtime`: a process speaking the AWS Lambda Runtime API.
    LambdaRuntime {
        /// Program and arguments, never empty.
        command: Vec<String>,
    },
    /// `http`: the event POSTed to a URL.
    Http {
        /// `http://` or `https://` URL.
        url: String,
        /// `headers_env`: headers sent with every request, their values
        /// read from the environment; sorted by name, no two with the same
        /// name in any case.
        headers: Vec<HttpHeader>,
    },
}

/// One `headers_env` entry of an `http` function, e.g.
/// `headers_env = { Authorization = "RESIZE_TOKEN" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHeader {
    /// The header name as written: an RFC 9110 token, never one stepgate
    /// sets itself (`Content-Type`, `Lambda-Runtime-*`, ...).
    pub name: String,
    /// The environment variable the value was read from.
    pub env: String,
    /// The value: non-empty, without control characters (a header value
    /// cannot hold them).
    pub value: Secret,
}

/// Index of a state machine in its [`Config`]; only this crate makes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateMachineId(usize);

/// `[state_machines.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachine {
    /// The name under `[state_machines]`.
    pub name: String,
    /// `STANDARD` (default) or `EXPRESS`.
    pub state_machine_type: StateMachineType,
    /// The ASL JSON text, validated without errors for `state_machine_type`.
    pub definition: String,
    /// Where the definition came from.
    pub definition_source: DefinitionSource,
    /// Execution logging (default level `OFF`).
    pub logging: Logging,
}

/// Where a definition came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefinitionSource {
    /// `definition_file`, resolved against the config's directory.
    File(PathBuf),
    /// `definition`.
    Inline,
}

/// A state machine's logging configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    /// Which events are logged.
    pub level: LogLevel,
    /// Whether inputs and outputs are included.
    pub include_execution_data: bool,
    /// JSON-lines file, resolved against the config's directory.
    pub destination: Option<PathBuf>,
}

/// Step Functions' log levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogLevel {
    /// Every history event.
    All,
    /// Failures.
    Error,
    /// Execution failures only.
    Fatal,
    /// Nothing.
    #[default]
    Off,
}

/// `[[routes]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path pattern.
    pub path: RoutePath,
    /// The one state machine this route may start.
    pub state_machine: StateMachineId,
    /// `async` (default) or `sync` (with its timeout).
    pub mode: Mode,
    /// API Gateway mapping template; `None`: the JSON body is the input.
    pub request_template: Option<String>,
    /// Request header whose value names the execution (idempotency).
    pub execution_name_header: Option<String>,
    /// `responses.success` when configured: the answer when the execution
    /// started (async) or succeeded (sync). `None`: the mode's default.
    pub success: Option<Response>,
    /// `responses.failure` when configured: the answer otherwise. `None`:
    /// the mode's default.
    pub failure: Option<Response>,
    /// Who may call the route (default [`Auth::None`]).
    pub auth: Auth,
    /// The route's token bucket; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// Largest request body, in bytes: the route's `max_body_bytes`, else
    /// `[server] max_body_bytes`.
    pub max_body_bytes: usize,
}

impl Route {
    /// `responses.success`, or `200 {"status": "webhook submitted"}` (the
    /// async default; a sync route without it answers the output instead).
    pub fn success_or_default(&self) -> Response {
        self.success
            .clone()
            .unwrap_or_else(Response::default_success)
    }

    /// `responses.failure`, or `500 {"status": "webhook failed"}`.
    pub fn failure_or_default(&self) -> Response {
        self.failure
            .clone()
            .unwrap_or_else(Response::default_failure)
    }
}

/// A route's `auth`. Secrets come only from the environment, read when the
/// config is loaded; they never appear in `Debug` output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    /// `{ type = "none" }` or no `auth`: anyone may call.
    #[default]
    None,
    /// `{ type = "api_key", header = "x-api-key", keys_env = "ENV" }`: the
    /// header must hold one of the keys.
    ApiKey {
        /// The request header carrying the key.
        header: String,
        /// The environment variable the keys were read from.
        keys_env: String,
        /// The accepted keys (`keys_env` split at commas, trimmed), never
        /// empty.
        keys: Vec<Secret>,
    },
    /// `{ type = "hmac_sha256", header = "X-Hub-Signature-256", secret_env =
    /// "ENV", prefix = "sha256=" }`: the header must hold `prefix` followed
    /// by the hex HMAC-SHA256 of the raw body (GitHub, Stripe style).
    HmacSha256 {
        /// The request header carrying the signature.
        header: String,
        /// The environment variable the secret was read from.
        secret_env: String,
        /// The shared secret, never empty.
        secret: Secret,
        /// Text before the hex digest (default empty).
        prefix: String,
    },
}

/// A secret read from the environment. `Debug` prints `Secret(<redacted>)`
/// so a logged config never leaks it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; keep it out of logs and messages.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A route's `rate_limit`: a token bucket holding `burst` tokens, refilled
/// at `requests_per_second`; a request takes one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per second.
    pub requests_per_second: NonZeroU32,
    /// Bucket size (default `requests_per_second`, at least 1).
    pub burst: NonZeroU32,
}

/// HTTP methods a route can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// `ANY`: every method, as in API Gateway.
    Any,
}

impl Method {
    /// Every method, with its spelling in the config.
    pub const ALL: [(&'static str, Method); 8] = [
        ("GET", Method::Get),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("PATCH", Method::Patch),
        ("DELETE", Method::Delete),
        ("HEAD", Method::Head),
        ("OPTIONS", Method::Options),
        ("ANY", Method::Any),
    ];

    /// The spelling in the config.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("ANY", |(s, _)| s)
    }
}

/// A route's path pattern, e.g. `/repos/{id}/{proxy+}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePath {
    /// As written.
    pub text: String,
    /// The segments between slashes; empty for `/`.
    pub segments: Vec<Segment>,
}

/// One path segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Matches itself.
    Literal(String),
    /// `{name}`: matches one segment.
    Param(String),
    /// `{name+}`: matches the rest of the path; always the last segment.
    Greedy(String),
}

/// Which Step Functions call a route makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// `StartExecution`: answer once the execution is durably stored.
    #[default]
    Async,
    /// `StartSyncExecution`: answer with the execution's result.
    Sync {
        /// How long to wait for the result (`timeout_seconds`, default 30 s,
        /// never zero); after it the caller gets 504 and the execution keeps
        /// running.
        timeout: Duration,
    },
}

impl Mode {
    /// The default `timeout_seconds` of a sync route.
    pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(30);

    /// The spelling in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Async => "async",
            Mode::Sync { .. } => "sync",
        }
    }
}

/// A configured response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status, 100–599.
    pub status: u16,
    /// Body text.
    pub body: String,
}

impl Response {
    /// Default success response: `200 {"status": "webhook submitted"}`.
    pub fn default_success() -> Self {
        Self {
            status: 200,
            body: r#"{"status": "webhook submitted"}"#.to_owned(),
        }
    }

    /// Default failure response: `500 {"status": "webhook failed"}`.
    pub fn default_failure() -> Self {
        Self {
            status: 500,
            body: r#"{"status": "webhook failed"}"#.to_owned(),
        }
    }
}
