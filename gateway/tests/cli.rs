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
