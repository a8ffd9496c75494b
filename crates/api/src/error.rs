//! [`ApiError`]: every error the API returns, rendered as AWS renders it.
//!
//! Owns the mapping from engine and store errors to AWS error names and HTTP
//! statuses. It must not decide *whether* something is an error: the
//! actions and the engine do that.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::scheduler::EngineError;
use serde_json::json;
use store::StoreError;

/// An error as the AWS JSON protocol reports it:
/// `{"__type": "<Name>", "message": "..."}`. Client errors are HTTP 400,
/// ours are 500 (the SDKs retry those).
///
/// The names are AWS's (see `docs/errors.md` for cause and fix of each).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// A STANDARD execution with this name exists with a different input,
    /// or has finished.
    #[error("{0}")]
    ExecutionAlreadyExists(String),
    /// No execution with this ARN.
    #[error("{0}")]
    ExecutionDoesNotExist(String),
    /// No state machine with this ARN.
    #[error("{0}")]
    StateMachineDoesNotExist(String),
    /// The execution input is not JSON or is too large.
    #[error("{0}")]
    InvalidExecutionInput(String),
    /// The execution name breaks AWS's naming rules.
    #[error("{0}")]
    InvalidName(String),
    /// The stored definition no longer parses.
    #[error("{0}")]
    InvalidDefinition(String),
    /// The body is not a JSON object.
    #[error("{0}")]
    SerializationException(String),
    /// A parameter is missing, has the wrong type or is out of range.
    #[error("{0}")]
    ValidationException(String),
    /// `X-Amz-Target` is missing or names an action we do not serve.
    #[error("{0}")]
    UnknownOperationException(String),
    /// The store failed; the request did not take effect.
    #[error("{0}")]
    InternalFailure(String),
}

impl ApiError {
    /// The `__type` AWS sends.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            Self::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            Self::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            Self::InvalidExecutionInput(_) => "InvalidExecutionInput",
            Self::InvalidName(_) => "InvalidName",
            Self::InvalidDefinition(_) => "InvalidDefinition",
            Self::SerializationException(_) => "SerializationException",
            Self::ValidationException(_) => "ValidationException",
            Self::UnknownOperationException(_) => "UnknownOperationException",
            Self::InternalFailure(_) => "InternalFailure",
        }
    }

    /// 400 for the caller's mistakes, 500 for ours.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InternalFailure(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // The store's messages start with the AWS name ("ExecutionDoesNotExist:
        // arn"); AWS's messages do not repeat `__type`, so name the ARN only.
        match e {
            StoreError::ExecutionAlreadyExists { arn } => {
                Self::ExecutionAlreadyExists(format!("Execution Already Exists: '{arn}'"))
            }
            StoreError::ExecutionDoesNotExist { arn } => {
                Self::ExecutionDoesNotExist(format!("Execution Does Not Exist: '{arn}'"))
            }
            StoreError::StateMachineDoesNotExist { arn } => {
                Self::StateMachineDoesNotExist(format!("State Machine Does Not Exist: '{arn}'"))
            }
            other => Self::InternalFailure(other.to_string()),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::InvalidExecutionInput(m) => Self::InvalidExecutionInput(m),
            EngineError::InvalidName(m) => Self::InvalidName(m),
            EngineError::InvalidDefinition(m) => Self::InvalidDefinition(m),
            EngineError::Store(s) => s.into(),
            EngineError::Live(l) => Self::InternalFailure(l.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "__type": self.name(), "message": self.to_string() });
        crate::json_response(self.status(), &body)
    }
}
