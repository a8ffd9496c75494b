//! `ListExecutions`: a state machine's executions, newest first.
//!
//! `nextToken` is the offset of the next page as text. Pages are computed
//! on each call, so executions started between two calls shift them (an
//! item may repeat or be skipped); a stable cursor needs a store query we
//! do not have yet.

use engine::scheduler::Engine;
use serde::{Deserialize, Serialize};
use store::{ExecutionFilter, ExecutionRecord, ExecutionStatus, Store};

use crate::ApiError;

/// AWS's default and largest page.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// The request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListExecutionsInput {
    /// The state machine (required here; AWS also accepts a Map Run ARN).
    pub state_machine_arn: String,
    /// Only executions with this status.
    #[serde(default)]
    pub status_filter: Option<String>,
    /// Page size, 0–1000 (0 = the default, 100).
    #[serde(default)]
    pub max_results: Option<usize>,
    /// From the previous page.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// One execution in the list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionListItem {
    /// The execution's ARN.
    pub execution_arn: String,
    /// Its state machine.
    pub state_machine_arn: String,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: &'static str,
    /// Epoch seconds.
    pub start_date: f64,
    /// Epoch seconds, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<f64>,
}

/// The response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListExecutionsOutput {
    /// This page.
    pub executions: Vec<ExecutionListItem>,
    /// Present when there are more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl From<ExecutionRecord> for ExecutionListItem {
    fn from(r: ExecutionRecord) -> Self {
        Self {
            status: r.status.as_str(),
            start_date: crate::epoch_seconds(r.start_time),
            stop_date: r.stop_time.map(crate::epoch_seconds),
            execution_arn: r.arn,
            state_machine_arn: r.state_machine_arn,
            name: r.name,
        }
    }
}

/// Lists one page.
pub async fn handle<S: Store>(
    engine: &Engine<S>,
    input: ListExecutionsInput,
) -> Result<ListExecutionsOutput, ApiError> {
    let page = match input.max_results {
        None | Some(0) => DEFAULT_PAGE,
        Some(n) if n <= MAX_PAGE => n,
        Some(_) => {
            return Err(ApiError::ValidationException(format!(
                "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {MAX_PAGE}"
            )));
        }
    };
    let status = match input.status_filter.as_deref() {
        None => None,
        Some(s) => Some(ExecutionStatus::parse(s).ok_or_else(|| {
            ApiError::ValidationException(format!(
                "1 validation error detected: Value '{s}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]"
            ))
        })?),
    };
    let offset = match input.next_token.as_deref() {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::ValidationException(format!("Invalid Token: '{t}'")))?,
    };
    // AWS answers StateMachineDoesNotExist rather than an empty list.
    if engine
        .store()
        .state_machine(&input.state_machine_arn, None)
        .await?
        .is_none()
    {
        return Err(ApiError::StateMachineDoesNotExist(format!(
            "State Machine Does Not Exist: '{}'",
            input.state_machine_arn
        )));
    }
    // One more than the page tells whether a next page exists.
    let mut records = engine
        .store()
        .list_executions(ExecutionFilter {
            state_machine_arn: Some(input.state_machine_arn),
            status,
            limit: Some(offset + page + 1),
        })
        .await?;
    let more = records.len() > offset + page;
    records.truncate(offset + page);
    let executions = records.into_iter().skip(offset).map(Into::into).collect();
    Ok(ListExecutionsOutput {
        executions,
        next_token: more.then(|| (offset + page).to_string()),
    })
}
