//! `stepgate run --store`: executions survive `kill -9` and durable timers
//! fire once, after their deadline.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_stepgate")
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "stepgate-durable-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[test]
fn a_durable_wait_survives_kill_9_and_fires_once_after_its_deadline() {
    let dir = temp_dir();
    let def = dir.join("wait.asl.json");
    std::fs::write(
        &def,
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"x","ResultPath":"$.p","Next":"W"},"W":{"Type":"Wait","Seconds":3,"Next":"Done"},"Done":{"Type":"Succeed"}}}"#,
    )
    .expect("write definition");
    let store = format!("sqlite://{}", dir.join("store.db").display());
    let args = [
        "run",
        "--store",
        &store,
        "--definition",
        def.to_str().unwrap(),
        "--name",
        "survivor",
        "--input",
        r#"{"k":1}"#,
    ];

    let started = Instant::now();
    let mut first = Command::new(bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1000));
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    // Stay down across the Wait's deadline: the timer must fire after the
    // restart, once, not be lost and not run early.
    std::thread::sleep(Duration::from_millis(3500));

    // Same name and input: StartExecution returns the existing execution,
    // which the new process recovered from the store and runs to the end.
    let out = Command::new(bin()).args(args).output().expect("second run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(result["status"], "SUCCEEDED", "{result}");
    assert_eq!(result["output"], serde_json::json!({"k": 1, "p": "x"}));
    assert!(started.elapsed() >= Duration::from_millis(4500));

    let history = Command::new(bin())
        .args([
            "executions",
            "--store",
            &store,
            "--json",
            "history",
            result["executionArn"].as_str().unwrap(),
        ])
        .output()
        .expect("history");
    let events: Value = serde_json::from_slice(&history.stdout).expect("history JSON");
    let events = events["events"].as_array().expect("events");
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types.iter().filter(|t| **t == "WaitStateExited").count(),
        1,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| **t == "PassStateEntered").count(),
        1,
        "transitions exactly once: {types:?}"
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"].as_u64(), Some(i as u64 + 1));
        assert_eq!(e["previousEventId"].as_u64(), Some(i as u64));
    }
    // The wait fired after its deadline (3 s after it was entered).
    let time = |t: &str| {
        events
            .iter()
            .find(|e| e["type"] == t)
            .and_then(|e| e["timestamp"].as_str())
            .unwrap()
            .to_owned()
    };
    let entered: jiff::Timestamp = time("WaitStateEntered").parse().unwrap();
    let exited: jiff::Timestamp = time("WaitStateExited").parse().unwrap();
    assert!(
        exited.duration_since(entered).as_millis() >= 3000,
        "{entered} -> {exited}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_store_in_use_can_be_read_but_not_run_by_a_second_process() {
    let dir = temp_dir();
    let def = dir.join("w.asl.json");
    std::fs::write(
        &def,
        r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":5,"End":true}}}"#,
    )
    .unwrap();
    let store = format!("sqlite://{}", dir.join("store.db").display());
    let mut first = Command::new(bin())
        .args([
            "run",
            "--store",
            &store,
            "--definition",
            def.to_str().unwrap(),
            "--name",
            "busy",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let list = Command::new(bin())
        .args(["executions", "--store", &store, "--json", "list"])
        .output()
        .unwrap();
    let second = Command::new(bin())
        .args([
            "run",
            "--store",
            &store,
            "--definition",
            def.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(listed["executions"][0]["status"], "RUNNING");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("store.db"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
