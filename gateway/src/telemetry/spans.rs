//! Every span the gateway creates, named here: a request's tree is
//!
//! ```text
//! graphql.request                     (server: method, route, status, operation)
//! ├── graphql.parse_validate          (document cache hit or not)
//! ├── graphql.plan                    (plan cache hit or not)
//! └── graphql.execute
//!     └── subgraph.fetch …            (one per fetch: subgraph, URL, status, cache level)
//! ```
//!
//! Spans are at TRACE level under [`TARGET`], which only the OpenTelemetry layer enables
//! (see [`super::subscriber`]); with tracing off each returns a disabled span at once.
//! Attributes follow the OpenTelemetry semantic conventions (HTTP, GraphQL).

use opentelemetry::propagation::{Extractor, Injector};
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `tracing` target of the gateway's spans.
pub const TARGET: &str = "gateway::span";

/// The root span of one GraphQL request; its parent is the client's `traceparent`, if any.
pub fn request(method: &'static str, headers: &http::HeaderMap) -> Span {
    let span = tracing::trace_span!(
        target: TARGET,
        "graphql.request",
        otel.kind = "server",
        http.request.method = method,
        http.route = "/graphql",
        http.response.status_code = Empty,
        graphql.operation.name = Empty,
        graphql.operation.type = Empty,
        otel.status_code = Empty,
    );
    if !span.is_disabled() && super::tracing_enabled() {
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(headers))
        });
        let _ = span.set_parent(parent);
    }
    span
}

pub fn parse_validate() -> Span {
    tracing::trace_span!(target: TARGET, "graphql.parse_validate", graphql.document.cached = Empty)
}

pub fn plan() -> Span {
    tracing::trace_span!(target: TARGET, "graphql.plan", graphql.plan.cached = Empty)
}

pub fn execute() -> Span {
    tracing::trace_span!(target: TARGET, "graphql.execute")
}

/// One fetch of the plan: the cache answers it, or the subgraph (`url.full` and
/// `http.response.status_code` are then recorded by the HTTP fetcher).
pub fn subgraph_fetch(subgraph: &str) -> Span {
    tracing::trace_span!(
        target: TARGET,
        "subgraph.fetch",
        otel.kind = "client",
        subgraph.name = subgraph,
        url.full = Empty,
        http.response.status_code = Empty,
        cache.level = Empty,
        error.type = Empty,
        otel.status_code = Empty,
    )
}

/// Records on the current fetch span where its answer came from (`cache.level`: `l1`, `l2`,
/// `subgraph`, `mixed` when entities came from several; absent without a cache) or why it
/// failed.
pub fn record_fetch(cache: Option<crate::executor::CacheReport>, error: Option<&'static str>) {
    let span = Span::current();
    if let Some(report) = cache {
        let levels = [report.l1 > 0, report.l2 > 0, report.fetched > 0];
        let level = match levels {
            [true, false, false] => "l1",
            [false, true, false] => "l2",
            [false, false, _] => "subgraph",
            _ => "mixed",
        };
        span.record("cache.level", level);
    }
    if let Some(code) = error {
        span.record("error.type", code);
        span.record("otel.status_code", "ERROR");
    }
}

/// Records the subgraph request's URL on the current fetch span.
pub fn record_subgraph_request(url: &str, status: Option<u16>) {
    let span = Span::current();
    span.record("url.full", url);
    if let Some(status) = status {
        span.record("http.response.status_code", i64::from(status));
    }
}

/// Records the subgraph's HTTP status on the current fetch span.
pub fn record_subgraph_request_status(status: u16) {
    Span::current().record("http.response.status_code", i64::from(status));
}

/// Adds `traceparent` (and `tracestate`) of the current span to a subgraph request's headers.
pub fn inject_current(headers: &mut http::HeaderMap) {
    let context = Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers))
    });
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
