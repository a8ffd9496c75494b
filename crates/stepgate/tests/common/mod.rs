//! What the integration tests share: starting the real `stepgate` binary as
//! a server and talking raw HTTP/1.1 to it (no client library between the
//! test and the wire, so the bytes sent are the bytes tested).
//!
//! Each test binary compiles this module separately and uses part of it.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `stepgate serve`; killed on drop, even when an assertion fails.
pub struct Server {
    pub child: Child,
    /// The JSON line the server printed with its bound addresses.
    pub ports: Value,
    /// Where its stderr (the process log) goes.
    pub log: PathBuf,
}

impl Server {
    /// Starts `stepgate serve ARGS` in `dir`, its stderr in `dir/server.log`,
    /// and waits for the line with the bound addresses.
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        Self::start_with_env(dir, args, &[])
    }

    /// [`Server::start`] with extra environment variables.
    pub fn start_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let log = dir.join("server.log");
        let stderr = std::fs::File::create(&log).expect("server log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_stepgate"));
        command
            .arg("serve")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn stepgate");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let mut server = Server {
            child,
            ports: Value::Null,
            log,
        };
        server.ports = match (read, serde_json::from_str(&line)) {
            (Ok(_), Ok(ports)) => ports,
            _ => panic!(
                "no address line (got {line:?}); log:\n{}",
                server.log_text()
            ),
        };
        // Keep stdout drained so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
        });
        server
    }

    /// The bound address under `key` (`listen`, `admin_listen`).
    pub fn addr(&self, key: &str) -> SocketAddr {
        self.ports[key]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {}", self.ports))
    }

    /// The process log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the process log contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.log_text();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "log never contained {needle:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response, parsed just enough for assertions.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// Header lines as (lowercased name, value).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection: `head` is the request line plus any
/// header lines (without Host, Content-Length, Connection). Panics on any
/// IO or protocol error.
pub fn request(addr: SocketAddr, head: &str, body: &[u8]) -> Response {
    try_request(addr, head, body).unwrap_or_else(|e| panic!("{head}: {e}"))
}

/// [`request`] that reports IO and protocol errors instead of panicking
/// (for tests that expect connections to be cut).
pub fn try_request(addr: SocketAddr, head: &str, body: &[u8]) -> Result<Response, String> {
    let io = |e: std::io::Error| e.to_string();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    let mut bytes = format!(
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    stream.write_all(&bytes).map_err(io)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).map_err(io)?;
    let text = String::from_utf8(response).map_err(|e| e.to_string())?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not a full response: {text:?}"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line: {head:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// One Step Functions API call on the admin address; asserts 200.
pub fn api(addr: SocketAddr, action: &str, body: &Value) -> Value {
    let head = format!(
        "POST / HTTP/1.1\r\nX-Amz-Target: AWSStepFunctions.{action}\r\nContent-Type: application/x-amz-json-1.0"
    );
    let response = request(addr, &head, body.to_string().as_bytes());
    assert_eq!(response.status, 200, "{action}: {}", response.body);
    response.json()
}

/// Polls DescribeExecution until the execution is no longer RUNNING.
pub fn wait_until_done(admin: SocketAddr, arn: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let d = api(
            admin,
            "DescribeExecution",
            &serde_json::json!({ "executionArn": arn }),
        );
        if d["status"] != "RUNNING" {
            return d;
        }
        assert!(Instant::now() < deadline, "still running: {d}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
