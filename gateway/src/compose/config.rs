//! The composition config, in the shape users know from `supergraph.yaml`:
//!
//! ```yaml
//! federation_version: =2.3.2
//! subgraphs:
//!   accounts:
//!     routing_url: http://accounts:4001/graphql
//!     schema:
//!       file: ./accounts.graphql        # or: subgraph_url: http://accounts:4001/graphql
//!                                       #     (with introspection_headers: {name: value})
//!                                       # or: sdl: "type Query { ... }"
//! ```
//!
//! As in rover, `${env.NAME}` (or `${env.NAME:-default}`) anywhere in the file is replaced
//! by the environment variable before the YAML is read.

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

/// `schema:` as written: exactly one of `file`, `subgraph_url` and `sdl`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub subgraph_url: Option<String>,
    /// Headers sent with the `_service { sdl }` request to `subgraph_url`.
    #[serde(default)]
    pub introspection_headers: BTreeMap<String, String>,
    /// The SDL itself, inline.
    #[serde(default)]
    pub sdl: Option<String>,
}

/// Where a subgraph's SDL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaSource {
    /// A file, relative to the config file.
    File(String),
    /// A running subgraph, asked for `_service { sdl }` with these headers.
    SubgraphUrl {
        url: String,
        headers: BTreeMap<String, String>,
    },
    /// Written in the config.
    Sdl(String),
}

impl SubgraphConfig {
    pub fn source(&self) -> SchemaSource {
        match (
            &self.schema.file,
            &self.schema.subgraph_url,
            &self.schema.sdl,
        ) {
            (Some(file), _, _) => SchemaSource::File(file.clone()),
            (None, Some(url), _) => SchemaSource::SubgraphUrl {
                url: url.clone(),
                headers: self.schema.introspection_headers.clone(),
            },
            (None, None, Some(sdl)) => SchemaSource::Sdl(sdl.clone()),
            (None, None, None) => unreachable!("checked by SupergraphConfig::parse"),
        }
    }
}

/// Replaces `${env.NAME}` and `${env.NAME:-default}` with the variable's value, as rover
/// does; a variable that is not set and has no default is an error naming it.
pub fn expand_env(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${env.") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "${env.".len()..];
        let Some(end) = after.find('}') else {
            return Err(ConfigError {
                location: String::new(),
                message: "`${env.` without its closing `}`".into(),
            });
        };
        let expression = &after[..end];
        let (name, default) = match expression.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (expression, None),
        };
        match lookup(name).or_else(|| default.map(str::to_string)) {
            Some(value) => out.push_str(&value),
            None => {
                return Err(ConfigError {
                    location: String::new(),
                    message: format!(
                        "environment variable {name} is not set (write ${{env.{name}:-default}} for a default)"
                    ),
                });
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Why a config was refused, with its line and column.
#[derive(Debug, thiserror::Error)]
#[error("{location}{message}")]
pub struct ConfigError {
    pub location: String,
    pub message: String,
}

impl SupergraphConfig {
    /// Parses a config, expanding `${env.NAME}` from the process environment.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_with_env(text, |name| std::env::var(name).ok())
    }

    pub fn parse_with_env(
        text: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let text = expand_env(text, lookup)?;
        let config: Self = serde_yaml::from_str(&text).map_err(|e| ConfigError {
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
            let sources = [
                schema.file.is_some(),
                schema.subgraph_url.is_some(),
                schema.sdl.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(ConfigError {
                    location: String::new(),
                    message: format!(
                        "subgraph \"{name}\": `schema` needs exactly one of `file`, `subgraph_url` and `sdl`"
                    ),
                });
            }
            if !schema.introspection_headers.is_empty() && schema.subgraph_url.is_none() {
                return Err(ConfigError {
                    location: String::new(),
                    message: format!(
                        "subgraph \"{name}\": `introspection_headers` go with `subgraph_url`"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rover_shapes_inline_sdl_headers_and_env() {
        let text = r#"
federation_version: =2.14.1
subgraphs:
  inline:
    routing_url: ${env.INLINE_URL}
    schema:
      sdl: "type Query { a: Int }"
  remote:
    routing_url: ${env.MISSING_URL:-http://remote/graphql}
    schema:
      subgraph_url: http://remote/graphql
      introspection_headers:
        Authorization: Bearer ${env.TOKEN}
"#;
        let env = |name: &str| match name {
            "INLINE_URL" => Some("http://inline/graphql".to_string()),
            "TOKEN" => Some("s3cret".to_string()),
            _ => None,
        };
        let config = SupergraphConfig::parse_with_env(text, env).unwrap();
        let inline = &config.subgraphs["inline"];
        assert_eq!(inline.routing_url.as_deref(), Some("http://inline/graphql"));
        assert_eq!(
            inline.source(),
            SchemaSource::Sdl("type Query { a: Int }".into())
        );
        let remote = &config.subgraphs["remote"];
        assert_eq!(remote.routing_url.as_deref(), Some("http://remote/graphql"));
        assert_eq!(
            remote.source(),
            SchemaSource::SubgraphUrl {
                url: "http://remote/graphql".into(),
                headers: [("Authorization".to_string(), "Bearer s3cret".to_string())].into(),
            }
        );
    }

    #[test]
    fn an_unset_variable_and_mixed_sources_are_refused() {
        let unset = SupergraphConfig::parse_with_env(
            "subgraphs:\n  a:\n    routing_url: ${env.NOPE}\n    schema:\n      sdl: x\n",
            |_| None,
        )
        .unwrap_err();
        assert!(unset.message.contains("NOPE"), "{unset}");
        let both = SupergraphConfig::parse_with_env(
            "subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      sdl: x\n      file: a.graphql\n",
            |_| None,
        )
        .unwrap_err();
        assert!(both.message.contains("exactly one"), "{both}");
        let headers = SupergraphConfig::parse_with_env(
            "subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      file: a.graphql\n      introspection_headers: {x: y}\n",
            |_| None,
        )
        .unwrap_err();
        assert!(
            headers.message.contains("introspection_headers"),
            "{headers}"
        );
    }
}
