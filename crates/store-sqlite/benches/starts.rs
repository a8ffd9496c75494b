//! Durable write throughput of the SQLite store, next to the disk's raw
//! fsync rate measured in the same run (the numbers only mean something as
//! ratios: group commit turns many acknowledgements into one fsync).
//!
//! `cargo bench -p store-sqlite --bench starts` prints one JSON line per
//! scenario:
//! - `fsync`: write 4 KiB at offset 0 + `File::sync_data`, in a loop, in the
//!   bench directory (same disk as the target dir), ops/s and latency;
//!   `fsync_append` does the same appending (the file grows, as a WAL does
//!   before its first restart);
//! - `starts_c{1,16,128}`: C tasks each looping `start_execution` with fresh
//!   random (UUID-like) names for ~3 s; acknowledgements/s, p50/p99/max
//!   acknowledgement latency, transactions, starts per transaction, and
//!   `per_fsync` = starts/s ÷ the raw fsync rate;
//! - `starts_c128_ordered`: the same with time-ordered names (UUIDv7-like);
//! - `starts_c128_normal`: `Durability::Normal` (no fsync per commit);
//! - `steps_c128`: 128 running executions, each advanced by its own task with
//!   `commit_step` of 5 history rows + 1 journal entry.
//!
//! `BENCH_SECONDS=N` changes the duration of each scenario; `BENCH_ONLY=name`
//! runs one.

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use store::{
    ExecutionStep, HistoryRow, JournalEntry, NewExecution, NewStateMachine, StateMachineRecord,
    StateMachineType, Store,
};
use store_sqlite::{Durability, SqliteOptions, SqliteStore};

fn bench_dir() -> PathBuf {
    // Cargo's per-target scratch directory: under target/, on the repo's disk.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("store-sqlite-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    dir
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes this process has written (`wchar` of /proc/self/io): WAL frames
/// plus checkpoint writes. Unlike fsync timing, it does not depend on what
/// the disk's other users are doing.
fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("wchar: ")
                    .and_then(|v| v.trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0 // µs → ms
}

fn fsync_rate(dir: &Path, seconds: f64, append: bool) -> (f64, Vec<u64>) {
    let path = dir.join(if append {
        "fsync-append.bin"
    } else {
        "fsync.bin"
    });
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .expect("fsync file");
    let block = [0x5Au8; 4096];
    f.write_all(&block).expect("write");
    f.sync_all().expect("sync");
    let mut lat = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        if !append {
            f.seek(SeekFrom::Start(0)).expect("seek");
        }
        f.write_all(&block).expect("write");
        f.sync_data().expect("sync_data");
        lat.push(t.elapsed().as_micros() as u64);
    }
    let rate = lat.len() as f64 / t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    lat.sort_unstable();
    (rate, lat)
}

fn state_machine() -> NewStateMachine {
    NewStateMachine {
        arn: "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into(),
        name: "bench".into(),
        definition: r#"{"StartAt":"Invoke","States":{"Invoke":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"sample-func","Payload.$":"$"},"OutputPath":"$.Payload","Next":"Done"},"Done":{"Type":"Pass","End":true}}}"#.into(),
        machine_type: StateMachineType::Standard,
        logging: r#"{"level":"OFF"}"#.into(),
        created: 0,
    }
}

/// SplitMix64: cheap, well-mixed, so names land all over the B-trees like
/// random UUIDs do.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn name(task: u64, i: u64, ordered: bool) -> String {
    if ordered {
        // Time-ordered, like UUIDv7: a big-endian counter first.
        format!(
            "{:016x}-{:04x}-{:016x}",
            i * 1024 + task,
            task,
            mix(task << 32 | i)
        )
    } else {
        let (a, b) = (mix(task << 32 | i), mix(!(task << 32 | i)));
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
}

fn new_execution(sm: &StateMachineRecord, name: &str) -> NewExecution {
    NewExecution {
        arn: format!("arn:aws:states:us-east-1:123456789012:execution:bench:{name}"),
        name: name.to_owned(),
        state_machine_arn: sm.arn.clone(),
        state_machine_version: sm.version,
        machine_type: StateMachineType::Standard,
        input: format!(
            r#"{{"headers":{{"content-type":"application/json","x-request-id":"{name}"}},"body":{{"event":"order.created","id":"{name}","amount":1299,"currency":"EUR"}}}}"#
        ),
        start_time: 1_700_000_000_000,
        seed: [3; 32],
    }
}

struct Run {
    acks: usize,
    seconds: f64,
    latencies_us: Vec<u64>,
}

async fn starts(store: &SqliteStore, concurrency: u64, seconds: f64, ordered: bool) -> Run {
    let sm = store.put_state_machine(state_machine()).await.expect("put");
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let (store, sm) = (store.clone(), sm.clone());
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(1 << 16);
                let mut i = 0;
                while Instant::now() < until {
                    let e = new_execution(&sm, &name(task, i, ordered));
                    let t = Instant::now();
                    store.start_execution(e).await.expect("start");
                    lat.push(t.elapsed().as_micros() as u64);
                    i += 1;
                }
                lat
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.expect("task"));
    }
    let seconds = t0.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    Run {
        acks: latencies_us.len(),
        seconds,
        latencies_us,
    }
}

async fn steps(store: &SqliteStore, concurrency: u64, seconds: f64) -> Run {
    let sm = store.put_state_machine(state_machine()).await.expect("put");
    let mut arns = Vec::new();
    for task in 0..concurrency {
        let e = new_execution(&sm, &name(task, 0, false));
        arns.push(e.arn.clone());
        store.start_execution(e).await.expect("start");
    }
    let details = Arc::new(
        r#"{"name":"Invoke","input":"{\"headers\":{\"content-type\":\"application/json\"},\"body\":{\"id\":42}}","inputDetails":{"truncated":false}}"#
            .to_owned(),
    );
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = arns
        .into_iter()
        .map(|arn| {
            let (store, details) = (store.clone(), Arc::clone(&details));
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(1 << 14);
                let mut seq = 1u64;
                let mut id = 1u64;
                while Instant::now() < until {
                    let history = (0..5)
                        .map(|k| HistoryRow {
                            id: id + k,
                            previous_event_id: id + k - 1,
                            timestamp: 1_700_000_000_000 + (id + k) as i64,
                            event_type: "TaskStateEntered".into(),
                            details: details.to_string(),
                        })
                        .collect();
                    let step = ExecutionStep {
                        execution_arn: arn.clone(),
                        journal: vec![JournalEntry {
                            seq,
                            body: r#"{"TaskSucceeded":{"output":"{\"ok\":true}"}}"#.into(),
                        }],
                        history,
                        ..ExecutionStep::default()
                    };
                    let t = Instant::now();
                    store.commit_step(step).await.expect("commit");
                    lat.push(t.elapsed().as_micros() as u64);
                    seq += 1;
                    id += 5;
                }
                lat
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.expect("task"));
    }
    let seconds = t0.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    Run {
        acks: latencies_us.len(),
        seconds,
        latencies_us,
    }
}

/// The default options, with the tuning knobs `BENCH_WAL_MIB`,
/// `BENCH_CHECKPOINT_MS` and `BENCH_MAX_BATCH` for experiments.
fn options() -> SqliteOptions {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let mut o = SqliteOptions::default();
    if let Some(mib) = var("BENCH_WAL_MIB") {
        o.wal_size_limit_bytes = (mib << 20) as i64;
    }
    if let Some(ms) = var("BENCH_CHECKPOINT_MS") {
        o.checkpoint_interval = Duration::from_millis(ms);
    }
    if let Some(n) = var("BENCH_MAX_BATCH") {
        o.max_batch = n as usize;
    }
    o
}

fn main() {
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let only = std::env::var("BENCH_ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let dir = bench_dir();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let (fsync_per_s, fsync_lat) = fsync_rate(&dir, 2.0, false);
    println!(
        "{}",
        json!({"scenario": "fsync", "dir": dir.display().to_string(), "ops_per_s": fsync_per_s.round(),
               "p50_ms": percentile(&fsync_lat, 0.5), "p99_ms": percentile(&fsync_lat, 0.99), "load": load()})
    );
    if wanted("fsync_append") {
        let (rate, lat) = fsync_rate(&dir, 2.0, true);
        println!(
            "{}",
            json!({"scenario": "fsync_append", "ops_per_s": rate.round(), "p50_ms": percentile(&lat, 0.5),
                   "p99_ms": percentile(&lat, 0.99)})
        );
    }

    let scenarios: [(&str, u64, bool, Durability); 5] = [
        ("starts_c1", 1, false, Durability::Full),
        ("starts_c16", 16, false, Durability::Full),
        ("starts_c128", 128, false, Durability::Full),
        ("starts_c128_ordered", 128, true, Durability::Full),
        ("starts_c128_normal", 128, false, Durability::Normal),
    ];
    for (scenario, concurrency, ordered, durability) in scenarios {
        if !wanted(scenario) {
            continue;
        }
        let path = dir.join(format!("{scenario}.db"));
        let store = SqliteStore::open(
            &path,
            SqliteOptions {
                durability,
                ..options()
            },
        )
        .expect("open");
        let before = store.write_stats();
        let written = written_bytes();
        let run = rt.block_on(starts(&store, concurrency, seconds, ordered));
        let written = written_bytes() - written;
        let stats = store.write_stats();
        let per_s = run.acks as f64 / run.seconds;
        let transactions = stats.transactions - before.transactions - 1; // minus put_state_machine
        println!(
            "{}",
            json!({
                "scenario": scenario, "concurrency": concurrency, "durability": format!("{durability:?}"),
                "starts": run.acks, "starts_per_s": per_s.round(),
                "p50_ms": percentile(&run.latencies_us, 0.5), "p99_ms": percentile(&run.latencies_us, 0.99),
                "max_ms": percentile(&run.latencies_us, 1.0),
                "transactions": transactions, "starts_per_transaction": (run.acks as f64 / transactions.max(1) as f64 * 10.0).round() / 10.0,
                "transactions_per_s": (transactions as f64 / run.seconds).round(),
                "per_fsync": (per_s / fsync_per_s * 10.0).round() / 10.0,
                "checkpoints": stats.checkpoints, "writer_checkpoints": stats.writer_checkpoints,
                "writer_checkpoint_max_ms": stats.writer_checkpoint_max_micros as f64 / 1000.0,
                "writer_apply_s": ((stats.apply_micros - before.apply_micros) as f64 / 1e4).round() / 100.0,
                "writer_commit_s": ((stats.commit_micros - before.commit_micros) as f64 / 1e4).round() / 100.0,
                "written_kib_per_start": (written as f64 / 1024.0 / run.acks.max(1) as f64 * 100.0).round() / 100.0,
                "db_mib": file_mib(&path), "wal_mib": file_mib(&dir.join(format!("{scenario}.db-wal"))),
                "load": load(),
            })
        );
        drop(store);
    }

    if wanted("steps_c128") {
        let path = dir.join("steps_c128.db");
        let store = SqliteStore::open(&path, options()).expect("open");
        let written = written_bytes();
        let run = rt.block_on(steps(&store, 128, seconds));
        let written = written_bytes() - written;
        let stats = store.write_stats();
        let per_s = run.acks as f64 / run.seconds;
        let transactions = stats.transactions - 1 - 128; // minus setup
        println!(
            "{}",
            json!({
                "scenario": "steps_c128", "concurrency": 128, "steps": run.acks, "steps_per_s": per_s.round(),
                "history_rows_per_s": (per_s * 5.0).round(),
                "written_kib_per_step": (written as f64 / 1024.0 / run.acks.max(1) as f64 * 100.0).round() / 100.0,
                "p50_ms": percentile(&run.latencies_us, 0.5), "p99_ms": percentile(&run.latencies_us, 0.99),
                "max_ms": percentile(&run.latencies_us, 1.0),
                "steps_per_transaction": (run.acks as f64 / transactions.max(1) as f64 * 10.0).round() / 10.0,
                "per_fsync": (per_s / fsync_per_s * 10.0).round() / 10.0,
                "writer_apply_s": (stats.apply_micros as f64 / 1e4).round() / 100.0,
                "writer_commit_s": (stats.commit_micros as f64 / 1e4).round() / 100.0,
                "writer_checkpoints": stats.writer_checkpoints,
                "load": load(),
            })
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn file_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| {
        (m.len() as f64 / (1 << 20) as f64 * 10.0).round() / 10.0
    })
}
