//! `stepgate serve`: the durable engine behind the AWS Step Functions API.
//!
//! Owns the process lifecycle: open the store, create/update the state
//! machines given by flags, recover unfinished executions, listen, print
//! the bound address, and stop on SIGTERM/Ctrl-C. It must not hold API or
//! execution semantics (those are the `api` and `engine` crates). This
//! module is the flags-only mode; `--config stepgate.toml` (routes and
//! `[server]`) is `serve_config`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use asl::parse::{ParseOptions, parse_definition_with};
use clap::Args;
use serde_json::json;
use store::StateMachineType;

/// `stepgate serve`
#[derive(Debug, Args)]
#[command(
    after_help = "With --config (or without --store/--admin-listen/--state-machine, reading ./stepgate.toml): serves the [[routes]] on server.listen and the API on server.admin_listen, and prints one line on stdout: {\"listen\": \"ADDR:PORT\", \"admin_listen\": \"ADDR:PORT\"}.\n\nWith flags only: serves the API and prints {\"admin_listen\": \"ADDR:PORT\"}."
)]
pub(crate) struct ServeArgs {
    /// The config file (default ./stepgate.toml when no flag below is given).
    #[arg(long, conflicts_with_all = ["store", "admin_listen", "state_machines"])]
    config: Option<PathBuf>,
    /// The store (`sqlite://FILE`, default sqlite://stepgate.db); created if missing.
    #[arg(long)]
    store: Option<String>,
    /// Where the AWS Step Functions API listens (loopback only until the
    /// admin token exists; default 127.0.0.1:8080). Port 0 picks a free port.
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// A state machine to create or update, as NAME=DEFINITION_FILE[:STANDARD|EXPRESS]
    /// (default STANDARD); its ARN is arn:aws:states:local:000000000000:stateMachine:NAME.
    /// Repeatable.
    #[arg(long = "state-machine", value_name = "NAME=FILE[:TYPE]")]
    state_machines: Vec<String>,
}

/// One `--state-machine`.
#[derive(Debug, PartialEq, Eq)]
struct StateMachineFlag {
    name: String,
    file: PathBuf,
    machine_type: StateMachineType,
}

fn parse_state_machine_flag(flag: &str) -> Result<StateMachineFlag> {
    let (name, rest) = flag.split_once('=').ok_or_else(|| {
        anyhow!("--state-machine {flag}: use NAME=DEFINITION_FILE[:STANDARD|EXPRESS]")
    })?;
    // The type is an optional suffix; a path may itself contain ':', so only
    // a recognised type after the last ':' counts as one.
    let (file, machine_type) = match rest.rsplit_once(':') {
        Some((file, t)) => match StateMachineType::parse(&t.to_uppercase()) {
            Some(t) => (file, t),
            None => (rest, StateMachineType::Standard),
        },
        None => (rest, StateMachineType::Standard),
    };
    // AWS: state machine names are 1–80 characters without whitespace,
    // wildcards, brackets or the characters AWS forbids in ARNs.
    let bad =
        |c: char| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c);
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(bad) {
        bail!("--state-machine {flag}: '{name}' is not a valid state machine name");
    }
    if file.is_empty() {
        bail!("--state-machine {flag}: give the definition file after '='");
    }
    Ok(StateMachineFlag {
        name: name.to_owned(),
        file: PathBuf::from(file),
        machine_type,
    })
}

pub(crate) fn run(args: ServeArgs) -> Result<ExitCode> {
    // The flags-only mode predates the config file; any of its flags keeps it.
    let flags_only =
        args.store.is_some() || args.admin_listen.is_some() || !args.state_machines.is_empty();
    if !flags_only {
        let file = args
            .config
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_FILE));
        return super::serve_config::run(&file);
    }
    let admin_listen = args
        .admin_listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let store_url = args.store.as_deref().unwrap_or("sqlite://stepgate.db");
    if !admin_listen.ip().is_loopback() {
        bail!(
            "--admin-listen {admin_listen}: the API has no authentication yet, so it only listens on a loopback address (127.0.0.1 or ::1)"
        );
    }
    let path = super::durable::sqlite_path(store_url)?;
    // Read and validate every definition before touching the store, so a
    // typo does not leave half of the state machines updated.
    let mut machines = Vec::new();
    for flag in &args.state_machines {
        let flag = parse_state_machine_flag(flag)?;
        let definition = super::read_text(&flag.file)?;
        let options = ParseOptions {
            state_machine_type: match flag.machine_type {
                StateMachineType::Standard => asl::parse::StateMachineType::Standard,
                StateMachineType::Express => asl::parse::StateMachineType::Express,
            },
        };
        if let Err(diags) = parse_definition_with(&definition, &options) {
            let first = diags
                .iter()
                .find(|d| d.severity == asl::diagnostic::Severity::Error)
                .or(diags.first())
                .map(|d| {
                    format!(
                        "{}: {} at {}: {}",
                        flag.file.display(),
                        d.code,
                        d.location,
                        d.message
                    )
                })
                .unwrap_or_default();
            bail!("state machine {}: invalid definition: {first}", flag.name);
        }
        machines.push((flag, definition));
    }

    let rt = super::durable::runtime()?;
    rt.block_on(async move {
        let machines = machines
            .into_iter()
            .map(|(flag, definition)| super::durable::Machine {
                name: flag.name,
                definition,
                machine_type: flag.machine_type,
                logging: "{}".into(),
            })
            .collect();
        // Before the store and the engine record anything.
        crate::admin::metrics_handle();
        let engine = super::durable::start_engine(
            &path,
            machines,
            std::sync::Arc::new(engine::scheduler::NoTasks),
        )
        .await?;
        let listener = tokio::net::TcpListener::bind(admin_listen)
            .await
            .with_context(|| format!("--admin-listen {admin_listen}: cannot listen"))?;
        let bound = listener
            .local_addr()
            .context("cannot read the bound address")?;
        // Tests and scripts wait for this line to learn the real port.
        println!("{}", json!({ "admin_listen": bound.to_string() }));
        axum::serve(listener, crate::admin::router(engine.clone(), None))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the API server failed")?;
        // In-flight requests have been answered; what is still running is
        // durable and resumes at the next start.
        engine.halt();
        Ok(ExitCode::SUCCESS)
    })
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, only SIGTERM stops us.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_flags_parse_name_file_and_type() {
        let f = parse_state_machine_flag("orders=defs/orders.json:EXPRESS").expect("valid");
        assert_eq!(
            f,
            StateMachineFlag {
                name: "orders".into(),
                file: "defs/orders.json".into(),
                machine_type: StateMachineType::Express
            }
        );
        let f = parse_state_machine_flag("a=x.json").expect("valid");
        assert_eq!(f.machine_type, StateMachineType::Standard);
        let f = parse_state_machine_flag("a=x.json:standard").expect("valid");
        assert_eq!(f.machine_type, StateMachineType::Standard);
        // A ':' that is not a type stays in the path.
        let f = parse_state_machine_flag("a=C:defs.json").expect("valid");
        assert_eq!(f.file, PathBuf::from("C:defs.json"));
        for bad in ["x.json", "=x.json", "a b=x.json", "a="] {
            assert!(parse_state_machine_flag(bad).is_err(), "{bad}");
        }
    }
}
