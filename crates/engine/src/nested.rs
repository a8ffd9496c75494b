//! Nested workflows: a Task whose resource is Step Functions' own
//! `arn:aws:states:::states:startExecution` starts an execution of another
//! state machine on this engine.
//!
//! Owns the integration's three patterns, with AWS's output shapes:
//! request-response (`startExecution`: `{"ExecutionArn", "StartDate"}` once
//! the child is durably started), run-a-job (`.sync`: waits for the child
//! and returns its description, `Input`/`Output` as JSON text; `.sync:2`:
//! the same with `Input`/`Output` as JSON values; a child that fails, times
//! out or is aborted fails the task with `States.TaskFailed` and the
//! description as the cause), and callbacks (`.waitForTaskToken`: starts the
//! child, the task waits for its token like any callback).
//!
//! Restarts: the parent's task runs again after a crash (at least once),
//! so a child without a `Name` gets one derived from the parent execution
//! and the task: the second start finds the first child (running or
//! finished) instead of starting another one.
//!
//! It must not know the store's layout or the interpreter's retry rules.

use asl::failure::{Failure, STATES_RUNTIME, STATES_TASK_FAILED};
use asl::interpreter::TaskRequest;
use serde_json::{Map, Value, json};
use store::{ExecutionRecord, ExecutionStatus, StartOutcome, Store, StoreError};

use crate::scheduler::{Engine, EngineError, StartRequest};

const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";

/// The integration pattern a nested-workflow resource asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `startExecution`: started is done.
    Start,
    /// `startExecution.sync`: wait; `Input`/`Output` as text.
    Sync,
    /// `startExecution.sync:2`: wait; `Input`/`Output` as JSON.
    Sync2,
    /// `startExecution.waitForTaskToken`: start; the callback ends the task.
    WaitForTaskToken,
}

/// The pattern, when `resource` is the nested-workflow integration (any
/// partition: `arn:aws-cn:...` too).
pub(crate) fn pattern(resource: &str) -> Option<Pattern> {
    let rest = resource
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(':'))
        .map(|(_partition, rest)| rest)?;
    let suffix = rest.strip_prefix(&START_EXECUTION["arn:aws:".len()..])?;
    match suffix {
        "" => Some(Pattern::Start),
        ".sync" => Some(Pattern::Sync),
        ".sync:2" => Some(Pattern::Sync2),
        ".waitForTaskToken" => Some(Pattern::WaitForTaskToken),
        _ => None,
    }
}

impl<S: Store> Engine<S> {
    /// Runs a nested-workflow task of `parent`.
    pub(crate) async fn run_nested(
        &self,
        parent: &ExecutionRecord,
        request: TaskRequest,
        pattern: Pattern,
    ) -> Result<Value, Failure> {
        let (state_machine, input, name) = parameters(&request.parameters)?;
        let state_machine_arn = self.resolve_state_machine(&state_machine, parent).await?;
        let name = name.unwrap_or_else(|| derived_name(&parent.arn, request.task));
        // A child of the same name and input, running or finished, is
        // this task's own from before a restart.
        let started = self
            .start_or_find(StartRequest {
                state_machine_arn,
                name: Some(name),
                input: Some(input),
            })
            .await;
        let child = match started {
            Ok(StartOutcome::Started(r) | StartOutcome::AlreadyStarted(r)) => r,
            Err(EngineError::Store(StoreError::ExecutionAlreadyExists { arn })) => {
                return Err(Failure::new(
                    "StepFunctions.ExecutionAlreadyExistsException",
                    format!("Execution Already Exists: '{arn}'"),
                ));
            }
            Err(e) => return Err(start_failure(&e)),
        };
        match pattern {
            Pattern::Start | Pattern::WaitForTaskToken => Ok(json!({
                "ExecutionArn": child.arn,
                "StartDate": child.start_time,
            })),
            Pattern::Sync | Pattern::Sync2 => {
                // A Standard execution runs for up to a year (AWS).
                let year = std::time::Duration::from_secs(366 * 24 * 3600);
                let mut done = child;
                while done.status == ExecutionStatus::Running {
                    done = self
                        .wait_for(&done.arn, year)
                        .await
                        .map_err(|e| Failure::new(STATES_TASK_FAILED, e.to_string()))?
                        .unwrap_or(done);
                }
                let described = description(&done, pattern == Pattern::Sync2);
                if done.status == ExecutionStatus::Succeeded {
                    Ok(described)
                } else {
                    Err(Failure::new(STATES_TASK_FAILED, described.to_string()))
                }
            }
        }
    }

    /// The child's state machine: the ARN as given, or (an ARN of another
    /// region or account, as a definition written for AWS has) the state
    /// machine of that name beside the parent's.
    async fn resolve_state_machine(
        &self,
        given: &str,
        parent: &ExecutionRecord,
    ) -> Result<String, Failure> {
        let not_found = || {
            Failure::new(
                "StepFunctions.StateMachineDoesNotExistException",
                format!("State Machine Does Not Exist: '{given}'"),
            )
        };
        let exists = |arn: String| async move {
            match self.store().state_machine(&arn, None).await {
                Ok(Some(_)) => Ok(Some(arn)),
                Ok(None) => Ok(None),
                Err(e) => Err(Failure::new(STATES_TASK_FAILED, e.to_string())),
            }
        };
        if let Some(arn) = exists(given.to_owned()).await? {
            return Ok(arn);
        }
        let name = given
            .split_once(":stateMachine:")
            .map(|(_, rest)| rest.split(':').next().unwrap_or(rest))
            .ok_or_else(not_found)?;
        let (prefix, _) = parent
            .state_machine_arn
            .rsplit_once(':')
            .ok_or_else(not_found)?;
        exists(format!("{prefix}:{name}"))
            .await?
            .ok_or_else(not_found)
    }
}

/// `StateMachineArn` (required), `Input` (any JSON; a string is the input
/// text itself, as AWS takes it) and `Name`.
fn parameters(parameters: &Value) -> Result<(String, String, Option<String>), Failure> {
    let fields = parameters.as_object().cloned().unwrap_or_else(Map::new);
    let Some(Value::String(state_machine)) = fields.get("StateMachineArn") else {
        return Err(Failure::new(
            STATES_RUNTIME,
            "arn:aws:states:::states:startExecution needs the parameter StateMachineArn (a string)",
        ));
    };
    let input = match fields.get("Input") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    let name = match fields.get("Name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        Some(other) => {
            return Err(Failure::new(
                STATES_RUNTIME,
                format!("the parameter Name must be a string, got {other}"),
            ));
        }
    };
    Ok((state_machine.clone(), input, name))
}

/// A child's name when the task gives none: UUID-shaped, and the same for
/// the same parent and task (FNV-1a, stable across builds).
fn derived_name(parent_arn: &str, task: asl::interpreter::TaskId) -> String {
    let hash = |seed: u64| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        for b in parent_arn.bytes().chain(task.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let (a, b) = (hash(1), hash(2));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// The child as `DescribeExecution` shows it (dates in epoch
/// milliseconds); with `json`, `Input` and `Output` as values.
fn description(child: &ExecutionRecord, json: bool) -> Value {
    let data = |text: &str| {
        if json {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
        } else {
            Value::String(text.to_owned())
        }
    };
    let mut out = Map::new();
    out.insert("ExecutionArn".into(), json!(child.arn));
    out.insert("Input".into(), data(&child.input));
    out.insert("InputDetails".into(), json!({"Included": true}));
    out.insert("Name".into(), json!(child.name));
    if let Some(output) = &child.output {
        out.insert("Output".into(), data(output));
        out.insert("OutputDetails".into(), json!({"Included": true}));
    }
    out.insert("StartDate".into(), json!(child.start_time));
    out.insert("StateMachineArn".into(), json!(child.state_machine_arn));
    out.insert("Status".into(), json!(child.status.as_str()));
    if let Some(stop) = child.stop_time {
        out.insert("StopDate".into(), json!(stop));
    }
    if let Some(error) = &child.error {
        out.insert("Error".into(), json!(error));
    }
    if let Some(cause) = &child.cause {
        out.insert("Cause".into(), json!(cause));
    }
    Value::Object(out)
}

/// A refused start, with the name AWS's integration gives it.
fn start_failure(e: &EngineError) -> Failure {
    let name = match e {
        EngineError::InvalidExecutionInput(_) => "StepFunctions.InvalidExecutionInputException",
        EngineError::InvalidName(_) => "StepFunctions.InvalidNameException",
        EngineError::Store(StoreError::StateMachineDoesNotExist { .. }) => {
            "StepFunctions.StateMachineDoesNotExistException"
        }
        _ => STATES_TASK_FAILED,
    };
    Failure::new(name, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_by_resource() {
        assert_eq!(pattern(START_EXECUTION), Some(Pattern::Start));
        assert_eq!(
            pattern("arn:aws:states:::states:startExecution.sync"),
            Some(Pattern::Sync)
        );
        assert_eq!(
            pattern("arn:aws-cn:states:::states:startExecution.sync:2"),
            Some(Pattern::Sync2)
        );
        assert_eq!(
            pattern("arn:aws:states:::states:startExecution.waitForTaskToken"),
            Some(Pattern::WaitForTaskToken)
        );
        assert_eq!(
            pattern("arn:aws:states:::states:startExecution.sync:3"),
            None
        );
        assert_eq!(pattern("arn:aws:states:::lambda:invoke"), None);
    }

    #[test]
    fn derived_names_are_stable_valid_and_distinct() {
        let a = derived_name("arn:aws:states:local:0:execution:p:one", 3);
        assert_eq!(a, derived_name("arn:aws:states:local:0:execution:p:one", 3));
        assert_ne!(a, derived_name("arn:aws:states:local:0:execution:p:one", 4));
        assert_ne!(a, derived_name("arn:aws:states:local:0:execution:p:two", 3));
        assert_eq!(a.len(), 36);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    }
}
