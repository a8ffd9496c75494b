//! `DescribeExecution`: one execution's record, as stored.

use engine::scheduler::Engine;
use serde::{Deserialize, Serialize};
use store::{ExecutionRecord, Store};

use crate::ApiError;

/// The request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeExecutionInput {
    /// The execution.
    pub execution_arn: String,
}

/// The response (AWS's members we have data for).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeExecutionOutput {
    /// The execution's ARN.
    pub execution_arn: String,
    /// Its state machine.
    pub state_machine_arn: String,
    /// Its name.
    pub name: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: &'static str,
    /// Epoch seconds.
    pub start_date: f64,
    /// Epoch seconds, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<f64>,
    /// The input, as JSON text.
    pub input: String,
    /// The output, as JSON text, once SUCCEEDED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The error name, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause, once failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

impl From<ExecutionRecord> for DescribeExecutionOutput {
    fn from(r: ExecutionRecord) -> Self {
        Self {
            status: r.status.as_str(),
            start_date: crate::epoch_seconds(r.start_time),
            stop_date: r.stop_time.map(crate::epoch_seconds),
            execution_arn: r.arn,
            state_machine_arn: r.state_machine_arn,
            name: r.name,
            input: r.input,
            output: r.output,
            error: r.error,
            cause: r.cause,
        }
    }
}

/// Reads the execution (`ExecutionDoesNotExist` if unknown).
pub async fn handle<S: Store>(
    engine: &Engine<S>,
    input: DescribeExecutionInput,
) -> Result<DescribeExecutionOutput, ApiError> {
    let record = super::existing(engine.store(), &input.execution_arn).await?;
    Ok(record.into())
}
