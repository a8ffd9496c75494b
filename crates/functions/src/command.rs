//! The `command` runtime: one process per invocation.
//!
//! Owns [`CommandFunction`]: start the configured program in the config
//! file's directory, write the event as JSON on its stdin, read the result
//! as JSON from its stdout, turn each stderr line into a log event, and
//! bound everything the process can make us hold: time (the function's
//! `timeout` and the Task's `TimeoutSeconds`), memory (stdout capped at
//! Lambda's 6 MB response limit, stderr kept as a short tail), parallelism
//! (a semaphore per function) and leftovers (the process runs in its own
//! process group, which is killed when the invocation ends or is dropped).
//! It must not know about ASL resources or Lambda's response shape (`lib.rs`
//! and `lambda.rs` do).
//!
//! Contract for the program (`examples/webhook/functions/print_event.py`
//! follows it): read the event from stdin; exit 0 and print the result JSON
//! (or nothing: `null`, like a Python handler that returns nothing); to
//! fail, exit non-zero with `{"errorType": ..., "errorMessage": ...}` as the
//! last line on stderr. Anything else that exits non-zero is
//! `Lambda.Unknown`. The environment is the server's, plus the function's
//! `environment`, plus `AWS_LAMBDA_FUNCTION_NAME`,
//! `AWS_LAMBDA_FUNCTION_TIMEOUT` and `AWS_REQUEST_ID`.

use std::collections::{BTreeMap, VecDeque};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Lambda's limit for a synchronous invocation's response payload: 6 MB
/// (AWS: "Invocation payload (request and response) 6 MB each for
/// synchronous"), 6,291,456 bytes.
pub const RESPONSE_LIMIT_BYTES: usize = 6 * 1024 * 1024;

/// Longest stderr line kept whole (longer lines are cut, the rest dropped):
/// the last line may be the function's error JSON, which becomes the
/// task's Cause, and a state's data is limited to 256 KiB anyway.
const STDERR_LINE_BYTES: usize = 256 * 1024;
/// How many recent stderr lines a crash's cause shows, and how long each.
const TAIL_LINES: usize = 10;
const TAIL_LINE_CHARS: usize = 500;
/// How much of invalid stdout a cause shows.
const INVALID_OUTPUT_CHARS: usize = 200;

/// Why an invocation did not return a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InvokeError {
    /// The function reported an error: `errorType` on its last stderr line.
    /// `payload` is that line, which AWS shows as the Cause.
    Function { error_type: String, payload: String },
    /// It crashed, timed out, printed something that is not JSON or too
    /// much: `Lambda.Unknown` with this cause.
    Unknown(String),
    /// The Task's `TimeoutSeconds` passed first (`States.Timeout`, as the
    /// interpreter's own timer reports it).
    TaskTimedOut,
}

/// A function's result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    /// The parsed stdout (`null` when it printed nothing).
    pub(crate) payload: Value,
    /// Length of the payload as JSON text (Lambda's `Content-Length`).
    pub(crate) payload_bytes: usize,
}

/// One `[functions.NAME]` with `runtime = "command"`.
#[derive(Debug)]
pub(crate) struct CommandFunction {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    base_dir: PathBuf,
    timeout: Duration,
    environment: BTreeMap<String, String>,
    permits: Semaphore,
}

impl CommandFunction {
    /// `command` is never empty (the config crate guarantees it).
    pub(crate) fn new(
        name: &str,
        command: &[String],
        base_dir: &Path,
        timeout: Duration,
        concurrency: usize,
        environment: BTreeMap<String, String>,
    ) -> Self {
        let (program, args) = program_and_args(command, base_dir);
        Self {
            name: name.to_owned(),
            program,
            args,
            base_dir: base_dir.to_path_buf(),
            timeout,
            environment,
            permits: Semaphore::new(concurrency.clamp(1, Semaphore::MAX_PERMITS)),
        }
    }

    /// Runs the function once with `event`. `task_deadline` is when the
    /// Task's `TimeoutSeconds` runs out, counted from the task's start (so
    /// time spent waiting for a concurrency slot counts, as on AWS).
    pub(crate) async fn invoke(
        &self,
        event: &Value,
        request_id: &str,
        task_deadline: Option<Instant>,
    ) -> Result<Response, InvokeError> {
        let _permit = acquire_slot(&self.permits, task_deadline, &self.name).await?;

        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(&self.args)
            .current_dir(&self.base_dir)
            .envs(&self.environment)
            // Lambda reserves these: set after `environment` so they win.
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.name)
            .env(
                "AWS_LAMBDA_FUNCTION_TIMEOUT",
                self.timeout.as_secs().to_string(),
            )
            .env("AWS_REQUEST_ID", request_id)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so the whole tree can be killed; and killed
            // (and reaped by tokio) if this future is dropped.
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            InvokeError::Unknown(format!(
                "function {}: cannot start {:?} in {}: {e}",
                self.name,
                self.program,
                self.base_dir.display()
            ))
        })?;
        let group = ProcessGroup::new(child.id());
        let deadline = invocation_deadline(self.timeout, task_deadline);
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(InvokeError::Unknown(format!(
                "function {}: the process has no stdin/stdout/stderr pipes",
                self.name
            )));
        };
        let input = event.to_string().into_bytes();

        let run = async {
            let write = async move {
                // A program may exit without reading its event: the broken
                // pipe is not an error of the invocation.
                let _ = stdin.write_all(&input).await;
                drop(stdin);
            };
            let wait = async {
                let status = child.wait().await;
                // Leftover children would hold stdout open; the invocation
                // is over once the program exits (Lambda freezes the
                // sandbox at that point).
                group.kill();
                group.mark_done();
                status
            };
            tokio::join!(
                write,
                read_stdout(stdout, &group),
                read_stderr(stderr, &self.name, request_id),
                wait
            )
        };
        let ((), stdout, stderr, status) = match tokio::time::timeout_at(deadline, run).await {
            Ok(done) => done,
            Err(_) => {
                group.kill();
                let _ = child.kill().await;
                if task_deadline == Some(deadline) {
                    return Err(InvokeError::TaskTimedOut);
                }
                return Err(InvokeError::Unknown(format!(
                    "function {} timed out after {} seconds and was killed (RequestId: {request_id})",
                    self.name,
                    self.timeout.as_secs()
                )));
            }
        };
        let status = status.map_err(|e| {
            InvokeError::Unknown(format!(
                "function {}: cannot wait for the process: {e}",
                self.name
            ))
        })?;
        let stdout = match stdout {
            Ok(bytes) => bytes,
            Err(StdoutError::TooLarge) => {
                return Err(InvokeError::Unknown(format!(
                    "function {}: the response exceeded Lambda's 6 MB limit ({RESPONSE_LIMIT_BYTES} bytes) and the process was killed (RequestId: {request_id})",
                    self.name
                )));
            }
            Err(StdoutError::Io(e)) => {
                return Err(InvokeError::Unknown(format!(
                    "function {}: cannot read stdout: {e}",
                    self.name
                )));
            }
        };
        if !status.success() {
            return Err(self.exit_error(status, &stderr, request_id));
        }
        parse_output(&self.name, &stdout)
    }

    fn exit_error(&self, status: ExitStatus, stderr: &StderrTail, request_id: &str) -> InvokeError {
        if let Some((error_type, payload)) = error_payload(&stderr.last) {
            return InvokeError::Function {
                error_type,
                payload,
            };
        }
        let how = match (status.code(), status.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => format!("ended with {status}"),
        };
        let mut cause = format!(
            "function {} {how} without reporting an errorType (RequestId: {request_id})",
            self.name
        );
        if stderr.recent.is_empty() {
            cause.push_str("; it wrote nothing on stderr");
        } else {
            cause.push_str("; last stderr lines:");
            for line in &stderr.recent {
                cause.push_str("\n  ");
                cause.push_str(line);
            }
        }
        InvokeError::Unknown(cause)
    }
}

/// The program and its arguments. A relative program with a slash
/// (`./bin/handler`) is relative to the config file, like every other path
/// in it; std leaves it unspecified whether it resolves against the
/// parent's or the child's current directory. A bare name is looked up in
/// PATH.
pub(crate) fn program_and_args(command: &[String], base_dir: &Path) -> (PathBuf, Vec<String>) {
    let (program, args) = match command.split_first() {
        Some((program, args)) => (program.clone(), args.to_vec()),
        None => (String::new(), Vec::new()),
    };
    let program = if program.contains('/') && Path::new(&program).is_relative() {
        base_dir.join(&program)
    } else {
        PathBuf::from(program)
    };
    (program, args)
}

/// Waits for one of a function's `concurrency` slots; the wait counts
/// against the Task's `TimeoutSeconds` (as on AWS).
pub(crate) async fn acquire_slot<'a>(
    permits: &'a Semaphore,
    task_deadline: Option<Instant>,
    function: &str,
) -> Result<tokio::sync::SemaphorePermit<'a>, InvokeError> {
    match task_deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, permits.acquire())
            .await
            .map_err(|_| InvokeError::TaskTimedOut)?,
        None => permits.acquire().await,
    }
    .map_err(|_| InvokeError::Unknown(format!("function {function} is shut down")))
}

/// When an invocation starting now must end: the function's timeout, or
/// the Task's deadline if that comes first.
pub(crate) fn invocation_deadline(timeout: Duration, task_deadline: Option<Instant>) -> Instant {
    let function_deadline = deadline_after(timeout);
    match task_deadline {
        Some(t) if t < function_deadline => t,
        _ => function_deadline,
    }
}

/// Now plus `duration`; the config and definitions put no upper bound on
/// timeouts, so a huge one means "about never" rather than an overflow.
pub(crate) fn deadline_after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// The stdout contract: JSON, or nothing (`null`).
pub(crate) fn parse_output(name: &str, stdout: &[u8]) -> Result<Response, InvokeError> {
    let text = stdout.trim_ascii();
    if text.is_empty() {
        return Ok(Response {
            payload: Value::Null,
            payload_bytes: 4,
        });
    }
    match serde_json::from_slice::<Value>(text) {
        Ok(payload) => Ok(Response {
            payload,
            payload_bytes: text.len(),
        }),
        Err(e) => {
            let shown: String = String::from_utf8_lossy(text)
                .chars()
                .take(INVALID_OUTPUT_CHARS)
                .collect();
            Err(InvokeError::Unknown(format!(
                "function {name} printed invalid JSON on stdout ({e}); it starts with: {shown}"
            )))
        }
    }
}

/// `{"errorType": "...", ...}` on the last stderr line: the error name and
/// the line itself (the payload AWS puts in the Cause).
fn error_payload(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    let value: Value = serde_json::from_str(line).ok()?;
    let error_type = value.get("errorType")?.as_str()?;
    if error_type.is_empty() {
        return None;
    }
    Some((error_type.to_owned(), line.to_owned()))
}

/// The invocation's process group: its leader's pid, and whether it was
/// already killed after the leader exited (then dropping it does not signal
/// the pid again, which the system may have handed to someone else).
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    leader: Option<u32>,
    done: AtomicBool,
}

impl ProcessGroup {
    /// The group led by `leader` (the child's pid; `None` if it already exited).
    pub(crate) fn new(leader: Option<u32>) -> Self {
        Self {
            leader,
            done: AtomicBool::new(false),
        }
    }

    /// The leader was reaped and its group killed: never signal it again.
    pub(crate) fn mark_done(&self) {
        self.done.store(true, Ordering::Relaxed);
    }

    /// Kills the group unless that already happened after the leader's end.
    pub(crate) fn kill_unless_done(&self) {
        if !self.done.load(Ordering::Relaxed) {
            self.kill();
        }
    }

    /// SIGKILL to every process of the group; a group that is gone is fine.
    pub(crate) fn kill(&self) {
        let pid = self
            .leader
            .and_then(|p| i32::try_from(p).ok())
            // Never pid 1: kill(-1) would signal every process we may signal.
            .filter(|&p| p > 1)
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for ProcessGroup {
    /// A cancelled invocation (the engine halted, the task was dropped)
    /// leaves nothing running; `kill_on_drop` alone reaches only the leader.
    fn drop(&mut self) {
        self.kill_unless_done();
    }
}

#[derive(Debug)]
enum StdoutError {
    TooLarge,
    Io(std::io::Error),
}

/// Reads stdout, never holding more than [`RESPONSE_LIMIT_BYTES`]; past it
/// the process group is killed.
async fn read_stdout(
    mut stdout: impl AsyncRead + Unpin,
    group: &ProcessGroup,
) -> Result<Vec<u8>, StdoutError> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stdout.read(&mut chunk).await.map_err(StdoutError::Io)?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > RESPONSE_LIMIT_BYTES {
            group.kill();
            return Err(StdoutError::TooLarge);
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// What is kept of stderr for an error: the last line (whole, up to
/// [`STDERR_LINE_BYTES`]) and the last few lines, shortened.
#[derive(Debug, Default)]
struct StderrTail {
    last: String,
    recent: VecDeque<String>,
}

impl StderrTail {
    fn push(&mut self, line: String) {
        let short: String = line.chars().take(TAIL_LINE_CHARS).collect();
        if self.recent.len() == TAIL_LINES {
            self.recent.pop_front();
        }
        self.recent.push_back(short);
        self.last = line;
    }
}

/// Reads stderr line by line: each non-blank line is a log event of the
/// function (tracing, info, with `function` and `request_id`). Lines are
/// cut at [`STDERR_LINE_BYTES`], so a program that never prints a newline
/// cannot make us buffer without bound.
async fn read_stderr(
    mut stderr: impl AsyncRead + Unpin,
    function: &str,
    request_id: &str,
) -> StderrTail {
    let mut tail = StderrTail::default();
    let mut line: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let emit = |line: &mut Vec<u8>, tail: &mut StderrTail| {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8_lossy(line).into_owned();
        line.clear();
        if text.trim().is_empty() {
            return;
        }
        tracing::info!(function, request_id, "{text}");
        tail.push(text);
    };
    loop {
        let n = match stderr.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for piece in chunk[..n].split_inclusive(|&b| b == b'\n') {
            let (content, ends) = match piece.split_last() {
                Some((b'\n', content)) => (content, true),
                _ => (piece, false),
            };
            let room = STDERR_LINE_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&content[..content.len().min(room)]);
            if ends {
                emit(&mut line, &mut tail);
            }
        }
    }
    if !line.is_empty() {
        emit(&mut line, &mut tail);
    }
    tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_blank_stdout_is_null() {
        for out in [&b""[..], b"  \n\t\n"] {
            let r = parse_output("f", out).expect("null");
            assert_eq!(r.payload, Value::Null);
            assert_eq!(r.payload_bytes, 4);
        }
        let r = parse_output("f", b" {\"a\": 1}\n").expect("json");
        assert_eq!(r.payload, serde_json::json!({"a": 1}));
        assert_eq!(r.payload_bytes, 8);
    }

    #[test]
    fn invalid_stdout_shows_its_start() {
        let Err(InvokeError::Unknown(cause)) = parse_output("f", b"hello world") else {
            panic!("expected an error");
        };
        assert!(cause.contains("invalid JSON"), "{cause}");
        assert!(cause.contains("it starts with: hello world"), "{cause}");
    }

    #[test]
    fn error_payloads_need_an_error_type() {
        let line = r#"{"errorMessage": "boom", "errorType": "ValueError"}"#;
        assert_eq!(
            error_payload(line),
            Some(("ValueError".to_owned(), line.to_owned()))
        );
        assert_eq!(error_payload(r#"{"errorMessage": "boom"}"#), None);
        assert_eq!(error_payload(r#"{"errorType": 3}"#), None);
        assert_eq!(error_payload("Traceback (most recent call last):"), None);
    }

    #[tokio::test]
    async fn stderr_lines_are_bounded() {
        let mut input = vec![b'x'; STDERR_LINE_BYTES + 1000];
        input.extend_from_slice(b"\nsecond\r\n\n   \nthird");
        let tail = read_stderr(&input[..], "f", "r").await;
        assert_eq!(tail.last, "third");
        assert_eq!(tail.recent.len(), 3);
        assert_eq!(tail.recent[0].len(), TAIL_LINE_CHARS);
        assert_eq!(tail.recent[1], "second");

        let many: String = (0..50).map(|i| format!("line {i}\n")).collect();
        let tail = read_stderr(many.as_bytes(), "f", "r").await;
        assert_eq!(tail.recent.len(), TAIL_LINES);
        assert_eq!(tail.recent[0], "line 40");
        assert_eq!(tail.last, "line 49");
    }
}
