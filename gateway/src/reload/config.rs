//! The `supergraph:` section of the config: where the supergraph comes from (a file, maybe
//! watched, or a registry URL polled) and how a new one is taken in. A bare string is a file
//! path, as before hot reload existed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

/// `supergraph: FILE`, or the map form with the keys below (docs/config.md).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupergraphConfig {
    /// The supergraph SDL file (`GATEWAY_SUPERGRAPH`; `--supergraph` wins).
    pub path: Option<PathBuf>,
    /// Reload the file when it changes (`--hot-reload` turns it on too).
    pub watch: bool,
    /// Changes closer together than this are taken as one, in milliseconds: an editor or a
    /// deployment writes a file in several steps, and only the last state is loaded.
    pub debounce_ms: u64,
    /// A registry or CDN URL to poll for the supergraph instead of a file
    /// (`GATEWAY_SUPERGRAPH_URL`).
    pub url: Option<String>,
    /// Headers sent with every poll (an API key: `X-Hive-CDN-Key`, `Authorization`, ...).
    pub headers: BTreeMap<String, String>,
    /// Time between two polls, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long one poll may take, in milliseconds.
    pub timeout_ms: u64,
    /// After a failed poll the next waits twice as long as the last, starting from
    /// `poll_interval_ms` and up to this, in milliseconds.
    pub backoff_max_ms: u64,
    /// The largest supergraph read from the URL, in bytes; a larger answer is a failed poll.
    pub max_bytes: u64,
    /// How many of the old schema's cached plans are made again for the new one, in the
    /// background and before the swap, so that the first requests after a reload do not
    /// all pay for planning. 0 turns it off.
    pub warm_up: usize,
}

impl Default for SupergraphConfig {
    fn default() -> Self {
        Self {
            path: None,
            watch: false,
            debounce_ms: 500,
            url: None,
            headers: BTreeMap::new(),
            poll_interval_ms: 10_000,
            timeout_ms: 10_000,
            backoff_max_ms: 300_000,
            max_bytes: 32 << 20,
            warm_up: 100,
        }
    }
}

impl SupergraphConfig {
    pub fn debounce(&self) -> Duration {
        Duration::from_millis(self.debounce_ms.max(1))
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(100))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    pub fn backoff_max(&self) -> Duration {
        Duration::from_millis(self.backoff_max_ms).max(self.poll_interval())
    }

    /// A config that names both a file and a URL is a mistake, not a choice.
    pub fn check(&self) -> Result<(), String> {
        if self.path.is_some() && self.url.is_some() {
            return Err("set one of `path` and `url`, not both".into());
        }
        if self.watch && self.url.is_some() {
            return Err("`watch` is for a file; a `url` is polled".into());
        }
        if let Some(url) = &self.url {
            let parsed = reqwest::Url::parse(url).map_err(|e| format!("url {url:?}: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("url {url:?}: the scheme must be http or https"));
            }
        }
        for (name, value) in &self.headers {
            http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("headers: {name:?} is not a header name"))?;
            http::HeaderValue::from_str(value)
                .map_err(|_| format!("headers: the value of {name:?} is not a header value"))?;
        }
        Ok(())
    }
}

/// Takes a string (a path) or a map; a map's own errors keep their wording and location.
pub(crate) fn deserialize<'de, D: de::Deserializer<'de>>(
    deserializer: D,
) -> Result<SupergraphConfig, D::Error> {
    struct Either;
    impl<'de> Visitor<'de> for Either {
        type Value = SupergraphConfig;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a supergraph file path, or a map with `path` or `url`")
        }

        fn visit_str<E: de::Error>(self, path: &str) -> Result<Self::Value, E> {
            Ok(SupergraphConfig {
                path: Some(PathBuf::from(path)),
                ..Default::default()
            })
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(SupergraphConfig::default())
        }

        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
            SupergraphConfig::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_any(Either)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn a_string_is_a_path_and_a_map_has_keys() {
        let config = Config::parse("supergraph: schema/supergraph.graphql\n").unwrap();
        assert_eq!(
            config.supergraph.path.as_deref(),
            Some(std::path::Path::new("schema/supergraph.graphql"))
        );
        assert!(!config.supergraph.watch);
        let config = Config::parse(
            "supergraph:\n  url: https://cdn.example/supergraph\n  headers:\n    X-Hive-CDN-Key: k\n  poll_interval_ms: 5000\n",
        )
        .unwrap();
        assert_eq!(
            config.supergraph.url.as_deref(),
            Some("https://cdn.example/supergraph")
        );
        assert_eq!(config.supergraph.headers["X-Hive-CDN-Key"], "k");
        assert_eq!(config.supergraph.poll_interval_ms, 5000);
        assert!(config.supergraph.check().is_ok());
    }

    #[test]
    fn unknown_keys_and_contradictions_are_refused() {
        let error = Config::parse("supergraph:\n  path: a\n  wach: true\n").unwrap_err();
        assert!(error.to_string().contains("wach"), "{error}");
        let both = Config::parse("supergraph:\n  path: a\n  url: http://x/\n").unwrap();
        assert!(both.supergraph.check().is_err());
        let scheme = Config::parse("supergraph:\n  url: file:///etc/passwd\n").unwrap();
        assert!(scheme.supergraph.check().is_err());
        let header =
            Config::parse("supergraph:\n  url: http://x/\n  headers:\n    'a b': c\n").unwrap();
        assert!(header.supergraph.check().is_err());
    }
}
