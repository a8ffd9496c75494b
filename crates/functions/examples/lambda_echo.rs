//! A tiny Lambda function built with AWS's own Rust runtime client (the
//! `lambda_runtime` crate), for the `lambda-runtime` tests and benchmark:
//! it runs unmodified, exactly as it would on Lambda. What it does is chosen
//! by the event:
//! - `{"sleep_ms": N}`: sleeps, then answers like the default;
//! - `{"fail": "TYPE", "message": "..."}`: returns an error of that type;
//! - `{"crash": CODE}`: the process exits with CODE mid-invocation;
//! - `{"big": N}`: answers a string of N bytes;
//! - `{"log": "TEXT"}`: prints TEXT on stdout and stderr first;
//! - anything else: `{"echo": EVENT, "request_id", "invoked_arn",
//!   "deadline_ms", "function", "memory", "pid"}`.
//!
//! `LAMBDA_ECHO_EXIT_AT_INIT=CODE` makes it exit before polling.
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    if let Some(text) = payload.get("log").and_then(Value::as_str) {
        println!("stdout: {text}");
        eprintln!("stderr: {text}");
    }
    if let Some(ms) = payload.get("sleep_ms").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if let Some(code) = payload.get("crash").and_then(Value::as_i64) {
        std::process::exit(i32::try_from(code).unwrap_or(1));
    }
    if let Some(kind) = payload.get("fail").and_then(Value::as_str) {
        return Err(Diagnostic {
            error_type: kind.to_owned(),
            error_message: payload
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("failed on purpose")
                .to_owned(),
        });
    }
    if let Some(n) = payload.get("big").and_then(Value::as_u64) {
        return Ok(Value::String("x".repeat(usize::try_from(n).unwrap_or(0))));
    }
    Ok(json!({
        "echo": payload,
        "request_id": context.request_id,
        "invoked_arn": context.invoked_function_arn,
        "deadline_ms": context.deadline,
        "function": context.env_config.function_name,
        "memory": context.env_config.memory,
        "pid": std::process::id(),
    }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    if let Some(code) = std::env::var("LAMBDA_ECHO_EXIT_AT_INIT")
        .ok()
        .and_then(|c| c.parse::<i32>().ok())
    {
        eprintln!("exiting at init with {code}");
        std::process::exit(code);
    }
    lambda_runtime::run(service_fn(handle)).await
}
