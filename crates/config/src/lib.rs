//! `stepgate.toml`: the config file, parsed and validated into typed values.
//!
//! This crate owns the config contract of issue 4 — `[server]`,
//! `[functions.NAME]`, `[state_machines.NAME]`, `[[routes]]` — and every rule
//! about it. It must not run anything: no sockets, no store, no functions. The
//! only IO is reading the config file and the definition files it names.
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
    RawConfig, RawFunction, RawLogging, RawResponse, RawResponses, RawRoute, RawServer,
    RawStateMachine, SpannedString,
};

/// The default config file name, looked up in the current directory.
pub const DEFAULT_FILE: &str = "stepgate.toml";

/// Reads and validates a config file. Relative paths in it (definition files,
/// log destinations, the SQLite file) are resolved against its directory.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => parse(&text, path),
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
/// directory is where relative paths in the config are resolved.
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    validate::parse(text, path)
}

/// A validated `stepgate.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    server: Server,
    functions: BTreeMap<String, Function>,
    state_machines: Vec<StateMachine>,
    routes: Vec<Route>,
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
    /// Maximum concurrent invocations; `None`: unlimited.
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
    },
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
    /// `async` (default) or `sync`.
    pub mode: Mode,
    /// API Gateway mapping template; `None`: the JSON body is the input.
    pub request_template: Option<String>,
    /// Request header whose value names the execution (idempotency).
    pub execution_name_header: Option<String>,
    /// Answer when the execution started (async) or succeeded (sync).
    pub success: Response,
    /// Answer otherwise.
    pub failure: Response,
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
    Sync,
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
