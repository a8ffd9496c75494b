//! The SQLite store passes the conformance suite every backend runs, with
//! the default options and with tiny batches and a tiny queue (batch
//! boundaries and back-pressure everywhere); and what it stores survives
//! closing and reopening the file.

use std::sync::atomic::{AtomicUsize, Ordering};

use store::testkit::{event, new_execution, new_state_machine};
use store::{ExecutionStep, JournalEntry, StartOutcome, StateMachineType, Store};
use store_sqlite::{Durability, SqliteOptions, SqliteStore};

async fn run_kit_with(options: SqliteOptions) {
    let dir = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    store::testkit::run_all(|| {
        let path = dir
            .path()
            .join(format!("kit-{}.db", n.fetch_add(1, Ordering::Relaxed)));
        SqliteStore::open(path, options.clone()).unwrap()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_default_options() {
    run_kit_with(SqliteOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_small_batches_and_queue() {
    run_kit_with(SqliteOptions {
        max_batch: 3,
        queue_capacity: 1,
        read_connections: 1,
        ..SqliteOptions::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_durability_normal() {
    run_kit_with(SqliteOptions {
        durability: Durability::Normal,
        ..SqliteOptions::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen_and_the_file_is_wal_at_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.db");
    let arn = {
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        let sm = store
            .put_state_machine(new_state_machine("reopen", StateMachineType::Standard))
            .await
            .unwrap();
        let e = new_execution(&sm, "r", r#"{"kept":true}"#);
        assert!(matches!(
            store.start_execution(e.clone()).await.unwrap(),
            StartOutcome::Started(_)
        ));
        store
            .commit_step(ExecutionStep {
                execution_arn: e.arn.clone(),
                journal: vec![JournalEntry {
                    seq: 1,
                    body: "j1".into(),
                }],
                history: vec![event(1, 0, "ExecutionStarted")],
                ..ExecutionStep::default()
            })
            .await
            .unwrap();
        let stats = store.write_stats();
        assert_eq!((stats.transactions, stats.commands), (3, 3));
        e.arn
    };
    // Reopening runs no migration twice and finds everything.
    for _ in 0..2 {
        let store = SqliteStore::open(&path, SqliteOptions::default()).unwrap();
        assert_eq!(
            store.execution(&arn).await.unwrap().unwrap().input,
            r#"{"kept":true}"#
        );
        assert_eq!(store.history(&arn).await.unwrap().len(), 1);
        assert_eq!(store.journal(&arn).await.unwrap().len(), 2);
        assert_eq!(store.running_executions().await.unwrap().len(), 1);
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x5347_6174);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        [
            "executions",
            "history_events",
            "journal_entries",
            "state_machines",
            "timers"
        ]
    );
}

/// Many concurrent starts are group-committed: far fewer transactions than
/// starts (what the benchmark measures, checked here so a regression to one
/// fsync per start fails a test, not just a number).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_starts_share_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("batch.db"), SqliteOptions::default()).unwrap();
    let sm = store
        .put_state_machine(new_state_machine("batch", StateMachineType::Standard))
        .await
        .unwrap();
    let before = store.write_stats();
    let tasks: Vec<_> = (0..64)
        .map(|t| {
            let (store, sm) = (store.clone(), sm.clone());
            tokio::spawn(async move {
                for i in 0..20 {
                    store
                        .start_execution(new_execution(&sm, &format!("b{t}-{i}"), "{}"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let after = store.write_stats();
    let commands = after.commands - before.commands;
    let transactions = after.transactions - before.transactions;
    assert_eq!(commands, 64 * 20);
    assert!(
        transactions * 4 < commands,
        "{transactions} transactions for {commands} starts: not batching"
    );
}
