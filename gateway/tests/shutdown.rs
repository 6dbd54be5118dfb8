//! Graceful shutdown of the real `gateway serve` process: on SIGTERM or SIGINT it stops
//! accepting, closes idle connections, lets the request in flight finish with its full data, and
//! exits 0; and the same as PID 1 of its own PID namespace (a container without an init).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SUPERGRAPH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/supergraph.graphql");

/// An accounts subgraph that answers `{ me { id } }` after `delay`; counts requests begun.
async fn slow_accounts(delay: Duration) -> (String, Arc<AtomicUsize>) {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let router = Router::new().route(
        "/graphql",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                axum::Json(json!({ "data": { "me": { "id": "1" } } }))
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{address}/graphql"), started)
}

/// A running `gateway serve`, possibly under `unshare`; its address from its log.
struct Gateway {
    child: Child,
    /// The gateway's own PID (the host's view of PID 1 under `unshare`).
    pid: i32,
    address: SocketAddr,
    _config: tempfile_dir::TempDir,
}

/// A directory removed when dropped (no extra crate for one test).
mod tempfile_dir {
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn start_gateway(accounts: &str, as_pid_1: bool, tag: i32) -> Gateway {
    let dir = std::env::temp_dir().join(format!(
        "gateway-shutdown-{}-{tag}-{as_pid_1}",
        std::process::id(),
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("gateway.yaml");
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1:0\nsupergraph: {SUPERGRAPH}\nsubgraphs:\n  accounts: {{ url: \"{accounts}\" }}\n\
             server:\n  shutdown_timeout_ms: 10000\n"
        ),
    )
    .unwrap();
    let gateway = env!("CARGO_BIN_EXE_gateway");
    let mut command = if as_pid_1 {
        let mut command = Command::new("unshare");
        command.args(["--pid", "--fork", "--mount-proc", gateway]);
        command
    } else {
        Command::new(gateway)
    };
    let mut child = command
        .args(["serve", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateway starts");
    let (sender, receiver) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    // Keep reading the log so the gateway never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let address = rest.trim_end_matches("/graphql").to_string();
                let _ = sender.send(address);
            }
            eprintln!("gateway: {line}");
        }
    });
    let address = receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("the gateway logs its address")
        .parse()
        .unwrap();
    let pid = if as_pid_1 {
        pid_1_of(child.id())
    } else {
        child.id() as i32
    };
    Gateway {
        child,
        pid,
        address,
        _config: tempfile_dir::TempDir(dir),
    }
}

/// The host PID of the process `unshare --fork` started: PID 1 of the new namespace.
fn pid_1_of(unshare: u32) -> i32 {
    let children = std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
        .expect("unshare's children");
    let pid: i32 = children
        .split_whitespace()
        .next()
        .expect("one child")
        .parse()
        .unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let namespaced = status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .expect("NSpid");
    assert_eq!(
        namespaced.split_whitespace().last(),
        Some("1"),
        "PID 1 of its namespace: {namespaced}"
    );
    pid
}

/// Whether this machine can start a process as PID 1 of a new PID namespace (root, `unshare`).
/// Where it cannot (a developer without root), the PID 1 tests say so and pass; CI runs as root,
/// so there they must run.
fn can_run_as_pid_1() -> bool {
    let works = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        works || std::env::var_os("CI").is_none(),
        "CI must be able to run `unshare --pid --fork --mount-proc` (root)"
    );
    if !works {
        eprintln!("skipped: `unshare --pid --fork --mount-proc` needs root here");
    }
    works
}

fn send(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a PID this test started and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("the gateway did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn graceful_shutdown(signal: i32, as_pid_1: bool) {
    let (accounts, started) = slow_accounts(Duration::from_millis(1500)).await;
    let mut gateway = start_gateway(&accounts, as_pid_1, signal);
    let url = format!("http://{}/graphql", gateway.address);
    // An idle keep-alive connection, to be closed at once.
    let mut idle = TcpStream::connect(gateway.address).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: gateway\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 1024];
    assert!(idle.read(&mut answer).await.unwrap() > 0);
    let in_flight = tokio::spawn(async move {
        let response = reqwest::Client::new()
            .post(url)
            .json(&json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .expect("answered despite the signal");
        (response.status(), response.json::<Value>().await.unwrap())
    });
    while started.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signalled = Instant::now();
    send(gateway.pid, signal);
    // The idle connection is closed at once, not after the request in flight.
    let closed = tokio::time::timeout(Duration::from_secs(1), async {
        while idle.read(&mut answer).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    assert!(closed.is_ok(), "idle connection closed on shutdown");
    // New connections are refused while the request in flight finishes.
    let refused = async {
        while TcpStream::connect(gateway.address).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(1), refused)
        .await
        .expect("new connections refused after the signal");
    assert!(!in_flight.is_finished(), "still in flight when refusing");
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "data": { "me": { "id": "1" } } }));
    let exit = tokio::task::spawn_blocking(move || {
        let status = wait_exit(&mut gateway.child, Duration::from_secs(10));
        drop(gateway);
        status
    })
    .await
    .unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    assert!(signalled.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    graceful_shutdown(libc::SIGTERM, false).await;
}

#[tokio::test]
async fn sigint_finishes_the_request_in_flight_and_exits_0() {
    graceful_shutdown(libc::SIGINT, false).await;
}

#[tokio::test]
async fn as_pid_1_sigterm_finishes_the_request_in_flight_and_exits_0() {
    if !can_run_as_pid_1() {
        return;
    }
    graceful_shutdown(libc::SIGTERM, true).await;
}
