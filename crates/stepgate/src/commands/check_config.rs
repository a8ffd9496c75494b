//! `stepgate check-config [FILE]`: validates a config file without starting anything.
//!
//! Owns printing the verdict; the rules live in the `config` crate. It must
//! not bind addresses, open the store or run functions.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

/// Arguments of `stepgate check-config`.
#[derive(Debug, Args)]
pub(crate) struct CheckConfigArgs {
    /// The config file.
    #[arg(default_value = config::DEFAULT_FILE)]
    file: PathBuf,
}

/// Prints `FILE: OK (...)` and exits 0, or prints every problem (one per
/// line, `FILE:LINE:COLUMN: KEY: MESSAGE`) on stderr and exits 1.
pub(crate) fn run(args: CheckConfigArgs) -> Result<ExitCode> {
    match config::load(&args.file) {
        Ok(config) => {
            println!(
                "{}: OK ({} state machines, {} functions, {} routes)",
                args.file.display(),
                config.state_machines().len(),
                config.functions().len(),
                config.routes().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}
