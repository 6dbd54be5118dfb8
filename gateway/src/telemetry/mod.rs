//! Metrics, spans and logs: the one place that names every metric and span, and sets up
//! their exporters (Prometheus text on `/metrics`, OTLP for spans). The other parts report
//! through `tracing` (spans from [`spans`]) and the [`Metrics`] facade, never an exporter.
//! See docs/operations.md.

pub mod config;
pub mod metrics;
pub mod otlp_metrics;
pub mod rate_limit;
pub mod request;
pub mod spans;
pub mod subscriber;

use std::sync::Arc;

pub use config::{LogConfig, LogFormat, MetricsConfig, TelemetryConfig, TracingConfig};
pub use metrics::Metrics;
pub use rate_limit::LogRateLimit;
pub use request::{Observation, RequestRecord};
pub use subscriber::{
    TelemetryError, TelemetryGuard, init, init_logs, propagating, tracing_enabled,
};

/// What a gateway observes of its requests.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    pub metrics: Arc<Metrics>,
    /// Write an access log line per request.
    pub access_log: bool,
    /// `/metrics` is served on its own listener (`telemetry.metrics.listen`), not with
    /// `/graphql`.
    pub separate_metrics: bool,
}

impl Telemetry {
    pub fn new(config: &TelemetryConfig, log: &LogConfig) -> Self {
        let metrics = Arc::new(Metrics::new(&config.metrics));
        otlp_metrics::register(&metrics);
        Self {
            metrics,
            access_log: log.access_log,
            separate_metrics: config.metrics.listen.is_some(),
        }
    }

    /// Starts observing a request, when anything observes requests (metrics, access log,
    /// tracing); `None` costs nothing further.
    pub fn observe(&self, post: bool, headers: &http::HeaderMap) -> Option<Observation> {
        let metrics = self.metrics.enabled().then_some(&self.metrics);
        let tracing = tracing_enabled();
        if metrics.is_none() && !self.access_log && !tracing {
            return None;
        }
        let (span, parent) = if tracing && spans::head_sampled(headers, subscriber::sampling()) {
            (
                spans::request(if post { "POST" } else { "GET" }, headers),
                None,
            )
        } else if tracing && propagating() {
            (tracing::Span::none(), headers.get("traceparent").cloned())
        } else {
            (tracing::Span::none(), None)
        };
        Some(Observation::start(
            metrics,
            self.access_log,
            post,
            span,
            parent,
        ))
    }
}

/// The SHA-256 of a supergraph's SDL, in hex: which schema a gateway serves (startup log,
/// `gateway_supergraph_info`).
pub fn schema_hash(supergraph: &crate::supergraph::Supergraph) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for source in supergraph.schema().sources.values() {
        hasher.update(source.source_text().as_bytes());
    }
    hex(&hasher.finalize())
}

/// [`schema_hash`] of a supergraph's text, before it is parsed (a reload source compares
/// what it got with what is served).
pub fn sdl_hash(sdl: &str) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(sdl.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}
