//! What the functions tests share: a Task request as the engine makes it,
//! a `lambda:invoke` call, and a failure's name and cause.
#![allow(dead_code)] // each test binary uses its own subset

use asl::failure::Failure;
use asl::interpreter::TaskRequest;
use engine::scheduler::TaskInvoker;
use functions::FunctionInvoker;
use serde_json::{Value, json};

pub(crate) const INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// A Task request for `resource` with `parameters` (task id 1, state "T").
pub(crate) fn task(resource: &str, parameters: Value, timeout_seconds: Option<u64>) -> TaskRequest {
    TaskRequest {
        task: 1,
        resource: resource.to_owned(),
        parameters,
        state_name: "T".into(),
        timeout_seconds,
        heartbeat_seconds: None,
        task_token: None,
    }
}

/// `lambda:invoke` of the function `name` with `payload`.
pub(crate) async fn invoke(
    invoker: &FunctionInvoker,
    name: &str,
    payload: Value,
) -> Result<Value, Failure> {
    invoker
        .invoke(task(
            INVOKE,
            json!({"FunctionName": name, "Payload": payload}),
            None,
        ))
        .await
}

/// The failure's error name and cause (panics on success).
pub(crate) fn error(result: Result<Value, Failure>) -> (String, String) {
    let f = result.expect_err("a failure");
    (f.error.unwrap_or_default(), f.cause.unwrap_or_default())
}
