//! `stepgate serve --config stepgate.toml`: the gateway and the API from the
//! config file.
//!
//! Owns the process lifecycle of the config mode: load the config (its
//! errors printed as they are, exit 1), install the metrics recorder, open
//! `server.store`, put every `[state_machines.NAME]` at
//! `arn:aws:states:local:000000000000:stateMachine:NAME`, run Task states
//! with the `[functions.NAME]` (`functions` crate), recover, serve the
//! webhook routes on `server.listen` and the API on `server.admin_listen`,
//! print `{"listen": ..., "admin_listen": ...}` with the bound ports, and stop
//! both on SIGTERM/Ctrl-C. It must not hold request or execution semantics
//! (the `gateway`, `api` and `engine` crates do).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use gateway::GatewayRoute;
use serde_json::json;
use store::StateMachineType;

/// The logging JSON the engine reads with `LoggingConfig::from_json`.
pub(crate) fn logging_json(logging: &config::Logging) -> String {
    let level = match logging.level {
        config::LogLevel::All => "ALL",
        config::LogLevel::Error => "ERROR",
        config::LogLevel::Fatal => "FATAL",
        config::LogLevel::Off => "OFF",
    };
    json!({
        "level": level,
        "include_execution_data": logging.include_execution_data,
        "destination": logging.destination.as_ref().map(|p| p.to_string_lossy().into_owned()),
    })
    .to_string()
}

pub(crate) fn run(file: &Path) -> Result<ExitCode> {
    let config = match config::load(file) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let server = config.server().clone();
    // Before anything records a metric (recovery does): a recorder
    // installed later would miss them.
    super::super::admin::metrics_handle();
    gateway::metrics_names::describe();
    // The config refuses a non-loopback admin address without a token.
    if !server.admin_listen.ip().is_loopback() {
        tracing::info!(admin_listen = %server.admin_listen, "the admin address is not loopback: every request but /healthz and /readyz needs the admin token");
    }
    if !server.listen.ip().is_loopback() {
        for route in config.routes() {
            if route.auth == config::Auth::None {
                tracing::warn!(
                    "route {} {} has no auth and server.listen {} is reachable from other hosts; anyone who can reach it can start executions (set auth = {{ type = \"hmac_sha256\", ... }} or {{ type = \"api_key\", ... }})",
                    route.method.as_str(),
                    route.path.text,
                    server.listen
                );
            }
        }
    }
    // Commands run in the config file's directory, like every relative
    // path in it; a function that cannot be set up (an http function's
    // unusable URL, say) is refused before the store is opened.
    let config_dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let tasks = match functions::FunctionInvoker::from_config(&config, config_dir) {
        Ok(invoker) => Arc::new(invoker),
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let config::Store::Sqlite { path } = server.store.clone();
    let routes = GatewayRoute::from_config(&config);
    for route in &routes {
        for warning in route.template_warnings() {
            tracing::warn!(
                "route {} {}: request_template: {warning}",
                route.method.as_str(),
                route.path.text
            );
        }
    }
    let rt = super::durable::runtime()?;
    rt.block_on(async move {
        let machines = config
            .state_machines()
            .iter()
            .map(|machine| super::durable::Machine {
                name: machine.name.clone(),
                definition: machine.definition.clone(),
                machine_type: match machine.state_machine_type {
                    config::StateMachineType::Standard => StateMachineType::Standard,
                    config::StateMachineType::Express => StateMachineType::Express,
                },
                logging: logging_json(&machine.logging),
            })
            .collect();
        let engine = super::durable::start_engine(&path, machines, tasks).await?;
        let webhooks = tokio::net::TcpListener::bind(server.listen)
            .await
            .with_context(|| format!("server.listen = {}: cannot listen", server.listen))?;
        let admin = tokio::net::TcpListener::bind(server.admin_listen)
            .await
            .with_context(|| {
                format!(
                    "server.admin_listen = {}: cannot listen",
                    server.admin_listen
                )
            })?;
        let listen = webhooks
            .local_addr()
            .context("cannot read the bound address")?;
        let admin_listen = admin
            .local_addr()
            .context("cannot read the bound address")?;
        // Tests and scripts wait for this line to learn the real ports.
        println!(
            "{}",
            json!({ "listen": listen.to_string(), "admin_listen": admin_listen.to_string() })
        );
        // One signal stops both servers: each waits on the same channel.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            super::serve::shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            // An error means the sender is gone, which also means stop.
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let webhook_server = axum::serve(webhooks, gateway::router(engine.clone(), routes))
            .with_graceful_shutdown(stopped(stop_rx.clone()));
        let admin_server = axum::serve(
            admin,
            super::super::admin::router(engine.clone(), server.admin_token.clone()),
        )
        .with_graceful_shutdown(stopped(stop_rx));
        let (w, a) = tokio::join!(webhook_server, admin_server);
        w.context("the webhook server failed")?;
        a.context("the API server failed")?;
        // In-flight acknowledgements have been answered; what is still
        // running is durable and resumes at the next start.
        engine.halt();
        Ok(ExitCode::SUCCESS)
    })
}
