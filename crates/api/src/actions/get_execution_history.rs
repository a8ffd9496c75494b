//! `GetExecutionHistory`: an execution's history events, as committed.
//!
//! No pagination yet: every event comes back in one page and `nextToken`
//! is never set (`maxResults` and `nextToken` are accepted and ignored).
//! EXPRESS executions keep no history in the store (it goes to the logs),
//! so theirs is empty.

use engine::scheduler::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use store::{HistoryRow, Store};

use crate::ApiError;

/// The request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetExecutionHistoryInput {
    /// The execution.
    pub execution_arn: String,
    /// Newest first.
    #[serde(default)]
    pub reverse_order: bool,
    /// Ignored until pagination arrives.
    #[serde(default)]
    pub max_results: Option<u32>,
    /// Ignored until pagination arrives.
    #[serde(default)]
    pub next_token: Option<String>,
}

/// The response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetExecutionHistoryOutput {
    /// `{"id", "previousEventId", "timestamp", "type", "<type>EventDetails": …}`.
    pub events: Vec<Value>,
}

/// Reads the history (`ExecutionDoesNotExist` if unknown).
pub async fn handle<S: Store>(
    engine: &Engine<S>,
    input: GetExecutionHistoryInput,
) -> Result<GetExecutionHistoryOutput, ApiError> {
    let rows = engine.store().history(&input.execution_arn).await?;
    let mut events: Vec<Value> = rows.into_iter().map(event).collect();
    if input.reverse_order {
        events.reverse();
    }
    Ok(GetExecutionHistoryOutput { events })
}

/// One event: the stored details object (already AWS-shaped, e.g.
/// `{"stateEnteredEventDetails": {...}}`) plus the envelope members.
fn event(row: HistoryRow) -> Value {
    let mut m = match serde_json::from_str::<Value>(&row.details) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.insert("id".into(), row.id.into());
    m.insert("previousEventId".into(), row.previous_event_id.into());
    m.insert(
        "timestamp".into(),
        crate::epoch_seconds(row.timestamp).into(),
    );
    m.insert("type".into(), row.event_type.into());
    Value::Object(m)
}
