//! The `stepgate` binary: argument parsing and glue, nothing else.
//!
//! Each subcommand lives in `commands/<name>.rs`; the libraries do the work.

mod admin;
mod commands;
mod system;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// mimalloc: the interpreter allocates many small JSON values; glibc's malloc
// spent a third of the interpreter benchmarks' time (perf), mimalloc halves that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A self-hosted webhook gateway and Amazon States Language engine.
#[derive(Debug, Parser)]
#[command(name = "stepgate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one execution of a state machine in memory and print its result as JSON
    /// (Task states run the functions of --config).
    Run(commands::run::RunArgs),
    /// Check state machine definitions like ValidateStateMachineDefinition.
    Validate(commands::validate::ValidateArgs),
    /// Serve the webhook routes and the AWS Step Functions API (from stepgate.toml, or flags).
    Serve(commands::serve::ServeArgs),
    /// Read executions from a store: list, describe, history.
    Executions(commands::durable::ExecutionsArgs),
    /// Check a stepgate.toml: every problem with its line and key, or OK.
    CheckConfig(commands::check_config::CheckConfigArgs),
    /// Write a new project (the webhook → workflow → function example) to DIR.
    Init(commands::init::InitArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Process logs on stderr (stdout carries results); `RUST_LOG` overrides
    // the default: warnings, plus info for the server.
    let default = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person: log files and pipes get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Executions(args) => commands::durable::executions(args),
        Command::CheckConfig(args) => commands::check_config::run(args),
        Command::Init(args) => commands::init::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
