//! One execution in memory, and how each event becomes a durable step.
//!
//! Owns [`LiveExecution`]: the interpreter's [`Execution`] plus what the
//! engine must remember about it (tasks in flight, timers pending, the next
//! journal sequence number), [`Applied`] (what one event produced: the
//! [`ExecutionStep`] to commit, then the tasks to invoke and timers to set),
//! and [`LiveExecution::replay`]. It must not do IO: the engine commits the
//! step, then performs the effects; replay is pure.

use std::collections::BTreeMap;
use std::sync::Arc;

use asl::definition::Definition;
use asl::entropy::SplitMix64;
use asl::history::HistoryEvent;
use asl::interpreter::{
    Effect, Execution, ExecutionInfo, Options, Status, TaskId, TaskRequest, TimerId,
};
use asl::timestamp::EpochMillis;
use serde_json::Value;
use store::{
    Completion, ExecutionRecord, ExecutionStatus, ExecutionStep, HistoryRow, JournalEntry, TimerRow,
};

use crate::journal::JournalEvent;

/// Why an execution could not be started or rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// The stored input is not JSON (the store was edited by hand?).
    #[error("execution {arn}: stored input is not valid JSON: {reason}")]
    BadInput {
        /// The execution.
        arn: String,
        /// The parser's message.
        reason: String,
    },
    /// A journal entry cannot be read.
    #[error("execution {arn}: journal entry {seq} is not a stepgate journal event: {reason}")]
    BadJournal {
        /// The execution.
        arn: String,
        /// The entry.
        seq: u64,
        /// The parser's message.
        reason: String,
    },
    /// Replaying the journal did not reproduce the stored history: the
    /// definition or the interpreter changed under a running execution.
    #[error(
        "execution {arn}: replay produced {replayed} history events but {stored} are stored; \
         the state machine version or stepgate changed under a running execution"
    )]
    Diverged {
        /// The execution.
        arn: String,
        /// Events the replay produced.
        replayed: u64,
        /// Events in the store.
        stored: u64,
    },
}

/// What applying one event produced. Commit `step` first; only once it is
/// durable, invoke `tasks`, set `timers` and cancel `cancelled_tasks`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    /// The durable part.
    pub step: ExecutionStep,
    /// Tasks to invoke.
    pub tasks: Vec<TaskRequest>,
    /// Timers to set: (timer, fire at).
    pub timers: Vec<(TimerId, EpochMillis)>,
    /// Tasks no longer wanted.
    pub cancelled_tasks: Vec<TaskId>,
    /// The history events of this step (for execution logs).
    pub history: Vec<HistoryEvent>,
    /// Whether the execution ended in this step.
    pub finished: bool,
}

/// One execution in memory.
#[derive(Debug)]
pub struct LiveExecution {
    arn: String,
    exec: Execution,
    entropy: SplitMix64,
    next_seq: u64,
    pending_tasks: BTreeMap<TaskId, TaskRequest>,
    pending_timers: BTreeMap<TimerId, EpochMillis>,
}

/// The seed of an execution's randomness, from its stored 32 bytes.
fn entropy_from(seed: &[u8; 32]) -> SplitMix64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&seed[..8]);
    SplitMix64(u64::from_le_bytes(first))
}

impl LiveExecution {
    /// Starts an execution that the store has just recorded.
    pub fn start(
        definition: Arc<Definition>,
        record: &ExecutionRecord,
        info: ExecutionInfo,
        options: Options,
    ) -> Result<(LiveExecution, Applied), LiveError> {
        let input: Value =
            serde_json::from_str(&record.input).map_err(|e| LiveError::BadInput {
                arn: record.arn.clone(),
                reason: e.to_string(),
            })?;
        let mut live = LiveExecution {
            arn: record.arn.clone(),
            exec: Execution::new(definition, info, options),
            entropy: entropy_from(&record.seed),
            next_seq: 1,
            pending_tasks: BTreeMap::new(),
            pending_timers: BTreeMap::new(),
        };
        let effects = live.exec.start(input, record.start_time, &mut live.entropy);
        let applied = live.collect(None, None, effects);
        Ok((live, applied))
    }

    /// Rebuilds a running execution from its journal (entry 0, the start,
    /// is implied by the record). Checks that the replay reproduces the
    /// `stored_history` events already committed. The returned execution
    /// has the tasks and timers that were pending at the crash:
    /// [`LiveExecution::pending_tasks`] and [`LiveExecution::pending_timers`].
    pub fn replay(
        definition: Arc<Definition>,
        record: &ExecutionRecord,
        info: ExecutionInfo,
        options: Options,
        journal: &[JournalEntry],
        stored_history: u64,
    ) -> Result<LiveExecution, LiveError> {
        let (mut live, first) = Self::start(definition, record, info, options)?;
        let mut replayed = first.step.history.len() as u64;
        for entry in journal.iter().filter(|e| e.seq > 0) {
            let event =
                JournalEvent::from_body(&entry.body).map_err(|e| LiveError::BadJournal {
                    arn: record.arn.clone(),
                    seq: entry.seq,
                    reason: e.to_string(),
                })?;
            if let Some(applied) = live.apply(event) {
                replayed += applied.step.history.len() as u64;
            }
        }
        if replayed != stored_history {
            return Err(LiveError::Diverged {
                arn: record.arn.clone(),
                replayed,
                stored: stored_history,
            });
        }
        Ok(live)
    }

    /// The execution ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Where the execution stands.
    pub fn status(&self) -> &Status {
        self.exec.status()
    }

    /// Tasks invoked and not yet answered.
    pub fn pending_tasks(&self) -> impl Iterator<Item = &TaskRequest> {
        self.pending_tasks.values()
    }

    /// Timers set and not yet fired: (timer, fire at).
    pub fn pending_timers(&self) -> impl Iterator<Item = (TimerId, EpochMillis)> + '_ {
        self.pending_timers.iter().map(|(t, at)| (*t, *at))
    }

    /// Applies an external event. `None` when the event is stale (a task
    /// that was cancelled or already answered, a timer already fired or
    /// cleared, anything after the end): it is not journaled.
    pub fn apply(&mut self, event: JournalEvent) -> Option<Applied> {
        if *self.exec.status() != Status::Running {
            return None;
        }
        let (effects, cleared) = match &event {
            JournalEvent::TaskSucceeded { task, output, now } => {
                self.pending_tasks.remove(task)?;
                (
                    self.exec
                        .task_succeeded(*task, output.clone(), *now, &mut self.entropy),
                    None,
                )
            }
            JournalEvent::TaskFailed {
                task,
                error,
                cause,
                now,
            } => {
                self.pending_tasks.remove(task)?;
                let failure = asl::failure::Failure {
                    error: error.clone(),
                    cause: cause.clone(),
                };
                (
                    self.exec
                        .task_failed(*task, failure, *now, &mut self.entropy),
                    None,
                )
            }
            JournalEvent::TimerFired { timer, now } => {
                self.pending_timers.remove(timer)?;
                (
                    self.exec.timer_fired(*timer, *now, &mut self.entropy),
                    Some(*timer),
                )
            }
            JournalEvent::Stopped { error, cause, now } => {
                (self.exec.abort(error.clone(), cause.clone(), *now), None)
            }
            JournalEvent::TimedOut { now } => (self.exec.time_out(*now), None),
        };
        let entry = JournalEntry {
            seq: self.next_seq,
            body: event.to_body(),
        };
        self.next_seq += 1;
        Some(self.collect(Some(entry), cleared, effects))
    }

    fn collect(
        &mut self,
        entry: Option<JournalEntry>,
        cleared: Option<TimerId>,
        effects: Vec<Effect>,
    ) -> Applied {
        let history = self.exec.take_history();
        let mut applied = Applied {
            step: ExecutionStep {
                execution_arn: self.arn.clone(),
                journal: entry.into_iter().collect(),
                history: history.iter().map(history_row).collect(),
                timers_cleared: cleared.into_iter().collect(),
                ..ExecutionStep::default()
            },
            history,
            ..Applied::default()
        };
        for effect in effects {
            match effect {
                Effect::InvokeTask(req) => {
                    self.pending_tasks.insert(req.task, req.clone());
                    applied.tasks.push(req);
                }
                Effect::StartTimer { timer, fire_at } => {
                    self.pending_timers.insert(timer, fire_at);
                    applied.step.timers_started.push(TimerRow {
                        execution_arn: self.arn.clone(),
                        timer_id: timer,
                        fire_at,
                    });
                    applied.timers.push((timer, fire_at));
                }
                Effect::CancelTask { task } => {
                    self.pending_tasks.remove(&task);
                    applied.cancelled_tasks.push(task);
                }
            }
        }
        if let Some(completion) = completion(self.exec.status(), self.last_time()) {
            applied.step.completion = Some(completion);
            applied.finished = true;
            // The store drops the remaining timers with the completion.
            self.pending_timers.clear();
            applied
                .cancelled_tasks
                .extend(self.pending_tasks.keys().copied());
            self.pending_tasks.clear();
            applied.tasks.clear();
            applied.timers.clear();
            applied.step.timers_started.clear();
        }
        applied
    }

    fn last_time(&self) -> EpochMillis {
        self.exec.info().start_time.max(self.exec.now())
    }
}

/// The store's completion record for a finished status.
fn completion(status: &Status, stop_time: EpochMillis) -> Option<Completion> {
    let text = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    Some(match status {
        Status::Running => return None,
        Status::Succeeded(output) => Completion {
            status: ExecutionStatus::Succeeded,
            output: Some(text(output)),
            error: None,
            cause: None,
            stop_time,
        },
        Status::Failed(f) => Completion {
            status: ExecutionStatus::Failed,
            output: None,
            error: f.error.clone(),
            cause: f.cause.clone(),
            stop_time,
        },
        Status::TimedOut(f) => Completion {
            status: ExecutionStatus::TimedOut,
            output: None,
            error: f.error.clone(),
            cause: f.cause.clone(),
            stop_time,
        },
        Status::Aborted(f) => Completion {
            status: ExecutionStatus::Aborted,
            output: None,
            error: f.error.clone(),
            cause: f.cause.clone(),
            stop_time,
        },
    })
}

/// A history event as the store keeps it: the columns, plus the AWS
/// `...EventDetails` object as JSON text.
pub fn history_row(event: &HistoryEvent) -> HistoryRow {
    let mut json = event.to_aws_json();
    if let Value::Object(map) = &mut json {
        for key in ["timestamp", "type", "id", "previousEventId"] {
            map.remove(key);
        }
    }
    HistoryRow {
        id: event.id,
        previous_event_id: event.previous_event_id,
        timestamp: event.timestamp,
        event_type: event.event_type.as_str().to_owned(),
        details: serde_json::to_string(&json).unwrap_or_else(|_| "{}".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use store::StateMachineType;

    use super::*;

    fn record(input: Value) -> ExecutionRecord {
        ExecutionRecord {
            arn: "arn:aws:states:local:000000000000:execution:sm:ex".into(),
            name: "ex".into(),
            state_machine_arn: "arn:aws:states:local:000000000000:stateMachine:sm".into(),
            state_machine_version: 1,
            machine_type: StateMachineType::Standard,
            status: ExecutionStatus::Running,
            input: input.to_string(),
            output: None,
            error: None,
            cause: None,
            start_time: 1_000,
            stop_time: None,
            seed: [7; 32],
        }
    }

    fn def(v: Value) -> Arc<Definition> {
        Arc::new(asl::parse::parse_definition(&v.to_string()).expect("valid definition"))
    }

    fn info() -> ExecutionInfo {
        ExecutionInfo::local("sm", "ex", 1_000)
    }

    /// Retries with FULL jitter (randomness), a task and a wait: replaying
    /// the journal must reach the same state and history.
    fn machine() -> Arc<Definition> {
        def(json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                  "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "JitterStrategy": "FULL"}],
                  "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 10, "Next": "U"},
            "U": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}, "End": true}}}))
    }

    #[test]
    fn each_event_becomes_one_step_with_contiguous_journal_and_history() {
        let (mut live, first) =
            LiveExecution::start(machine(), &record(json!({})), info(), Options::default())
                .unwrap();
        assert!(first.step.journal.is_empty());
        assert_eq!(first.step.history[0].id, 1);
        assert_eq!(first.tasks.len(), 1);
        let task = first.tasks[0].task;

        let a = live
            .apply(JournalEvent::TaskFailed {
                task,
                error: Some("Boom".into()),
                cause: None,
                now: 2_000,
            })
            .expect("applied");
        assert_eq!(a.step.journal[0].seq, 1);
        assert_eq!(
            a.step.history[0].id,
            first.step.history.last().unwrap().id + 1
        );
        let (retry_timer, at) = a.timers[0];
        assert!((2_000..=5_000).contains(&at));
        // A stale event is not journaled.
        assert!(
            live.apply(JournalEvent::TaskSucceeded {
                task,
                output: json!(1),
                now: 2_001
            })
            .is_none()
        );

        let b = live
            .apply(JournalEvent::TimerFired {
                timer: retry_timer,
                now: at,
            })
            .unwrap();
        assert_eq!(b.step.timers_cleared, vec![retry_timer]);
        let task2 = b.tasks[0].task;
        let c = live
            .apply(JournalEvent::TaskSucceeded {
                task: task2,
                output: json!({"ok": 1}),
                now: at + 5,
            })
            .unwrap();
        let (wait_timer, wait_at) = c.timers[0];
        assert_eq!(wait_at, at + 5 + 10_000);
        let d = live
            .apply(JournalEvent::TimerFired {
                timer: wait_timer,
                now: wait_at,
            })
            .unwrap();
        assert!(d.finished);
        let completion = d.step.completion.clone().unwrap();
        assert_eq!(completion.status, ExecutionStatus::Succeeded);
        assert_eq!(completion.stop_time, wait_at);
    }

    #[test]
    fn replay_reaches_the_same_state_and_history() {
        let (mut live, first) =
            LiveExecution::start(machine(), &record(json!({})), info(), Options::default())
                .unwrap();
        let mut journal = vec![JournalEntry {
            seq: 0,
            body: "{}".into(),
        }];
        let mut history: Vec<HistoryRow> = first.step.history.clone();
        let task = first.tasks[0].task;
        let a = live
            .apply(JournalEvent::TaskFailed {
                task,
                error: Some("Boom".into()),
                cause: None,
                now: 2_000,
            })
            .unwrap();
        journal.extend(a.step.journal.clone());
        history.extend(a.step.history.clone());
        let (retry_timer, at) = a.timers[0];
        let b = live
            .apply(JournalEvent::TimerFired {
                timer: retry_timer,
                now: at,
            })
            .unwrap();
        journal.extend(b.step.journal.clone());
        history.extend(b.step.history.clone());

        // "Crash" here: the second attempt of the task is in flight.
        let rebuilt = LiveExecution::replay(
            machine(),
            &record(json!({})),
            info(),
            Options::default(),
            &journal,
            history.len() as u64,
        )
        .expect("replays");
        let pending: Vec<_> = rebuilt.pending_tasks().cloned().collect();
        assert_eq!(pending, live.pending_tasks().cloned().collect::<Vec<_>>());
        assert_eq!(pending.len(), 1);

        // Both go on identically, randomness included (States.UUID).
        let finish = |mut l: LiveExecution| {
            let t = l.pending_tasks().next().unwrap().task;
            let c = l
                .apply(JournalEvent::TaskSucceeded {
                    task: t,
                    output: json!(1),
                    now: at + 5,
                })
                .unwrap();
            let (w, wa) = c.timers[0];
            let d = l
                .apply(JournalEvent::TimerFired { timer: w, now: wa })
                .unwrap();
            (c.step, d.step)
        };
        assert_eq!(finish(rebuilt), finish(live));
    }

    #[test]
    fn replay_detects_a_diverging_history() {
        let journal = vec![JournalEntry {
            seq: 0,
            body: "{}".into(),
        }];
        let err = LiveExecution::replay(
            machine(),
            &record(json!({})),
            info(),
            Options::default(),
            &journal,
            99,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                LiveError::Diverged {
                    replayed: 4,
                    stored: 99,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn stop_aborts_and_cancels_tasks() {
        let (mut live, first) =
            LiveExecution::start(machine(), &record(json!({})), info(), Options::default())
                .unwrap();
        let task = first.tasks[0].task;
        let a = live
            .apply(JournalEvent::Stopped {
                error: Some("E".into()),
                cause: Some("c".into()),
                now: 3_000,
            })
            .unwrap();
        assert!(a.finished);
        assert_eq!(a.cancelled_tasks, vec![task]);
        let c = a.step.completion.unwrap();
        assert_eq!(
            (c.status, c.error.as_deref()),
            (ExecutionStatus::Aborted, Some("E"))
        );
        assert!(
            live.apply(JournalEvent::TaskSucceeded {
                task,
                output: json!(1),
                now: 3_001
            })
            .is_none()
        );
    }
}
