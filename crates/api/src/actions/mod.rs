//! One module per AWS action (convention 5): each holds its `Input` and
//! `Output` (serde, camelCase as on the wire) and `handle`. The dispatcher
//! in `lib.rs` maps `X-Amz-Target` to them; actions must not look at HTTP.

pub mod describe_execution;
pub mod get_execution_history;
pub mod list_executions;
pub mod start_execution;
pub mod stop_execution;

use store::{ExecutionRecord, Store};

use crate::ApiError;

/// The execution, or AWS's `ExecutionDoesNotExist`.
pub(crate) async fn existing<S: Store>(store: &S, arn: &str) -> Result<ExecutionRecord, ApiError> {
    store.execution(arn).await?.ok_or_else(|| {
        ApiError::ExecutionDoesNotExist(format!("Execution Does Not Exist: '{arn}'"))
    })
}
