//! One GraphQL request observed from the server: what the parts behind it report (the
//! operation, the outcome, the subgraphs fetched), and at the end its metrics, its access log
//! line and its root span's status.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tracing::Span;

use super::metrics::{ActiveRequest, Metrics, OperationType, RequestOutcome};
use crate::supergraph::{SubgraphId, Supergraph};

/// What the gateway and the fetchers report about a request while it runs (shared with its
/// fetches through the request context). Atomics: fetches run concurrently.
#[derive(Debug, Default)]
pub struct RequestRecord {
    /// A bit per subgraph fetched over HTTP (ids from 63 on share the last bit).
    subgraphs: AtomicU64,
    operation_type: AtomicU8,
    /// `RequestOutcome + 1`; 0 until the gateway ran the request.
    outcome: AtomicU8,
    operation_name: OnceLock<apollo_compiler::Name>,
    /// The request is traced (sampled): its parts make spans.
    pub traced: bool,
    /// An untraced request's own `traceparent`, sent on to subgraphs as it came (their spans
    /// stay in the caller's trace, unsampled as it said).
    pub parent: Option<http::HeaderValue>,
}

impl RequestRecord {
    pub fn fetched(&self, subgraph: SubgraphId) {
        let bit = 1u64 << subgraph.0.min(63);
        self.subgraphs.fetch_or(bit, Ordering::Relaxed);
    }

    /// The operation selected from the document.
    pub fn operation(&self, name: Option<&apollo_compiler::Name>, kind: OperationType) {
        self.operation_type.store(kind as u8, Ordering::Relaxed);
        if let Some(name) = name {
            let _ = self.operation_name.set(name.clone());
        }
    }

    pub fn outcome(&self, outcome: RequestOutcome) {
        self.outcome.store(outcome as u8 + 1, Ordering::Relaxed);
    }

    fn operation_type(&self) -> OperationType {
        OperationType::from_u8(self.operation_type.load(Ordering::Relaxed))
    }

    fn get_outcome(&self) -> RequestOutcome {
        match self.outcome.load(Ordering::Relaxed) {
            0 => RequestOutcome::Refused,
            n => RequestOutcome::from_u8(n - 1),
        }
    }

    fn operation_name(&self) -> &str {
        self.operation_name.get().map_or("", |name| name.as_str())
    }

    /// The names of the subgraphs fetched, comma-separated.
    fn subgraph_names(&self, supergraph: &Supergraph) -> String {
        let bits = self.subgraphs.load(Ordering::Relaxed);
        let mut names = String::new();
        for (index, subgraph) in supergraph.subgraphs().iter().enumerate() {
            if bits & (1u64 << index.min(63)) != 0 {
                if !names.is_empty() {
                    names.push(',');
                }
                names.push_str(&subgraph.name);
            }
        }
        names
    }
}

/// A request being observed: created when the server starts reading it, finished with its
/// status. Only made when metrics, the access log or tracing is on.
pub struct Observation {
    started: Instant,
    post: bool,
    metrics: Option<Arc<Metrics>>,
    _active: Option<ActiveRequest>,
    access_log: bool,
    pub record: Arc<RequestRecord>,
    pub span: Span,
}

impl Observation {
    pub fn start(
        metrics: Option<&Arc<Metrics>>,
        access_log: bool,
        post: bool,
        span: Span,
        parent: Option<http::HeaderValue>,
    ) -> Self {
        Self {
            started: Instant::now(),
            post,
            _active: metrics.map(|m| m.request_started()),
            metrics: metrics.cloned(),
            access_log,
            record: Arc::new(RequestRecord {
                traced: !span.is_disabled(),
                parent,
                ..Default::default()
            }),
            span,
        }
    }

    /// Records the request's metrics and span status, and writes its access log line.
    pub fn finish(self, status: u16, supergraph: &Supergraph) {
        let duration = self.started.elapsed();
        let record = &self.record;
        let kind = record.operation_type();
        let outcome = record.get_outcome();
        if let Some(metrics) = &self.metrics {
            metrics
                .operation(record.operation_name(), kind)
                .record(outcome, duration);
            metrics.http_request(self.post, status, duration);
        }
        if !self.span.is_disabled() {
            self.span
                .record("http.response.status_code", i64::from(status));
            self.span
                .record("graphql.operation.name", record.operation_name());
            self.span.record("graphql.operation.type", kind.as_str());
            if status >= 500 {
                self.span.record("otel.status_code", "ERROR");
            }
        }
        if self.access_log {
            tracing::info!(
                target: ACCESS_LOG_TARGET,
                method = if self.post { "POST" } else { "GET" },
                status,
                operation_name = record.operation_name(),
                operation_type = kind.as_str(),
                outcome = outcome.as_str(),
                duration_ms = duration.as_secs_f64() * 1e3,
                subgraphs = record.subgraph_names(supergraph),
                "request"
            );
        }
    }
}

/// The `tracing` target of access log lines (`RUST_LOG=gateway::access=off` hides them too).
pub const ACCESS_LOG_TARGET: &str = "gateway::access";
