//! The per-subgraph protections of the HTTP fetcher as the config file spells them: how big
//! an answer may be, how many requests may be open at once, and when to stop calling a
//! subgraph that is down. `subgraph_defaults` holds the full settings, `subgraphs.<name>`
//! overrides any of them (docs/config.md).

use serde::Deserialize;

/// 32 MiB: far above any answer a client can use (the demo's deepest query is 68 KB, and the
/// whole client response is built in memory anyway), yet it bounds what one hostile or buggy
/// answer costs: its text, plus the parsed value, a few times that.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// HTTP/1.1 to subgraphs means one connection per request in flight. 256 is well above what
/// a loaded gateway needs on one subgraph (the load benchmark's 64 clients open fewer), and
/// still bounds the sockets, and the memory of answers, that one stuck subgraph can hold.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;

/// When a subgraph stops answering, stop calling it for a while (see [`super::breaker`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitBreakerConfig {
    pub enabled: bool,
    /// Consecutive failures (timeouts, refused or reset connections, 502/503/504 without a
    /// GraphQL answer) that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker fails fetches before it lets one probe through.
    pub open_ms: u64,
    /// Each failed probe doubles the open delay, up to this.
    pub max_open_ms: u64,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            failure_threshold: 5,
            open_ms: 5_000,
            max_open_ms: 60_000,
        }
    }
}

/// `subgraphs.<name>.circuit_breaker`: each key left out keeps `subgraph_defaults`' value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreakerOverrides {
    pub enabled: Option<bool>,
    pub failure_threshold: Option<u32>,
    pub open_ms: Option<u64>,
    pub max_open_ms: Option<u64>,
}

impl CircuitBreakerConfig {
    /// These settings with a subgraph's overrides applied.
    pub fn overridden_by(self, overrides: &CircuitBreakerOverrides) -> Self {
        Self {
            enabled: overrides.enabled.unwrap_or(self.enabled),
            failure_threshold: overrides
                .failure_threshold
                .unwrap_or(self.failure_threshold),
            open_ms: overrides.open_ms.unwrap_or(self.open_ms),
            max_open_ms: overrides.max_open_ms.unwrap_or(self.max_open_ms),
        }
    }

    /// A threshold of 0 would open the breaker with no failure at all: it means "off".
    pub fn is_active(&self) -> bool {
        self.enabled && self.failure_threshold > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_the_keys_they_name() {
        let overrides: CircuitBreakerOverrides =
            serde_yaml::from_str("failure_threshold: 2").unwrap();
        let merged = CircuitBreakerConfig::default().overridden_by(&overrides);
        assert_eq!(merged.failure_threshold, 2);
        assert_eq!(merged.open_ms, CircuitBreakerConfig::default().open_ms);
        assert!(merged.is_active());
        assert!(serde_yaml::from_str::<CircuitBreakerOverrides>("open: 1").is_err());
        assert!(serde_yaml::from_str::<CircuitBreakerConfig>("threshold: 1").is_err());
        let zero = CircuitBreakerConfig {
            failure_threshold: 0,
            ..Default::default()
        };
        assert!(!zero.is_active());
    }
}
