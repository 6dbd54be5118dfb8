//! A real browser for the tests: Debian's Chromium (`/usr/bin/chromium`, or `$CHROMIUM`)
//! driven by `tests/browser/playground.mjs` through playwright-core (pinned in
//! `tests/browser/package-lock.json`, installed with `npm ci` when node_modules is not what
//! the lock pins; playwright never downloads a browser). Every request to a host other than
//! loopback is aborted and reported. Each scenario prints a JSON report that the helpers here
//! return as a [`Report`], whose `Display` is the diagnostics to print when an assertion
//! fails (the step reached, the error, the console, the page's text, the screenshot).
//!
//! - [`playground`]: the gateway's GraphiQL page, used as a person would.
//! - [`cross_origin_fetch`]: a page on another loopback origin ([`PageServer`]) that fetches
//!   the gateway as a frontend app would (for CORS).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

/// What one scenario run reported, with node's stderr.
pub struct Report {
    pub json: Value,
    pub stderr: String,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.json["ok"] == true
    }

    /// A string field of the report ("" when absent).
    pub fn str(&self, key: &str) -> &str {
        self.json[key].as_str().unwrap_or("")
    }

    /// Requests to a host other than loopback the page attempted (all were aborted).
    pub fn blocked(&self) -> Vec<&str> {
        strings(&self.json["blocked"])
    }

    /// Console messages (`type: text`), page errors and failed requests.
    pub fn console(&self) -> Vec<&str> {
        strings(&self.json["console"])
    }

    /// Content-Security-Policy violations: the page's `securitypolicyviolation` events and
    /// console messages about the policy.
    pub fn csp_violations(&self) -> Vec<&str> {
        let mut violations = strings(&self.json["cspViolations"]);
        violations.extend(
            self.console()
                .into_iter()
                .filter(|m| m.contains("Content Security Policy")),
        );
        violations
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = &self.json;
        writeln!(f, "browser scenario `{}`", self.str("scenario"))?;
        writeln!(f, "  ok: {}, last step: {}", json["ok"], self.str("step"))?;
        if let Some(error) = json["error"].as_str() {
            writeln!(f, "  error: {error}")?;
        }
        for (label, items) in [
            ("blocked (non-loopback) requests", self.blocked()),
            ("CSP violations", self.csp_violations()),
            ("console", self.console()),
        ] {
            writeln!(f, "  {label}: {}", items.len())?;
            for item in items {
                writeln!(f, "    {item}")?;
            }
        }
        if let Some(text) = json["pageText"].as_str() {
            writeln!(f, "  page text:\n{text}")?;
        }
        if let Some(path) = json["screenshot"].as_str() {
            writeln!(f, "  screenshot: {path}")?;
        }
        let mut rest = json.clone();
        if let Some(object) = rest.as_object_mut() {
            for key in ["console", "pageText", "error", "blocked", "cspViolations"] {
                object.remove(key);
            }
        }
        writeln!(
            f,
            "  report: {}",
            serde_json::to_string_pretty(&rest).unwrap_or_default()
        )?;
        if !self.stderr.trim().is_empty() {
            writeln!(f, "  node stderr:\n{}", self.stderr.trim_end())?;
        }
        Ok(())
    }
}

/// `tests/browser`, where playground.mjs and its package lock live.
pub fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Where screenshots go: `$CARGO_TARGET_DIR/browser-artifacts`, else the workspace's
/// `target/browser-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir)
            }
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).expect("create the browser artefacts directory");
    dir
}

/// The browser the scenarios drive.
pub fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Checks Chromium is there and installs playwright-core once per test process.
async fn prepare() {
    static INSTALLED: OnceCell<()> = OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            let chromium = chromium();
            assert!(
                chromium.exists(),
                "{} is missing: the browser tests drive Debian's Chromium \
                 (`apt-get install chromium`; tests/run installs it)",
                chromium.display()
            );
            let dir = script_dir();
            if !installed_as_locked(&dir) {
                let output = Command::new("npm")
                    .args([
                        "ci",
                        "--ignore-scripts",
                        "--no-audit",
                        "--no-fund",
                        "--prefer-offline",
                    ])
                    .current_dir(&dir)
                    .stdin(Stdio::null())
                    .kill_on_drop(true)
                    .output();
                let output = tokio::time::timeout(Duration::from_secs(300), output)
                    .await
                    .expect("npm ci took longer than 5 minutes")
                    .expect("could not run npm: the browser tests need node and npm on the PATH");
                assert!(
                    output.status.success(),
                    "npm ci in {} failed:\n{}{}",
                    dir.display(),
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                assert!(installed_as_locked(&dir), "npm ci did not install the lock");
            }
        })
        .await;
}

/// Whether node_modules holds exactly the versions package-lock.json pins.
pub fn installed_as_locked(dir: &Path) -> bool {
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

/// Runs `node playground.mjs <args>` (node, and the Chromium it starts, killed after
/// `limit`) and reads its report.
pub async fn run(args: &[String], limit: Duration) -> Report {
    prepare().await;
    let mut child = Command::new("node")
        .arg("playground.mjs")
        .args(args)
        .env("CHROMIUM", chromium())
        .current_dir(script_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a timeout takes Chromium down with node.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("could not run node: the browser tests need node on the PATH");
    let group = child.id().expect("node's pid") as i32;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let read = async {
        let (out, err, _) = tokio::join!(read_all(stdout), read_all(stderr), child.wait());
        (out, err)
    };
    let (stdout, stderr) = match tokio::time::timeout(limit, read).await {
        Ok(output) => output,
        Err(_) => {
            // SAFETY: kill(2) on the process group this function started.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            panic!(
                "`node playground.mjs {}` took longer than {limit:?}",
                args.join(" ")
            );
        }
    };
    let last = stdout.lines().rev().find(|line| !line.trim().is_empty());
    match last.and_then(|line| serde_json::from_str::<Value>(line).ok()) {
        Some(json) => Report { json, stderr },
        None => {
            panic!("playground.mjs printed no JSON report:\nstdout:\n{stdout}\nstderr:\n{stderr}")
        }
    }
}

async fn read_all(mut pipe: impl tokio::io::AsyncRead + Unpin) -> String {
    use tokio::io::AsyncReadExt;
    let mut bytes = Vec::new();
    let _ = pipe.read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Opens the playground at `gateway_url`, types `query` and runs it, lists the Query fields
/// in the docs explorer, types `header` into the headers editor and runs again; keeps a
/// screenshot at `screenshot`.
pub async fn playground(
    gateway_url: &str,
    screenshot: &Path,
    query: &str,
    header: (&str, &str),
) -> Report {
    let args = [
        "playground",
        "--gateway-url",
        gateway_url,
        "--screenshot",
        &screenshot.display().to_string(),
        "--query",
        query,
        "--header",
        &format!("{}: {}", header.0, header.1),
    ];
    run(&owned(&args), Duration::from_secs(120)).await
}

/// Opens the playground at `gateway_url`, runs the subscription `query`, and POSTs
/// `mutation` (a request body) to the gateway until an event shows in the result pane; keeps
/// a screenshot at `screenshot`.
pub async fn playground_subscription(
    gateway_url: &str,
    screenshot: &Path,
    query: &str,
    mutation: &str,
) -> Report {
    let args = [
        "subscription",
        "--gateway-url",
        gateway_url,
        "--screenshot",
        &screenshot.display().to_string(),
        "--query",
        query,
        "--mutation",
        mutation,
    ];
    run(&owned(&args), Duration::from_secs(120)).await
}

/// The playground runs the live query `query` (typed, then run with Ctrl-Enter); once its
/// first result shows, `mutation` (a JSON body) is POSTed to the gateway every 300 ms until
/// the result pane holds `expect` (the mutation's effect, pushed by the gateway).
pub async fn playground_live(
    gateway_url: &str,
    screenshot: &Path,
    query: &str,
    mutation: &str,
    expect: &str,
) -> Report {
    let args = [
        "subscription",
        "--gateway-url",
        gateway_url,
        "--screenshot",
        &screenshot.display().to_string(),
        "--query",
        query,
        "--mutation",
        mutation,
        "--expect",
        expect,
    ];
    run(&owned(&args), Duration::from_secs(120)).await
}

/// How the page on the other origin calls the gateway.
#[derive(Debug, Clone)]
pub struct Fetch {
    pub method: &'static str,
    /// The request body (ignored for GET).
    pub body: String,
    /// Sent besides `content-type: application/json`.
    pub headers: Vec<(String, String)>,
    /// `fetch`'s `credentials`: `same-origin` (its default), `include` or `omit`.
    pub credentials: &'static str,
}

impl Default for Fetch {
    fn default() -> Self {
        Self {
            method: "POST",
            body: serde_json::json!({ "query": "{ __typename }" }).to_string(),
            headers: Vec::new(),
            credentials: "same-origin",
        }
    }
}

/// Opens `page_url` and, from that page, fetches `gateway_url` with `fetch`. The report's
/// `fetch` is `{ok: true, status, headers, body}` when the page could read the response,
/// `{ok: false, error: {name, message}}` when the browser refused it (a CORS refusal is a
/// `TypeError`, with the reason in the console).
pub async fn cross_origin_fetch(page_url: &str, gateway_url: &str, fetch: &Fetch) -> Report {
    let mut args = owned(&[
        "fetch",
        "--page-url",
        page_url,
        "--gateway-url",
        gateway_url,
        "--method",
        fetch.method,
        "--body",
        &fetch.body,
        "--credentials",
        fetch.credentials,
    ]);
    for (name, value) in &fetch.headers {
        args.push("--header".into());
        args.push(format!("{name}: {value}"));
    }
    run(&args, Duration::from_secs(60)).await
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| arg.to_string()).collect()
}

/// A page on its own loopback port (another origin than any gateway's), stopped when dropped.
pub struct PageServer {
    pub url: String,
    task: JoinHandle<()>,
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PageServer {
    /// Serves `html` at `/`.
    pub async fn start(html: &'static str) -> Self {
        let router = axum::Router::new().route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(html) }),
        );
        let (listener, address) = crate::listener().await;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            url: format!("http://{address}/"),
            task,
        }
    }
}
