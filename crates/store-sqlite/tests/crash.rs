//! Crash safety: every acknowledged write survives `kill -9`.
//!
//! The parent re-runs this test binary as a child (the ignored `crash_child`
//! test, selected with `--exact --ignored`), which starts executions and
//! commits steps from many tasks and prints each acknowledged one. The
//! parent SIGKILLs it mid-flight, reopens the store and checks that every
//! printed start and step is there, and that no step is half-stored.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use store::testkit::{event, new_execution, new_state_machine};
use store::{ExecutionStep, JournalEntry, StateMachineType, Store};
use store_sqlite::{Durability, SqliteOptions, SqliteStore};

const CHILD_ENV: &str = "STORE_SQLITE_CRASH_CHILD";
const DURABILITY_ENV: &str = "STORE_SQLITE_CRASH_DURABILITY";

fn options(durability: &str) -> SqliteOptions {
    let durability = if durability == "normal" {
        Durability::Normal
    } else {
        Durability::Full
    };
    SqliteOptions {
        durability,
        ..SqliteOptions::default()
    }
}

/// The child: writes until killed (or, as a bound, for 60 s).
#[test]
#[ignore = "child process of the crash tests; runs only when they start it"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let durability = std::env::var(DURABILITY_ENV).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = SqliteStore::open(&path, options(&durability)).unwrap();
        let sm = store
            .put_state_machine(new_state_machine("crash", StateMachineType::Standard))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let tasks: Vec<_> = (0..32)
            .map(|t| {
                let (store, sm) = (store.clone(), sm.clone());
                tokio::spawn(async move {
                    let mut i = 0;
                    while Instant::now() < deadline {
                        let e = new_execution(
                            &sm,
                            &format!("t{t}-{i}"),
                            &format!(r#"{{"t":{t},"i":{i}}}"#),
                        );
                        store.start_execution(e.clone()).await.unwrap();
                        ack(&format!("start {}", e.arn));
                        store
                            .commit_step(ExecutionStep {
                                execution_arn: e.arn.clone(),
                                journal: vec![JournalEntry {
                                    seq: 1,
                                    body: format!(r#"{{"i":{i}}}"#),
                                }],
                                history: vec![
                                    event(1, 0, "ExecutionStarted"),
                                    event(2, 1, "PassStateEntered"),
                                ],
                                ..ExecutionStep::default()
                            })
                            .await
                            .unwrap();
                        ack(&format!("step {}", e.arn));
                        i += 1;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// One line per acknowledgement, written whole (one `write_all` under the
/// stdout lock) so the parent never mistakes half a line for an ack.
fn ack(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(format!("{line}\n").as_bytes()).unwrap();
    out.flush().unwrap();
}

fn kill_mid_flight_and_check(durability: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .env(DURABILITY_ENV, durability)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut acked_starts = Vec::new();
    let mut acked_steps = Vec::new();
    let mut line = String::new();
    let mut killed = false;
    let started = Instant::now();
    loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        // A line cut by the kill has no newline: not an acknowledgement.
        let Some(l) = line.strip_suffix('\n') else {
            break;
        };
        if let Some(arn) = l.strip_prefix("start ") {
            acked_starts.push(arn.to_owned());
        } else if let Some(arn) = l.strip_prefix("step ") {
            acked_steps.push(arn.to_owned());
        }
        if !killed && (acked_starts.len() >= 3_000 || started.elapsed() > Duration::from_secs(30)) {
            child.kill().unwrap(); // SIGKILL
            killed = true;
        }
    }
    // Lines still in the pipe when the child died were acknowledged too.
    let status = child.wait().unwrap();
    assert!(killed, "the child ended by itself: {status:?}");
    assert!(
        acked_starts.len() >= 100,
        "the child acknowledged only {} starts",
        acked_starts.len()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(check_after_restart(
        &path,
        durability,
        &acked_starts,
        &acked_steps,
    ));
}

async fn check_after_restart(path: &Path, durability: &str, starts: &[String], steps: &[String]) {
    let store =
        SqliteStore::open(path, options(durability)).expect("the store reopens after kill -9");
    let running = store.running_executions().await.unwrap();
    let by_arn: HashMap<&str, _> = running.iter().map(|r| (r.arn.as_str(), r)).collect();
    for arn in starts {
        assert!(
            by_arn.contains_key(arn.as_str()),
            "acknowledged start {arn} is missing"
        );
    }
    for arn in steps {
        assert_eq!(
            store.history(arn).await.unwrap().len(),
            2,
            "acknowledged step of {arn} is missing"
        );
        assert_eq!(
            store.journal(arn).await.unwrap().len(),
            2,
            "acknowledged journal entry of {arn} is missing"
        );
    }
    // Unacknowledged work may or may not be there, but never half of a step.
    for r in &running {
        let history = store.history(&r.arn).await.unwrap().len();
        let journal = store.journal(&r.arn).await.unwrap().len();
        assert!(
            (history, journal) == (0, 1) || (history, journal) == (2, 2),
            "{}: half a step",
            r.arn
        );
    }
    eprintln!(
        "crash test ({durability}): {} acknowledged starts and {} steps all present; {} executions stored",
        starts.len(),
        steps.len(),
        running.len()
    );
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    kill_mid_flight_and_check("full");
}

#[test]
fn acknowledged_writes_survive_kill_9_with_durability_normal() {
    kill_mid_flight_and_check("normal");
}
