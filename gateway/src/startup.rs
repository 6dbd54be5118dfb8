//! Building a running gateway from a supergraph and a config: the wiring the `serve` and
//! `demo` commands and the end-to-end tests share.

use std::path::Path;
use std::sync::Arc;

use crate::cache::Cache;
use crate::config::Config;
use crate::events::{CacheHooks, Publisher, StreamListener};
use crate::executor::Fetcher;
use crate::fetch::{CachedFetcher, HttpFetcher, SubgraphEndpoint};
use crate::gateway::{Gateway, GatewayHooks, RequestSettings};
use crate::headers::HeaderRules;
use crate::supergraph::{Supergraph, SupergraphError};
use crate::telemetry::Telemetry;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Subscriptions(String),
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
    #[error("header rule {0}")]
    HeaderRule(#[from] crate::headers::RuleError),
    #[error("invalid `cache.redis_url`: {0}")]
    Redis(String),
    #[error("subgraph \"{subgraph}\": `{key}` must be at least 1")]
    ZeroLimit { subgraph: String, key: &'static str },
    #[error("subgraph \"{subgraph}\": URL {url:?} {reason}")]
    InvalidSubgraphUrl {
        subgraph: String,
        url: String,
        reason: String,
    },
    /// A setting that cannot be used as written (the message names the key).
    #[error("{0}")]
    InvalidSetting(String),
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

/// The parts of a running gateway that outlive a supergraph reload: the entity cache, its
/// Redis connections, the change-event listener and the publisher, and the telemetry (its
/// counters are Prometheus counters: they must not fall back to zero at a reload). Started
/// once per process; each supergraph gets a [`Gateway`] built over them ([`build_gateway_on`]).
#[derive(Clone, Default)]
pub struct SharedParts {
    cache: Option<(Arc<Cache>, Option<Publisher>)>,
    telemetry: Telemetry,
}

impl SharedParts {
    /// Starts what `config` enables. With the cache enabled, call from within a Tokio runtime
    /// (background tasks connect to Redis and tail the event stream).
    pub fn start(config: &Config) -> Result<Self, StartupError> {
        let telemetry = Telemetry::new(&config.telemetry, &config.log);
        if !config.cache.enabled {
            return Ok(Self {
                cache: None,
                telemetry,
            });
        }
        let cache_config = &config.cache;
        let cache =
            Cache::new(cache_config.clone()).map_err(|e| StartupError::Redis(e.to_string()))?;
        let publisher = match &cache_config.redis_url {
            Some(url) => {
                StreamListener::start(cache.clone(), url, cache_config.stream.clone())
                    .map_err(|e| StartupError::Redis(e.to_string()))?;
                Some(
                    Publisher::start(
                        url,
                        cache_config.stream.clone(),
                        cache_config.stream_max_len,
                    )
                    .map_err(|e| StartupError::Redis(e.to_string()))?,
                )
            }
            None => None,
        };
        Ok(Self {
            cache: Some((cache, publisher)),
            telemetry,
        })
    }

    /// The entity cache, when the config enables it.
    pub fn cache(&self) -> Option<&Arc<Cache>> {
        self.cache.as_ref().map(|(cache, _)| cache)
    }
}

/// A gateway over `supergraph` that fetches over HTTP, through the cache when the config
/// enables it. With the cache enabled, call from within a Tokio runtime (background tasks
/// connect to Redis and tail the event stream).
pub fn build_gateway(supergraph: Supergraph, config: &Config) -> Result<Gateway, StartupError> {
    check_subgraph_names(&supergraph, config)?;
    let shared = SharedParts::start(config)?;
    build_gateway_on(supergraph, config, &shared)
}

/// Every subgraph the config names must be in the supergraph.
fn check_subgraph_names(supergraph: &Supergraph, config: &Config) -> Result<(), StartupError> {
    config
        .subscriptions
        .check()
        .map_err(StartupError::Subscriptions)?;
    for name in config
        .subgraphs
        .keys()
        .chain(config.cache.subgraphs.keys())
        .chain(config.subscriptions.subgraphs.keys())
    {
        if supergraph.subgraph_by_name(name).is_none() {
            return Err(StartupError::UnknownSubgraph(name.clone()));
        }
    }
    Ok(())
}

/// The URL each subgraph of `supergraph` is reached at under `config`.
pub fn subgraph_urls(
    supergraph: &Supergraph,
    config: &Config,
) -> std::collections::BTreeMap<String, String> {
    supergraph
        .subgraphs()
        .iter()
        .map(|subgraph| {
            let url = config
                .subgraphs
                .get(&*subgraph.name)
                .and_then(|own| own.url.clone())
                .unwrap_or_else(|| subgraph.url.clone());
            (subgraph.name.to_string(), url)
        })
        .collect()
}

/// A gateway over `supergraph` built on parts already started (a reload builds one of these
/// per new supergraph; nothing here connects anywhere or spawns a task).
pub fn build_gateway_on(
    supergraph: Supergraph,
    config: &Config,
    shared: &SharedParts,
) -> Result<Gateway, StartupError> {
    check_subgraph_names(&supergraph, config)?;
    let endpoints: Vec<SubgraphEndpoint> = supergraph
        .subgraphs()
        .iter()
        .map(|subgraph| subgraph_endpoint(config, &subgraph.name, &subgraph.url))
        .collect::<Result<_, _>>()?;
    let telemetry = shared.telemetry.clone();
    let header_rules = Arc::new(HeaderRules::new(&config.headers, &supergraph)?);
    if let Some(name) = &config.cache.surrogate_key_header
        && http::HeaderName::from_bytes(name.as_bytes()).is_err()
    {
        return Err(crate::headers::RuleError {
            at: "cache.surrogate_key_header".into(),
            reason: format!("{name:?} is not a header name"),
        }
        .into());
    }
    let subscriptions = crate::realtime::Subscriptions::new(
        config.subscriptions.clone(),
        endpoints
            .iter()
            .map(|e: &SubgraphEndpoint| (e.name.clone(), e.url.clone()))
            .collect(),
    );
    let supergraph = Arc::new(supergraph);
    let cache = shared.cache().cloned();
    let mut http_fetcher =
        HttpFetcher::with_compression(endpoints, config.compression.subgraph_responses)
            .with_header_rules(header_rules.clone())
            .with_metrics(&telemetry.metrics);
    if let Some(cache) = cache.clone() {
        // A request started before an invalidation this gateway learned is never joined
        // after it (its answer may hold what the invalidation replaced).
        http_fetcher = http_fetcher.with_data_version(Arc::new(move || cache.watermark()));
    }
    let http_fetcher = Arc::new(http_fetcher);
    let http: Arc<dyn Fetcher> = http_fetcher.clone();
    // Names the edge checks (authentication.jwt.forward_claims); a bad one stops it at start.
    let claim_headers = config
        .authentication
        .jwt
        .iter()
        .flat_map(|jwt| jwt.forward_claims.values())
        .filter_map(|name| http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).ok())
        .collect();
    let mut requests = RequestSettings {
        header_rules,
        claim_headers,
        deduplicate_inbound: config.deduplication.inbound,
        limits: config.limits.clone(),
        introspection: config.introspection,
        mask_subgraph_errors: config.subgraph_errors.mask,
        playground: config.playground,
        demand_control: config
            .demand_control
            .enabled
            .then(|| Arc::new(config.demand_control.clone())),
        override_labels: Arc::new(
            crate::progressive_override::OverrideLabelRules::new(&config.override_labels)
                .map_err(StartupError::InvalidSetting)?,
        ),
        ..Default::default()
    };
    let Some((cache, publisher)) = &shared.cache else {
        return Ok(Gateway::new(supergraph, http, &config.query_planning)
            .with_request_settings(requests)
            .with_telemetry(telemetry)
            .with_authorization(&config.authorization)
            .with_subscriptions(subscriptions)
            .with_hooks(Arc::new(FetchHooks {
                http: http_fetcher,
                inner: None,
            })));
    };
    let cache_config = &config.cache;
    requests.private = cache_config.private.clone();
    requests.cache_debug_header = cache_config
        .debug_header
        .as_ref()
        .and_then(|name| http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).ok());
    let mut fetcher = CachedFetcher::new(http, cache.clone(), supergraph.clone());
    if let Some(publisher) = publisher.clone() {
        fetcher = fetcher.with_sink(Arc::new(move |invalidations| {
            publisher.publish(invalidations)
        }));
    }
    Ok(
        Gateway::new(supergraph, fetcher.into_shared(), &config.query_planning)
            .with_request_settings(requests)
            .with_telemetry(telemetry)
            .with_authorization(&config.authorization)
            .with_subscriptions(subscriptions)
            .with_hooks(Arc::new(FetchHooks {
                http: http_fetcher,
                inner: Some(Arc::new(CacheHooks {
                    cache: cache.clone(),
                    publisher: publisher.clone(),
                })),
            })),
    )
}

/// How the gateway reaches one subgraph: `subgraphs.<name>` over `subgraph_defaults`.
fn subgraph_endpoint(
    config: &Config,
    name: &str,
    routing_url: &str,
) -> Result<SubgraphEndpoint, StartupError> {
    let defaults = &config.subgraph_defaults;
    let own = config.subgraphs.get(name).cloned().unwrap_or_default();
    let max_connections = own.max_connections.unwrap_or(defaults.max_connections);
    if max_connections == 0 {
        return Err(StartupError::ZeroLimit {
            subgraph: name.to_string(),
            key: "max_connections",
        });
    }
    let url = own.url.unwrap_or_else(|| routing_url.to_string());
    check_subgraph_url(name, &url)?;
    Ok(SubgraphEndpoint {
        name: name.to_string(),
        url,
        timeout: config.subgraph_timeout(name),
        max_response_bytes: own
            .max_response_bytes
            .unwrap_or(defaults.max_response_bytes),
        max_connections,
        circuit_breaker: defaults.circuit_breaker.overridden_by(&own.circuit_breaker),
        deduplicate: own.deduplicate.unwrap_or(defaults.deduplicate),
    })
}

/// A subgraph is reached over http or https: anything else is a mistake to report at start,
/// not on the first request that needs the subgraph.
fn check_subgraph_url(subgraph: &str, url: &str) -> Result<(), StartupError> {
    let invalid = |reason: String| StartupError::InvalidSubgraphUrl {
        subgraph: subgraph.to_string(),
        url: url.to_string(),
        reason,
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| invalid(format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "has scheme {:?}: subgraphs are reached over http or https",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host".into()));
    }
    Ok(())
}

/// `/metrics` gets the subgraphs' circuit breakers, then whatever the cache reports; the
/// invalidation endpoint is the cache's (off without one).
struct FetchHooks {
    http: Arc<HttpFetcher>,
    inner: Option<Arc<dyn GatewayHooks>>,
}

impl GatewayHooks for FetchHooks {
    fn metrics(&self, out: &mut String) {
        self.http.render_metrics(out);
        if let Some(inner) = &self.inner {
            inner.metrics(out);
        }
    }

    fn invalidation_secret(&self) -> Option<&str> {
        self.inner.as_ref()?.invalidation_secret()
    }

    fn changes(&self) -> Option<crate::events::Changes> {
        self.inner.as_ref()?.changes()
    }

    fn invalidate(
        &self,
        invalidations: Vec<crate::cache::Invalidation>,
    ) -> futures::future::BoxFuture<'_, ()> {
        match &self.inner {
            Some(inner) => inner.invalidate(invalidations),
            None => Box::pin(async {}),
        }
    }
}
