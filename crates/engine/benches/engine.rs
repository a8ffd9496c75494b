//! Engine throughput on the SQLite store (issue 3's floors), printed as JSON
//! lines: Standard state transitions per second (every step committed with
//! fsync before the next), and Express Pass-state transitions per second
//! (durable start record, in-memory run, durable completion). The disk's raw
//! fsync rate is measured in the same run.
//!
//! `cargo bench -p engine --bench engine`

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use engine::scheduler::{Engine, EngineClock, Limits, NoTasks, StartRequest};
use serde_json::{Value, json};
use store::{ExecutionFilter, ExecutionStatus, NewStateMachine, StateMachineType, Store};
use store_sqlite::{SqliteOptions, SqliteStore};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SM: &str = "arn:aws:states:local:000000000000:stateMachine:bench";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn bench_dir() -> std::path::PathBuf {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-engine");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

fn fsync_rate(dir: &std::path::Path) -> f64 {
    let mut f = std::fs::File::create(dir.join("fsync.probe")).expect("probe file");
    let block = [7u8; 4096];
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_secs(2) {
        f.write_all(&block).expect("write");
        f.sync_data().expect("fsync");
        n += 1;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// Starts executions from `starters` concurrent tasks for `seconds`, then
/// waits until all have finished; returns (executions, elapsed).
async fn drive(engine: &Engine<SqliteStore>, starters: usize, seconds: u64) -> (usize, Duration) {
    let started = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let deadline = t + Duration::from_secs(seconds);
    let mut handles = Vec::new();
    for s in 0..starters {
        let engine = engine.clone();
        let started = Arc::clone(&started);
        handles.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let req = StartRequest {
                    state_machine_arn: SM.into(),
                    name: Some(format!("s{s}-{i}")),
                    input: Some(format!(r#"{{"n":{i}}}"#)),
                };
                engine.start_execution(req).await.expect("start");
                started.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    for h in handles {
        h.await.expect("starter");
    }
    let total = started.load(Ordering::Relaxed);
    // Wait until none is running.
    loop {
        let running = engine
            .store()
            .list_executions(ExecutionFilter {
                status: Some(ExecutionStatus::Running),
                limit: Some(1),
                ..Default::default()
            })
            .await
            .expect("list");
        if running.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (total, t.elapsed())
}

async fn scenario(
    dir: &std::path::Path,
    label: &str,
    machine_type: StateMachineType,
    definition: Value,
    transitions_per_execution: usize,
) {
    let store = SqliteStore::open(dir.join(format!("{label}.db")), SqliteOptions::default())
        .expect("open store");
    store
        .put_state_machine(NewStateMachine {
            arn: SM.into(),
            name: "bench".into(),
            definition: definition.to_string(),
            machine_type,
            logging: "{}".into(),
            created: now_ms(),
        })
        .await
        .expect("state machine");
    let engine = Engine::new(
        store,
        Arc::new(NoTasks),
        EngineClock::new(now_ms()),
        Limits::default(),
        7,
    );
    let (executions, elapsed) = drive(&engine, 128, 3).await;
    let succeeded = engine
        .store()
        .list_executions(ExecutionFilter {
            status: Some(ExecutionStatus::Succeeded),
            limit: Some(usize::MAX),
            ..Default::default()
        })
        .await
        .expect("list")
        .len();
    assert_eq!(succeeded, executions, "every execution succeeded");
    let secs = elapsed.as_secs_f64();
    println!(
        "{}",
        json!({"scenario": label, "executions": executions, "seconds": secs,
               "executions_per_s": (executions as f64 / secs).round(),
               "transitions_per_s": ((executions * transitions_per_execution) as f64 / secs).round()})
    );
}

fn main() {
    let dir = bench_dir();
    println!(
        "{}",
        json!({"scenario": "disk_fsync", "fsync_per_s": fsync_rate(&dir).round()})
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // Standard: Pass -> Choice -> Wait 0 s (a durable timer: two commits) -> Pass -> Succeed.
        let standard = json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": "W"}], "Default": "W"},
            "W": {"Type": "Wait", "Seconds": 0, "Next": "B"},
            "B": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"}}});
        scenario(&dir, "standard_transitions", StateMachineType::Standard, standard, 5).await;
        // Express: ten Pass states.
        let mut states = serde_json::Map::new();
        for i in 0..10 {
            let mut s = json!({"Type": "Pass", "Result": i, "ResultPath": "$.last"});
            if i == 9 { s["End"] = json!(true) } else { s["Next"] = json!(format!("P{}", i + 1)) }
            states.insert(format!("P{i}"), s);
        }
        scenario(&dir, "express_pass_transitions", StateMachineType::Express, json!({"StartAt": "P0", "States": states}), 10).await;
    });
    let _ = std::fs::remove_dir_all(&dir);
}
