//! `stepgate init DIR`: writes the seed project (`examples/webhook`) so a
//! new user has a working webhook → workflow → function in one command.
//!
//! Owns the list of files a new project gets and the refusal to overwrite
//! any of them. The files are `examples/webhook` itself, compiled in, so the
//! example that CI tests and the project `init` writes cannot drift apart.
//! It must not start anything: it prints the next commands instead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

/// The seed project, path relative to the project directory → contents.
const FILES: [(&str, &str); 3] = [
    (
        "stepgate.toml",
        include_str!("../../../../examples/webhook/stepgate.toml"),
    ),
    (
        "state_machines/sample.asl.json",
        include_str!("../../../../examples/webhook/state_machines/sample.asl.json"),
    ),
    (
        "functions/print_event.py",
        include_str!("../../../../examples/webhook/functions/print_event.py"),
    ),
];

/// `stepgate init` arguments.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The project directory (created if missing).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Overwrite files that already exist.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(args: InitArgs) -> Result<ExitCode> {
    let existing: Vec<PathBuf> = FILES
        .iter()
        .map(|(path, _)| args.dir.join(path))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() && !args.force {
        eprintln!(
            "stepgate init: these files exist already; nothing was written (--force overwrites them):"
        );
        for p in &existing {
            eprintln!("  {}", p.display());
        }
        return Ok(ExitCode::FAILURE);
    }
    for (path, contents) in FILES {
        write(&args.dir.join(path), contents)?;
    }
    let dir = args.dir.display();
    println!(
        "Wrote a stepgate project to {dir}: stepgate.toml, state_machines/sample.asl.json, functions/print_event.py.

Run it:
  cd {dir} && stepgate serve

Then, from another terminal:
  curl -s -X POST http://127.0.0.1:8080/ -H 'Content-Type: application/json' -d '{{\"hello\": \"world\"}}'
  → {{\"status\": \"webhook submitted\"}}
and the server log shows the function's line:
  Printing out the event {{\"hello\":\"world\"}}"
    );
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}
