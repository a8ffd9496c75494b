//! Runtime failures: the `{"Error", "Cause"}` pairs that ASL states raise.
//!
//! Owns [`Failure`] and the names of the predefined `States.*` errors. ASL
//! errors are values here, never Rust `Err`s of the interpreter itself: a
//! failing execution is a normal outcome. It must not format causes for
//! particular states; those texts live next to the code that raises them.

use serde_json::{Map, Value};

/// `States.ALL`: matches any error name in `ErrorEquals` (except the terminal ones).
pub const STATES_ALL: &str = "States.ALL";
/// A path, an intrinsic or a value was invalid at run time. Not catchable by `States.ALL`.
pub const STATES_RUNTIME: &str = "States.Runtime";
/// A Task failed.
pub const STATES_TASK_FAILED: &str = "States.TaskFailed";
/// A state or execution ran past its `TimeoutSeconds`.
pub const STATES_TIMEOUT: &str = "States.Timeout";
/// A Task sent no heartbeat within `HeartbeatSeconds`.
pub const STATES_HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// A Parallel branch failed.
pub const STATES_BRANCH_FAILED: &str = "States.BranchFailed";
/// No Choice rule matched and there is no `Default`.
pub const STATES_NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// An intrinsic function failed.
pub const STATES_INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// A Map failed more items than `ToleratedFailure*` allows.
pub const STATES_EXCEED_TOLERATED_FAILURE_THRESHOLD: &str =
    "States.ExceedToleratedFailureThreshold";
/// `ResultPath` could not be applied to the input.
pub const STATES_RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// `ResultPath` could not be applied to the input (what AWS raises at run
/// time; `States.ResultPathMatchFailure` is the documented name).
pub const STATES_REFERENCE_PATH_CONFLICT: &str = "States.ReferencePathConflict";
/// A `Parameters` path matched nothing.
pub const STATES_PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
/// A state's input or output exceeded the payload limit. Not catchable by `States.ALL`.
pub const STATES_DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// Insufficient privileges.
pub const STATES_PERMISSIONS: &str = "States.Permissions";
/// An ItemReader failed.
pub const STATES_ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// A ResultWriter failed.
pub const STATES_RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
/// A JSONata expression failed.
pub const STATES_QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// An ASL error: a name and an optional cause, as Step Functions reports them.
/// `None` is not the same as `""`: a Fail state without `Error` has no error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error name, e.g. `States.Runtime` or a user's `HandlerError`.
    pub error: Option<String>,
    /// The cause: free text, often JSON-encoded.
    pub cause: Option<String>,
}

impl Failure {
    /// A failure with both fields set.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: Some(error.into()),
            cause: Some(cause.into()),
        }
    }

    /// `States.Runtime` with a cause.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(STATES_RUNTIME, cause)
    }

    /// `States.IntrinsicFailure` with a cause.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(STATES_INTRINSIC_FAILURE, cause)
    }

    /// The error name, or `""` where there is none (for matching).
    pub fn error_name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }

    /// Whether `States.ALL` may catch or retry this error. AWS: `States.Runtime`
    /// and `States.DataLimitExceeded` are terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.error.as_deref(),
            Some(STATES_RUNTIME) | Some(STATES_DATA_LIMIT_EXCEEDED)
        )
    }

    /// The error output a Catcher passes on: `{"Error": ..., "Cause": ...}`,
    /// omitting absent fields as AWS does.
    pub fn to_error_output(&self) -> Value {
        let mut m = Map::new();
        if let Some(e) = &self.error {
            m.insert("Error".to_owned(), Value::String(e.clone()));
        }
        if let Some(c) = &self.cause {
            m.insert("Cause".to_owned(), Value::String(c.clone()));
        }
        Value::Object(m)
    }
}
