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
//! Spans are at INFO level under [`TARGET`], which only the OpenTelemetry layer enables
//! (see [`super::subscriber`]); an untraced request makes none.
//! Attributes follow the OpenTelemetry semantic conventions (HTTP, GraphQL).

use opentelemetry::propagation::{Extractor, Injector};
use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `tracing` target of the gateway's spans.
pub const TARGET: &str = "gateway::span";

/// The root span of one GraphQL request; its parent is the client's `traceparent`, if any.
pub fn request(method: &'static str, headers: &http::HeaderMap) -> Span {
    let span = tracing::info_span!(
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

// The spans below a request's are made only for a traced (sampled) request: for the others
// (most of them, at a low sampling ratio) they cost a branch instead of a span each.

pub fn parse_validate(traced: bool) -> Span {
    if !traced {
        return Span::none();
    }
    tracing::info_span!(target: TARGET, "graphql.parse_validate", graphql.document.cached = Empty)
}

pub fn plan(traced: bool) -> Span {
    if !traced {
        return Span::none();
    }
    tracing::info_span!(target: TARGET, "graphql.plan", graphql.plan.cached = Empty)
}

pub fn execute(traced: bool) -> Span {
    if !traced {
        return Span::none();
    }
    tracing::info_span!(target: TARGET, "graphql.execute")
}

/// One fetch of the plan: the cache answers it, or the subgraph (`url.full` and
/// `http.response.status_code` are then recorded by the HTTP fetcher).
pub fn subgraph_fetch(traced: bool, subgraph: &str) -> Span {
    if !traced {
        return Span::none();
    }
    tracing::info_span!(
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

/// Whether a new request is traced: as its caller's `traceparent` says when it has one
/// (parent-based), else for a `ratio` share of requests. Decided before any span exists, so
/// that an untraced request makes none.
pub fn head_sampled(headers: &http::HeaderMap, ratio: f64) -> bool {
    if let Some(flags) = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(traceparent_flags)
    {
        return flags & 1 == 1;
    }
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    static STATE: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    // A keyed hash of a sequence number: uniform, and nothing a client can steer.
    let draw = STATE
        .get_or_init(ahash::RandomState::new)
        .hash_one(SEQUENCE.fetch_add(1, Ordering::Relaxed));
    (draw as f64) < ratio * (u64::MAX as f64)
}

/// The flags of a valid W3C `traceparent` (version 00 layout: 2-32-16-2 hex digits).
fn traceparent_flags(value: &str) -> Option<u8> {
    let mut parts = value.trim().split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !(hex(version, 2) && hex(trace, 32) && hex(parent, 16) && hex(flags, 2)) || version == "ff" {
        return None;
    }
    if trace.bytes().all(|b| b == b'0') || parent.bytes().all(|b| b == b'0') {
        return None;
    }
    u8::from_str_radix(flags, 16).ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(traceparent: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", traceparent.parse().unwrap());
        headers
    }

    #[test]
    fn a_valid_traceparent_decides_and_the_ratio_decides_the_rest() {
        let sampled = headers("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        let unsampled = headers("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
        assert!(head_sampled(&sampled, 0.0));
        assert!(!head_sampled(&unsampled, 1.0));
        // Malformed: as if there were none.
        assert!(head_sampled(&headers("00-xyz-00f067aa0ba902b7-00"), 1.0));
        assert!(!head_sampled(
            &headers("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            0.0
        ));
        let none = http::HeaderMap::new();
        assert!(!head_sampled(&none, 0.0));
        assert!(head_sampled(&none, 1.0));
        let traced = (0..10_000).filter(|_| head_sampled(&none, 0.1)).count();
        assert!((800..1200).contains(&traced), "{traced} of 10000 at 0.1");
    }
}
