//! `stepgate run --store sqlite://FILE` and `stepgate executions ...`: the
//! durable engine on the embedded store, from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use engine::scheduler::{Engine, EngineClock, Limits, StartRequest, TaskInvoker};
use serde_json::{Map, Value, json};
use store::{
    ExecutionFilter, ExecutionRecord, ExecutionStatus, NewStateMachine, StartOutcome,
    StateMachineType, Store,
};
use store_sqlite::{SqliteOptions, SqliteStore};

use crate::system::{now_millis, os_entropy};

/// Parses `sqlite://FILE` (or a plain path).
pub(crate) fn sqlite_path(url: &str) -> Result<PathBuf> {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        if rest.is_empty() {
            bail!("--store {url}: give a file, e.g. sqlite://stepgate.db");
        }
        return Ok(PathBuf::from(rest));
    }
    if url.contains("://") {
        bail!(
            "--store {url}: only sqlite://FILE is supported yet (postgres:// comes with the PostgreSQL store)"
        );
    }
    Ok(PathBuf::from(url))
}

fn open(path: &Path) -> Result<SqliteStore> {
    SqliteStore::open(path, SqliteOptions::default()).map_err(|e| anyhow!("{e}"))
}

/// The async runtime every store-backed command runs on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A state machine to store before the engine starts.
pub(crate) struct Machine {
    pub(crate) name: String,
    pub(crate) definition: String,
    pub(crate) machine_type: StateMachineType,
    /// Logging configuration as JSON text (`{}` = off).
    pub(crate) logging: String,
}

/// Opens the store at `path`, stores (or versions) `machines` at their local
/// ARNs, builds the engine and resumes what an earlier process left
/// unfinished: the start-up of `run --store` and `serve`. `tasks` runs Task
/// states (`NoTasks` where there is no config with functions).
pub(crate) async fn start_engine(
    path: &Path,
    machines: Vec<Machine>,
    tasks: Arc<dyn TaskInvoker>,
) -> Result<Engine<SqliteStore>> {
    let store = open(path)?;
    for m in machines {
        store
            .put_state_machine(NewStateMachine {
                arn: gateway::state_machine_arn(&m.name),
                name: m.name.clone(),
                definition: m.definition,
                machine_type: m.machine_type,
                logging: m.logging,
                created: now_millis(),
            })
            .await
            .map_err(|e| anyhow!("state machine {}: {e}", m.name))?;
    }
    let engine = Engine::new(
        store,
        tasks,
        EngineClock::new(now_millis()),
        Limits::default(),
        asl::entropy::Entropy::next_u64(&mut os_entropy()),
    );
    let resumed = engine.recover().await.map_err(|e| anyhow!("{e}"))?;
    if resumed > 0 {
        tracing::info!(resumed, "resumed unfinished executions");
    }
    Ok(engine)
}

/// Runs one execution of `machine` durably, its Task states through
/// `tasks`, and prints its result like the in-memory `run`.
pub(crate) fn run_durable(
    store_url: &str,
    machine: Machine,
    tasks: Arc<dyn TaskInvoker>,
    name: Option<String>,
    input: String,
) -> Result<ExitCode> {
    let path = sqlite_path(store_url)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let arn = gateway::state_machine_arn(&machine.name);
        let engine = start_engine(&path, vec![machine], tasks).await?;
        // Run again with the same name and input, it is the same execution
        // (maybe finished meanwhile by recovery): its result is printed.
        let outcome = engine
            .start_or_find(StartRequest {
                state_machine_arn: arn,
                name,
                input: Some(input),
            })
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let record = match outcome {
            StartOutcome::Started(r) | StartOutcome::AlreadyStarted(r) => r,
        };
        let done = engine
            .wait_for(&record.arn, Duration::from_secs(366 * 24 * 3600))
            .await
            .map_err(|e| anyhow!("{e}"))?
            .unwrap_or(record);
        println!("{}", result_json(&done));
        Ok(ExitCode::SUCCESS)
    })
}

/// `{"status", "output" | "error", "cause", "executionArn"}`.
fn result_json(r: &ExecutionRecord) -> Value {
    let mut out = Map::new();
    out.insert("status".into(), json!(r.status.as_str()));
    match r.status {
        ExecutionStatus::Succeeded => {
            let output = r
                .output
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok())
                .unwrap_or(Value::Null);
            out.insert("output".into(), output);
        }
        ExecutionStatus::Running => {}
        _ => {
            out.insert("error".into(), json!(r.error));
            out.insert("cause".into(), json!(r.cause));
        }
    }
    out.insert("executionArn".into(), json!(r.arn));
    Value::Object(out)
}

/// `stepgate executions ...`
#[derive(Debug, Args)]
pub(crate) struct ExecutionsArgs {
    /// The store to read (`sqlite://FILE`).
    #[arg(long, default_value = "sqlite://stepgate.db")]
    store: String,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: ExecutionsCommand,
}

#[derive(Debug, Subcommand)]
enum ExecutionsCommand {
    /// Executions, newest first.
    List {
        /// Only this status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED).
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One execution.
    Describe {
        /// The execution ARN.
        arn: String,
    },
    /// An execution's history events.
    History {
        /// The execution ARN.
        arn: String,
    },
}

pub(crate) fn executions(args: ExecutionsArgs) -> Result<ExitCode> {
    let path = sqlite_path(&args.store)?;
    if !path.exists() {
        bail!(
            "{}: no such store; run `stepgate run --store sqlite://{}` or `stepgate serve` first",
            path.display(),
            path.display()
        );
    }
    let rt = runtime()?;
    rt.block_on(async move {
        // Read-only and lock-free: works while `serve` or `run` holds the store.
        let store = SqliteStore::open_for_reading(&path).map_err(|e| anyhow!("{e}"))?;
        match args.command {
            ExecutionsCommand::List { status, limit } => {
                let status = match status {
                    Some(s) => {
                        Some(ExecutionStatus::parse(&s.to_uppercase()).ok_or_else(|| {
                            anyhow!(
                                "--status {s}: use RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED"
                            )
                        })?)
                    }
                    None => None,
                };
                let list = store
                    .list_executions(ExecutionFilter {
                        status,
                        limit: Some(limit),
                        ..ExecutionFilter::default()
                    })
                    .await
                    .map_err(|e| anyhow!("{e}"))?;
                if args.json {
                    let rows: Vec<Value> = list.iter().map(describe_json).collect();
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&json!({ "executions": rows }))?
                    );
                } else {
                    println!("{:<10} {:<24} {:<24} ARN", "STATUS", "STARTED", "STOPPED");
                    for r in &list {
                        println!(
                            "{:<10} {:<24} {:<24} {}",
                            r.status.as_str(),
                            asl::timestamp::format_timestamp(r.start_time),
                            r.stop_time
                                .map(asl::timestamp::format_timestamp)
                                .unwrap_or_default(),
                            r.arn
                        );
                    }
                }
            }
            ExecutionsCommand::Describe { arn } => {
                let r = store
                    .execution(&arn)
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                    .ok_or_else(|| anyhow!("ExecutionDoesNotExist: {arn}"))?;
                let v = describe_json(&r);
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else if let Value::Object(m) = v {
                    for (k, v) in m {
                        let text = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        println!("{k:<22} {text}");
                    }
                }
            }
            ExecutionsCommand::History { arn } => {
                if store
                    .execution(&arn)
                    .await
                    .map_err(|e| anyhow!("{e}"))?
                    .is_none()
                {
                    bail!("ExecutionDoesNotExist: {arn}");
                }
                let rows = store.history(&arn).await.map_err(|e| anyhow!("{e}"))?;
                if args.json {
                    let events: Vec<Value> = rows
                        .iter()
                        .map(|h| {
                            let mut m = match serde_json::from_str::<Value>(&h.details) {
                                Ok(Value::Object(m)) => m,
                                _ => Map::new(),
                            };
                            m.insert(
                                "timestamp".into(),
                                json!(asl::timestamp::format_timestamp(h.timestamp)),
                            );
                            m.insert("type".into(), json!(h.event_type));
                            m.insert("id".into(), json!(h.id));
                            m.insert("previousEventId".into(), json!(h.previous_event_id));
                            Value::Object(m)
                        })
                        .collect();
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&json!({ "events": events }))?
                    );
                } else {
                    println!(
                        "{:>5} {:>5} {:<24} {:<28} DETAILS",
                        "ID", "PREV", "TIMESTAMP", "TYPE"
                    );
                    for h in &rows {
                        println!(
                            "{:>5} {:>5} {:<24} {:<28} {}",
                            h.id,
                            h.previous_event_id,
                            asl::timestamp::format_timestamp(h.timestamp),
                            h.event_type,
                            h.details
                        );
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `DescribeExecution`'s shape.
fn describe_json(r: &ExecutionRecord) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(r.arn));
    m.insert("stateMachineArn".into(), json!(r.state_machine_arn));
    m.insert("name".into(), json!(r.name));
    m.insert("status".into(), json!(r.status.as_str()));
    m.insert(
        "startDate".into(),
        json!(asl::timestamp::format_timestamp(r.start_time)),
    );
    if let Some(t) = r.stop_time {
        m.insert(
            "stopDate".into(),
            json!(asl::timestamp::format_timestamp(t)),
        );
    }
    m.insert("input".into(), json!(r.input));
    if let Some(o) = &r.output {
        m.insert("output".into(), json!(o));
    }
    if let Some(e) = &r.error {
        m.insert("error".into(), json!(e));
    }
    if let Some(c) = &r.cause {
        m.insert("cause".into(), json!(c));
    }
    Value::Object(m)
}
