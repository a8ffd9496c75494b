//! `stepgate validate FILE...`: diagnostics as ValidateStateMachineDefinition reports them.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use asl::diagnostic::{Diagnostic, Severity, codes};
use asl::parse::{ParseOptions, StateMachineType, validate_definition};
use clap::Args;
use serde_json::json;

/// Arguments of `stepgate validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Definition files (ASL JSON).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print JSON (one object with a result per file) instead of text.
    #[arg(long)]
    json: bool,
    /// Validate as an EXPRESS state machine (refuses .sync and .waitForTaskToken).
    #[arg(long)]
    express: bool,
}

pub(crate) fn run(args: ValidateArgs) -> Result<ExitCode> {
    let options = ParseOptions {
        state_machine_type: if args.express {
            StateMachineType::Express
        } else {
            StateMachineType::Standard
        },
    };
    let mut any_error = false;
    let mut reports = Vec::new();
    for file in &args.files {
        let diagnostics: Vec<Diagnostic> = match super::read_text(file) {
            Ok(text) => validate_definition(&text, &options),
            Err(e) => vec![Diagnostic {
                severity: Severity::Error,
                code: codes::INVALID_JSON_DESCRIPTION,
                message: format!("{e:#}"),
                location: "/".into(),
            }],
        };
        let ok = !diagnostics.iter().any(|d| d.severity == Severity::Error);
        any_error |= !ok;
        if args.json {
            reports.push(json!({
                "file": file.display().to_string(),
                "result": if ok { "OK" } else { "FAIL" },
                "diagnostics": diagnostics,
            }));
        } else if diagnostics.is_empty() {
            println!("{}: OK", file.display());
        } else {
            for d in &diagnostics {
                let sev = match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                println!(
                    "{}: {sev}: {} at {}: {}",
                    file.display(),
                    d.code,
                    d.location,
                    d.message
                );
            }
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "files": reports }))?
        );
    }
    Ok(if any_error {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
