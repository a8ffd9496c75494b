//! Callback tasks (`.waitForTaskToken` integrations and activities): the
//! task tokens waiting for
//! `SendTaskSuccess`, `SendTaskFailure` or `SendTaskHeartbeat`.
//!
//! Owns `Callbacks`, the registry from a token to the execution and task
//! it completes (and the task's heartbeat clock), and [`CallbackError`],
//! AWS's refusals. The registry is memory only, and needs no more: a token
//! is drawn from the execution's seeded entropy, so replaying the journal
//! after a restart issues the same token for a task still pending, and
//! recovery registers it again. What makes a callback durable is the
//! journal: the scheduler answers `SendTask*` only after the step it caused
//! is committed.
//!
//! It must not apply events or commit anything (the execution's actor in
//! `scheduler` does) nor know the interpreter's rules for retries and
//! catchers (the interpreter does).

use std::collections::HashMap;
use std::sync::Mutex;

use asl::interpreter::TaskId;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::scheduler::Input;

/// Why a `SendTask*` call was refused; the variant names are AWS's error
/// codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The token is not one stepgate issues (AWS `InvalidToken`).
    #[error("Invalid Token: '{0}'")]
    InvalidToken(String),
    /// The token was valid but its task is no longer waiting: answered,
    /// timed out, or its execution ended (AWS `TaskTimedOut`).
    #[error("Task Timed Out: 'Provided task does not exist anymore'")]
    TaskTimedOut,
    /// `SendTaskSuccess`'s output is not JSON or is too large (AWS
    /// `InvalidOutput`).
    #[error("{0}")]
    InvalidOutput(String),
    /// The task's outcome could not be stored; nothing changed.
    #[error("the callback could not be stored: {0}")]
    Store(String),
}

impl CallbackError {
    /// AWS's error code (`__type` of the API's error body).
    pub fn name(&self) -> &'static str {
        match self {
            CallbackError::InvalidToken(_) => "InvalidToken",
            CallbackError::TaskTimedOut => "TaskTimedOut",
            CallbackError::InvalidOutput(_) => "InvalidOutput",
            CallbackError::Store(_) => "ServiceUnavailable",
        }
    }
}

/// Checks a token's form: 64 lowercase hex digits (256 random bits), as
/// the interpreter issues them. AWS allows at most 1,024 characters.
pub fn check_token(token: &str) -> Result<(), CallbackError> {
    let well_formed = token.len() == 64
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if well_formed {
        Ok(())
    } else {
        let shown: String = token.chars().take(80).collect();
        Err(CallbackError::InvalidToken(shown))
    }
}

/// A task waiting for its token.
#[derive(Debug)]
struct Waiting {
    execution_arn: String,
    task: TaskId,
    inbox: mpsc::UnboundedSender<Input>,
    /// The last heartbeat (or the task's start), when `HeartbeatSeconds`
    /// is set: the scheduler's watchdog reads it.
    heartbeat: Option<watch::Sender<Instant>>,
}

/// The tokens waiting for a callback, across all executions running here.
#[derive(Debug, Default)]
pub(crate) struct Callbacks {
    waiting: Mutex<HashMap<String, Waiting>>,
}

impl Callbacks {
    /// Registers `token` for `task` of `execution_arn`. With heartbeats,
    /// returns the receiver of the heartbeat clock for the watchdog.
    pub(crate) fn register(
        &self,
        token: &str,
        execution_arn: &str,
        task: TaskId,
        inbox: mpsc::UnboundedSender<Input>,
        heartbeats: bool,
    ) -> Option<watch::Receiver<Instant>> {
        let (heartbeat, beats) = if heartbeats {
            let (tx, rx) = watch::channel(Instant::now());
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.lock().insert(
            token.to_owned(),
            Waiting {
                execution_arn: execution_arn.to_owned(),
                task,
                inbox,
                heartbeat,
            },
        );
        beats
    }

    /// The task a token completes, and its execution's inbox.
    pub(crate) fn lookup(
        &self,
        token: &str,
    ) -> Result<(TaskId, mpsc::UnboundedSender<Input>), CallbackError> {
        self.lock()
            .get(token)
            .map(|w| (w.task, w.inbox.clone()))
            .ok_or(CallbackError::TaskTimedOut)
    }

    /// Records a heartbeat (`SendTaskHeartbeat`).
    pub(crate) fn heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        let waiting = self.lock();
        let w = waiting.get(token).ok_or(CallbackError::TaskTimedOut)?;
        if let Some(clock) = &w.heartbeat {
            clock.send_replace(Instant::now());
        }
        Ok(())
    }

    /// Forgets the tokens of `execution_arn` whose task is no longer
    /// pending (answered, timed out, cancelled, or the execution ended).
    /// Dropping a heartbeat clock also ends its watchdog.
    pub(crate) fn forget(&self, execution_arn: &str, still_pending: impl Fn(TaskId) -> bool) {
        self.lock()
            .retain(|_, w| w.execution_arn != execution_arn || still_pending(w.task));
    }

    /// Whether no token waits at all (the common case: no step needs to
    /// look for tokens to forget).
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_one_form() {
        assert!(check_token(&"0a".repeat(32)).is_ok());
        for bad in [
            "",
            "abc",
            &"0A".repeat(32),
            &"0g".repeat(32),
            &"0a".repeat(33),
        ] {
            assert!(
                matches!(check_token(bad), Err(CallbackError::InvalidToken(_))),
                "{bad}"
            );
        }
    }
}
