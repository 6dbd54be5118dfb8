//! How each kind of data is cached, from the config: never (`none`, strong consistency), for a
//! while (`ttl`, bounded staleness), or until an event says it changed (`events`, with a
//! maximum age as a safety net). Set for every subgraph, per subgraph, and per type.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Never cached: every read asks the owning subgraph.
    #[default]
    None,
    /// Cached for the subgraph's `Cache-Control: max-age`, else `ttl_seconds`.
    Ttl,
    /// Cached until a change event invalidates it, at most `max_ttl_seconds`.
    Events,
}

/// Settings that can be given for every subgraph, a subgraph, or a type.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    pub mode: Option<Mode>,
    /// Lifetime of `ttl` entries when the subgraph sends no `max-age`.
    pub ttl_seconds: Option<u64>,
    /// Longest life of `events` entries, in case an event is lost.
    pub max_ttl_seconds: Option<u64>,
    /// Cached per user (and not at all without a user id), like `Cache-Control: private`.
    pub private: Option<bool>,
    /// Also cache root answers whose every field is `null` (nothing found); off by default, so
    /// that lookups of made-up ids cannot fill the cache.
    pub cache_nulls: Option<bool>,
    /// For this long after an entry went stale (its TTL ran out, or an event invalidated it),
    /// it is still served, at once, while one background fetch refreshes it.
    pub stale_while_revalidate_seconds: Option<u64>,
    /// For this long after an entry went stale, it is served when the subgraph fails to
    /// answer (unreachable, timing out, an HTTP error, its circuit breaker open).
    pub stale_if_error_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SubgraphPolicyConfig {
    #[serde(flatten)]
    pub policy: PolicyConfig,
    /// Per type: entity types for entity fetches, `Query` for root fetches.
    #[serde(default)]
    pub types: BTreeMap<String, PolicyConfig>,
}

/// The policy in force for one subgraph and type, every setting resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    pub ttl_seconds: u64,
    pub max_ttl_seconds: u64,
    pub private: bool,
    pub cache_nulls: bool,
    pub stale_while_revalidate_seconds: u64,
    pub stale_if_error_seconds: u64,
}

impl Policy {
    /// How long a stale entry stays useful: kept at least that long past its freshness.
    pub fn stale_window_ms(&self) -> u64 {
        self.stale_while_revalidate_seconds
            .max(self.stale_if_error_seconds)
            .saturating_mul(1000)
    }

    /// Layers `over` on this policy.
    fn with(mut self, over: &PolicyConfig) -> Self {
        if let Some(mode) = over.mode {
            self.mode = mode;
        }
        if let Some(ttl) = over.ttl_seconds {
            self.ttl_seconds = ttl;
        }
        if let Some(max) = over.max_ttl_seconds {
            self.max_ttl_seconds = max;
        }
        if let Some(private) = over.private {
            self.private = private;
        }
        if let Some(cache_nulls) = over.cache_nulls {
            self.cache_nulls = cache_nulls;
        }
        if let Some(seconds) = over.stale_while_revalidate_seconds {
            self.stale_while_revalidate_seconds = seconds;
        }
        if let Some(seconds) = over.stale_if_error_seconds {
            self.stale_if_error_seconds = seconds;
        }
        self
    }
}

/// Resolves policies: defaults, then the subgraph's, then the type's.
pub fn resolve(
    defaults: &PolicyConfig,
    subgraphs: &BTreeMap<String, SubgraphPolicyConfig>,
    subgraph: &str,
    type_name: &str,
) -> Policy {
    let base = Policy {
        mode: Mode::None,
        ttl_seconds: 30,
        max_ttl_seconds: 3600,
        private: false,
        cache_nulls: false,
        stale_while_revalidate_seconds: 0,
        stale_if_error_seconds: 0,
    }
    .with(defaults);
    match subgraphs.get(subgraph) {
        Some(config) => {
            let policy = base.with(&config.policy);
            match config.types.get(type_name) {
                Some(over) => policy.with(over),
                None => policy,
            }
        }
        None => base,
    }
}

/// What a subgraph's `Cache-Control` response header says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheControl {
    pub max_age: Option<u64>,
    pub private: bool,
    /// `no-store` (or `no-cache`): do not keep the answer.
    pub no_store: bool,
}

impl CacheControl {
    pub fn parse(header: &str) -> Self {
        let mut parsed = Self::default();
        for directive in header.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            match directive.split_once('=') {
                Some(("max-age", value)) | Some(("s-maxage", value)) => {
                    if let Ok(seconds) = value.trim_matches('"').parse() {
                        parsed.max_age =
                            Some(parsed.max_age.map_or(seconds, |m: u64| m.min(seconds)));
                    }
                }
                _ => match directive.as_str() {
                    "private" => parsed.private = true,
                    "no-store" | "no-cache" => parsed.no_store = true,
                    _ => {}
                },
            }
        }
        parsed
    }

    /// What it lets a client (or a CDN) do with the part of a response it came with.
    pub fn client_policy(&self) -> crate::response::CachePolicy {
        match self.max_age {
            Some(seconds) if seconds > 0 && !self.no_store => {
                crate::response::CachePolicy::MaxAge {
                    seconds,
                    private: self.private,
                }
            }
            _ => crate::response::CachePolicy::NoStore,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_settings_override_subgraph_settings_which_override_defaults() {
        let defaults = PolicyConfig {
            mode: Some(Mode::Ttl),
            ttl_seconds: Some(10),
            ..Default::default()
        };
        let mut subgraphs = BTreeMap::new();
        subgraphs.insert(
            "products".to_string(),
            SubgraphPolicyConfig {
                policy: PolicyConfig {
                    mode: Some(Mode::Events),
                    ..Default::default()
                },
                types: BTreeMap::from([(
                    "Price".to_string(),
                    PolicyConfig {
                        mode: Some(Mode::None),
                        ..Default::default()
                    },
                )]),
            },
        );
        assert_eq!(
            resolve(&defaults, &subgraphs, "accounts", "User").mode,
            Mode::Ttl
        );
        assert_eq!(
            resolve(&defaults, &subgraphs, "products", "Product").mode,
            Mode::Events
        );
        assert_eq!(
            resolve(&defaults, &subgraphs, "products", "Product").ttl_seconds,
            10
        );
        assert_eq!(
            resolve(&defaults, &subgraphs, "products", "Price").mode,
            Mode::None
        );
    }

    #[test]
    fn cache_control_is_read_leniently() {
        assert_eq!(
            CacheControl::parse("public, max-age=60"),
            CacheControl {
                max_age: Some(60),
                private: false,
                no_store: false
            }
        );
        assert!(CacheControl::parse("private, max-age=5").private);
        assert!(CacheControl::parse("no-store").no_store);
        assert_eq!(CacheControl::parse("max-age=oops").max_age, None);
    }
}
