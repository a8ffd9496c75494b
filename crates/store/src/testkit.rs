//! The conformance suite every [`Store`] backend runs: `run_all(make_store)`.
//!
//! Owns the executable definition of the trait's semantics (the doc comments
//! on [`Store`] say them in prose; these tests pin them down): state machine
//! versions, `StartExecution` idempotency as AWS defines it, the all-or-nothing
//! and ordering rules of [`Store::commit_step`], the read methods, and many
//! concurrent writers losing nothing. It must not depend on a backend: a test
//! here sees only the trait, so a backend that needs a special case has a
//! bug, not a special case.
//!
//! Each test takes a fresh store from `make`. Tests spawn tokio tasks, so run
//! the kit inside a tokio runtime (a multi-thread one exercises more
//! interleavings):
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
//! async fn conformance() {
//!     store::testkit::run_all(|| MyStore::new()).await;
//! }
//! ```

use std::collections::HashSet;
use std::sync::Arc;

use crate::{
    Completion, ExecutionFilter, ExecutionRecord, ExecutionStatus, ExecutionStep, HistoryRow,
    JournalEntry, NewExecution, NewStateMachine, StartOutcome, StateMachineRecord,
    StateMachineType, Store, StoreError, TimerRow,
};

async fn ping_answers<S: Store>(store: S) {
    store.ping().await.expect("a fresh store answers a ping");
}

/// Runs every test of the kit, each on a fresh store from `make`, in order;
/// panics (naming the test) on the first failure.
pub async fn run_all<S: Store>(make: impl Fn() -> S) {
    macro_rules! run {
        ($($test:ident),* $(,)?) => {$(
            eprintln!("store testkit: {}", stringify!($test));
            $test(make()).await;
        )*};
    }
    run!(
        ping_answers,
        state_machine_versions,
        start_execution_stores_record_and_journal_entry_0,
        start_execution_needs_the_state_machine_version,
        standard_same_name_same_input_while_running_is_already_started,
        standard_same_name_different_input_is_already_exists,
        standard_same_name_after_finish_is_already_exists,
        standard_names_are_per_state_machine,
        standard_arns_follow_the_aws_rule,
        express_names_are_not_idempotent,
        payloads_round_trip_byte_for_byte,
        commit_step_appends_journal_and_history_in_order,
        commit_step_adds_and_clears_timers,
        timers_due_across_executions,
        completion_sets_the_outcome_and_clears_timers,
        second_completion_and_late_steps_are_refused,
        completion_only_steps_check_and_clear_like_any_step,
        commit_step_to_unknown_execution_is_refused,
        commit_step_out_of_order_is_refused_and_stores_nothing,
        reads_of_unknown_executions,
        list_executions_filters_and_orders,
        running_executions_oldest_first,
        concurrent_starts_lose_nothing,
        concurrent_same_name_starts_start_once,
        concurrent_commits_lose_nothing,
        failing_writes_do_not_fail_their_neighbours,
        start_with_step_stores_the_start_and_its_first_step,
        start_with_step_can_finish_the_execution_at_once,
        start_with_step_refused_stores_nothing,
        start_with_step_already_started_stores_no_step,
    );
}

const ACCOUNT: &str = "us-east-1:123456789012";

/// A state machine named `name` with a one-Pass definition.
pub fn new_state_machine(name: &str, machine_type: StateMachineType) -> NewStateMachine {
    NewStateMachine {
        arn: format!("arn:aws:states:{ACCOUNT}:stateMachine:{name}"),
        name: name.to_owned(),
        definition: r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#.to_owned(),
        machine_type,
        logging: r#"{"level":"OFF","includeExecutionData":false}"#.to_owned(),
        created: 1_700_000_000_000,
    }
}

/// A start request for `sm` (EXPRESS ARNs get a unique suffix, as AWS's).
pub fn new_execution(sm: &StateMachineRecord, name: &str, input: &str) -> NewExecution {
    let arn = match sm.machine_type {
        StateMachineType::Standard => crate::standard_execution_arn(&sm.arn, name),
        StateMachineType::Express => {
            format!(
                "arn:aws:states:{ACCOUNT}:express:{}:{name}:{}",
                sm.name,
                unique_suffix()
            )
        }
    };
    NewExecution {
        arn,
        name: name.to_owned(),
        state_machine_arn: sm.arn.clone(),
        state_machine_version: sm.version,
        machine_type: sm.machine_type,
        input: input.to_owned(),
        start_time: 1_700_000_001_000,
        seed: [42; 32],
    }
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// History event `id` following `previous`.
pub fn event(id: u64, previous: u64, event_type: &str) -> HistoryRow {
    HistoryRow {
        id,
        previous_event_id: previous,
        timestamp: 1_700_000_001_000 + id as i64,
        event_type: event_type.to_owned(),
        details: format!(r#"{{"id":{id}}}"#),
    }
}

fn succeeded(output: &str, stop_time: i64) -> Completion {
    Completion {
        status: ExecutionStatus::Succeeded,
        output: Some(output.to_owned()),
        error: None,
        cause: None,
        stop_time,
    }
}

async fn machine<S: Store>(
    store: &S,
    name: &str,
    machine_type: StateMachineType,
) -> StateMachineRecord {
    store
        .put_state_machine(new_state_machine(name, machine_type))
        .await
        .expect("put_state_machine")
}

async fn started<S: Store>(store: &S, e: NewExecution) -> ExecutionRecord {
    match store.start_execution(e).await {
        Ok(StartOutcome::Started(r)) => r,
        other => panic!("expected Started, got {other:?}"),
    }
}

fn step(arn: &str) -> ExecutionStep {
    ExecutionStep {
        execution_arn: arn.to_owned(),
        ..ExecutionStep::default()
    }
}

fn timer(arn: &str, timer_id: u64, fire_at: i64) -> TimerRow {
    TimerRow {
        execution_arn: arn.to_owned(),
        timer_id,
        fire_at,
    }
}

/// `put_state_machine` returns the same version when nothing changed and a
/// new one when the definition, type or logging changes; old versions stay
/// readable (an execution keeps the definition it started with).
pub async fn state_machine_versions<S: Store>(store: S) {
    let new = new_state_machine("versions", StateMachineType::Standard);
    let v1 = store.put_state_machine(new.clone()).await.expect("put v1");
    assert_eq!(v1.version, 1);
    assert_eq!(v1.definition, new.definition);
    assert_eq!(v1.name, "versions");

    // Unchanged (even with a later timestamp): the same version, unchanged.
    let again = store
        .put_state_machine(NewStateMachine {
            created: new.created + 5,
            ..new.clone()
        })
        .await
        .expect("put same");
    assert_eq!(again, v1, "an unchanged state machine keeps its version");

    let changed_def = r#"{"StartAt":"Q","States":{"Q":{"Type":"Succeed"}}}"#.to_owned();
    let v2 = store
        .put_state_machine(NewStateMachine {
            definition: changed_def.clone(),
            created: new.created + 10,
            ..new.clone()
        })
        .await
        .expect("put v2");
    assert_eq!(v2.version, 2);
    assert_eq!(v2.definition, changed_def);
    let v3 = store
        .put_state_machine(NewStateMachine {
            definition: changed_def.clone(),
            logging: r#"{"level":"ALL","includeExecutionData":true}"#.to_owned(),
            ..new.clone()
        })
        .await
        .expect("put v3");
    assert_eq!(v3.version, 3, "a logging change is a new version");

    assert_eq!(
        store.state_machine(&new.arn, None).await.expect("latest"),
        Some(v3.clone())
    );
    assert_eq!(
        store.state_machine(&new.arn, Some(1)).await.expect("v1"),
        Some(v1.clone())
    );
    assert_eq!(
        store.state_machine(&new.arn, Some(2)).await.expect("v2"),
        Some(v2)
    );
    assert_eq!(
        store.state_machine(&new.arn, Some(4)).await.expect("v4"),
        None
    );
    assert_eq!(
        store.state_machine(&new.arn, Some(0)).await.expect("v0"),
        None
    );
    assert_eq!(
        store
            .state_machine("arn:aws:states:nowhere", None)
            .await
            .expect("unknown"),
        None
    );

    // Going back to the first definition is a change too (a new version, not v1).
    let v4 = store.put_state_machine(new.clone()).await.expect("put v4");
    assert_eq!(v4.version, 4);
    assert_eq!(v4.definition, v1.definition);
}

/// A start stores the record (RUNNING, no outcome yet) and journal entry 0,
/// the input.
pub async fn start_execution_stores_record_and_journal_entry_0<S: Store>(store: S) {
    let sm = machine(&store, "start", StateMachineType::Standard).await;
    let new = NewExecution {
        seed: [9; 32],
        ..new_execution(&sm, "first", r#"{"a":1}"#)
    };
    let record = started(&store, new.clone()).await;
    let expected = ExecutionRecord {
        arn: new.arn.clone(),
        name: "first".to_owned(),
        state_machine_arn: sm.arn.clone(),
        state_machine_version: 1,
        machine_type: StateMachineType::Standard,
        status: ExecutionStatus::Running,
        input: r#"{"a":1}"#.to_owned(),
        output: None,
        error: None,
        cause: None,
        start_time: new.start_time,
        stop_time: None,
        seed: [9; 32],
    };
    assert_eq!(record, expected);
    assert_eq!(
        store.execution(&new.arn).await.expect("read"),
        Some(expected)
    );
    assert_eq!(
        store.journal(&new.arn).await.expect("journal"),
        vec![JournalEntry {
            seq: 0,
            body: r#"{"a":1}"#.to_owned()
        }]
    );
    assert_eq!(store.history(&new.arn).await.expect("history"), vec![]);
    assert_eq!(store.timers(&new.arn).await.expect("timers"), vec![]);
    assert_eq!(
        store
            .execution("arn:aws:states:nowhere")
            .await
            .expect("unknown"),
        None
    );
}

/// Starting on an unknown state machine, or an unknown version of a known
/// one, is `StateMachineDoesNotExist` and stores nothing.
pub async fn start_execution_needs_the_state_machine_version<S: Store>(store: S) {
    let sm = machine(&store, "needs", StateMachineType::Standard).await;
    let missing_version = NewExecution {
        state_machine_version: 2,
        ..new_execution(&sm, "a", "{}")
    };
    let r = store.start_execution(missing_version.clone()).await;
    assert!(
        matches!(r, Err(StoreError::StateMachineDoesNotExist { .. })),
        "{r:?}"
    );
    let mut missing_machine = new_execution(&sm, "b", "{}");
    missing_machine.state_machine_arn = format!("arn:aws:states:{ACCOUNT}:stateMachine:nope");
    missing_machine.arn = crate::standard_execution_arn(&missing_machine.state_machine_arn, "b");
    let r = store.start_execution(missing_machine.clone()).await;
    assert!(
        matches!(r, Err(StoreError::StateMachineDoesNotExist { .. })),
        "{r:?}"
    );
    // EXPRESS too (a backend may check it differently on that hot path).
    let express = machine(&store, "needs-express", StateMachineType::Express).await;
    let express_missing = NewExecution {
        state_machine_version: 2,
        ..new_execution(&express, "c", "{}")
    };
    let r = store.start_execution(express_missing.clone()).await;
    assert!(
        matches!(r, Err(StoreError::StateMachineDoesNotExist { .. })),
        "{r:?}"
    );
    assert_eq!(
        store.execution(&express_missing.arn).await.expect("read"),
        None
    );
    assert_eq!(
        store.execution(&missing_version.arn).await.expect("read"),
        None
    );
    assert_eq!(
        store.execution(&missing_machine.arn).await.expect("read"),
        None
    );
    assert!(
        store
            .list_executions(ExecutionFilter::default())
            .await
            .expect("list")
            .is_empty()
    );
}

/// AWS: "if you call StartExecution with the same name and input as a
/// running execution, the call succeeds and return the same response as the
/// original request" — the original record, not the second request's times.
pub async fn standard_same_name_same_input_while_running_is_already_started<S: Store>(store: S) {
    let sm = machine(&store, "idem", StateMachineType::Standard).await;
    let first = new_execution(&sm, "once", r#"{"x":"y"}"#);
    let original = started(&store, first.clone()).await;
    let retry = NewExecution {
        start_time: first.start_time + 1_000,
        seed: [1; 32],
        ..first.clone()
    };
    match store.start_execution(retry).await {
        Ok(StartOutcome::AlreadyStarted(r)) => assert_eq!(r, original),
        other => panic!("expected AlreadyStarted, got {other:?}"),
    }
    assert_eq!(
        store
            .list_executions(ExecutionFilter::default())
            .await
            .expect("list")
            .len(),
        1
    );
    assert_eq!(
        store.journal(&first.arn).await.expect("journal").len(),
        1,
        "no second journal entry 0"
    );
}

/// Same name, different input: `ExecutionAlreadyExists`, the original
/// untouched.
pub async fn standard_same_name_different_input_is_already_exists<S: Store>(store: S) {
    let sm = machine(&store, "diff", StateMachineType::Standard).await;
    let first = new_execution(&sm, "name", r#"{"v":1}"#);
    let original = started(&store, first.clone()).await;
    let r = store
        .start_execution(new_execution(&sm, "name", r#"{"v":2}"#))
        .await;
    assert_eq!(
        r,
        Err(StoreError::ExecutionAlreadyExists {
            arn: first.arn.clone()
        })
    );
    // Inputs are compared as stored text: a reformatted input is different.
    let r = store
        .start_execution(new_execution(&sm, "name", r#"{ "v": 1 }"#))
        .await;
    assert!(
        matches!(r, Err(StoreError::ExecutionAlreadyExists { .. })),
        "{r:?}"
    );
    assert_eq!(
        store.execution(&first.arn).await.expect("read"),
        Some(original)
    );
}

/// A finished STANDARD execution keeps its name: same name (same input or
/// not) is `ExecutionAlreadyExists`.
pub async fn standard_same_name_after_finish_is_already_exists<S: Store>(store: S) {
    let sm = machine(&store, "finished", StateMachineType::Standard).await;
    let first = new_execution(&sm, "done", "{}");
    started(&store, first.clone()).await;
    store
        .commit_step(ExecutionStep {
            completion: Some(succeeded("{}", first.start_time + 1)),
            ..step(&first.arn)
        })
        .await
        .expect("complete");
    for input in ["{}", r#"{"other":true}"#] {
        let r = store
            .start_execution(new_execution(&sm, "done", input))
            .await;
        assert_eq!(
            r,
            Err(StoreError::ExecutionAlreadyExists {
                arn: first.arn.clone()
            }),
            "input {input}"
        );
    }
    let record = store
        .execution(&first.arn)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(record.status, ExecutionStatus::Succeeded);
}

/// Names are unique per state machine, not globally.
pub async fn standard_names_are_per_state_machine<S: Store>(store: S) {
    let a = machine(&store, "machine-a", StateMachineType::Standard).await;
    let b = machine(&store, "machine-b", StateMachineType::Standard).await;
    started(&store, new_execution(&a, "shared", "{}")).await;
    started(&store, new_execution(&b, "shared", "{}")).await;
    // A new version of the same machine is the same machine.
    let a2 = store
        .put_state_machine(NewStateMachine {
            definition: r#"{"StartAt":"S","States":{"S":{"Type":"Succeed"}}}"#.to_owned(),
            ..new_state_machine("machine-a", StateMachineType::Standard)
        })
        .await
        .expect("v2");
    match store
        .start_execution(new_execution(&a2, "shared", "{}"))
        .await
    {
        Ok(StartOutcome::AlreadyStarted(r)) => assert_eq!(r.state_machine_version, 1),
        other => panic!("expected AlreadyStarted of the v1 execution, got {other:?}"),
    }
}

/// A STANDARD start whose ARN is not AWS's for its machine and name is
/// refused (the store's name uniqueness rests on it); EXPRESS ARNs are free.
pub async fn standard_arns_follow_the_aws_rule<S: Store>(store: S) {
    let sm = machine(&store, "arn-rule", StateMachineType::Standard).await;
    let good = new_execution(&sm, "n", "{}");
    assert_eq!(
        good.arn,
        format!("arn:aws:states:{ACCOUNT}:execution:arn-rule:n")
    );
    for arn in [
        format!("arn:aws:states:{ACCOUNT}:execution:arn-rule:other"),
        format!("arn:aws:states:{ACCOUNT}:execution:another-machine:n"),
        format!("arn:aws:states:{ACCOUNT}:express:arn-rule:n:1"),
    ] {
        let r = store
            .start_execution(NewExecution {
                arn: arn.clone(),
                ..good.clone()
            })
            .await;
        assert_eq!(
            r,
            Err(StoreError::InvalidExecutionArn {
                arn,
                expected: good.arn.clone()
            })
        );
    }
    assert_eq!(store.execution(&good.arn).await.expect("read"), None);
    started(&store, good).await;
    let x = machine(&store, "arn-rule-x", StateMachineType::Express).await;
    let free = NewExecution {
        arn: "arn:anything:goes:1".to_owned(),
        ..new_execution(&x, "n", "{}")
    };
    started(&store, free).await;
}

/// EXPRESS: the same name twice is two executions (distinct ARNs); an ARN
/// that is already stored is `ExecutionAlreadyExists` and never overwrites.
pub async fn express_names_are_not_idempotent<S: Store>(store: S) {
    let sm = machine(&store, "express", StateMachineType::Express).await;
    let one = started(&store, new_execution(&sm, "same", "{}")).await;
    let two = started(&store, new_execution(&sm, "same", "{}")).await;
    assert_ne!(one.arn, two.arn);
    assert_eq!(one.machine_type, StateMachineType::Express);
    let reused = NewExecution {
        arn: one.arn.clone(),
        input: r#"{"other":1}"#.to_owned(),
        ..new_execution(&sm, "x", "{}")
    };
    assert_eq!(
        store.start_execution(reused).await,
        Err(StoreError::ExecutionAlreadyExists {
            arn: one.arn.clone()
        })
    );
    let same_again = NewExecution {
        arn: one.arn.clone(),
        ..new_execution(&sm, "same", "{}")
    };
    assert_eq!(
        store.start_execution(same_again).await,
        Err(StoreError::ExecutionAlreadyExists {
            arn: one.arn.clone()
        }),
        "a repeated EXPRESS ARN is refused even with the same name and input"
    );
    assert_eq!(store.execution(&one.arn).await.expect("read"), Some(one));
    let listed = store
        .list_executions(ExecutionFilter {
            state_machine_arn: Some(sm.arn.clone()),
            ..ExecutionFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
}

/// Inputs, outputs, details and journal bodies come back byte for byte
/// (quotes, backslashes, unicode, `$`, NUL escapes), up to AWS's 256 KiB.
pub async fn payloads_round_trip_byte_for_byte<S: Store>(store: S) {
    let sm = machine(&store, "payloads", StateMachineType::Standard).await;
    let tricky = r#"{"q":"\"quoted\" \\ back\\slash","u":"héllo ✓ 𝄞","d":"$.x #{y}","z":"\u0000"}"#;
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(256 * 1024 - 12));
    for (i, input) in [tricky.to_owned(), big.clone()].into_iter().enumerate() {
        let e = new_execution(&sm, &format!("p{i}"), &input);
        let r = started(&store, e.clone()).await;
        assert_eq!(r.input, input);
        store
            .commit_step(ExecutionStep {
                journal: vec![JournalEntry {
                    seq: 1,
                    body: input.clone(),
                }],
                history: vec![HistoryRow {
                    details: input.clone(),
                    ..event(1, 0, "ExecutionStarted")
                }],
                completion: Some(Completion {
                    status: ExecutionStatus::Failed,
                    output: None,
                    error: Some("Err.\"ü\"".to_owned()),
                    cause: Some(input.clone()),
                    stop_time: 5,
                }),
                ..step(&e.arn)
            })
            .await
            .expect("commit");
        let read = store
            .execution(&e.arn)
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(read.input, input);
        assert_eq!(read.cause.as_deref(), Some(input.as_str()));
        assert_eq!(read.error.as_deref(), Some("Err.\"ü\""));
        let journal = store.journal(&e.arn).await.expect("journal");
        assert_eq!(
            journal.iter().map(|j| j.body.as_str()).collect::<Vec<_>>(),
            [input.as_str(), input.as_str()]
        );
        assert_eq!(
            store.history(&e.arn).await.expect("history")[0].details,
            input
        );
    }
}

/// Steps append journal entries and history events in order, across steps.
pub async fn commit_step_appends_journal_and_history_in_order<S: Store>(store: S) {
    let sm = machine(&store, "append", StateMachineType::Standard).await;
    let e = started(&store, new_execution(&sm, "run", r#"{"in":0}"#)).await;
    store
        .commit_step(ExecutionStep {
            history: vec![
                event(1, 0, "ExecutionStarted"),
                event(2, 1, "TaskStateEntered"),
                event(3, 2, "TaskScheduled"),
            ],
            ..step(&e.arn)
        })
        .await
        .expect("step 1");
    // An empty step is allowed (nothing to append).
    store.commit_step(step(&e.arn)).await.expect("empty step");
    store
        .commit_step(ExecutionStep {
            journal: vec![JournalEntry {
                seq: 1,
                body: r#"{"TaskSucceeded":1}"#.to_owned(),
            }],
            history: vec![event(4, 3, "TaskSucceeded"), event(5, 4, "TaskStateExited")],
            ..step(&e.arn)
        })
        .await
        .expect("step 2");
    store
        .commit_step(ExecutionStep {
            journal: vec![
                JournalEntry {
                    seq: 2,
                    body: r#"{"TaskFailed":2}"#.to_owned(),
                },
                JournalEntry {
                    seq: 3,
                    body: r#"{"TaskSucceeded":3}"#.to_owned(),
                },
            ],
            // previous_event_id need not be id - 1 (parallel branches interleave).
            history: vec![event(6, 2, "PassStateEntered")],
            ..step(&e.arn)
        })
        .await
        .expect("step 3");
    let history = store.history(&e.arn).await.expect("history");
    assert_eq!(
        history.iter().map(|h| h.id).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(history[5], event(6, 2, "PassStateEntered"));
    assert_eq!(history[0], event(1, 0, "ExecutionStarted"));
    let journal = store.journal(&e.arn).await.expect("journal");
    assert_eq!(
        journal.iter().map(|j| j.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(journal[0].body, r#"{"in":0}"#);
    assert_eq!(journal[2].body, r#"{"TaskFailed":2}"#);
    let record = store
        .execution(&e.arn)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(record.status, ExecutionStatus::Running);
}

/// Timers are added and cleared by steps; clearing an unknown id is a no-op;
/// a step may clear and restart the same id; a pending id cannot be started
/// twice.
pub async fn commit_step_adds_and_clears_timers<S: Store>(store: S) {
    let sm = machine(&store, "timers", StateMachineType::Standard).await;
    let e = started(&store, new_execution(&sm, "t", "{}")).await;
    let arn = e.arn.as_str();
    store
        .commit_step(ExecutionStep {
            timers_started: vec![timer(arn, 2, 5_000), timer(arn, 1, 9_000)],
            ..step(arn)
        })
        .await
        .expect("start timers");
    assert_eq!(
        store.timers(arn).await.expect("timers"),
        vec![timer(arn, 1, 9_000), timer(arn, 2, 5_000)]
    );
    store
        .commit_step(ExecutionStep {
            timers_cleared: vec![2, 77],
            timers_started: vec![timer(arn, 3, 7_000)],
            ..step(arn)
        })
        .await
        .expect("clear one, start one");
    assert_eq!(
        store.timers(arn).await.expect("timers"),
        vec![timer(arn, 1, 9_000), timer(arn, 3, 7_000)]
    );
    store
        .commit_step(ExecutionStep {
            timers_cleared: vec![1],
            timers_started: vec![timer(arn, 1, 12_000)],
            ..step(arn)
        })
        .await
        .expect("re-arm");
    assert_eq!(
        store.timers(arn).await.expect("timers"),
        vec![timer(arn, 1, 12_000), timer(arn, 3, 7_000)]
    );
    let r = store
        .commit_step(ExecutionStep {
            timers_started: vec![timer(arn, 3, 1)],
            ..step(arn)
        })
        .await;
    assert!(matches!(r, Err(StoreError::StepConflict { .. })), "{r:?}");
    let r = store
        .commit_step(ExecutionStep {
            timers_started: vec![timer(arn, 8, 1), timer(arn, 8, 2)],
            ..step(arn)
        })
        .await;
    assert!(matches!(r, Err(StoreError::StepConflict { .. })), "{r:?}");
    let huge = [
        ExecutionStep {
            timers_started: vec![timer(arn, u64::MAX, 1)],
            ..step(arn)
        },
        ExecutionStep {
            timers_cleared: vec![u64::MAX],
            ..step(arn)
        },
    ];
    for s in huge {
        let r = store.commit_step(s).await;
        assert!(
            matches!(r, Err(StoreError::StepConflict { .. })),
            "beyond SQL's i64: {r:?}"
        );
    }
    let r = store
        .commit_step(ExecutionStep {
            timers_started: vec![timer("arn:other", 9, 1)],
            ..step(arn)
        })
        .await;
    assert!(matches!(r, Err(StoreError::StepConflict { .. })), "{r:?}");
    assert_eq!(
        store.timers(arn).await.expect("timers"),
        vec![timer(arn, 1, 12_000), timer(arn, 3, 7_000)]
    );
}

/// `timers_due` sees every execution's timers, soonest first, bounded.
pub async fn timers_due_across_executions<S: Store>(store: S) {
    let sm = machine(&store, "due", StateMachineType::Standard).await;
    let a = started(&store, new_execution(&sm, "a", "{}")).await.arn;
    let b = started(&store, new_execution(&sm, "b", "{}")).await.arn;
    assert_eq!(store.timers_due(i64::MAX, 10).await.expect("none"), vec![]);
    store
        .commit_step(ExecutionStep {
            timers_started: vec![timer(&a, 1, 300), timer(&a, 2, 100)],
            ..step(&a)
        })
        .await
        .expect("a");
    store
        .commit_step(ExecutionStep {
            timers_started: vec![timer(&b, 1, 200), timer(&b, 2, 100)],
            ..step(&b)
        })
        .await
        .expect("b");
    let all = store.timers_due(i64::MAX, 10).await.expect("all");
    assert_eq!(
        all,
        vec![
            timer(&a, 2, 100),
            timer(&b, 2, 100),
            timer(&b, 1, 200),
            timer(&a, 1, 300)
        ]
    );
    assert_eq!(
        store.timers_due(200, 10).await.expect("up to 200").len(),
        3,
        "fire_at <= up_to is due"
    );
    assert_eq!(store.timers_due(99, 10).await.expect("none due"), vec![]);
    assert_eq!(
        store.timers_due(i64::MAX, 1).await.expect("next"),
        vec![timer(&a, 2, 100)]
    );
}

/// A completion sets status, output, error, cause and stop time, and the
/// execution's pending timers go away with it.
pub async fn completion_sets_the_outcome_and_clears_timers<S: Store>(store: S) {
    let sm = machine(&store, "complete", StateMachineType::Standard).await;
    let ok = started(&store, new_execution(&sm, "ok", "{}")).await.arn;
    store
        .commit_step(ExecutionStep {
            timers_started: vec![timer(&ok, 1, 50)],
            ..step(&ok)
        })
        .await
        .expect("timer");
    store
        .commit_step(ExecutionStep {
            history: vec![event(1, 0, "ExecutionSucceeded")],
            completion: Some(succeeded(r#"{"out":true}"#, 1_700_000_009_000)),
            ..step(&ok)
        })
        .await
        .expect("succeed");
    let r = store.execution(&ok).await.expect("read").expect("exists");
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.output.as_deref(), Some(r#"{"out":true}"#));
    assert_eq!((r.error, r.cause), (None, None));
    assert_eq!(r.stop_time, Some(1_700_000_009_000));
    assert_eq!(store.timers(&ok).await.expect("timers"), vec![]);
    assert_eq!(store.timers_due(i64::MAX, 10).await.expect("due"), vec![]);
    assert_eq!(store.history(&ok).await.expect("history").len(), 1);

    for (name, status, error) in [
        ("failed", ExecutionStatus::Failed, "States.TaskFailed"),
        ("timed-out", ExecutionStatus::TimedOut, "States.Timeout"),
        ("aborted", ExecutionStatus::Aborted, "Stopped"),
    ] {
        let arn = started(&store, new_execution(&sm, name, "{}")).await.arn;
        store
            .commit_step(ExecutionStep {
                completion: Some(Completion {
                    status,
                    output: None,
                    error: Some(error.to_owned()),
                    cause: Some(format!("cause of {name}")),
                    stop_time: 77,
                }),
                ..step(&arn)
            })
            .await
            .expect("complete");
        let r = store.execution(&arn).await.expect("read").expect("exists");
        assert_eq!(
            (r.status, r.error.as_deref(), r.output),
            (status, Some(error), None)
        );
        assert_eq!(r.cause, Some(format!("cause of {name}")));
        assert_eq!(r.stop_time, Some(77));
    }
    let r = store
        .commit_step(ExecutionStep {
            completion: Some(Completion {
                status: ExecutionStatus::Running,
                output: None,
                error: None,
                cause: None,
                stop_time: 1,
            }),
            ..step(&started(&store, new_execution(&sm, "bad", "{}")).await.arn)
        })
        .await;
    assert!(
        matches!(r, Err(StoreError::StepConflict { .. })),
        "a RUNNING completion: {r:?}"
    );
}

/// A finished execution takes no more steps: a second completion (a
/// StopExecution racing the last state) and a late task result are
/// `ExecutionNotRunning`, and nothing changes.
pub async fn second_completion_and_late_steps_are_refused<S: Store>(store: S) {
    let sm = machine(&store, "twice", StateMachineType::Standard).await;
    let arn = started(&store, new_execution(&sm, "x", "{}")).await.arn;
    store
        .commit_step(ExecutionStep {
            history: vec![event(1, 0, "ExecutionSucceeded")],
            completion: Some(succeeded("1", 10)),
            ..step(&arn)
        })
        .await
        .expect("first completion");
    let before = store.execution(&arn).await.expect("read");
    let stop = ExecutionStep {
        history: vec![event(2, 1, "ExecutionAborted")],
        completion: Some(Completion {
            status: ExecutionStatus::Aborted,
            output: None,
            error: Some("Stopped".to_owned()),
            cause: None,
            stop_time: 11,
        }),
        ..step(&arn)
    };
    assert_eq!(
        store.commit_step(stop).await,
        Err(StoreError::ExecutionNotRunning {
            arn: arn.clone(),
            status: ExecutionStatus::Succeeded
        })
    );
    let late = ExecutionStep {
        journal: vec![JournalEntry {
            seq: 1,
            body: "{}".to_owned(),
        }],
        history: vec![event(2, 1, "TaskSucceeded")],
        timers_started: vec![timer(&arn, 1, 5)],
        ..step(&arn)
    };
    assert!(matches!(
        store.commit_step(late).await,
        Err(StoreError::ExecutionNotRunning { .. })
    ));
    assert_eq!(store.execution(&arn).await.expect("read"), before);
    assert_eq!(store.history(&arn).await.expect("history").len(), 1);
    assert_eq!(store.journal(&arn).await.expect("journal").len(), 1);
    assert_eq!(store.timers(&arn).await.expect("timers"), vec![]);
}

/// A step that is only a completion (what an EXPRESS execution commits; a
/// backend may take a shorter path for it) clears pending timers, is
/// refused on a finished execution, and a RUNNING completion is a
/// `StepConflict` that changes nothing.
pub async fn completion_only_steps_check_and_clear_like_any_step<S: Store>(store: S) {
    let sm = machine(&store, "only", StateMachineType::Standard).await;
    let arn = started(&store, new_execution(&sm, "x", "{}")).await.arn;
    store
        .commit_step(ExecutionStep {
            timers_started: vec![timer(&arn, 1, 50)],
            ..step(&arn)
        })
        .await
        .expect("timer");
    let running = ExecutionStep {
        completion: Some(Completion {
            status: ExecutionStatus::Running,
            ..succeeded("{}", 5)
        }),
        ..step(&arn)
    };
    assert!(matches!(
        store.commit_step(running).await,
        Err(StoreError::StepConflict { .. })
    ));
    assert_eq!(store.timers(&arn).await.expect("timers").len(), 1);
    let done = ExecutionStep {
        completion: Some(succeeded(r#"{"a":1}"#, 9)),
        ..step(&arn)
    };
    store.commit_step(done.clone()).await.expect("complete");
    let r = store.execution(&arn).await.expect("read").expect("exists");
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.output.as_deref(), Some(r#"{"a":1}"#));
    assert_eq!(r.stop_time, Some(9));
    assert_eq!(store.timers(&arn).await.expect("timers"), vec![]);
    assert_eq!(
        store.commit_step(done).await,
        Err(StoreError::ExecutionNotRunning {
            arn: arn.clone(),
            status: ExecutionStatus::Succeeded
        })
    );
    assert_eq!(store.execution(&arn).await.expect("read"), Some(r));

    let express = machine(&store, "only-express", StateMachineType::Express).await;
    let e = started(&store, new_execution(&express, "e", "{}"))
        .await
        .arn;
    store
        .commit_step(ExecutionStep {
            completion: Some(succeeded("{}", 3)),
            ..step(&e)
        })
        .await
        .expect("express completion");
    let r = store.execution(&e).await.expect("read").expect("exists");
    assert_eq!(
        (r.status, r.stop_time),
        (ExecutionStatus::Succeeded, Some(3))
    );
}

/// Committing to an execution that does not exist is an error, even an
/// empty step.
pub async fn commit_step_to_unknown_execution_is_refused<S: Store>(store: S) {
    let arn = "arn:aws:states:us-east-1:123456789012:execution:none:none";
    for s in [
        step(arn),
        ExecutionStep {
            history: vec![event(1, 0, "ExecutionStarted")],
            ..step(arn)
        },
        ExecutionStep {
            completion: Some(succeeded("{}", 1)),
            ..step(arn)
        },
    ] {
        assert_eq!(
            store.commit_step(s).await,
            Err(StoreError::ExecutionDoesNotExist {
                arn: arn.to_owned()
            })
        );
    }
    assert_eq!(store.execution(arn).await.expect("read"), None);
    assert_eq!(store.timers_due(i64::MAX, 10).await.expect("due"), vec![]);
}

/// A step that does not continue the stored journal/history is refused as a
/// whole: none of its journal, history, timers or completion is stored.
pub async fn commit_step_out_of_order_is_refused_and_stores_nothing<S: Store>(store: S) {
    let sm = machine(&store, "order", StateMachineType::Standard).await;
    let arn = started(&store, new_execution(&sm, "o", "{}")).await.arn;
    store
        .commit_step(ExecutionStep {
            journal: vec![JournalEntry {
                seq: 1,
                body: "a".to_owned(),
            }],
            history: vec![
                event(1, 0, "ExecutionStarted"),
                event(2, 1, "PassStateEntered"),
            ],
            timers_started: vec![timer(&arn, 1, 100)],
            ..step(&arn)
        })
        .await
        .expect("first step");
    let good_journal = vec![JournalEntry {
        seq: 2,
        body: "b".to_owned(),
    }];
    let good_history = vec![event(3, 2, "PassStateExited")];
    let bad_steps = [
        // The same step again (a replayed commit): history ids repeat.
        ExecutionStep {
            history: vec![event(1, 0, "ExecutionStarted")],
            ..step(&arn)
        },
        // A gap in history ids.
        ExecutionStep {
            history: vec![event(4, 2, "PassStateExited")],
            ..step(&arn)
        },
        // Non-contiguous within the step.
        ExecutionStep {
            history: vec![event(3, 2, "A"), event(5, 3, "B")],
            ..step(&arn)
        },
        // Journal seq 1 again (entry already stored), or 0 (the input).
        ExecutionStep {
            journal: vec![JournalEntry {
                seq: 1,
                body: "x".to_owned(),
            }],
            ..step(&arn)
        },
        ExecutionStep {
            journal: vec![JournalEntry {
                seq: 0,
                body: "x".to_owned(),
            }],
            ..step(&arn)
        },
        // A journal gap, with otherwise fine history and a completion.
        ExecutionStep {
            journal: vec![JournalEntry {
                seq: 3,
                body: "x".to_owned(),
            }],
            history: good_history.clone(),
            completion: Some(succeeded("{}", 1)),
            ..step(&arn)
        },
        // Fine journal and history, but a timer id that is still pending.
        ExecutionStep {
            journal: good_journal.clone(),
            history: good_history.clone(),
            timers_started: vec![timer(&arn, 2, 10), timer(&arn, 1, 10)],
            ..step(&arn)
        },
    ];
    for (i, bad) in bad_steps.into_iter().enumerate() {
        let r = store.commit_step(bad).await;
        assert!(
            matches!(r, Err(StoreError::StepConflict { .. })),
            "bad step {i}: {r:?}"
        );
    }
    assert_eq!(store.history(&arn).await.expect("history").len(), 2);
    assert_eq!(store.journal(&arn).await.expect("journal").len(), 2);
    assert_eq!(
        store.timers(&arn).await.expect("timers"),
        vec![timer(&arn, 1, 100)]
    );
    assert_eq!(
        store
            .execution(&arn)
            .await
            .expect("read")
            .expect("exists")
            .status,
        ExecutionStatus::Running
    );
    // The right continuation still goes in.
    store
        .commit_step(ExecutionStep {
            journal: good_journal,
            history: good_history,
            ..step(&arn)
        })
        .await
        .expect("next step");
    assert_eq!(store.history(&arn).await.expect("history").len(), 3);
}

/// History, journal and timers of an unknown ARN: `ExecutionDoesNotExist`
/// (AWS's `GetExecutionHistory` answers so).
pub async fn reads_of_unknown_executions<S: Store>(store: S) {
    let arn = "arn:aws:states:us-east-1:123456789012:execution:x:y";
    let missing = Err(StoreError::ExecutionDoesNotExist {
        arn: arn.to_owned(),
    });
    assert_eq!(store.history(arn).await, missing.clone().map(|()| vec![]));
    assert_eq!(store.journal(arn).await, missing.clone().map(|()| vec![]));
    assert_eq!(store.timers(arn).await, missing.map(|()| vec![]));
    assert_eq!(store.running_executions().await.expect("running"), vec![]);
}

/// `list_executions` filters by state machine and status, orders newest
/// first (start time, then most recently stored), and honours the limit.
pub async fn list_executions_filters_and_orders<S: Store>(store: S) {
    let a = machine(&store, "list-a", StateMachineType::Standard).await;
    let b = machine(&store, "list-b", StateMachineType::Express).await;
    let start = |sm: &StateMachineRecord, name: &str, t: i64| NewExecution {
        start_time: t,
        ..new_execution(sm, name, "{}")
    };
    let a1 = started(&store, start(&a, "a1", 100)).await.arn;
    let a2 = started(&store, start(&a, "a2", 300)).await.arn;
    let b1 = started(&store, start(&b, "b1", 200)).await.arn;
    let a3 = started(&store, start(&a, "a3", 300)).await.arn; // same time as a2, stored later
    let b2 = started(&store, start(&b, "b2", 50)).await.arn;
    store
        .commit_step(ExecutionStep {
            completion: Some(succeeded("{}", 400)),
            ..step(&a2)
        })
        .await
        .expect("a2 done");
    store
        .commit_step(ExecutionStep {
            completion: Some(Completion {
                status: ExecutionStatus::Failed,
                output: None,
                error: Some("E".into()),
                cause: None,
                stop_time: 400,
            }),
            ..step(&b1)
        })
        .await
        .expect("b1 failed");

    let arns = |v: Vec<ExecutionRecord>| v.into_iter().map(|r| r.arn).collect::<Vec<_>>();
    let list = |f: ExecutionFilter| {
        let store = &store;
        async move { arns(store.list_executions(f).await.expect("list")) }
    };
    assert_eq!(
        list(ExecutionFilter::default()).await,
        [a3.as_str(), &a2, &b1, &a1, &b2]
    );
    assert_eq!(
        list(ExecutionFilter {
            state_machine_arn: Some(a.arn.clone()),
            ..ExecutionFilter::default()
        })
        .await,
        [a3.as_str(), &a2, &a1]
    );
    assert_eq!(
        list(ExecutionFilter {
            status: Some(ExecutionStatus::Running),
            ..ExecutionFilter::default()
        })
        .await,
        [a3.as_str(), &a1, &b2]
    );
    assert_eq!(
        list(ExecutionFilter {
            state_machine_arn: Some(b.arn.clone()),
            status: Some(ExecutionStatus::Failed),
            limit: None
        })
        .await,
        [b1.as_str()]
    );
    assert_eq!(
        list(ExecutionFilter {
            limit: Some(2),
            ..ExecutionFilter::default()
        })
        .await,
        [a3.as_str(), &a2]
    );
    assert_eq!(
        list(ExecutionFilter {
            limit: Some(0),
            ..ExecutionFilter::default()
        })
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(ExecutionFilter {
            state_machine_arn: Some("arn:none".into()),
            ..ExecutionFilter::default()
        })
        .await,
        Vec::<String>::new()
    );
    let records = store
        .list_executions(ExecutionFilter {
            limit: Some(1),
            ..ExecutionFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(
        Some(&records[0]),
        store.execution(&a3).await.expect("read").as_ref(),
        "full records"
    );
}

/// `running_executions` returns only RUNNING ones, oldest first, of every
/// state machine and type (Express re-runs after a crash too).
pub async fn running_executions_oldest_first<S: Store>(store: S) {
    let a = machine(&store, "run-a", StateMachineType::Standard).await;
    let b = machine(&store, "run-b", StateMachineType::Express).await;
    let start = |sm: &StateMachineRecord, name: &str, t: i64| NewExecution {
        start_time: t,
        ..new_execution(sm, name, "{}")
    };
    let late = started(&store, start(&a, "late", 500)).await;
    let early = started(&store, start(&b, "early", 100)).await;
    let done = started(&store, start(&a, "done", 50)).await;
    let mid = started(&store, start(&a, "mid", 300)).await;
    store
        .commit_step(ExecutionStep {
            completion: Some(succeeded("{}", 600)),
            ..step(&done.arn)
        })
        .await
        .expect("done");
    let running = store.running_executions().await.expect("running");
    assert_eq!(running, vec![early, mid, late]);
}

/// Many tasks starting executions at once: every acknowledged start is
/// stored, none twice.
pub async fn concurrent_starts_lose_nothing<S: Store>(store: S) {
    let store = Arc::new(store);
    let sm = machine(&*store, "concurrent", StateMachineType::Standard).await;
    let express = machine(&*store, "concurrent-x", StateMachineType::Express).await;
    let mut tasks = Vec::new();
    for t in 0..48 {
        let (store, sm, express) = (Arc::clone(&store), sm.clone(), express.clone());
        tasks.push(tokio::spawn(async move {
            let mut arns = Vec::new();
            for i in 0..25 {
                let which = if (t + i) % 3 == 0 { &express } else { &sm };
                let e = new_execution(
                    which,
                    &format!("t{t}-i{i}"),
                    &format!(r#"{{"t":{t},"i":{i}}}"#),
                );
                arns.push(started(&*store, e).await.arn);
            }
            arns
        }));
    }
    let arns = join_all(tasks)
        .await
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    assert_eq!(arns.iter().collect::<HashSet<_>>().len(), 48 * 25);
    let listed = store
        .list_executions(ExecutionFilter::default())
        .await
        .expect("list");
    assert_eq!(listed.len(), 48 * 25);
    assert_eq!(
        store.running_executions().await.expect("running").len(),
        48 * 25
    );
    for arn in arns.iter().step_by(7) {
        let r = store.execution(arn).await.expect("read").expect("stored");
        assert_eq!(
            store.journal(arn).await.expect("journal"),
            vec![JournalEntry {
                seq: 0,
                body: r.input
            }]
        );
    }
}

/// Many tasks starting the same STANDARD name and input at once: exactly one
/// `Started`, every other answer `AlreadyStarted` with that same record.
pub async fn concurrent_same_name_starts_start_once<S: Store>(store: S) {
    let store = Arc::new(store);
    let sm = machine(&*store, "race", StateMachineType::Standard).await;
    let e = new_execution(&sm, "the-one", r#"{"k":"v"}"#);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (store, e) = (Arc::clone(&store), e.clone());
            tokio::spawn(async move {
                store
                    .start_execution(NewExecution { seed: [i; 32], ..e })
                    .await
            })
        })
        .collect();
    let outcomes = join_all(tasks).await;
    let mut first = None;
    let mut records = Vec::new();
    for o in outcomes {
        match o.expect("start") {
            StartOutcome::Started(r) => {
                assert!(first.is_none(), "started twice");
                first = Some(r.clone());
                records.push(r);
            }
            StartOutcome::AlreadyStarted(r) => records.push(r),
        }
    }
    let first = first.expect("one start");
    assert!(records.iter().all(|r| *r == first));
    assert_eq!(
        store
            .list_executions(ExecutionFilter::default())
            .await
            .expect("list")
            .len(),
        1
    );
}

/// Many executions advanced by concurrent tasks, each committing its steps
/// in turn: every history event, journal entry and timer is there, in order.
pub async fn concurrent_commits_lose_nothing<S: Store>(store: S) {
    let store = Arc::new(store);
    let sm = machine(&*store, "steps", StateMachineType::Standard).await;
    let steps: u64 = 30;
    let mut tasks = Vec::new();
    for t in 0..24 {
        let (store, sm) = (Arc::clone(&store), sm.clone());
        tasks.push(tokio::spawn(async move {
            let arn = started(&*store, new_execution(&sm, &format!("exec-{t}"), "{}"))
                .await
                .arn;
            for s in 1..=steps {
                let first = (s - 1) * 3 + 1;
                let mut st = ExecutionStep {
                    journal: vec![JournalEntry {
                        seq: s,
                        body: format!(r#"{{"step":{s}}}"#),
                    }],
                    history: (first..first + 3)
                        .map(|id| event(id, id - 1, "PassStateEntered"))
                        .collect(),
                    timers_started: vec![timer(&arn, s, s as i64 * 10)],
                    timers_cleared: if s > 1 { vec![s - 1] } else { vec![] },
                    ..step(&arn)
                };
                if s == steps && t % 2 == 0 {
                    st.completion = Some(succeeded("{}", 99));
                }
                store.commit_step(st).await.expect("commit");
            }
            arn
        }));
    }
    let arns = join_all(tasks).await;
    for (t, arn) in arns.iter().enumerate() {
        let history = store.history(arn).await.expect("history");
        assert_eq!(
            history.iter().map(|h| h.id).collect::<Vec<_>>(),
            (1..=steps * 3).collect::<Vec<_>>()
        );
        let journal = store.journal(arn).await.expect("journal");
        assert_eq!(
            journal.iter().map(|j| j.seq).collect::<Vec<_>>(),
            (0..=steps).collect::<Vec<_>>()
        );
        let timers = store.timers(arn).await.expect("timers");
        let record = store.execution(arn).await.expect("read").expect("exists");
        if t % 2 == 0 {
            assert_eq!(record.status, ExecutionStatus::Succeeded);
            assert_eq!(timers, vec![]);
        } else {
            assert_eq!(record.status, ExecutionStatus::Running);
            assert_eq!(timers, vec![timer(arn, steps, steps as i64 * 10)]);
        }
    }
    assert_eq!(
        store.timers_due(i64::MAX, 1000).await.expect("due").len(),
        12
    );
}

/// Writes that fail (unknown machine, duplicate name, out-of-order step)
/// interleaved with good ones: the good ones all succeed. (A backend that
/// batches writes into one transaction must not let one bad write sink its
/// batch.)
pub async fn failing_writes_do_not_fail_their_neighbours<S: Store>(store: S) {
    let store = Arc::new(store);
    let sm = machine(&*store, "neighbours", StateMachineType::Standard).await;
    let taken = started(&*store, new_execution(&sm, "taken", r#"{"v":1}"#))
        .await
        .arn;
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let (store, sm, taken) = (Arc::clone(&store), sm.clone(), taken.clone());
        tasks.push(tokio::spawn(async move {
            match i % 4 {
                0 => {
                    let r = store
                        .start_execution(new_execution(&sm, &format!("good-{i}"), "{}"))
                        .await;
                    assert!(
                        matches!(r, Ok(StartOutcome::Started(_))),
                        "good start {i}: {r:?}"
                    );
                }
                1 => {
                    let r = store
                        .start_execution(NewExecution {
                            state_machine_version: 9,
                            ..new_execution(&sm, &format!("bad-{i}"), "{}")
                        })
                        .await;
                    assert!(
                        matches!(r, Err(StoreError::StateMachineDoesNotExist { .. })),
                        "{r:?}"
                    );
                }
                2 => {
                    let r = store
                        .start_execution(new_execution(&sm, "taken", r#"{"v":2}"#))
                        .await;
                    assert!(
                        matches!(r, Err(StoreError::ExecutionAlreadyExists { .. })),
                        "{r:?}"
                    );
                }
                _ => {
                    let r = store
                        .commit_step(ExecutionStep {
                            history: vec![event(i as u64 + 2, 0, "Bad")],
                            ..step(&taken)
                        })
                        .await;
                    assert!(matches!(r, Err(StoreError::StepConflict { .. })), "{r:?}");
                }
            }
        }));
    }
    join_all(tasks).await;
    let running = store.running_executions().await.expect("running");
    assert_eq!(running.len(), 51, "50 good starts and the taken one");
    assert_eq!(store.history(&taken).await.expect("history"), vec![]);
}

async fn join_all<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        match t.await {
            Ok(v) => out.push(v),
            // Re-raise a task's assertion failure with its own message.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

/// `start_execution_with_step`: the start and its first step (history,
/// timers) are stored together; the record stays RUNNING.
pub async fn start_with_step_stores_the_start_and_its_first_step<S: Store>(store: S) {
    let sm = machine(&store, "with-step", StateMachineType::Standard).await;
    let e = new_execution(&sm, "run-1", r#"{"a":1}"#);
    let arn = e.arn.clone();
    let first = ExecutionStep {
        history: vec![
            event(1, 0, "ExecutionStarted"),
            event(2, 1, "WaitStateEntered"),
        ],
        timers_started: vec![timer(&arn, 1, 1_700_000_009_000)],
        ..step(&arn)
    };
    let record = match store.start_execution_with_step(e, first).await {
        Ok(StartOutcome::Started(r)) => r,
        other => panic!("expected Started, got {other:?}"),
    };
    assert_eq!(record.status, ExecutionStatus::Running);
    assert_eq!(record.input, r#"{"a":1}"#);
    let stored = store.execution(&arn).await.expect("read").expect("stored");
    assert_eq!(stored, record);
    let history = store.history(&arn).await.expect("history");
    assert_eq!(history.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(store.timers(&arn).await.expect("timers").len(), 1);
    let running = store.running_executions().await.expect("running");
    assert!(running.iter().any(|r| r.arn == arn));
    // The next step continues after the first one.
    store
        .commit_step(ExecutionStep {
            history: vec![event(3, 2, "WaitStateExited")],
            ..step(&arn)
        })
        .await
        .expect("second step");
}

/// A first step that completes the execution stores it finished: with or
/// without history (EXPRESS keeps none), never listed as running.
pub async fn start_with_step_can_finish_the_execution_at_once<S: Store>(store: S) {
    for machine_type in [StateMachineType::Express, StateMachineType::Standard] {
        let sm = machine(
            &store,
            &format!("at-once-{}", machine_type.as_str()),
            machine_type,
        )
        .await;
        let e = new_execution(&sm, "run-1", r#"{"b":2}"#);
        let arn = e.arn.clone();
        let history = match machine_type {
            StateMachineType::Standard => vec![
                event(1, 0, "ExecutionStarted"),
                event(2, 1, "ExecutionSucceeded"),
            ],
            StateMachineType::Express => Vec::new(),
        };
        let first = ExecutionStep {
            history: history.clone(),
            completion: Some(succeeded(r#"{"out":true}"#, 1_700_000_001_005)),
            ..step(&arn)
        };
        let record = match store.start_execution_with_step(e, first).await {
            Ok(StartOutcome::Started(r)) => r,
            other => panic!("expected Started, got {other:?}"),
        };
        assert_eq!(record.status, ExecutionStatus::Succeeded);
        assert_eq!(record.output.as_deref(), Some(r#"{"out":true}"#));
        assert_eq!(record.stop_time, Some(1_700_000_001_005));
        let stored = store.execution(&arn).await.expect("read").expect("stored");
        assert_eq!(stored, record, "{machine_type:?}");
        assert_eq!(store.history(&arn).await.expect("history"), history);
        let running = store.running_executions().await.expect("running");
        assert!(!running.iter().any(|r| r.arn == arn), "{machine_type:?}");
        // Finished: no more steps.
        let late = store
            .commit_step(ExecutionStep {
                completion: Some(succeeded("{}", 1_700_000_001_006)),
                ..step(&arn)
            })
            .await;
        assert!(
            matches!(late, Err(StoreError::ExecutionNotRunning { .. })),
            "{late:?}"
        );
    }
}

/// A first step that does not fit (another execution's, or not starting
/// the history at 1, or a RUNNING completion) or a start that is refused
/// (unknown version) stores nothing at all.
pub async fn start_with_step_refused_stores_nothing<S: Store>(store: S) {
    let sm = machine(&store, "refused-step", StateMachineType::Standard).await;
    type MakeStep = Box<dyn Fn(&str) -> ExecutionStep>;
    let bad_steps: Vec<(&str, MakeStep)> = vec![
        (
            "other arn",
            Box::new(|_: &str| {
                step("arn:aws:states:us-east-1:123456789012:execution:refused-step:other")
            }),
        ),
        (
            "history from 2",
            Box::new(|arn: &str| ExecutionStep {
                history: vec![event(2, 1, "ExecutionStarted")],
                ..step(arn)
            }),
        ),
        (
            "running completion",
            Box::new(|arn: &str| ExecutionStep {
                completion: Some(Completion {
                    status: ExecutionStatus::Running,
                    output: None,
                    error: None,
                    cause: None,
                    stop_time: 1,
                }),
                ..step(arn)
            }),
        ),
    ];
    for (what, make) in bad_steps {
        let e = new_execution(&sm, "run-1", "{}");
        let arn = e.arn.clone();
        let result = store.start_execution_with_step(e, make(&arn)).await;
        assert!(
            matches!(result, Err(StoreError::StepConflict { .. })),
            "{what}: {result:?}"
        );
        assert_eq!(store.execution(&arn).await.expect("read"), None, "{what}");
    }
    let mut e = new_execution(&sm, "run-2", "{}");
    e.state_machine_version = 99;
    let arn = e.arn.clone();
    let first = ExecutionStep {
        history: vec![event(1, 0, "ExecutionStarted")],
        ..step(&arn)
    };
    let result = store.start_execution_with_step(e, first).await;
    assert!(
        matches!(result, Err(StoreError::StateMachineDoesNotExist { .. })),
        "{result:?}"
    );
    assert_eq!(store.execution(&arn).await.expect("read"), None);
    assert_eq!(
        store.history(&arn).await.ok().unwrap_or_default(),
        Vec::new()
    );
}

/// A STANDARD start that is already running (same name and input) returns
/// the original and does not store the second first step.
pub async fn start_with_step_already_started_stores_no_step<S: Store>(store: S) {
    let sm = machine(&store, "again-step", StateMachineType::Standard).await;
    let e = new_execution(&sm, "run-1", "{}");
    let arn = e.arn.clone();
    let first = |t: &str| ExecutionStep {
        history: vec![event(1, 0, t)],
        ..step(&arn)
    };
    started_with(&store, e.clone(), first("ExecutionStarted")).await;
    let again = store
        .start_execution_with_step(e, first("Again"))
        .await
        .expect("second start");
    assert!(
        matches!(again, StartOutcome::AlreadyStarted(_)),
        "{again:?}"
    );
    let history = store.history(&arn).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].event_type, "ExecutionStarted");
}

async fn started_with<S: Store>(
    store: &S,
    e: NewExecution,
    first: ExecutionStep,
) -> ExecutionRecord {
    match store.start_execution_with_step(e, first).await {
        Ok(StartOutcome::Started(r)) => r,
        other => panic!("expected Started, got {other:?}"),
    }
}
