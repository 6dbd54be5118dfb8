//! Changing the supergraph without a restart. Sources ([`file`]: a watched file; [`url`]: a
//! polled registry URL) offer supergraph text to the [`Reloader`], which loads and validates
//! it and builds the next [`Gateway`] off the request path, then swaps it into the
//! [`LiveGateway`] the server reads: one atomic pointer swap. Requests in flight keep the
//! generation they started with (they hold an `Arc` of it); new requests plan on the new one,
//! with fresh document and plan caches. A supergraph that does not load is refused (logged,
//! counted in `gateway_supergraph_reloads_total{result="failure"}`) and the old one keeps
//! serving.
//!
//! Cache entries across a swap: keys carry the subgraph's name, a fingerprint of the
//! subgraph's part of the supergraph and the fetch's selection ([`crate::cache::key`],
//! [`crate::supergraph::Supergraph::subgraph_fingerprint`]), so what changed gets new keys.
//! A subgraph whose URL changed keeps its keys (instances sharing Redis may reach one service
//! by different URLs), but this instance stops serving the entries it had for it (see
//! [`Reloader`]).

pub mod config;
pub mod file;
mod reloader;
pub mod url;

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;
use tokio::sync::watch;

pub use config::SupergraphConfig;
pub use reloader::{ReloadError, Reloaded, Reloader};

use crate::gateway::Gateway;

/// One loaded supergraph and the gateway built over it.
pub struct Generation {
    pub gateway: Arc<Gateway>,
    /// SHA-256 of the supergraph text, hex (empty when the gateway was built elsewhere).
    pub hash: String,
    /// 1 for the first supergraph loaded, then one more per reload.
    pub number: u64,
}

/// Where a supergraph came from, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The supergraph file.
    File,
    /// `supergraph.url`.
    Url,
    /// The config file (its reloadable parts, over the supergraph being served).
    Config,
}

impl Source {
    const ALL: [Source; 3] = [Source::File, Source::Url, Source::Config];

    fn label(self) -> &'static str {
        match self {
            Source::File => "file",
            Source::Url => "url",
            Source::Config => "config",
        }
    }
}

/// The gateway the server serves with: empty until the first supergraph is loaded, then
/// swapped whole on every reload.
pub struct LiveGateway {
    current: ArcSwapOption<Generation>,
    /// The generation number, for long-lived work (subscriptions, live queries) that must
    /// learn of a swap: `subscribe` and wait for a change. Such streams run on the generation
    /// they started with until they end; whether to end them at a swap is theirs to decide.
    generation: watch::Sender<u64>,
    /// Reloads by source and result (success, failure).
    reloads: [[AtomicU64; 2]; 3],
    /// Polls of `supergraph.url` that got no supergraph.
    poll_errors: AtomicU64,
}

impl LiveGateway {
    /// Nothing loaded yet: `/graphql` answers 503 and `/ready` says not ready.
    pub fn empty() -> Arc<Self> {
        Arc::new(Self {
            current: ArcSwapOption::empty(),
            generation: watch::Sender::new(0),
            reloads: Default::default(),
            poll_errors: AtomicU64::new(0),
        })
    }

    /// A gateway that is never reloaded (tests, `gateway demo`).
    pub fn fixed(gateway: Arc<Gateway>) -> Arc<Self> {
        let live = Self::empty();
        let hash = crate::telemetry::schema_hash(gateway.supergraph());
        live.install(gateway, hash);
        live
    }

    /// The current generation: one atomic load and a reference count, the whole cost of hot
    /// reload on the request path. The caller keeps it for the whole request.
    #[inline]
    pub fn current(&self) -> Option<Arc<Generation>> {
        self.current.load_full()
    }

    pub fn is_loaded(&self) -> bool {
        self.current.load().is_some()
    }

    /// Makes `gateway` the one new requests get; returns its generation number.
    pub fn install(&self, gateway: Arc<Gateway>, hash: String) -> u64 {
        let number = *self.generation.borrow() + 1;
        let replaced = self.current.swap(Some(Arc::new(Generation {
            gateway,
            hash,
            number,
        })));
        self.generation.send_replace(number);
        if let Some(replaced) = replaced {
            // Their plans are the old schema's: clients resubscribe on the new one.
            replaced
                .gateway
                .subscriptions()
                .close("the gateway's schema was reloaded: subscribe again");
        }
        number
    }

    /// Follows the generation number (0 until loaded).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    pub(crate) fn count(&self, source: Source, success: bool) {
        self.reloads[source as usize][usize::from(!success)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_poll_error(&self) {
        self.poll_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// How many reloads `source` had that ended with `success`.
    pub fn reloads(&self, source: Source, success: bool) -> u64 {
        self.reloads[source as usize][usize::from(!success)].load(Ordering::Relaxed)
    }

    /// Prometheus text: reloads, and which supergraph is loaded.
    pub fn render_metrics(&self, out: &mut String) {
        out.push_str(
            "# HELP gateway_supergraph_reloads_total Supergraphs (or config files) offered by a \
             reload source, by whether they were loaded (success) or refused (failure: the old \
             one kept serving).\n\
             # TYPE gateway_supergraph_reloads_total counter\n",
        );
        for source in Source::ALL {
            for (result, success) in [("success", true), ("failure", false)] {
                let _ = writeln!(
                    out,
                    "gateway_supergraph_reloads_total{{source=\"{}\",result=\"{result}\"}} {}",
                    source.label(),
                    self.reloads(source, success)
                );
            }
        }
        let _ = write!(
            out,
            "# HELP gateway_supergraph_poll_errors_total Polls of supergraph.url that got no \
             supergraph (transport error, timeout, unexpected status, too large).\n\
             # TYPE gateway_supergraph_poll_errors_total counter\n\
             gateway_supergraph_poll_errors_total {}\n",
            self.poll_errors.load(Ordering::Relaxed)
        );
        let current = self.current.load();
        out.push_str(
            "# HELP gateway_supergraph_loaded Whether a supergraph is loaded (1) or not yet (0).\n\
             # TYPE gateway_supergraph_loaded gauge\n",
        );
        let _ = writeln!(
            out,
            "gateway_supergraph_loaded {}",
            u8::from(current.is_some())
        );
        if let Some(generation) = &*current {
            let _ = write!(
                out,
                "# HELP gateway_supergraph_info The supergraph being served: the SHA-256 of its \
                 text and its generation (1 at start, one more per reload).\n\
                 # TYPE gateway_supergraph_info gauge\n\
                 gateway_supergraph_info{{hash=\"{}\",generation=\"{}\"}} 1\n",
                generation.hash, generation.number
            );
        }
    }
}

/// The sources a [`Reloader`] listens to, running until dropped.
pub struct Sources {
    _file: Option<file::FileWatch>,
    _config: Option<file::FileWatch>,
    _url: Option<url::UrlPoll>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "no supergraph: pass --supergraph FILE or set `supergraph:` (a path or a url) in the config"
    )]
    NoSupergraph,
    #[error("cannot read supergraph {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("supergraph {path}: {source}")]
    Load { path: String, source: ReloadError },
    #[error(transparent)]
    Watch(#[from] file::WatchError),
    #[error("supergraph.url: {0}")]
    Poll(#[from] url::PollError),
}

/// Loads the first supergraph and starts the sources `supergraph:` configures: from a file,
/// loaded now (an error stops the start, as without hot reload), then watched with `watch`;
/// from a URL, polled in the background (the server serves meanwhile, `/ready` says not
/// ready until the first supergraph is in). With `config_file`, that file is watched too and
/// its reloadable parts applied when it changes ([`Reloader::reconfigure`]).
pub async fn start(
    reloader: &Arc<Reloader>,
    config_file: Option<std::path::PathBuf>,
) -> Result<Sources, StartError> {
    let config = reloader.config().supergraph.clone();
    let config_watch = match config_file {
        Some(path) => {
            let on_change: file::OnChange = {
                let reloader = reloader.clone();
                Arc::new(move |path| {
                    let reloader = reloader.clone();
                    Box::pin(async move {
                        let _ = reloader.reconfigure(&path).await;
                    })
                })
            };
            Some(file::watch(path, config.debounce(), on_change)?)
        }
        None => None,
    };
    if config.url.is_some() {
        return Ok(Sources {
            _file: None,
            _config: config_watch,
            _url: Some(url::poll(&config, reloader.clone())?),
        });
    }
    let path = config.path.clone().ok_or(StartError::NoSupergraph)?;
    let sdl = tokio::fs::read_to_string(&path)
        .await
        .map_err(|source| StartError::Read {
            path: path.display().to_string(),
            source,
        })?;
    reloader
        .offer(sdl, Source::File)
        .await
        .map_err(|source| StartError::Load {
            path: path.display().to_string(),
            source,
        })?;
    let watch = match config.watch {
        true => {
            let on_change: file::OnChange = {
                let reloader = reloader.clone();
                Arc::new(move |path| {
                    let reloader = reloader.clone();
                    Box::pin(async move { reload_file(&path, &reloader).await })
                })
            };
            Some(file::watch(path, config.debounce(), on_change)?)
        }
        false => None,
    };
    Ok(Sources {
        _file: watch,
        _config: config_watch,
        _url: None,
    })
}

/// Offers the supergraph file's text after a change.
async fn reload_file(path: &std::path::Path, reloader: &Reloader) {
    let text = match tokio::fs::read_to_string(path).await {
        Ok(text) => text,
        Err(error) => {
            // Between a delete and a create; the create is another event.
            tracing::warn!(path = %path.display(), "cannot read the supergraph file: {error}");
            return;
        }
    };
    if let Ok(Reloaded::Unchanged) = reloader.offer(text, Source::File).await {
        tracing::debug!(path = %path.display(), "supergraph file touched, text unchanged");
    }
}
