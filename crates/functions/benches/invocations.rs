//! Warm invocations of a trivial function through the `lambda-runtime`
//! runtime (a Rust function built with AWS's `lambda_runtime` crate,
//! `examples/lambda_echo.rs`) against the `command` runtime (`cat`: one
//! process per invocation) in the same run, as the engine invokes tasks
//! (`TaskInvoker::invoke` with `arn:aws:states:::lambda:invoke`).
//! Printed as JSON lines: invocations per second with `concurrency = 4`
//! (8 callers keep the 4 slots busy), and the latency of one invocation at
//! a time — the runtime's added cost, since the function itself does
//! nothing.
//!
//! `cargo bench -p functions --bench invocations [-- SECONDS]`

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use asl::interpreter::TaskRequest;
use engine::scheduler::TaskInvoker;
use functions::FunctionInvoker;
use serde_json::json;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CALLERS: usize = 8;

fn lambda_echo() -> PathBuf {
    let exe = std::env::current_exe().expect("bench executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile directory")
        .to_path_buf();
    let path = profile_dir.join("examples").join("lambda_echo");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "-q",
            "--release",
            "-p",
            "functions",
            "--example",
            "lambda_echo",
        ])
        .status()
        .expect("cargo build of the lambda_echo example");
    assert!(status.success(), "cannot build examples/lambda_echo.rs");
    path
}

fn task(name: &str) -> TaskRequest {
    TaskRequest {
        task: 1,
        resource: "arn:aws:states:::lambda:invoke".to_owned(),
        parameters: json!({"FunctionName": name, "Payload": {"order": 42, "items": ["a", "b"]}}),
        state_name: "Invoke".into(),
        timeout_seconds: None,
        heartbeat_seconds: None,
        task_token: None,
    }
}

/// Invocations per second with `callers` concurrent callers for `seconds`.
async fn throughput(invoker: &FunctionInvoker, name: &str, callers: usize, seconds: u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..callers {
        let (invoker, stop, name) = (invoker.clone(), Arc::clone(&stop), name.to_owned());
        handles.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                invoker.invoke(task(&name)).await.expect("invocation");
                n += 1;
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for h in handles {
        total += h.await.expect("caller");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Latency percentiles (ms) of one invocation at a time.
async fn latency(invoker: &FunctionInvoker, name: &str, n: usize) -> (f64, f64) {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        invoker.invoke(task(name)).await.expect("invocation");
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    (samples[n / 2], samples[n * 99 / 100])
}

fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let echo = lambda_echo();
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "[functions.warm]\nruntime = \"lambda-runtime\"\ncommand = [{:?}]\nconcurrency = 4\n\n\
         [functions.cat]\nruntime = \"command\"\ncommand = [\"cat\"]\nconcurrency = 4\n",
        echo.display().to_string()
    );
    let path = dir.path().join("stepgate.toml");
    let config = config::parse(&text, &path).expect("config");
    let invoker = FunctionInvoker::from_config(&config, dir.path()).expect("invoker");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        for (name, runtime) in [("warm", "lambda-runtime"), ("cat", "command")] {
            // Warm up (starts the lambda-runtime processes).
            throughput(&invoker, name, CALLERS, 1).await;
            let per_second = throughput(&invoker, name, CALLERS, seconds).await;
            let samples = if runtime == "command" { 500 } else { 5000 };
            let (p50, p99) = latency(&invoker, name, samples).await;
            println!(
                "{}",
                json!({
                    "runtime": runtime,
                    "concurrency": 4,
                    "callers": CALLERS,
                    "invocations_per_second": per_second.round(),
                    "one_at_a_time_p50_ms": (p50 * 1000.0).round() / 1000.0,
                    "one_at_a_time_p99_ms": (p99 * 1000.0).round() / 1000.0,
                })
            );
        }
    });
}
