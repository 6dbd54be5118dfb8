//! The graphql-http server audits (GraphQL over HTTP conformance, MUST, SHOULD and MAY) run
//! against the demo gateway with its default config: every one of them must pass when the
//! requests carry a CSRF preflight header. Without it, CSRF prevention (on by default) refuses
//! the GET requests of three MAY audits, and only those.
//!
//! The audits are the npm package `graphql-http`, pinned in `tests/graphql-http-audit/`
//! (package.json and package-lock.json); `audit.mjs` there runs them. This test installs that
//! folder with `npm ci` when its node_modules is missing or not what the lock file pins (the
//! only network it needs is the npm registry, once), then runs
//! `node audit.mjs <gateway url>` and reads its closing `N passed, N failed` line. Needs
//! `node` and `npm` on the PATH.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use e2e::Stack;
use serde_json::Value;
use tokio::process::Command;

/// How many audits graphql-http 1.23.1 (the version pinned) has in `serverAudits`.
const AUDITS: usize = 61;

fn audit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("graphql-http-audit")
}

/// Runs `program args` in `dir`, killed if it takes longer than `limit`.
async fn run(dir: &Path, program: &str, args: &[&str], limit: Duration) -> Output {
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(limit, child).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!(
            "could not run `{program}` ({e}): the GraphQL-over-HTTP audit needs node and npm on the PATH"
        ),
        Err(_) => panic!("`{program} {}` took longer than {limit:?}", args.join(" ")),
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether node_modules holds exactly the versions package-lock.json pins.
fn installed_as_locked(dir: &Path) -> bool {
    let lock: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("package-lock.json")).expect("package-lock.json"),
    )
    .expect("package-lock.json is JSON");
    let packages = lock["packages"].as_object().expect("lockfile v3 packages");
    packages
        .iter()
        .filter(|(path, _)| !path.is_empty())
        .all(|(path, locked)| {
            std::fs::read_to_string(dir.join(path).join("package.json"))
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .is_some_and(|installed| installed["version"] == locked["version"])
        })
}

/// `(passed, failed)` from the closing line of audit.mjs.
fn tally(stdout: &str) -> Option<(usize, usize)> {
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty())?;
    let (passed, failed) = line.trim().split_once(" passed, ")?;
    Some((
        passed.parse().ok()?,
        failed.strip_suffix(" failed")?.parse().ok()?,
    ))
}

/// The audits whose GET requests CSRF prevention refuses when they carry no preflight header.
const REFUSED_AS_CSRF: [&str; 3] = ["[5A70]", "[D6D5]", "[6A70]"];

#[tokio::test]
async fn every_graphql_over_http_audit_passes() {
    let dir = install().await;
    let stack = Stack::demo().await;
    let output = audit(&dir, &stack, &["--header", "apollo-require-preflight:true"]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let failures: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL") || l.starts_with("         HTTP"))
        .collect();
    assert_eq!(
        tally(&stdout),
        Some((AUDITS, 0)),
        "GraphQL-over-HTTP audits that failed:\n{}\n\nfull output:\n{}",
        failures.join("\n"),
        text(&output)
    );
    assert!(output.status.success(), "audit.mjs:\n{}", text(&output));

    // Without the header: only these GET audits fail (their requests are the ones that pass
    // with it, so CSRF prevention is what refused them).
    let output = audit(&dir, &stack, &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    failed.sort_unstable();
    failed.dedup();
    let mut expected = REFUSED_AS_CSRF.to_vec();
    expected.sort_unstable();
    assert_eq!(failed, expected, "{}", text(&output));
}

/// Installs the pinned graphql-http when node_modules is not what the lock pins.
async fn install() -> PathBuf {
    let dir = audit_dir();
    if !installed_as_locked(&dir) {
        let output = run(
            &dir,
            "npm",
            &[
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--prefer-offline",
            ],
            Duration::from_secs(300),
        )
        .await;
        assert!(output.status.success(), "npm ci failed:\n{}", text(&output));
        assert!(installed_as_locked(&dir), "npm ci did not install the lock");
    }
    dir
}

/// Runs every audit against `stack`'s gateway.
async fn audit(dir: &Path, stack: &Stack, options: &[&str]) -> Output {
    let mut args = vec!["audit.mjs", stack.gateway_url.as_str()];
    args.extend_from_slice(options);
    run(dir, "node", &args, Duration::from_secs(120)).await
}

#[test]
fn the_closing_line_is_read() {
    assert_eq!(tally("ok  [1] x\n61 passed, 0 failed\n"), Some((61, 0)));
    assert_eq!(tally("60 passed, 1 failed"), Some((60, 1)));
    assert_eq!(tally("61 passed, 0 failed\nsomething else"), None);
}
