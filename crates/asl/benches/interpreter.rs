//! Benchmarks of the pure interpreter, with the same workloads as
//! `../shared/peers/aws-local-stepfunctions/bench.mjs` so the numbers compare
//! side by side (see `scripts/bench-interpreter.sh` and BENCHMARKS.md).
//!
//! `cargo bench -p asl --bench interpreter` prints one JSON line per scenario
//! (medians of several runs): `chain1000` (one execution of 1,000 Pass
//! states), `choice10k` (10,000 executions of Pass → Choice → Succeed),
//! `map10k` (an inline Map over 10,000 items with a Pass inside). Each runs
//! with history recording on (as the engine will) and off.

use std::sync::Arc;
use std::time::Instant;

use asl::definition::Definition;
use asl::entropy::SplitMix64;
use asl::interpreter::{ExecutionInfo, Options, Status};
use asl::parse::parse_definition;
use asl::runner::{NoTaskHandlers, VirtualClock, run_to_completion};
use serde_json::{Value, json};

// The same allocator as the `stepgate` binary, so the numbers are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn chain_definition(n: usize) -> String {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut s = json!({"Type": "Pass", "Result": i, "ResultPath": "$.last"});
        if i == n - 1 {
            s["End"] = json!(true);
        } else {
            s["Next"] = json!(format!("P{}", i + 1));
        }
        states.insert(format!("P{i}"), s);
    }
    json!({"StartAt": "P0", "States": states}).to_string()
}

const CHOICE: &str = r#"{"StartAt":"Stamp","States":{
  "Stamp":{"Type":"Pass","Result":"ok","ResultPath":"$.stamp","Next":"Route"},
  "Route":{"Type":"Choice","Choices":[{"Variable":"$.n","NumericGreaterThanEquals":0,"Next":"Done"}],"Default":"Done"},
  "Done":{"Type":"Succeed"}}}"#;

const MAP: &str = r#"{"StartAt":"Each","States":{"Each":{"Type":"Map","ItemsPath":"$.items",
  "ItemProcessor":{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"Touch",
    "States":{"Touch":{"Type":"Pass","Result":true,"ResultPath":"$.seen","End":true}}},
  "ResultPath":"$.out","End":true}}}"#;

fn run(def: &Arc<Definition>, input: Value, record_history: bool) -> Arc<Value> {
    // ARNs are made once per state machine and execution name by whoever
    // starts executions (the engine); the interpreter only shares them.
    thread_local! {
        static INFO: ExecutionInfo = ExecutionInfo::local("bench", "bench", 0);
    }
    let info = INFO.with(ExecutionInfo::clone);
    let result = run_to_completion(
        Arc::clone(def),
        info,
        // The Map workload's output (input items plus 10,000 results) is over
        // AWS's 256 KiB limit, and its 40,000 events over AWS's 25,000-event
        // history limit; aws-local-stepfunctions enforces neither.
        Options {
            record_history,
            max_payload_bytes: 64 << 20,
            max_history_events: None,
        },
        input,
        &mut NoTaskHandlers,
        &mut VirtualClock(0),
        &mut SplitMix64(1),
    );
    match result.status {
        Status::Succeeded(v) => v,
        other => panic!("benchmark execution did not succeed: {other:?}"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runs = 7;
    // `BENCH_ONLY=map10k` (or chain1000, choice10k) runs one scenario, for profiling.
    let only = std::env::var("BENCH_ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    for record_history in [true, false] {
        let label = if record_history { "" } else { "_nohistory" };

        if wanted("chain1000") {
            let t0 = Instant::now();
            let chain = Arc::new(parse_definition(&chain_definition(1000)).expect("chain parses"));
            let construct_ms = t0.elapsed().as_secs_f64() * 1e3;
            let times: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    let out = run(&chain, json!({"x": 1}), record_history);
                    assert_eq!(out["last"], json!(999));
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let run_ms = median(times);
            println!(
                "{}",
                json!({"scenario": format!("chain1000{label}"), "construct_ms": construct_ms, "run_ms": run_ms,
                   "transitions_per_s": (1000.0 / (run_ms / 1e3)).round()})
            );
        }

        if wanted("choice10k") {
            let choice = Arc::new(parse_definition(CHOICE).expect("choice parses"));
            let times: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    for i in 0..10_000 {
                        let out = run(&choice, json!({"n": i}), record_history);
                        assert_eq!(out["stamp"], json!("ok"));
                    }
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let run_ms = median(times);
            println!(
                "{}",
                json!({"scenario": format!("choice10k{label}"), "run_ms": run_ms, "executions": 10_000,
                   "exec_per_s": (10_000.0 / (run_ms / 1e3)).round()})
            );
        }

        if wanted("map10k") {
            let map = Arc::new(parse_definition(MAP).expect("map parses"));
            let items: Vec<Value> = (0..10_000).map(|i| json!({"i": i})).collect();
            let times: Vec<f64> = (0..runs)
                .map(|_| {
                    let input = json!({"items": items.clone()});
                    let t = Instant::now();
                    let out = run(&map, input, record_history);
                    assert_eq!(out["out"][9999]["seen"], json!(true));
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let run_ms = median(times);
            println!(
                "{}",
                json!({"scenario": format!("map10k{label}"), "run_ms": run_ms, "items": 10_000,
                   "items_per_s": (10_000.0 / (run_ms / 1e3)).round()})
            );
        }
    }
}
