//! The gateway's configuration file (YAML). Every key is documented in `docs/config.md`;
//! unknown keys are refused with their location, and a few keys can be overridden by
//! environment variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server binds, `host:port` with a host name or an IP address
    /// (`GATEWAY_LISTEN`).
    pub listen: String,
    /// Where the supergraph comes from: a file (`GATEWAY_SUPERGRAPH`; the command line's
    /// `--supergraph` wins), watched or not, or a registry URL (`GATEWAY_SUPERGRAPH_URL`).
    #[serde(deserialize_with = "crate::reload::config::deserialize")]
    pub supergraph: crate::reload::SupergraphConfig,
    /// Settings for every subgraph unless overridden in `subgraphs`.
    pub subgraph_defaults: SubgraphDefaults,
    /// Per-subgraph settings, by the subgraph's name in the supergraph.
    pub subgraphs: BTreeMap<String, SubgraphConfig>,
    /// Query document and plan caches.
    pub query_planning: QueryPlanningConfig,
    /// Headers sent to subgraphs, and taken from their answers for the client.
    pub headers: crate::headers::HeadersConfig,
    /// The entity cache and its invalidation (docs/cache.md).
    pub cache: crate::cache::CacheConfig,
    /// Sharing work between identical requests.
    pub deduplication: DeduplicationConfig,
    /// How large an operation may be (refused before planning).
    pub limits: crate::limits::LimitsConfig,
    /// Which progressive override labels (`@override(label:)`) are active besides
    /// `percent(N)` ones (docs/planner.md).
    pub override_labels: crate::progressive_override::OverrideLabelsConfig,
    /// Operation cost from `@cost`/`@listSize`: estimated before planning (and refused over a
    /// maximum in enforce mode), measured on the response (docs/demand-control.md).
    pub demand_control: crate::limits::DemandControlConfig,
    /// Whether `__schema` and `__type` queries are answered.
    pub introspection: bool,
    /// What clients see of subgraph errors.
    pub subgraph_errors: SubgraphErrorsConfig,
    /// Client connections and requests before any GraphQL work: limits, timeouts, shutdown.
    pub server: crate::edge::ServerConfig,
    /// Which browser pages on other origins may call the gateway.
    pub cors: crate::edge::cors::CorsConfig,
    /// Refusing requests a page on another site could send without a preflight.
    pub csrf: crate::edge::csrf::CsrfConfig,
    /// Response compression, request decompression, compressed subgraph answers.
    pub compression: crate::edge::compression::CompressionConfig,
    /// Automatic persisted queries (Apollo's protocol).
    pub apq: crate::edge::persisted::ApqConfig,
    /// Trusted documents: a manifest of operations, and whether only those may run.
    pub persisted_documents: crate::edge::persisted::PersistedDocumentsConfig,
    /// Who sends a request: JWT verification.
    pub authentication: crate::edge::auth::AuthenticationConfig,
    /// Enforcing `@authenticated`, `@requiresScopes` and `@policy`.
    pub authorization: crate::authorization::AuthorizationConfig,
    /// Whether browsers that `GET /graphql` get the GraphiQL playground.
    pub playground: bool,
    /// Subscriptions: limits, heartbeats, and how each subgraph's are opened
    /// (docs/realtime.md).
    pub subscriptions: crate::realtime::SubscriptionsConfig,
    /// Log format, level and the access log.
    pub log: crate::telemetry::LogConfig,
    /// Metrics and OpenTelemetry tracing.
    pub telemetry: crate::telemetry::TelemetryConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubgraphErrorsConfig {
    /// Replace the message of every error a subgraph reported, and the reason of every failed
    /// subgraph request (connection errors name hosts and ports), with a generic message; the
    /// originals are logged at `warn`. `extensions.code`, `serviceName` and `path` stay.
    pub mask: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeduplicationConfig {
    /// Identical client queries that arrive while one of them executes wait for its response
    /// instead of executing again (same document, operation, variables, forwarded headers and
    /// user). Off by default.
    pub inbound: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubgraphDefaults {
    /// How long one subgraph request may take, in milliseconds
    /// (`GATEWAY_SUBGRAPH_TIMEOUT_MS`).
    pub timeout_ms: u64,
    /// The largest answer read from a subgraph; a larger one fails its fetch with
    /// SUBGRAPH_RESPONSE_TOO_LARGE.
    pub max_response_bytes: u64,
    /// Requests in flight to one subgraph at once (each holds a connection).
    pub max_connections: usize,
    /// Stop calling a subgraph that keeps failing, for a while.
    pub circuit_breaker: crate::fetch::CircuitBreakerConfig,
    /// Identical query requests to a subgraph in flight at once share one HTTP request.
    pub deduplicate: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubgraphConfig {
    /// Replaces the routing URL the supergraph gives.
    pub url: Option<String>,
    pub timeout_ms: Option<u64>,
    /// Each unset key keeps `subgraph_defaults`' value.
    pub max_response_bytes: Option<u64>,
    pub max_connections: Option<usize>,
    #[serde(default)]
    pub circuit_breaker: crate::fetch::CircuitBreakerOverrides,
    pub deduplicate: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryPlanningConfig {
    /// Bytes of parsed and validated documents to keep (estimated from their tokens).
    pub document_cache_bytes: u64,
    /// Bytes of query plans to keep (estimated from their operations' expanded size).
    pub plan_cache_bytes: u64,
    /// How many locations planning one operation may explore before giving up with
    /// QUERY_PLANNING_FAILED (a guard against pathological queries).
    pub location_budget: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:4000".into(),
            supergraph: Default::default(),
            subgraph_defaults: SubgraphDefaults::default(),
            subgraphs: BTreeMap::new(),
            query_planning: QueryPlanningConfig::default(),
            headers: Default::default(),
            cache: crate::cache::CacheConfig::default(),
            deduplication: DeduplicationConfig::default(),
            limits: crate::limits::LimitsConfig::default(),
            override_labels: Default::default(),
            demand_control: Default::default(),
            introspection: true,
            subgraph_errors: SubgraphErrorsConfig::default(),
            server: crate::edge::ServerConfig::default(),
            cors: Default::default(),
            csrf: Default::default(),
            compression: Default::default(),
            apq: Default::default(),
            persisted_documents: Default::default(),
            authentication: Default::default(),
            authorization: Default::default(),
            playground: true,
            subscriptions: Default::default(),
            log: Default::default(),
            telemetry: Default::default(),
        }
    }
}

impl Default for SubgraphDefaults {
    fn default() -> Self {
        Self {
            timeout_ms: 30_000,
            max_response_bytes: crate::fetch::config::DEFAULT_MAX_RESPONSE_BYTES,
            max_connections: crate::fetch::config::DEFAULT_MAX_CONNECTIONS,
            circuit_breaker: crate::fetch::CircuitBreakerConfig::default(),
            deduplicate: true,
        }
    }
}

impl Default for QueryPlanningConfig {
    fn default() -> Self {
        Self {
            document_cache_bytes: 32 << 20,
            plan_cache_bytes: 64 << 20,
            location_budget: crate::planner::DEFAULT_LOCATION_BUDGET,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}{location}: {message}")]
    Invalid {
        path: PathBuf,
        location: String,
        message: String,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

impl Config {
    /// Reads a config file, then applies environment overrides.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Self::parse(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            location: e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default(),
            message: e.to_string(),
        })?;
        check_listen(&config.listen).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            location: String::new(),
            message: format!("listen: {message}"),
        })?;
        if let Some(listen) = &config.telemetry.metrics.listen {
            check_listen(listen).map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                location: String::new(),
                message: format!("telemetry.metrics.listen: {message}"),
            })?;
        }
        config.apply_env()?;
        config
            .supergraph
            .check()
            .map_err(|message| ConfigError::Invalid {
                path: path.to_path_buf(),
                location: String::new(),
                message: format!("supergraph: {message}"),
            })?;
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Self, serde_yaml::Error> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(text)
    }

    /// Applies `GATEWAY_*` environment variables over the file's values.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Ok(value) = std::env::var("GATEWAY_LISTEN") {
            check_listen(&value).map_err(|message| ConfigError::Env {
                name: "GATEWAY_LISTEN",
                message,
            })?;
            self.listen = value;
        }
        if let Ok(value) = std::env::var("GATEWAY_SUPERGRAPH") {
            // The environment's choice of source replaces the file's (a path or a URL).
            self.supergraph.path = Some(PathBuf::from(value));
            self.supergraph.url = None;
        }
        if let Ok(value) = std::env::var("GATEWAY_SUPERGRAPH_URL") {
            self.supergraph.url = Some(value);
            self.supergraph.path = None;
            self.supergraph.watch = false;
        }
        if let Ok(value) = std::env::var("GATEWAY_REDIS_URL") {
            self.cache.redis_url = Some(value);
        }
        if let Ok(value) = std::env::var("GATEWAY_SUBGRAPH_TIMEOUT_MS") {
            self.subgraph_defaults.timeout_ms = value.parse().map_err(|e| ConfigError::Env {
                name: "GATEWAY_SUBGRAPH_TIMEOUT_MS",
                message: format!("{e}"),
            })?;
        }
        Ok(())
    }

    /// The timeout for one subgraph.
    pub fn subgraph_timeout(&self, subgraph: &str) -> Duration {
        let ms = self
            .subgraphs
            .get(subgraph)
            .and_then(|s| s.timeout_ms)
            .unwrap_or(self.subgraph_defaults.timeout_ms);
        Duration::from_millis(ms)
    }
}

/// A listen address is `host:port` (`[::1]:4000` for IPv6); the host is resolved when bound.
pub fn check_listen(address: &str) -> Result<(), String> {
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!(
            "{address:?} has no port: write host:port, e.g. 127.0.0.1:4000"
        ));
    };
    if host.is_empty() {
        return Err(format!(
            "{address:?} has no host: write host:port, e.g. 0.0.0.0:4000"
        ));
    }
    port.parse::<u16>()
        .map(|_| ())
        .map_err(|_| format!("{address:?}: {port:?} is not a port number"))
}
