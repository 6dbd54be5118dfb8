//! The `gateway` command line: `plan` prints a plan, and bad input exits non-zero with a
//! message that names the problem.

use std::path::PathBuf;
use std::process::Command;

fn gateway() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gateway"))
}

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

#[test]
fn plan_prints_the_plan_of_a_query_file() {
    let query = std::env::temp_dir().join(format!("plan-{}.graphql", std::process::id()));
    std::fs::write(&query, r#"{ order(id: "1") { buyer { name } } }"#).unwrap();
    let output = gateway()
        .args(["plan", "--supergraph"])
        .arg(fixture("entities/supergraph.graphql"))
        .arg("--query")
        .arg(&query)
        .output()
        .unwrap();
    std::fs::remove_file(&query).ok();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan = String::from_utf8(output.stdout).unwrap();
    assert!(plan.starts_with("QueryPlan {"), "{plan}");
    assert!(plan.contains(r#"Fetch(service: "orders")"#), "{plan}");
    assert!(plan.contains(r#"Flatten(path: "order.buyer")"#), "{plan}");
}

#[test]
fn serve_refuses_a_missing_supergraph_file() {
    let output = gateway()
        .args(["serve", "--supergraph", "/nonexistent/supergraph.graphql"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read supergraph /nonexistent/supergraph.graphql"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_malformed_supergraph() {
    let path = std::env::temp_dir().join(format!("bad-supergraph-{}.graphql", std::process::id()));
    std::fs::write(&path, "type Query { hello: String }").unwrap();
    let output = gateway()
        .arg("serve")
        .arg("--supergraph")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a Federation v2 supergraph"),
        "{stderr}"
    );
}

#[test]
fn serve_refuses_a_config_with_unknown_keys() {
    let path = std::env::temp_dir().join(format!("bad-config-{}.yaml", std::process::id()));
    std::fs::write(&path, "listen: 127.0.0.1:0\nsubgraph_timeout: 5\n").unwrap();
    let output = gateway()
        .arg("serve")
        .arg("--supergraph")
        .arg(fixture("entities/supergraph.graphql"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown field `subgraph_timeout`"),
        "{stderr}"
    );
    assert!(stderr.contains(":2:"), "the line is named: {stderr}");
}

#[test]
fn plan_into_a_reader_that_leaves_early_exits_quietly() {
    use std::process::Stdio;
    let query = std::env::temp_dir().join(format!("plan-pipe-{}.graphql", std::process::id()));
    std::fs::write(&query, r#"{ order(id: "1") { buyer { name } } }"#).unwrap();
    let mut child = gateway()
        .args(["plan", "--supergraph"])
        .arg(fixture("entities/supergraph.graphql"))
        .arg("--query")
        .arg(&query)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // As `| head` does once it has what it wants: close the pipe (here before the plan is
    // written, which loading the supergraph leaves ample time for).
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    std::fs::remove_file(&query).ok();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
}

#[test]
fn serve_refuses_a_subgraph_url_that_is_not_one_at_start() {
    let path = std::env::temp_dir().join(format!("bad-url-{}.yaml", std::process::id()));
    std::fs::write(
        &path,
        "listen: 127.0.0.1:0\nsubgraphs:\n  orders:\n    url: \"orders:4001/graphql\"\n",
    )
    .unwrap();
    let output = gateway()
        .arg("serve")
        .arg("--supergraph")
        .arg(fixture("entities/supergraph.graphql"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("subgraph \"orders\""), "{stderr}");
    assert!(stderr.contains("orders:4001/graphql"), "{stderr}");
}

#[test]
fn serve_listens_on_a_host_name_and_logs_without_colours_once_bound() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = gateway()
        .args(["serve", "--listen", "localhost:0", "--supergraph"])
        .arg(fixture("entities/supergraph.graphql"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let bound = loop {
        let Some(Ok(line)) = lines.next() else {
            break None;
        };
        seen.push(line.clone());
        if let Some(url) = line.split("listening on ").nth(1) {
            break Some(url.to_string());
        }
    };
    let playground = lines.next().and_then(Result::ok).unwrap_or_default();
    child.kill().ok();
    child.wait().ok();
    let url = bound.unwrap_or_else(|| panic!("no listening line: {seen:?}"));
    let port: u16 = url
        .trim_start_matches("http://")
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.trim_end_matches("/graphql").parse().ok())
        .unwrap_or(0);
    assert!(port > 0, "bound to a real port: {url}");
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("http://[::1]:"),
        "{url}"
    );
    assert!(playground.contains("playground: http://"), "{playground}");
    for line in seen.iter().chain([&playground]) {
        assert!(
            !line.contains('\u{1b}'),
            "ANSI escape in a log line: {line:?}"
        );
    }
}
