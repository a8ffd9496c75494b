//! `stepgate run`: one execution in memory, result as one JSON object on stdout.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use asl::interpreter::{ExecutionInfo, Options, Status};
use asl::parse::{ParseOptions, StateMachineType, parse_definition_with};
use asl::runner::{Clock, NoTaskHandlers, VirtualClock, run_to_completion};
use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};

use crate::system::{SystemClock, now_millis, os_entropy};

/// Arguments of `stepgate run`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input_source").args(["input", "input_file"])))]
pub(crate) struct RunArgs {
    /// The state machine definition (ASL JSON).
    #[arg(long)]
    definition: PathBuf,
    /// The execution input as JSON text (default `{}`).
    #[arg(long)]
    input: Option<String>,
    /// A file holding the execution input.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Also print the execution's history events.
    #[arg(long)]
    history: bool,
    /// Skip the sleeping of Wait states and retry intervals (time jumps instead).
    #[arg(long)]
    fast_wait: bool,
    /// The execution name (default: a random UUID).
    #[arg(long)]
    name: Option<String>,
    /// The state machine type.
    #[arg(long = "type", value_enum, default_value_t = MachineType::Standard)]
    machine_type: MachineType,
    /// A stepgate.toml whose [functions] run Task states (not supported yet).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run durably on a store (`sqlite://FILE`): the execution survives a
    /// crash of this process and resumes when `run` or `serve` opens the
    /// store again. Waits take real time.
    #[arg(long)]
    store: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
enum MachineType {
    Standard,
    Express,
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode> {
    if let Some(config) = &args.config {
        bail!(
            "--config {}: running Task states with configured functions is not supported yet; without --config every Task fails with States.TaskFailed",
            config.display()
        );
    }
    let def_text = super::read_text(&args.definition)?;
    let options = ParseOptions {
        state_machine_type: match args.machine_type {
            MachineType::Standard => StateMachineType::Standard,
            MachineType::Express => StateMachineType::Express,
        },
    };
    let definition = match parse_definition_with(&def_text, &options) {
        Ok(d) => Arc::new(d),
        Err(diags) => {
            let first = diags
                .iter()
                .find(|d| d.severity == asl::diagnostic::Severity::Error)
                .or(diags.first());
            let cause = first
                .map(|d| format!("Invalid State Machine Definition: '{d}'"))
                .unwrap_or_default();
            for d in &diags {
                eprintln!(
                    "{}: {} at {}: {}",
                    args.definition.display(),
                    d.code,
                    d.location,
                    d.message
                );
            }
            println!(
                "{}",
                json!({"status": "INVALID_DEFINITION", "error": "InvalidDefinition", "cause": cause})
            );
            return Ok(ExitCode::from(1));
        }
    };
    let input_text = match (&args.input, &args.input_file) {
        (Some(text), _) => text.clone(),
        (None, Some(file)) => super::read_text(file)?,
        (None, None) => "{}".to_owned(),
    };
    let input: Value =
        serde_json::from_str(&input_text).with_context(|| match &args.input_file {
            Some(f) => format!("{}: the execution input is not valid JSON", f.display()),
            None => "--input: the execution input is not valid JSON".to_owned(),
        })?;
    let state_machine_name = args
        .definition
        .file_stem()
        .and_then(|s| s.to_str())
        .map(|s| s.trim_end_matches(".asl").to_owned())
        .unwrap_or_else(|| "local".to_owned());
    if let Some(store) = &args.store {
        if args.fast_wait {
            bail!("--fast-wait cannot be used with --store: durable waits take real time");
        }
        let machine_type = match args.machine_type {
            MachineType::Standard => store::StateMachineType::Standard,
            MachineType::Express => store::StateMachineType::Express,
        };
        return super::durable::run_durable(
            store,
            &state_machine_name,
            &def_text,
            machine_type,
            args.name,
            input.to_string(),
        );
    }
    let mut entropy = os_entropy();
    let name = match args.name {
        Some(n) => n,
        None => asl::entropy::Entropy::uuid_v4(&mut entropy),
    };
    let start = now_millis();
    let mut info = ExecutionInfo::local(&state_machine_name, &name, start);
    if matches!(args.machine_type, MachineType::Express) {
        // Express executions have no redrive and an `express:` ARN with an extra id.
        info.redrive_count = None;
        let id = asl::entropy::Entropy::uuid_v4(&mut entropy);
        info.execution_arn =
            format!("arn:aws:states:local:000000000000:express:{state_machine_name}:{name}:{id}")
                .into();
    }
    let mut virtual_clock = VirtualClock(start);
    let mut system_clock = SystemClock;
    let clock: &mut dyn Clock = if args.fast_wait {
        &mut virtual_clock
    } else {
        &mut system_clock
    };
    let result = run_to_completion(
        definition,
        info,
        Options {
            record_history: args.history,
            ..Options::default()
        },
        input,
        &mut NoTaskHandlers,
        clock,
        &mut entropy,
    );
    let mut out = Map::new();
    out.insert(
        "status".into(),
        Value::String(result.status.as_str().into()),
    );
    match &result.status {
        Status::Succeeded(output) => {
            out.insert("output".into(), Value::clone(output));
        }
        Status::Failed(f) | Status::TimedOut(f) | Status::Aborted(f) => {
            out.insert(
                "error".into(),
                f.error.clone().map(Value::String).unwrap_or(Value::Null),
            );
            out.insert(
                "cause".into(),
                f.cause.clone().map(Value::String).unwrap_or(Value::Null),
            );
        }
        Status::Running => {}
    }
    if args.history {
        let types: Vec<Value> = result
            .history
            .iter()
            .map(|e| Value::String(e.event_type.as_str().to_owned()))
            .collect();
        out.insert("event_types".into(), Value::Array(types));
        out.insert(
            "history".into(),
            Value::Array(result.history.iter().map(|e| e.to_aws_json()).collect()),
        );
    }
    println!("{}", Value::Object(out));
    Ok(ExitCode::SUCCESS)
}
