//! History events, named and shaped as `GetExecutionHistory` returns them.
//!
//! Owns [`HistoryEvent`] and [`EventType`] (AWS's names verbatim) and the
//! rendering of an event into AWS's JSON shape. It must not decide when
//! events happen: the interpreter does.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::timestamp::{EpochMillis, format_timestamp};

macro_rules! event_types {
    ($($name:ident),* $(,)?) => {
        /// A history event type, named as in AWS's `HistoryEventType`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum EventType { $($name),* }

        impl EventType {
            /// AWS's name, e.g. `PassStateEntered`.
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$name => stringify!($name)),* }
            }
        }
    };
}

event_types!(
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateExited,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    MapStateEntered,
    MapStateExited,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    MapRunStarted,
    MapRunSucceeded,
    MapRunFailed,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
);

impl EventType {
    /// The `{Type}StateEntered` event of a state type.
    pub fn state_entered(type_name: &str) -> EventType {
        match type_name {
            "Pass" => EventType::PassStateEntered,
            "Task" => EventType::TaskStateEntered,
            "Choice" => EventType::ChoiceStateEntered,
            "Wait" => EventType::WaitStateEntered,
            "Succeed" => EventType::SucceedStateEntered,
            "Fail" => EventType::FailStateEntered,
            "Parallel" => EventType::ParallelStateEntered,
            _ => EventType::MapStateEntered,
        }
    }

    /// The `{Type}StateExited` event of a state type (`None` for Fail).
    pub fn state_exited(type_name: &str) -> Option<EventType> {
        Some(match type_name {
            "Pass" => EventType::PassStateExited,
            "Task" => EventType::TaskStateExited,
            "Choice" => EventType::ChoiceStateExited,
            "Wait" => EventType::WaitStateExited,
            "Succeed" => EventType::SucceedStateExited,
            "Parallel" => EventType::ParallelStateExited,
            "Map" => EventType::MapStateExited,
            _ => return None,
        })
    }
}

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// 1-based, contiguous.
    pub id: u64,
    /// The event this one follows (0 for the first).
    pub previous_event_id: u64,
    /// When it happened.
    pub timestamp: EpochMillis,
    /// What happened.
    pub event_type: EventType,
    /// The details.
    pub details: EventDetails,
}

/// The details of an event; which fields are set depends on the type.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventDetails {
    /// State name (state events) or iteration name (Map iterations).
    pub name: Option<Arc<str>>,
    /// Input (execution started, state entered). Shared with the execution
    /// state rather than copied: recording history must stay cheap.
    pub input: Option<Arc<Value>>,
    /// Output (state exited, execution succeeded, task succeeded).
    pub output: Option<Arc<Value>>,
    /// Error name (failures).
    pub error: Option<String>,
    /// Cause (failures).
    pub cause: Option<String>,
    /// Task resource ARN (task events).
    pub resource: Option<String>,
    /// Task parameters (TaskScheduled).
    pub parameters: Option<Arc<Value>>,
    /// Map iteration index, or Map/Parallel length.
    pub index: Option<usize>,
}

impl HistoryEvent {
    /// Renders the event as AWS's `HistoryEvent` JSON (`id`, `previousEventId`,
    /// `timestamp`, `type` and the type's `...EventDetails` object).
    pub fn to_aws_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "timestamp".into(),
            Value::String(format_timestamp(self.timestamp)),
        );
        m.insert(
            "type".into(),
            Value::String(self.event_type.as_str().into()),
        );
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        let d = &self.details;
        let text = |v: &Value| Value::String(serde_json::to_string(v).unwrap_or_default());
        let mut details = Map::new();
        if let Some(n) = &d.name {
            details.insert("name".into(), Value::String(n.to_string()));
        }
        if let Some(i) = &d.input {
            details.insert("input".into(), text(i.as_ref()));
        }
        if let Some(o) = &d.output {
            details.insert("output".into(), text(o.as_ref()));
        }
        if let Some(e) = &d.error {
            details.insert("error".into(), Value::String(e.clone()));
        }
        if let Some(c) = &d.cause {
            details.insert("cause".into(), Value::String(c.clone()));
        }
        if let Some(r) = &d.resource {
            details.insert("resource".into(), Value::String(r.clone()));
        }
        if let Some(p) = &d.parameters {
            details.insert("parameters".into(), text(p.as_ref()));
        }
        if let Some(i) = d.index {
            let key = match self.event_type {
                EventType::MapStateStarted => "length",
                _ => "index",
            };
            details.insert(key.into(), json!(i));
        }
        if !details.is_empty() {
            m.insert(details_key(self.event_type).into(), Value::Object(details));
        }
        Value::Object(m)
    }
}

fn details_key(t: EventType) -> &'static str {
    use EventType::*;
    match t {
        ExecutionStarted => "executionStartedEventDetails",
        ExecutionSucceeded => "executionSucceededEventDetails",
        ExecutionFailed => "executionFailedEventDetails",
        ExecutionTimedOut => "executionTimedOutEventDetails",
        ExecutionAborted => "executionAbortedEventDetails",
        PassStateEntered | TaskStateEntered | ChoiceStateEntered | WaitStateEntered
        | SucceedStateEntered | FailStateEntered | ParallelStateEntered | MapStateEntered => {
            "stateEnteredEventDetails"
        }
        PassStateExited | TaskStateExited | ChoiceStateExited | WaitStateExited
        | SucceedStateExited | ParallelStateExited | MapStateExited => "stateExitedEventDetails",
        MapStateStarted => "mapStateStartedEventDetails",
        MapIterationStarted => "mapIterationStartedEventDetails",
        MapIterationSucceeded => "mapIterationSucceededEventDetails",
        MapIterationFailed => "mapIterationFailedEventDetails",
        MapIterationAborted => "mapIterationAbortedEventDetails",
        TaskScheduled => "taskScheduledEventDetails",
        TaskStarted => "taskStartedEventDetails",
        TaskSucceeded => "taskSucceededEventDetails",
        TaskFailed => "taskFailedEventDetails",
        TaskTimedOut => "taskTimedOutEventDetails",
        MapRunStarted => "mapRunStartedEventDetails",
        MapRunFailed => "mapRunFailedEventDetails",
        _ => "details",
    }
}
