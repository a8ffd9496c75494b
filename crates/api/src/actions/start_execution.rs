//! `StartExecution`: acknowledged only once the execution is durable (the
//! engine guarantees it); it then runs in the background.

use engine::scheduler::{Engine, StartRequest};
use serde::{Deserialize, Serialize};
use store::{StartOutcome, Store};

use crate::ApiError;

/// The request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartExecutionInput {
    /// The state machine to start.
    pub state_machine_arn: String,
    /// The execution name (default: a fresh UUID).
    #[serde(default)]
    pub name: Option<String>,
    /// The input, as JSON *text* (default `{}`).
    #[serde(default)]
    pub input: Option<String>,
    /// Accepted and ignored (X-Ray is not supported).
    #[serde(default)]
    pub trace_header: Option<String>,
}

/// The response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartExecutionOutput {
    /// The execution's ARN.
    pub execution_arn: String,
    /// When it started, in epoch seconds.
    pub start_date: f64,
}

/// Starts the execution. A repeated STANDARD start with the same name and
/// input while it runs returns the existing execution (AWS's idempotency),
/// so a client may retry a request whose answer it lost.
pub async fn handle<S: Store>(
    engine: &Engine<S>,
    input: StartExecutionInput,
) -> Result<StartExecutionOutput, ApiError> {
    let outcome = engine
        .start_execution(StartRequest {
            state_machine_arn: input.state_machine_arn,
            name: input.name,
            input: input.input,
        })
        .await?;
    let record = match outcome {
        StartOutcome::Started(r) | StartOutcome::AlreadyStarted(r) => r,
    };
    Ok(StartExecutionOutput {
        execution_arn: record.arn,
        start_date: crate::epoch_seconds(record.start_time),
    })
}
