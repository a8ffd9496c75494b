//! Graceful shutdown of `stepgate serve --config` under load: SIGTERM while
//! clients are posting webhooks. Every request answered 200 must be stored;
//! the process exits 0; nothing answers after it is gone.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Server, try_request};

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
admin_listen = "127.0.0.1:0"
store = "sqlite://store.db"

[state_machines.hooks]
type = "STANDARD"
definition = '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'

[[routes]]
method = "POST"
path = "/"
state_machine = "hooks"
mode = "async"
"#;

/// Posts until told to stop or until the server is gone; counts 200s.
fn client(addr: SocketAddr, stop: Arc<AtomicBool>, acked: Arc<AtomicUsize>) {
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        // A refused connection means the listener is closed: done.
        if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err() {
            return;
        }
        let outcome = try_request(
            addr,
            "POST / HTTP/1.1\r\nContent-Type: application/json",
            format!(r#"{{"n": {i}}}"#).as_bytes(),
        );
        match outcome {
            Ok(r) if r.status == 200 => {
                acked.fetch_add(1, Ordering::Relaxed);
            }
            // A connection cut by the shutdown is not an acknowledgement.
            _ => return,
        }
    }
}

#[cfg(unix)]
#[test]
fn sigterm_under_load_loses_no_acknowledged_webhook() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("stepgate.toml"), CONFIG).expect("config");
    let mut server = Server::start(dir.path(), &["--config", "stepgate.toml"]);
    let listen = server.addr("listen");
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (stop, acked) = (Arc::clone(&stop), Arc::clone(&acked));
            std::thread::spawn(move || client(listen, stop, acked))
        })
        .collect();
    // Let load build up, then ask the server to stop.
    while acked.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = server.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = server.child.wait().expect("wait");
    assert!(exit.success(), "exit {exit:?}; log:\n{}", server.log_text());
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client thread");
    }
    let acked = acked.load(Ordering::Relaxed);
    assert!(
        TcpStream::connect_timeout(&listen, Duration::from_secs(1)).is_err(),
        "still accepting after exit"
    );

    // Every acknowledged webhook is in the store (and, STANDARD, finished
    // or resumable): count with the read-only CLI.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stepgate"))
        .args([
            "executions",
            "--store",
            "sqlite://store.db",
            "list",
            "--json",
            "--limit",
            "1000000",
        ])
        .current_dir(dir.path())
        .output()
        .expect("executions list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let stored = listed["executions"]
        .as_array()
        .map(Vec::len)
        .expect("a list of executions");
    assert!(
        stored >= acked,
        "{acked} acknowledged, {stored} stored; log:\n{}",
        server.log_text()
    );
}
