//! Takes a supergraph's text from a source, builds the gateway for it off the request path,
//! and swaps it in; or refuses it and keeps the old one.

use std::sync::Arc;
use std::time::Instant;

use super::{LiveGateway, Source, schema_hash};
use crate::cache::Invalidation;
use crate::config::Config;
use crate::startup::{SharedParts, StartupError, build_gateway_on, subgraph_urls};
use crate::supergraph::{Supergraph, SupergraphError};

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the supergraph does not load: {0}")]
    Supergraph(Box<SupergraphError>),
    #[error("no gateway can be built over the supergraph: {0}")]
    Build(Box<StartupError>),
    #[error("building the gateway stopped unexpectedly: {0}")]
    Task(String),
}

/// What an offered supergraph led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// It is the one being served already (same text).
    Unchanged,
    /// It is served now, as this generation.
    Swapped { generation: u64, warmed: usize },
}

/// Builds and swaps in the gateways of new supergraphs, one at a time.
pub struct Reloader {
    config: Arc<Config>,
    shared: SharedParts,
    live: Arc<LiveGateway>,
    /// One reload at a time: two sources (or two quick changes) must not race to swap.
    busy: tokio::sync::Mutex<()>,
}

impl Reloader {
    pub fn new(config: Arc<Config>, shared: SharedParts, live: Arc<LiveGateway>) -> Arc<Self> {
        Arc::new(Self {
            config,
            shared,
            live,
            busy: tokio::sync::Mutex::new(()),
        })
    }

    pub fn live(&self) -> &Arc<LiveGateway> {
        &self.live
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Loads `sdl`, builds its gateway (planner, API schema, fetchers; plans warmed from the
    /// current gateway) on a blocking thread, then swaps it in. On an error nothing changes
    /// but the failure count; the error is returned and logged.
    pub async fn offer(&self, sdl: String, source: Source) -> Result<Reloaded, ReloadError> {
        let _busy = self.busy.lock().await;
        let hash = schema_hash(&sdl);
        let old = self.live.current();
        if old.as_ref().is_some_and(|old| old.hash == hash) {
            return Ok(Reloaded::Unchanged);
        }
        let started = Instant::now();
        let config = self.config.clone();
        let shared = self.shared.clone();
        let old_gateway = old.as_ref().map(|old| old.gateway.clone());
        let built = tokio::task::spawn_blocking(move || {
            let supergraph =
                Supergraph::parse(&sdl).map_err(|e| ReloadError::Supergraph(Box::new(e)))?;
            let gateway = build_gateway_on(supergraph, &config, &shared)
                .map_err(|e| ReloadError::Build(Box::new(e)))?;
            let warmed = old_gateway
                .as_ref()
                .map_or(0, |old| gateway.warm_from(old, config.supergraph.warm_up));
            Ok::<_, ReloadError>((gateway, warmed))
        })
        .await
        .map_err(|e| ReloadError::Task(e.to_string()))
        .and_then(|built| built);
        let (gateway, warmed) = match built {
            Ok(built) => built,
            Err(error) => {
                self.live.count(source, false);
                match old {
                    Some(_) => tracing::error!(
                        source = source.label(),
                        "supergraph refused, the old one keeps serving: {error}"
                    ),
                    None => tracing::error!(source = source.label(), "supergraph refused: {error}"),
                }
                return Err(error);
            }
        };
        let moved = old
            .as_ref()
            .map(|old| self.moved_subgraphs(old.gateway.supergraph(), gateway.supergraph()))
            .unwrap_or_default();
        let subgraphs: Vec<String> = gateway
            .supergraph()
            .subgraphs()
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        let generation = self.live.install(Arc::new(gateway), hash.clone());
        self.live.count(source, true);
        self.forget_moved(&moved);
        tracing::info!(
            source = source.label(),
            generation,
            schema_hash = %hash,
            subgraphs = %subgraphs.join(","),
            warmed_plans = warmed,
            took_ms = started.elapsed().as_millis() as u64,
            "supergraph loaded"
        );
        Ok(Reloaded::Swapped { generation, warmed })
    }

    /// Subgraphs in both supergraphs that are reached at another URL in the new one.
    fn moved_subgraphs(&self, old: &Supergraph, new: &Supergraph) -> Vec<String> {
        let old = subgraph_urls(old, &self.config);
        subgraph_urls(new, &self.config)
            .into_iter()
            .filter(|(name, url)| old.get(name).is_some_and(|was| was != url))
            .map(|(name, _)| name)
            .collect()
    }

    /// A subgraph at a new URL may be another deployment with other data: this instance
    /// stops serving what it cached from it before the swap (a local invalidation of the whole
    /// subgraph: not published, since other instances decide by their own reloads and may
    /// reach the service by another URL all along).
    fn forget_moved(&self, moved: &[String]) {
        let Some(cache) = self.shared.cache() else {
            return;
        };
        let version = cache.local_version();
        for subgraph in moved {
            tracing::info!(
                subgraph,
                "subgraph URL changed: its cached entries are no longer served here"
            );
            cache.invalidate(
                &Invalidation {
                    subgraph: subgraph.clone(),
                    type_name: None,
                    keys: Vec::new(),
                },
                version,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::GraphQLRequest;

    const DEMO: &str = include_str!("../../../schema/supergraph.graphql");
    const IN_STOCK: &str = "  inStock: Boolean! @join__field(graph: INVENTORY)\n";

    fn reloader(config: Config) -> Arc<Reloader> {
        let config = Arc::new(config);
        let shared = SharedParts::start(&config).unwrap();
        Reloader::new(config, shared, LiveGateway::empty())
    }

    fn plan(reloader: &Reloader, query: &str) -> bool {
        let gateway = reloader.live().current().unwrap().gateway.clone();
        gateway
            .plan(&GraphQLRequest {
                query: Some(query.into()),
                ..Default::default()
            })
            .is_ok()
    }

    #[tokio::test]
    async fn offers_swap_warm_and_refuse() {
        let reloader = reloader(Config::default());
        let old = DEMO.replace(IN_STOCK, "");
        assert_eq!(
            reloader.offer(old.clone(), Source::File).await.unwrap(),
            Reloaded::Swapped {
                generation: 1,
                warmed: 0
            }
        );
        let generation = reloader.live().subscribe();
        assert!(plan(&reloader, "{ topProducts { name } }"));
        assert!(plan(&reloader, "{ me { username } }"));
        assert!(!plan(&reloader, "{ topProducts { inStock } }"));
        // Both old plans are made again for the new schema before it is swapped in.
        assert_eq!(
            reloader.offer(DEMO.into(), Source::File).await.unwrap(),
            Reloaded::Swapped {
                generation: 2,
                warmed: 2
            }
        );
        assert!(
            generation.has_changed().unwrap(),
            "long-lived work learns of the swap"
        );
        assert_eq!(*generation.borrow(), 2);
        assert!(plan(&reloader, "{ topProducts { inStock } }"));
        assert_eq!(
            reloader.offer(DEMO.into(), Source::Url).await.unwrap(),
            Reloaded::Unchanged
        );
        // Back to the old schema: the plan that no longer validates is not warmed.
        assert_eq!(
            reloader.offer(old, Source::File).await.unwrap(),
            Reloaded::Swapped {
                generation: 3,
                warmed: 2
            }
        );
        let error = reloader
            .offer("type Query { a: Int }".into(), Source::Url)
            .await
            .unwrap_err();
        assert!(matches!(error, ReloadError::Supergraph(_)), "{error}");
        assert_eq!(reloader.live().current().unwrap().number, 3);
        assert_eq!(reloader.live().reloads(Source::File, true), 3);
        assert_eq!(reloader.live().reloads(Source::Url, false), 1);
        // A supergraph that loads but cannot be served (a routing URL that is not http) is
        // refused by the build.
        let ftp = DEMO.replace("http://127.0.0.1:4004/graphql", "ftp://127.0.0.1:4004/");
        assert_ne!(ftp, DEMO);
        let error = reloader.offer(ftp, Source::File).await.unwrap_err();
        assert!(matches!(error, ReloadError::Build(_)), "{error}");
        assert_eq!(reloader.live().current().unwrap().number, 3);
    }

    #[tokio::test]
    async fn a_subgraph_at_a_new_url_is_not_served_from_the_cache_here() {
        let mut config = Config::default();
        config.cache.enabled = true;
        let reloader = reloader(config);
        reloader.offer(DEMO.into(), Source::File).await.unwrap();
        let url = "http://127.0.0.1:4001/graphql";
        assert!(DEMO.contains(url));
        reloader
            .offer(
                DEMO.replace(url, "http://127.0.0.1:5001/graphql"),
                Source::File,
            )
            .await
            .unwrap();
        let mut metrics = String::new();
        reloader
            .shared
            .cache()
            .unwrap()
            .render_metrics(&mut metrics);
        assert!(
            metrics
                .contains("gateway_cache_invalidations_total{subgraph=\"accounts\",type=\"*\"} 1"),
            "{metrics}"
        );
        assert!(!metrics.contains("subgraph=\"products\""), "{metrics}");
    }
}
