//! Durable executions: the pure interpreter, driven over a [`store::Store`].
//!
//! Module map: [`journal`] is the record of everything external an execution
//! consumed (its start, task results, timer firings, a stop); [`live`] keeps
//! one execution in memory, turns each journal event into an
//! [`store::ExecutionStep`] to commit, and rebuilds an execution after a
//! restart by replaying its journal; [`scheduler`] runs them (starts,
//! timers, tasks, recovery); [`callbacks`] holds the task tokens of
//! `.waitForTaskToken` tasks and activities; [`activities`] queues
//! activity tasks for `GetActivityTask`; `nested` runs Step Functions' own
//! `startExecution` integration (nested workflows) on the same engine.
//!
//! The key decision: exactly-once transitions come from the journal, not
//! from snapshots. The interpreter is deterministic given the definition,
//! the journal and the execution's seed, so a step's history is committed
//! together with the journal event that caused it, and recovery replays the
//! journal to the same state (re-issuing the tasks and timers still pending:
//! at-least-once for tasks).
#![deny(missing_docs)]

pub mod activities;
pub mod callbacks;
pub mod journal;
pub mod live;
pub mod logging;
mod nested;
pub mod scheduler;
