//! The journal: every external event an execution consumed, in order.
//!
//! Owns [`JournalEvent`] and its JSON form (the `body` of a
//! [`store::JournalEntry`]). Entry 0 is the execution's start (its input and
//! start time live in the execution record); entries 1.. are the events
//! below. It must not interpret events: [`crate::live`] feeds them to the
//! interpreter.

use asl::interpreter::{TaskId, TimerId};
use asl::timestamp::EpochMillis;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An external event, as journaled. `now` is the time the engine applied it:
/// replaying with the same times gives the same history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum JournalEvent {
    /// A task returned.
    TaskSucceeded {
        /// The interpreter's task id.
        task: TaskId,
        /// Its result.
        output: Value,
        /// When it was applied.
        now: EpochMillis,
    },
    /// A task failed (or timed out, reported by the runner).
    TaskFailed {
        /// The interpreter's task id.
        task: TaskId,
        /// The error name.
        error: Option<String>,
        /// The cause.
        cause: Option<String>,
        /// When it was applied.
        now: EpochMillis,
    },
    /// A timer fired (Wait, retry interval, timeout).
    TimerFired {
        /// The interpreter's timer id.
        timer: TimerId,
        /// When it was applied (not before the timer's deadline).
        now: EpochMillis,
    },
    /// A limit outside the definition ran out (an Express execution's
    /// maximum duration): the execution ends TIMED_OUT.
    TimedOut {
        /// When it was applied.
        now: EpochMillis,
    },
    /// `StopExecution`.
    Stopped {
        /// The error given to StopExecution.
        error: Option<String>,
        /// The cause given to StopExecution.
        cause: Option<String>,
        /// When it was applied.
        now: EpochMillis,
    },
}

impl JournalEvent {
    /// The JSON text stored as a journal entry's body.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a journal entry's body.
    pub fn from_body(body: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(body)
    }
}
