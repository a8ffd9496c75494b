//! [`MemoryStore`]: the [`Store`] trait over plain maps behind one mutex.
//!
//! Owns the reference semantics of the trait in the fewest lines, so engine
//! tests run without a disk and the SQLite backend has something obvious to
//! be compared with (both pass `testkit::run_all`). It must not be used where
//! durability is promised: nothing survives the process. Every future it
//! returns is ready when first polled (no IO, no await inside the lock).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{
    EpochMillis, ExecutionFilter, ExecutionRecord, ExecutionStatus, ExecutionStep, HistoryRow,
    JournalEntry, NewExecution, NewStateMachine, StartOutcome, StateMachineRecord,
    StateMachineType, Store, StoreError, TimerRow,
};

/// An in-memory [`Store`]. Cloning shares the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    data: Arc<Mutex<Data>>,
}

#[derive(Debug, Default)]
struct Data {
    /// Versions of each state machine, oldest first (version = index + 1).
    state_machines: HashMap<String, Vec<StateMachineRecord>>,
    executions: HashMap<String, Execution>,
    /// Insertion order of executions (tie-break for "newest first").
    order: Vec<String>,
    /// (state machine ARN, name) → ARN, STANDARD only.
    standard_names: HashMap<(String, String), String>,
}

#[derive(Debug)]
struct Execution {
    record: ExecutionRecord,
    /// Position in `Data::order`.
    position: usize,
    /// Entries 1.. (entry 0 is the input, kept in the record).
    journal: Vec<JournalEntry>,
    history: Vec<HistoryRow>,
    /// timer id → fire_at.
    timers: BTreeMap<u64, EpochMillis>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        // A panic while holding the lock cannot leave a half-applied step:
        // every mutation validates first and then only pushes/inserts.
        self.data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn not_found(arn: &str) -> StoreError {
    StoreError::ExecutionDoesNotExist {
        arn: arn.to_owned(),
    }
}

fn conflict(arn: &str, reason: String) -> StoreError {
    StoreError::StepConflict {
        arn: arn.to_owned(),
        reason,
    }
}

impl Data {
    fn put_state_machine(&mut self, sm: NewStateMachine) -> StateMachineRecord {
        let versions = self.state_machines.entry(sm.arn.clone()).or_default();
        if let Some(latest) = versions.last()
            && latest.definition == sm.definition
            && latest.machine_type == sm.machine_type
            && latest.logging == sm.logging
        {
            return latest.clone();
        }
        let record = StateMachineRecord {
            arn: sm.arn,
            name: sm.name,
            version: versions.len() as u64 + 1,
            definition: sm.definition,
            machine_type: sm.machine_type,
            logging: sm.logging,
            created: sm.created,
        };
        versions.push(record.clone());
        record
    }

    fn start_execution(&mut self, e: NewExecution) -> Result<StartOutcome, StoreError> {
        crate::check_start(&e)?;
        let known_version = self
            .state_machines
            .get(&e.state_machine_arn)
            .is_some_and(|v| {
                e.state_machine_version >= 1 && e.state_machine_version <= v.len() as u64
            });
        if !known_version {
            return Err(StoreError::StateMachineDoesNotExist {
                arn: format!("{}:{}", e.state_machine_arn, e.state_machine_version),
            });
        }
        let name_key = (e.state_machine_arn.clone(), e.name.clone());
        if e.machine_type == StateMachineType::Standard
            && let Some(existing) = self
                .standard_names
                .get(&name_key)
                .and_then(|a| self.executions.get(a))
        {
            let r = &existing.record;
            return if r.status == ExecutionStatus::Running && r.input == e.input {
                Ok(StartOutcome::AlreadyStarted(r.clone()))
            } else {
                Err(StoreError::ExecutionAlreadyExists { arn: r.arn.clone() })
            };
        }
        if self.executions.contains_key(&e.arn) {
            return Err(StoreError::ExecutionAlreadyExists { arn: e.arn });
        }
        let record = e.into_running_record();
        if record.machine_type == StateMachineType::Standard {
            self.standard_names.insert(name_key, record.arn.clone());
        }
        self.order.push(record.arn.clone());
        let execution = Execution {
            record: record.clone(),
            position: self.order.len() - 1,
            journal: Vec::new(),
            history: Vec::new(),
            timers: BTreeMap::new(),
        };
        self.executions.insert(record.arn.clone(), execution);
        Ok(StartOutcome::Started(record))
    }

    fn start_execution_with_step(
        &mut self,
        e: NewExecution,
        step: ExecutionStep,
    ) -> Result<StartOutcome, StoreError> {
        // Everything `commit_step` could refuse for a new execution is
        // checked here, before the start: all or nothing.
        crate::check_first_step(&e, &step)?;
        let outcome = self.start_execution(e)?;
        let StartOutcome::Started(mut record) = outcome else {
            return Ok(outcome);
        };
        if let Some(c) = &step.completion {
            record.complete(c);
        }
        self.commit_step(step)?;
        Ok(StartOutcome::Started(record))
    }

    fn commit_step(&mut self, step: ExecutionStep) -> Result<(), StoreError> {
        let arn = step.execution_arn.as_str();
        let ex = self.executions.get_mut(arn).ok_or_else(|| not_found(arn))?;
        if ex.record.status != ExecutionStatus::Running {
            return Err(StoreError::ExecutionNotRunning {
                arn: arn.to_owned(),
                status: ex.record.status,
            });
        }
        // Validate everything before changing anything: all or nothing.
        let last_event = ex.history.last().map_or(0, |h| h.id);
        crate::check_step(&step, ex.journal.len() as u64, last_event)?;
        for t in &step.timers_started {
            if ex.timers.contains_key(&t.timer_id) && !step.timers_cleared.contains(&t.timer_id) {
                return Err(conflict(
                    arn,
                    format!("timer {} is already pending", t.timer_id),
                ));
            }
        }

        ex.journal.extend(step.journal);
        ex.history.extend(step.history);
        for id in &step.timers_cleared {
            ex.timers.remove(id);
        }
        for t in step.timers_started {
            ex.timers.insert(t.timer_id, t.fire_at);
        }
        if let Some(c) = step.completion {
            let r = &mut ex.record;
            r.status = c.status;
            r.output = c.output;
            r.error = c.error;
            r.cause = c.cause;
            r.stop_time = Some(c.stop_time);
            ex.timers.clear();
        }
        Ok(())
    }

    fn execution(&self, arn: &str) -> Result<&Execution, StoreError> {
        self.executions.get(arn).ok_or_else(|| not_found(arn))
    }
}

fn timer_rows(arn: &str, timers: &BTreeMap<u64, EpochMillis>) -> impl Iterator<Item = TimerRow> {
    timers.iter().map(move |(&timer_id, &fire_at)| TimerRow {
        execution_arn: arn.to_owned(),
        timer_id,
        fire_at,
    })
}

impl Store for MemoryStore {
    fn put_state_machine(
        &self,
        sm: NewStateMachine,
    ) -> impl Future<Output = Result<StateMachineRecord, StoreError>> + Send {
        let result = Ok(self.lock().put_state_machine(sm));
        async move { result }
    }

    fn state_machine(
        &self,
        arn: &str,
        version: Option<u64>,
    ) -> impl Future<Output = Result<Option<StateMachineRecord>, StoreError>> + Send {
        let data = self.lock();
        let found = data
            .state_machines
            .get(arn)
            .and_then(|versions| match version {
                None => versions.last().cloned(),
                Some(v) => v
                    .checked_sub(1)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| versions.get(i))
                    .cloned(),
            });
        async move { Ok(found) }
    }

    fn start_execution(
        &self,
        execution: NewExecution,
    ) -> impl Future<Output = Result<StartOutcome, StoreError>> + Send {
        let result = self.lock().start_execution(execution);
        async move { result }
    }

    fn start_execution_with_step(
        &self,
        execution: NewExecution,
        first_step: ExecutionStep,
    ) -> impl Future<Output = Result<StartOutcome, StoreError>> + Send {
        let result = self.lock().start_execution_with_step(execution, first_step);
        async move { result }
    }

    fn commit_step(
        &self,
        step: ExecutionStep,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let result = self.lock().commit_step(step);
        async move { result }
    }

    fn execution(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Option<ExecutionRecord>, StoreError>> + Send {
        let found = self.lock().executions.get(arn).map(|e| e.record.clone());
        async move { Ok(found) }
    }

    fn list_executions(
        &self,
        filter: ExecutionFilter,
    ) -> impl Future<Output = Result<Vec<ExecutionRecord>, StoreError>> + Send {
        let data = self.lock();
        let mut found: Vec<&Execution> = data
            .executions
            .values()
            .filter(|e| {
                filter
                    .state_machine_arn
                    .as_ref()
                    .is_none_or(|a| *a == e.record.state_machine_arn)
            })
            .filter(|e| filter.status.is_none_or(|s| s == e.record.status))
            .collect();
        found.sort_by(|a, b| {
            (b.record.start_time, b.position).cmp(&(a.record.start_time, a.position))
        });
        let list: Vec<ExecutionRecord> = found
            .into_iter()
            .take(filter.limit.unwrap_or(usize::MAX))
            .map(|e| e.record.clone())
            .collect();
        async move { Ok(list) }
    }

    fn history(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<HistoryRow>, StoreError>> + Send {
        let result = self.lock().execution(arn).map(|e| e.history.clone());
        async move { result }
    }

    fn journal(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<Vec<JournalEntry>, StoreError>> + Send {
        let result = self.lock().execution(arn).map(|e| {
            let mut journal = Vec::with_capacity(e.journal.len() + 1);
            journal.push(JournalEntry {
                seq: 0,
                body: e.record.input.clone(),
            });
            journal.extend(e.journal.iter().cloned());
            journal
        });
        async move { result }
    }

    fn running_executions(
        &self,
    ) -> impl Future<Output = Result<Vec<ExecutionRecord>, StoreError>> + Send {
        let data = self.lock();
        let mut running: Vec<&Execution> = data
            .executions
            .values()
            .filter(|e| e.record.status == ExecutionStatus::Running)
            .collect();
        running.sort_by_key(|e| (e.record.start_time, e.position));
        let list: Vec<ExecutionRecord> = running.into_iter().map(|e| e.record.clone()).collect();
        async move { Ok(list) }
    }

    fn timers(&self, arn: &str) -> impl Future<Output = Result<Vec<TimerRow>, StoreError>> + Send {
        let result = self
            .lock()
            .execution(arn)
            .map(|e| timer_rows(arn, &e.timers).collect());
        async move { result }
    }

    fn timers_due(
        &self,
        up_to: EpochMillis,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<TimerRow>, StoreError>> + Send {
        let data = self.lock();
        let mut due: Vec<TimerRow> = data
            .executions
            .iter()
            .flat_map(|(arn, e)| timer_rows(arn, &e.timers))
            .filter(|t| t.fire_at <= up_to)
            .collect();
        due.sort_by(|a, b| {
            (a.fire_at, &a.execution_arn, a.timer_id).cmp(&(
                b.fire_at,
                &b.execution_arn,
                b.timer_id,
            ))
        });
        due.truncate(limit);
        async move { Ok(due) }
    }
}
