//! The `subgraph` binary stops on SIGTERM and SIGINT with exit status 0, also as PID 1 of its
//! own PID namespace (a container without an init, where a signal without a handler is
//! dropped).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `subgraph accounts` on a free port; returns it, its host PID and its address.
fn start(as_pid_1: bool) -> (Child, i32, String) {
    let subgraph = env!("CARGO_BIN_EXE_subgraph");
    let mut command = if as_pid_1 {
        let mut command = Command::new("unshare");
        command.args(["--pid", "--fork", "--mount-proc", subgraph]);
        command
    } else {
        Command::new(subgraph)
    };
    let mut child = command
        .args(["accounts", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .env_remove("SUBGRAPH_REDIS_URL")
        .stdout(Stdio::piped())
        .spawn()
        .expect("subgraph starts");
    let (sender, receiver) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("serving http://").nth(1) {
                let _ = sender.send(rest.split('/').next().unwrap_or_default().to_string());
            }
        }
    });
    let address = receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("the subgraph logs its address");
    let pid = if as_pid_1 {
        let unshare = child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children")).unwrap();
        let pid: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let namespaced = status
            .lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .unwrap();
        assert_eq!(namespaced.split_whitespace().last(), Some("1"));
        pid
    } else {
        child.id() as i32
    };
    (child, pid, address)
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

fn stops_with(signal: i32, as_pid_1: bool) {
    let (mut child, pid, address) = start(as_pid_1);
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: subgraph\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // SAFETY: kill(2) with a PID this test started and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the subgraph did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
    assert!(TcpStream::connect(&address).is_err(), "no longer listening");
}

#[test]
fn sigterm_stops_it_with_status_0() {
    stops_with(libc::SIGTERM, false);
}

#[test]
fn sigint_stops_it_with_status_0() {
    stops_with(libc::SIGINT, false);
}

#[test]
fn as_pid_1_sigterm_stops_it_with_status_0() {
    if !can_run_as_pid_1() {
        return;
    }
    stops_with(libc::SIGTERM, true);
}

#[test]
fn as_pid_1_sigint_stops_it_with_status_0() {
    if !can_run_as_pid_1() {
        return;
    }
    stops_with(libc::SIGINT, true);
}
