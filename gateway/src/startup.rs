//! Building a running gateway from a supergraph and a config: the wiring the `serve` and
//! `demo` commands and the end-to-end tests share.

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::fetch::{HttpFetcher, SubgraphEndpoint};
use crate::gateway::Gateway;
use crate::supergraph::{Supergraph, SupergraphError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot read supergraph {path}: {source}")]
    ReadSupergraph {
        path: String,
        source: std::io::Error,
    },
    #[error("supergraph {path}: {source}")]
    Supergraph {
        path: String,
        source: Box<SupergraphError>,
    },
    #[error("config names subgraph \"{0}\", which the supergraph does not have")]
    UnknownSubgraph(String),
}

/// Reads and loads a supergraph file.
pub fn load_supergraph(path: &Path) -> Result<Supergraph, StartupError> {
    let sdl = std::fs::read_to_string(path).map_err(|source| StartupError::ReadSupergraph {
        path: path.display().to_string(),
        source,
    })?;
    Supergraph::parse(&sdl).map_err(|source| StartupError::Supergraph {
        path: path.display().to_string(),
        source: Box::new(source),
    })
}

/// A gateway over `supergraph` that fetches over HTTP, configured by `config`.
pub fn build_gateway(supergraph: Supergraph, config: &Config) -> Result<Gateway, StartupError> {
    for name in config.subgraphs.keys() {
        if supergraph.subgraph_by_name(name).is_none() {
            return Err(StartupError::UnknownSubgraph(name.clone()));
        }
    }
    let endpoints = supergraph
        .subgraphs()
        .iter()
        .map(|subgraph| SubgraphEndpoint {
            url: config
                .subgraphs
                .get(&*subgraph.name)
                .and_then(|s| s.url.clone())
                .unwrap_or_else(|| subgraph.url.clone()),
            timeout: config.subgraph_timeout(&subgraph.name),
        })
        .collect();
    Ok(Gateway::new(
        Arc::new(supergraph),
        Arc::new(HttpFetcher::new(endpoints)),
        &config.query_planning,
    ))
}
