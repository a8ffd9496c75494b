//! `StopExecution`: the execution ends ABORTED with the given error and
//! cause; answered once that is durable.

use std::time::Duration;

use engine::scheduler::Engine;
use serde::{Deserialize, Serialize};
use store::{ExecutionStatus, Store};

use crate::ApiError;

/// How long to wait for the execution's actor to commit the stop. It is
/// one commit, so this only runs out if the store is stuck.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopExecutionInput {
    /// The execution.
    pub execution_arn: String,
    /// The error name recorded (AWS: at most 256 characters).
    #[serde(default)]
    pub error: Option<String>,
    /// The cause recorded (AWS: at most 32,768 characters).
    #[serde(default)]
    pub cause: Option<String>,
}

/// The response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StopExecutionOutput {
    /// When it stopped, in epoch seconds.
    pub stop_date: f64,
}

/// Stops the execution. One that has already finished is left as it is
/// and its stop date returned, so a retried stop is harmless.
pub async fn handle<S: Store>(
    engine: &Engine<S>,
    input: StopExecutionInput,
) -> Result<StopExecutionOutput, ApiError> {
    check_length("error", input.error.as_deref(), 256)?;
    check_length("cause", input.cause.as_deref(), 32_768)?;
    let record = super::existing(engine.store(), &input.execution_arn).await?;
    let record = if record.status == ExecutionStatus::Running {
        engine.stop_execution(&record.arn, input.error, input.cause);
        // The engine's actor commits the stop asynchronously; wait for it
        // so that a 200 means the ABORTED status is durable.
        engine
            .wait_for(&record.arn, STOP_TIMEOUT)
            .await?
            .unwrap_or(record)
    } else {
        record
    };
    match record.stop_time {
        Some(t) if record.status != ExecutionStatus::Running => Ok(StopExecutionOutput {
            stop_date: crate::epoch_seconds(t),
        }),
        _ => Err(ApiError::InternalFailure(format!(
            "execution '{}' did not stop within {} s; retry",
            record.arn,
            STOP_TIMEOUT.as_secs()
        ))),
    }
}

fn check_length(member: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > max => Err(ApiError::ValidationException(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ))),
        _ => Ok(()),
    }
}
