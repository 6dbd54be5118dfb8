//! Takes a supergraph's text from a source, builds the gateway for it off the request path,
//! and swaps it in; or refuses it and keeps the old one.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::{LiveGateway, Source};
use crate::cache::Invalidation;
use crate::config::Config;
use crate::gateway::Gateway;
use crate::startup::{SharedParts, StartupError, build_gateway_on, subgraph_urls};
use crate::supergraph::{Supergraph, SupergraphError};
use crate::telemetry::sdl_hash;

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the supergraph does not load: {0}")]
    Supergraph(Box<SupergraphError>),
    #[error("no gateway can be built over the supergraph: {0}")]
    Build(Box<StartupError>),
    #[error("building the gateway stopped unexpectedly: {0}")]
    Task(String),
    #[error("{0}")]
    Config(String),
}

/// What an offered supergraph led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// It is the one being served already (same text).
    Unchanged,
    /// It is served now, as this generation.
    Swapped { generation: u64, warmed: usize },
}

/// Builds and swaps in the gateways of new supergraphs (and of new config files), one at a time.
pub struct Reloader {
    /// The config gateways are built with: the start's, then each reloaded config file's
    /// reloadable parts over it.
    config: std::sync::Mutex<Arc<Config>>,
    /// The text of the supergraph being served, for a config reload to build over.
    sdl: std::sync::Mutex<Option<Arc<str>>>,
    shared: SharedParts,
    live: Arc<LiveGateway>,
    /// One reload at a time: two sources (or two quick changes) must not race to swap.
    busy: tokio::sync::Mutex<()>,
}

impl Reloader {
    pub fn new(config: Arc<Config>, shared: SharedParts, live: Arc<LiveGateway>) -> Arc<Self> {
        Arc::new(Self {
            config: std::sync::Mutex::new(config),
            sdl: std::sync::Mutex::new(None),
            shared,
            live,
            busy: tokio::sync::Mutex::new(()),
        })
    }

    pub fn live(&self) -> &Arc<LiveGateway> {
        &self.live
    }

    /// The config the current gateway was built with.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads `sdl`, builds its gateway (planner, API schema, fetchers; plans warmed from the
    /// current gateway) on a blocking thread, then swaps it in. On an error nothing changes
    /// but the failure count; the error is returned and logged.
    pub async fn offer(&self, sdl: String, source: Source) -> Result<Reloaded, ReloadError> {
        let _busy = self.busy.lock().await;
        let hash = sdl_hash(&sdl);
        let old = self.live.current();
        if old.as_ref().is_some_and(|old| old.hash == hash) {
            return Ok(Reloaded::Unchanged);
        }
        let started = Instant::now();
        let sdl: Arc<str> = sdl.into();
        let built = self
            .build(
                sdl.clone(),
                self.config(),
                old.as_ref().map(|old| old.gateway.clone()),
            )
            .await;
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
        let config = self.config();
        let moved = old
            .as_ref()
            .map(|old| {
                Self::moved_subgraphs(
                    (old.gateway.supergraph(), &config),
                    (gateway.supergraph(), &config),
                )
            })
            .unwrap_or_default();
        let subgraphs: Vec<String> = gateway
            .supergraph()
            .subgraphs()
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        let generation = self.live.install(Arc::new(gateway), hash.clone());
        *self.sdl.lock().unwrap_or_else(|e| e.into_inner()) = Some(sdl);
        self.live.count(source, true);
        self.forget_moved(&moved);
        tracing::info!(
            source = source.label(),
            generation,
            schema_hash = %hash,
            subgraphs = subgraphs.len(),
            subgraph_names = %subgraphs.join(","),
            warmed_plans = warmed,
            took_ms = started.elapsed().as_millis() as u64,
            "supergraph loaded"
        );
        Ok(Reloaded::Swapped { generation, warmed })
    }

    /// Loads `sdl` and builds its gateway under `config` on a blocking thread (off the request
    /// path), with plans warmed from `old`.
    async fn build(
        &self,
        sdl: Arc<str>,
        config: Arc<Config>,
        old: Option<Arc<Gateway>>,
    ) -> Result<(Gateway, usize), ReloadError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let supergraph =
                Supergraph::parse(&sdl).map_err(|e| ReloadError::Supergraph(Box::new(e)))?;
            let gateway = build_gateway_on(supergraph, &config, &shared)
                .map_err(|e| ReloadError::Build(Box::new(e)))?;
            let warmed = old
                .as_ref()
                .map_or(0, |old| gateway.warm_from(old, config.supergraph.warm_up));
            Ok::<_, ReloadError>((gateway, warmed))
        })
        .await
        .map_err(|e| ReloadError::Task(e.to_string()))
        .and_then(|built| built)
    }

    /// Reads the config file at `path` again and rebuilds the current supergraph's gateway
    /// with its reloadable parts ([`reloadable`]); the parts that are not keep their values,
    /// with a warning naming them. A config that does not load, or that the supergraph does not
    /// fit, is refused (logged, counted as `source="config"`) and nothing changes.
    pub async fn reconfigure(&self, path: &Path) -> Result<Reloaded, ReloadError> {
        let _busy = self.busy.lock().await;
        let refuse = |error: ReloadError| {
            self.live.count(Source::Config, false);
            tracing::error!(path = %path.display(), "config file refused, the old one keeps serving: {error}");
            error
        };
        let new = Config::load(path).map_err(|e| refuse(ReloadError::Config(e.to_string())))?;
        let current = self.config();
        let (merged, fixed) = reloadable(&current, new);
        if !fixed.is_empty() {
            tracing::warn!(
                path = %path.display(),
                "config file: {} changed; these take effect at the next start",
                fixed.join(", ")
            );
        }
        if format!("{merged:?}") == format!("{current:?}") {
            return Ok(Reloaded::Unchanged);
        }
        let merged = Arc::new(merged);
        let sdl = self.sdl.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (Some(sdl), Some(old)) = (sdl, self.live.current()) else {
            // No supergraph yet (a registry not answered): the first one gets this config.
            *self.config.lock().unwrap_or_else(|e| e.into_inner()) = merged;
            self.live.count(Source::Config, true);
            return Ok(Reloaded::Unchanged);
        };
        let started = Instant::now();
        let (gateway, warmed) = self
            .build(sdl, merged.clone(), Some(old.gateway.clone()))
            .await
            .map_err(refuse)?;
        let moved = Self::moved_subgraphs(
            (old.gateway.supergraph(), &current),
            (gateway.supergraph(), &merged),
        );
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = merged;
        let generation = self.live.install(Arc::new(gateway), old.hash.clone());
        self.live.count(Source::Config, true);
        self.forget_moved(&moved);
        tracing::info!(
            path = %path.display(),
            generation,
            warmed_plans = warmed,
            took_ms = started.elapsed().as_millis() as u64,
            "config file reloaded"
        );
        Ok(Reloaded::Swapped { generation, warmed })
    }

    /// Subgraphs in both gateways (supergraph and config) that are reached at another URL in
    /// the new one.
    fn moved_subgraphs(
        (old, old_config): (&Supergraph, &Config),
        (new, new_config): (&Supergraph, &Config),
    ) -> Vec<String> {
        let old = subgraph_urls(old, old_config);
        subgraph_urls(new, new_config)
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

/// `new` with the sections that a reload cannot change put back to `current`'s, and the names
/// of those that differed. Reloadable: what each gateway is built with (`subgraph_defaults`,
/// `subgraphs`, `headers`, `query_planning`, `deduplication`, `limits`, `introspection`,
/// `subgraph_errors`, `authorization`). Not: the listener and the edge (`server`, `cors`,
/// `csrf`, `compression`, `apq`, `persisted_documents`, `authentication`, `playground`),
/// and the parts that outlive a supergraph (`cache`). `listen` and `supergraph` are kept
/// without a word: the command line may have overridden them.
pub fn reloadable(current: &Config, mut new: Config) -> (Config, Vec<&'static str>) {
    let mut fixed = Vec::new();
    macro_rules! keep {
        ($($section:ident),*) => {$(
            if format!("{:?}", current.$section) != format!("{:?}", new.$section) {
                fixed.push(stringify!($section));
                new.$section = current.$section.clone();
            }
        )*};
    }
    keep!(
        server,
        cors,
        csrf,
        compression,
        apq,
        persisted_documents,
        authentication,
        playground,
        cache
    );
    new.listen = current.listen.clone();
    new.supergraph = current.supergraph.clone();
    (new, fixed)
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
        let first = Arc::downgrade(&reloader.live().current().unwrap().gateway);
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
        assert!(
            first.upgrade().is_none(),
            "the old gateway is freed once nothing uses it"
        );
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
    async fn request_counters_run_on_across_a_reload() {
        use crate::telemetry::metrics::{OperationType, RequestOutcome};
        let reloader = reloader(Config::default());
        reloader
            .offer(DEMO.replace(IN_STOCK, ""), Source::File)
            .await
            .unwrap();
        let metrics = || {
            reloader
                .live()
                .current()
                .unwrap()
                .gateway
                .telemetry()
                .metrics
                .clone()
        };
        metrics()
            .operation("TopProducts", OperationType::Query)
            .record(RequestOutcome::Success, std::time::Duration::from_millis(3));
        reloader.offer(DEMO.into(), Source::File).await.unwrap();
        metrics()
            .operation("TopProducts", OperationType::Query)
            .record(RequestOutcome::Success, std::time::Duration::from_millis(3));
        let mut text = String::new();
        metrics().render(&mut text, Default::default(), Default::default());
        let line = text
            .lines()
            .find(|line| {
                line.starts_with("gateway_graphql_requests_total")
                    && line.contains("TopProducts")
                    && line.contains("success")
            })
            .unwrap_or_else(|| panic!("no TopProducts line in\n{text}"));
        assert!(line.ends_with(" 2"), "both requests counted: {line}");
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
        // A config file that points the subgraph elsewhere: the same.
        let dir = std::env::temp_dir().join(format!("gateway-moved-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gateway.yaml");
        std::fs::write(
            &path,
            "subgraphs:\n  accounts:\n    url: http://127.0.0.1:6001/graphql\n",
        )
        .unwrap();
        reloader.reconfigure(&path).await.unwrap();
        let mut metrics = String::new();
        reloader
            .shared
            .cache()
            .unwrap()
            .render_metrics(&mut metrics);
        assert!(
            metrics
                .contains("gateway_cache_invalidations_total{subgraph=\"accounts\",type=\"*\"} 2"),
            "{metrics}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_config_file_reload_applies_its_reloadable_parts() {
        let dir = std::env::temp_dir().join(format!("gateway-reconfigure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gateway.yaml");
        std::fs::write(&path, "limits:\n  max_depth: 10\n").unwrap();
        let reloader = reloader(Config::load(&path).unwrap());
        reloader.offer(DEMO.into(), Source::File).await.unwrap();
        let deep = "{ topProducts { reviews { author { reviews { body } } } } }";
        assert!(plan(&reloader, deep));
        let hash = reloader.live().current().unwrap().hash.clone();

        std::fs::write(
            &path,
            "limits:\n  max_depth: 3\nlisten: 0.0.0.0:9\ncors:\n  allow_any_origin: true\n",
        )
        .unwrap();
        let reloaded = reloader.reconfigure(&path).await.unwrap();
        assert!(
            matches!(reloaded, Reloaded::Swapped { generation: 2, .. }),
            "{reloaded:?}"
        );
        assert!(!plan(&reloader, deep), "the new depth limit applies");
        let current = reloader.live().current().unwrap();
        assert_eq!(current.hash, hash, "same supergraph");
        let config = reloader.config();
        assert_eq!(config.limits.max_depth, 3);
        assert_eq!(
            config.listen,
            Config::default().listen,
            "listen is not reloadable"
        );
        assert_eq!(
            format!("{:?}", config.cors),
            format!("{:?}", Config::default().cors),
            "cors is not reloadable"
        );
        assert_eq!(
            reloader.reconfigure(&path).await.unwrap(),
            Reloaded::Unchanged
        );

        std::fs::write(&path, "limits:\n  max_dept: 3\n").unwrap();
        let error = reloader.reconfigure(&path).await.unwrap_err();
        assert!(error.to_string().contains("max_dept"), "{error}");
        std::fs::write(&path, "subgraphs:\n  nosuch: {}\n").unwrap();
        assert!(
            reloader.reconfigure(&path).await.is_err(),
            "the supergraph has no such subgraph"
        );
        assert_eq!(reloader.live().reloads(Source::Config, false), 2);
        assert_eq!(reloader.live().current().unwrap().number, 2);
        assert_eq!(reloader.config().limits.max_depth, 3);
        let _ = std::fs::remove_dir_all(dir);
    }
}
