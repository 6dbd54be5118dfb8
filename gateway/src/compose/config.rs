//! The composition config, in the shape users know from `supergraph.yaml`:
//!
//! ```yaml
//! federation_version: =2.3.2
//! subgraphs:
//!   accounts:
//!     routing_url: http://accounts:4001/graphql
//!     schema:
//!       file: ./accounts.graphql        # or: subgraph_url: http://accounts:4001/graphql
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupergraphConfig {
    /// Recorded for compatibility with other tools; this composer writes join v0.3 and reads
    /// every Federation 2.x subgraph (and Federation 1 ones).
    #[serde(default)]
    pub federation_version: Option<String>,
    pub subgraphs: BTreeMap<String, SubgraphConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgraphConfig {
    /// Where the gateway sends this subgraph's fetches. Defaults to `schema.subgraph_url`.
    #[serde(default)]
    pub routing_url: Option<String>,
    pub schema: SchemaConfig,
}

/// `schema:` as written: exactly one of `file` and `subgraph_url`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub subgraph_url: Option<String>,
}

/// Where a subgraph's SDL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSource {
    /// A file, relative to the config file.
    File(String),
    /// A running subgraph, asked for `_service { sdl }`.
    SubgraphUrl(String),
}

impl SubgraphConfig {
    pub fn source(&self) -> SchemaSource {
        match (&self.schema.file, &self.schema.subgraph_url) {
            (Some(file), _) => SchemaSource::File(file.clone()),
            (None, Some(url)) => SchemaSource::SubgraphUrl(url.clone()),
            (None, None) => unreachable!("checked by SupergraphConfig::parse"),
        }
    }
}

/// Why a config was refused, with its line and column.
#[derive(Debug, thiserror::Error)]
#[error("{location}{message}")]
pub struct ConfigError {
    pub location: String,
    pub message: String,
}

impl SupergraphConfig {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Self = serde_yaml::from_str(text).map_err(|e| ConfigError {
            location: e
                .location()
                .map(|l| format!("{}:{}: ", l.line(), l.column()))
                .unwrap_or_default(),
            message: e.to_string(),
        })?;
        if config.subgraphs.is_empty() {
            return Err(ConfigError {
                location: String::new(),
                message: "`subgraphs` is empty: there is nothing to compose".into(),
            });
        }
        for (name, subgraph) in &config.subgraphs {
            let schema = &subgraph.schema;
            if schema.file.is_some() == schema.subgraph_url.is_some() {
                return Err(ConfigError {
                    location: String::new(),
                    message: format!(
                        "subgraph \"{name}\": `schema` needs exactly one of `file` and `subgraph_url`"
                    ),
                });
            }
            if subgraph.routing_url.is_none() && schema.subgraph_url.is_none() {
                return Err(ConfigError {
                    location: String::new(),
                    message: format!("subgraph \"{name}\" has no `routing_url`"),
                });
            }
        }
        Ok(config)
    }
}
