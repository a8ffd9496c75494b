//! `stepgate run`: one execution in memory, result as one JSON object on stdout.
//!
//! With `--config`, Task states run the config's `[functions]` (through
//! `functions::FunctionInvoker`, concurrently: `run_concurrent`), and
//! `--state-machine NAME` picks a `[state_machines.NAME]` of the config
//! instead of a `--definition` file. With `--store`, the execution runs
//! durably on the engine (`durable`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use asl::interpreter::{ExecutionInfo, Options, Status};
use asl::parse::{ParseOptions, StateMachineType, parse_definition_with};
use asl::runner::{Clock, NoTaskHandlers, VirtualClock, run_to_completion};
use clap::{Args, ValueEnum};
use engine::scheduler::TaskInvoker;
use serde_json::{Map, Value, json};

use crate::system::{SystemClock, now_millis, os_entropy};

/// Arguments of `stepgate run`.
#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("input_source").args(["input", "input_file"])),
    group(clap::ArgGroup::new("definition_source").args(["definition", "state_machine"]).required(true)),
    after_help = "Exit status: 0 when the execution ran (whatever its status), 1 for an invalid definition (with {\"status\":\"INVALID_DEFINITION\",...} on stdout), 2 when it could not run (unreadable file, invalid JSON input, invalid --config).\n\nWith --config FILE, Task states calling arn:aws:states:::lambda:invoke or a Lambda function ARN run the [functions.NAME] of FILE (commands run in FILE's directory, at most `concurrency` invocations of a function at a time); other resources fail with States.TaskFailed. Without --config every Task fails with States.TaskFailed.\n\nExamples:\n  stepgate run --definition hello.asl.json --input '{\"name\":\"world\"}'\n  stepgate run --config stepgate.toml --state-machine sample --input '{\"a\":1}'\n  stepgate run --config stepgate.toml --definition other.asl.json"
)]
pub(crate) struct RunArgs {
    /// The state machine definition (ASL JSON).
    #[arg(long)]
    definition: Option<PathBuf>,
    /// Run the [state_machines.NAME] of --config (its definition and type)
    /// instead of a --definition file.
    #[arg(long, value_name = "NAME", requires = "config")]
    state_machine: Option<String>,
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
    /// The state machine type (with --state-machine, the config's `type`).
    #[arg(long = "type", value_enum, default_value_t = MachineType::Standard, conflicts_with = "state_machine")]
    machine_type: MachineType,
    /// A stepgate.toml whose [functions] run the Task states.
    #[arg(long, value_name = "FILE")]
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

/// The definition to run and where it came from.
struct Source {
    /// What diagnostics name: the definition file, or the config key.
    label: String,
    text: String,
    machine_type: StateMachineType,
    /// The state machine's name (in the execution's ARNs).
    state_machine_name: String,
    /// Logging configuration as JSON text, for `--store` (`{}` = off).
    logging: String,
}

/// The config file's directory, where its commands run and its relative
/// paths resolve.
fn config_dir(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `--config FILE`: its functions, and the state machine `--state-machine`
/// names. `Err` carries the exit status after the problem was printed.
fn load_config(
    file: &Path,
    state_machine: Option<&str>,
) -> Result<(Arc<dyn TaskInvoker>, Option<Source>), ExitCode> {
    let could_not_run = ExitCode::from(2);
    let config = config::load(file).map_err(|errors| {
        // The same rendering as `serve --config` and `check-config`.
        eprintln!("{errors}");
        could_not_run
    })?;
    let tasks =
        functions::FunctionInvoker::from_config(&config, config_dir(file)).map_err(|e| {
            eprintln!("{}: {e}", file.display());
            could_not_run
        })?;
    let Some(name) = state_machine else {
        return Ok((Arc::new(tasks), None));
    };
    let Some((_, machine)) = config.state_machine_named(name) else {
        let defined: Vec<&str> = config
            .state_machines()
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        eprintln!(
            "error: --state-machine {name}: {} has no [state_machines.{name}]; {}",
            file.display(),
            if defined.is_empty() {
                "it defines none (add one, or run a file with --definition FILE)".to_owned()
            } else {
                format!("defined: {}", defined.join(", "))
            }
        );
        return Err(could_not_run);
    };
    let label = match &machine.definition_source {
        config::DefinitionSource::File(path) => path.display().to_string(),
        config::DefinitionSource::Inline => {
            format!("{}: state_machines.{name}.definition", file.display())
        }
    };
    let source = Source {
        label,
        text: machine.definition.clone(),
        machine_type: machine.state_machine_type,
        state_machine_name: machine.name.clone(),
        logging: super::serve_config::logging_json(&machine.logging),
    };
    Ok((Arc::new(tasks), Some(source)))
}

pub(crate) fn run(args: RunArgs) -> Result<ExitCode> {
    let (tasks, from_config) = match &args.config {
        Some(file) => match load_config(file, args.state_machine.as_deref()) {
            Ok((tasks, source)) => (Some(tasks), source),
            Err(code) => return Ok(code),
        },
        None => (None, None),
    };
    let source = match (from_config, &args.definition) {
        (Some(source), _) => source,
        (None, Some(file)) => Source {
            label: file.display().to_string(),
            text: super::read_text(file)?,
            machine_type: match args.machine_type {
                MachineType::Standard => StateMachineType::Standard,
                MachineType::Express => StateMachineType::Express,
            },
            state_machine_name: file
                .file_stem()
                .and_then(|s| s.to_str())
                .map(|s| s.trim_end_matches(".asl").to_owned())
                .unwrap_or_else(|| "local".to_owned()),
            logging: "{}".to_owned(),
        },
        // clap requires one of them, and --state-machine requires --config.
        (None, None) => bail!("give --definition FILE, or --config FILE --state-machine NAME"),
    };
    let options = ParseOptions {
        state_machine_type: source.machine_type,
    };
    let definition = match parse_definition_with(&source.text, &options) {
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
                    source.label, d.code, d.location, d.message
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
    let state_machine_name = source.state_machine_name;
    if let Some(store) = &args.store {
        if args.fast_wait {
            bail!("--fast-wait cannot be used with --store: durable waits take real time");
        }
        let machine_type = match source.machine_type {
            StateMachineType::Standard => store::StateMachineType::Standard,
            StateMachineType::Express => store::StateMachineType::Express,
        };
        return super::durable::run_durable(
            store,
            super::durable::Machine {
                name: state_machine_name,
                definition: source.text,
                machine_type,
                logging: source.logging,
            },
            tasks.unwrap_or_else(|| Arc::new(engine::scheduler::NoTasks)),
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
    if source.machine_type == StateMachineType::Express {
        // Express executions have no redrive and an `express:` ARN with an extra id.
        info.redrive_count = None;
        let id = asl::entropy::Entropy::uuid_v4(&mut entropy);
        info.execution_arn =
            format!("arn:aws:states:local:000000000000:express:{state_machine_name}:{name}:{id}")
                .into();
    }
    let options = Options {
        record_history: args.history,
        ..Options::default()
    };
    let result = match tasks {
        // Functions run concurrently (a Map's iterations, up to each
        // function's `concurrency`), so on an async runtime.
        Some(tasks) => {
            super::durable::runtime()?.block_on(super::run_concurrent::run_to_completion(
                definition,
                info,
                options,
                input,
                tasks,
                args.fast_wait,
                &mut entropy,
            ))
        }
        None => {
            let mut virtual_clock = VirtualClock(start);
            let mut system_clock = SystemClock;
            let clock: &mut dyn Clock = if args.fast_wait {
                &mut virtual_clock
            } else {
                &mut system_clock
            };
            run_to_completion(
                definition,
                info,
                options,
                input,
                &mut NoTaskHandlers,
                clock,
                &mut entropy,
            )
        }
    };
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
