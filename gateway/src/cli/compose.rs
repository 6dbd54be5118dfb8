//! `gateway compose`: reads a `supergraph.yaml`, loads every subgraph's SDL (from a file,
//! inline, or from a running subgraph's `_service { sdl }` with the configured headers),
//! composes, and writes the supergraph or the errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gateway::compose::config::{SchemaSource, SupergraphConfig};
use gateway::compose::{Composition, SubgraphInput, compose};

/// How `compose` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// What to do with the supergraph.
pub enum Target {
    Stdout,
    File(PathBuf),
    /// Compare with a checked-in file; differing is an error.
    Check(PathBuf),
}

pub async fn run(config: PathBuf, target: Target, format: Format) -> Result<(), String> {
    let text = std::fs::read_to_string(&config)
        .map_err(|e| format!("cannot read config {}: {e}", config.display()))?;
    let parsed = SupergraphConfig::parse(&text).map_err(|e| format!("{}:{e}", config.display()))?;
    let base = config.parent().unwrap_or(Path::new("."));
    let mut inputs = Vec::new();
    for (name, subgraph) in &parsed.subgraphs {
        let (sdl, path, default_url) = match subgraph.source() {
            SchemaSource::File(file) => {
                let path = base.join(file);
                let sdl = std::fs::read_to_string(&path).map_err(|e| {
                    format!("subgraph \"{name}\": cannot read {}: {e}", path.display())
                })?;
                (sdl, path, None)
            }
            SchemaSource::SubgraphUrl { url, headers } => {
                let sdl = fetch_sdl(&url, &headers).await.map_err(|e| {
                    format!("subgraph \"{name}\": cannot get its SDL from {url}: {e}")
                })?;
                (sdl, PathBuf::from(&url), Some(url))
            }
            SchemaSource::Sdl(sdl) => (
                sdl,
                PathBuf::from(format!("{}#{name}", config.display())),
                None,
            ),
        };
        let url = subgraph
            .routing_url
            .clone()
            .or(default_url)
            .unwrap_or_default();
        inputs.push(SubgraphInput {
            name: name.clone(),
            url,
            sdl,
            path,
        });
    }
    let Composition { supergraph, report } = compose(inputs);
    match format {
        Format::Text => eprint!("{}", report.render_text()),
        // Always one JSON document on stdout: `{"supergraph"?, "errors", "hints"}`.
        Format::Json => {
            let mut json = report.to_json();
            if let Some(supergraph) = &supergraph {
                json["supergraph"] = serde_json::Value::String(supergraph.clone());
            }
            super::output::print(&format!(
                "{}\n",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            ));
        }
    }
    let Some(supergraph) = supergraph else {
        return Err(format!(
            "composition failed with {} error(s)",
            report.errors.len()
        ));
    };
    match target {
        Target::File(path) => std::fs::write(&path, supergraph)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        // In JSON the supergraph is in the document already.
        Target::Stdout if format == Format::Json => {}
        Target::Stdout => super::output::print(&supergraph),
        Target::Check(path) => {
            let current = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if current.trim_end() != supergraph.trim_end() {
                let line = current
                    .lines()
                    .zip(supergraph.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| current.lines().count().min(supergraph.lines().count()))
                    + 1;
                return Err(format!(
                    "{} is stale (first difference at line {line}): run `gateway compose --config {} --output {}`",
                    path.display(),
                    config.display(),
                    path.display()
                ));
            }
            eprintln!("{} is up to date", path.display());
        }
    }
    Ok(())
}

/// Asks a running subgraph for its SDL (`{ _service { sdl } }`).
async fn fetch_sdl(
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let mut request = client.post(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request
        .json(&serde_json::json!({ "query": "{ _service { sdl } }" }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("HTTP {status}, not a GraphQL response: {e}"))?;
    body["data"]["_service"]["sdl"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("HTTP {status}, no `_service.sdl` in the response: {body}"))
}
