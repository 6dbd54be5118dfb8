//! The gateway's own metrics: every family is named here, recorded through pre-resolved
//! handles (a few relaxed atomic adds per request, no allocation once a label set exists) and
//! rendered in the Prometheus text format on `/metrics`.
//!
//! Names and labels follow the OpenTelemetry semantic conventions where they have one
//! (`http.server.request.duration`, `http.server.active_requests`, `graphql.operation.name`,
//! `graphql.operation.type`, `error.type`), in their Prometheus form (dots become
//! underscores, seconds get the unit suffix). Families of the other parts (the entity cache,
//! circuit breakers, inbound de-duplication) are rendered by those parts, after these.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use dashmap::DashMap;

use super::config::MetricsConfig;
use super::otlp_metrics::{Histograms, OtelHistogram};

/// Upper bounds of the duration histograms' buckets, in seconds: from half a millisecond (a
/// cached small query) to ten seconds (a subgraph near its timeout).
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The label every operation name beyond `max_operation_names` (and every name longer than
/// [`MAX_OPERATION_NAME`]) is counted under: names are chosen by clients, and each would
/// otherwise be a series of its own forever.
pub const OTHER_OPERATIONS: &str = "__other__";

/// Longer operation names are counted under [`OTHER_OPERATIONS`].
pub const MAX_OPERATION_NAME: usize = 100;

/// A histogram with [`BUCKETS`]: one counter per bucket (not cumulative, so an observation
/// is one add) and the sum in nanoseconds.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        let index = BUCKETS.partition_point(|bound| *bound < seconds);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// `name_bucket{labels,le="…"}`, `name_sum{labels}` and `name_count{labels}`; `labels`
    /// is empty or ends with a comma.
    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (index, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = BUCKETS
                .get(index)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let labels = labels.trim_end_matches(',');
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// Upper bounds of the cost histograms' buckets (demand control's estimated and actual
/// operation costs).
pub const COST_BUCKETS: [f64; 14] = [
    1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0, 50_000.0,
    100_000.0,
];

/// A histogram of costs over [`COST_BUCKETS`] (sum kept in thousandths).
#[derive(Debug, Default)]
pub struct CostHistogram {
    buckets: [AtomicU64; COST_BUCKETS.len() + 1],
    sum_milli: AtomicU64,
}

impl CostHistogram {
    pub fn observe(&self, cost: f64) {
        let cost = if cost.is_finite() { cost.max(0.0) } else { 0.0 };
        let index = COST_BUCKETS.partition_point(|bound| *bound < cost);
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.sum_milli
            .fetch_add((cost * 1000.0) as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    fn render(&self, out: &mut String, name: &str) {
        let mut cumulative = 0;
        for (index, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = COST_BUCKETS
                .get(index)
                .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_milli.load(Ordering::Relaxed) as f64 / 1000.0;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// Demand control's numbers: estimated costs (refused operations included), actual costs of
/// executed ones, and how many were refused.
#[derive(Debug, Default)]
pub struct CostMetrics {
    pub estimated: CostHistogram,
    pub actual: CostHistogram,
    pub refused: AtomicU64,
}

impl CostMetrics {
    pub fn observe_estimate(&self, cost: f64, refused: bool) {
        self.estimated.observe(cost);
        if refused {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn observe_actual(&self, cost: f64) {
        self.actual.observe(cost);
    }

    /// Rendered once demand control has seen an operation (nothing otherwise).
    fn render(&self, out: &mut String) {
        if self.estimated.count() == 0 {
            return;
        }
        family(
            out,
            "gateway_operation_cost_estimated",
            "histogram",
            "Estimated cost of operations (demand control), refused ones included.",
        );
        self.estimated
            .render(out, "gateway_operation_cost_estimated");
        family(
            out,
            "gateway_operation_cost_actual",
            "histogram",
            "Actual cost of executed operations, measured on their responses (demand control).",
        );
        self.actual.render(out, "gateway_operation_cost_actual");
        family(
            out,
            "gateway_operation_cost_refused_total",
            "counter",
            "Operations refused because their estimated cost was over demand_control.max.",
        );
        let _ = writeln!(
            out,
            "gateway_operation_cost_refused_total {}",
            self.refused.load(Ordering::Relaxed)
        );
    }
}

/// `graphql.operation.type`, or unknown when the request failed before an operation was
/// selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum OperationType {
    Unknown = 0,
    Query = 1,
    Mutation = 2,
    Subscription = 3,
}

impl OperationType {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::Unknown => "",
            OperationType::Query => "query",
            OperationType::Mutation => "mutation",
            OperationType::Subscription => "subscription",
        }
    }

    pub fn from_u8(value: u8) -> Self {
        match value {
            1 => OperationType::Query,
            2 => OperationType::Mutation,
            3 => OperationType::Subscription,
            _ => OperationType::Unknown,
        }
    }
}

impl From<apollo_compiler::ast::OperationType> for OperationType {
    fn from(kind: apollo_compiler::ast::OperationType) -> Self {
        match kind {
            apollo_compiler::ast::OperationType::Query => OperationType::Query,
            apollo_compiler::ast::OperationType::Mutation => OperationType::Mutation,
            apollo_compiler::ast::OperationType::Subscription => OperationType::Subscription,
        }
    }
}

/// How a GraphQL request ended (the `outcome` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RequestOutcome {
    /// Refused before the gateway read it as GraphQL: CSRF, authentication, a malformed body,
    /// an unknown persisted operation, an unacceptable media type.
    Refused = 0,
    /// Executed, no errors.
    Success = 1,
    /// Executed with errors (field errors, failed subgraphs, planning).
    FieldErrors = 2,
    /// Parse, validation, variables or limits: no execution.
    RequestError = 3,
    /// `reject_unauthorized`, or a mutation over GET.
    Unauthorized = 4,
}

impl RequestOutcome {
    const ALL: [RequestOutcome; 5] = [
        RequestOutcome::Refused,
        RequestOutcome::Success,
        RequestOutcome::FieldErrors,
        RequestOutcome::RequestError,
        RequestOutcome::Unauthorized,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Refused => "refused",
            RequestOutcome::Success => "success",
            RequestOutcome::FieldErrors => "field_errors",
            RequestOutcome::RequestError => "request_error",
            RequestOutcome::Unauthorized => "unauthorized",
        }
    }

    pub fn from_u8(value: u8) -> Self {
        Self::ALL
            .get(usize::from(value))
            .copied()
            .unwrap_or(RequestOutcome::Refused)
    }
}

/// The series of one (operation name, operation type).
#[derive(Debug)]
pub struct OperationSeries {
    name: Box<str>,
    kind: OperationType,
    requests: [AtomicU64; RequestOutcome::ALL.len()],
    duration: Histogram,
    otel: Option<OtelHistogram>,
}

impl OperationSeries {
    fn new(name: &str, kind: OperationType, otel: Option<&Histograms>) -> Self {
        Self {
            name: name.into(),
            kind,
            requests: Default::default(),
            duration: Histogram::default(),
            otel: otel.map(|histograms| {
                (
                    histograms.requests.clone(),
                    vec![
                        opentelemetry::KeyValue::new("graphql.operation.name", name.to_string()),
                        opentelemetry::KeyValue::new("graphql.operation.type", kind.as_str()),
                    ],
                )
            }),
        }
    }

    pub fn record(&self, outcome: RequestOutcome, duration: Duration) {
        self.requests[outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.duration.observe(duration);
        if let Some((histogram, attributes)) = &self.otel {
            histogram.record(duration.as_secs_f64(), attributes);
        }
    }
}

/// The series of one subgraph, resolved once when the HTTP fetcher is built.
#[derive(Debug)]
pub struct SubgraphSeries {
    name: Box<str>,
    requests: AtomicU64,
    duration: Histogram,
    /// By `error.type`: the fetch error's code, or `GRAPHQL_ERROR` for an answer carrying
    /// errors. A handful of fixed codes, so a short list behind a lock (failures only).
    errors: std::sync::Mutex<Vec<(&'static str, u64)>>,
    otel: Option<OtelHistogram>,
}

/// `error.type` of a subgraph answer that came with GraphQL errors.
pub const SUBGRAPH_GRAPHQL_ERROR: &str = "GRAPHQL_ERROR";

impl SubgraphSeries {
    /// One request sent to the subgraph, however it ended.
    pub fn record(&self, duration: Duration, error: Option<&'static str>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.duration.observe(duration);
        if let Some((histogram, attributes)) = &self.otel {
            histogram.record(duration.as_secs_f64(), attributes);
        }
        if let Some(code) = error {
            let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
            match errors.iter_mut().find(|(c, _)| *c == code) {
                Some((_, count)) => *count += 1,
                None => errors.push((code, 1)),
            }
        }
    }
}

/// Counts of a cache by result.
#[derive(Debug, Default)]
pub struct HitMiss {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
}

impl HitMiss {
    pub fn record(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sizes read from a cache when `/metrics` is rendered.
#[derive(Debug, Clone, Copy, Default)]
pub struct CacheSize {
    pub entries: u64,
    pub bytes: u64,
}

/// Every metric the gateway records itself. One per gateway (tests run several in one process,
/// each with its own counts).
#[derive(Debug)]
pub struct Metrics {
    enabled: bool,
    max_operation_names: usize,
    /// By a hash of (name, type); the name is compared on a hit.
    operations: DashMap<u64, Arc<OperationSeries>, ahash::RandomState>,
    operation_names: AtomicUsize,
    other_operations: [Arc<OperationSeries>; 4],
    /// `http.server.request.duration` by method (GET, POST) and status code.
    http: DashMap<(bool, u16), Arc<Histogram>, ahash::RandomState>,
    active_requests: AtomicI64,
    subgraphs: std::sync::RwLock<Vec<Arc<SubgraphSeries>>>,
    pub documents: HitMiss,
    pub plans: HitMiss,
    pub planning: Histogram,
    /// Demand control's estimated and actual costs.
    pub cost: CostMetrics,
    /// The OTLP histograms, when metrics are pushed over OTLP too.
    otel: Option<Histograms>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(&MetricsConfig::default())
    }
}

impl Metrics {
    pub fn new(config: &MetricsConfig) -> Self {
        let otel = super::otlp_metrics::histograms();
        let other = |kind| Arc::new(OperationSeries::new(OTHER_OPERATIONS, kind, otel.as_ref()));
        Self {
            enabled: config.enabled,
            max_operation_names: config.max_operation_names,
            operations: DashMap::default(),
            operation_names: AtomicUsize::new(0),
            other_operations: [
                other(OperationType::Unknown),
                other(OperationType::Query),
                other(OperationType::Mutation),
                other(OperationType::Subscription),
            ],
            http: DashMap::default(),
            active_requests: AtomicI64::new(0),
            subgraphs: Default::default(),
            documents: HitMiss::default(),
            plans: HitMiss::default(),
            planning: Histogram::default(),
            cost: CostMetrics::default(),
            otel,
        }
    }

    /// Planning took `duration` (a plan cache miss).
    pub fn observe_planning(&self, duration: Duration) {
        self.planning.observe(duration);
        if let Some(otel) = &self.otel {
            otel.planning.record(duration.as_secs_f64(), &[]);
        }
    }

    pub fn active_requests(&self) -> i64 {
        self.active_requests.load(Ordering::Relaxed)
    }

    /// Each (operation name, type, outcome) with its request count.
    pub fn for_each_request_count(
        &self,
        mut each: impl FnMut(&str, &'static str, &'static str, u64),
    ) {
        let mut visit = |series: &OperationSeries| {
            for outcome in RequestOutcome::ALL {
                let count = series.requests[outcome as usize].load(Ordering::Relaxed);
                if count > 0 {
                    each(&series.name, series.kind.as_str(), outcome.as_str(), count);
                }
            }
        };
        for series in self.operations.iter() {
            visit(series.value());
        }
        for series in &self.other_operations {
            visit(series);
        }
    }

    /// Each subgraph with its request count and its errors by code.
    pub fn for_each_subgraph_count(&self, mut each: impl FnMut(&str, u64, &[(&'static str, u64)])) {
        let subgraphs = self.subgraphs.read().unwrap_or_else(|e| e.into_inner());
        for series in subgraphs.iter() {
            let errors = series
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            each(
                &series.name,
                series.requests.load(Ordering::Relaxed),
                &errors,
            );
        }
    }

    /// Whether per-request metrics are recorded (`telemetry.metrics.enabled`).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The series of an operation: created on first use, up to `max_operation_names` names;
    /// later names share [`OTHER_OPERATIONS`].
    pub fn operation(&self, name: &str, kind: OperationType) -> Arc<OperationSeries> {
        if name.len() > MAX_OPERATION_NAME {
            return self.other_operations[kind as usize].clone();
        }
        let id = {
            let mut hasher = xxhash_rust::xxh3::Xxh3::new();
            hasher.update(name.as_bytes());
            hasher.update(&[kind as u8]);
            hasher.digest()
        };
        if let Some(series) = self.operations.get(&id)
            && &*series.name == name
        {
            return series.clone();
        }
        if self.operation_names.load(Ordering::Relaxed) >= self.max_operation_names {
            return self.other_operations[kind as usize].clone();
        }
        let entry = self.operations.entry(id).or_insert_with(|| {
            self.operation_names.fetch_add(1, Ordering::Relaxed);
            Arc::new(OperationSeries::new(name, kind, self.otel.as_ref()))
        });
        // A different name under the same 64-bit hash shares the overflow series.
        if &*entry.name == name {
            entry.clone()
        } else {
            self.other_operations[kind as usize].clone()
        }
    }

    /// `http.server.request.duration` of one request.
    pub fn http_request(&self, post: bool, status: u16, duration: Duration) {
        if let Some(histogram) = self.http.get(&(post, status)) {
            histogram.observe(duration);
            return;
        }
        self.http
            .entry((post, status))
            .or_default()
            .observe(duration);
    }

    /// `http.server.active_requests`: +1 now, -1 when the guard drops.
    pub fn request_started(self: &Arc<Self>) -> ActiveRequest {
        self.active_requests.fetch_add(1, Ordering::Relaxed);
        ActiveRequest(self.clone())
    }

    /// The handle of a subgraph's series, registered once per subgraph (by the HTTP fetcher
    /// when it is built); the same name gets the same series.
    pub fn subgraph(&self, name: &str) -> Arc<SubgraphSeries> {
        let mut subgraphs = self.subgraphs.write().unwrap_or_else(|e| e.into_inner());
        if let Some(series) = subgraphs.iter().find(|s| &*s.name == name) {
            return series.clone();
        }
        let series = Arc::new(SubgraphSeries {
            name: name.into(),
            requests: AtomicU64::new(0),
            duration: Histogram::default(),
            errors: Default::default(),
            otel: self.otel.as_ref().map(|histograms| {
                (
                    histograms.subgraphs.clone(),
                    vec![opentelemetry::KeyValue::new(
                        "subgraph.name",
                        name.to_string(),
                    )],
                )
            }),
        });
        subgraphs.push(series.clone());
        series
    }

    /// Prometheus text of every family named here. `documents` and `plans` are the sizes of
    /// the gateway's document and plan caches now.
    pub fn render(&self, out: &mut String, documents: CacheSize, plans: CacheSize) {
        if self.enabled {
            self.render_requests(out);
            self.render_subgraphs(out);
        }
        family(
            out,
            "gateway_document_cache_requests_total",
            "counter",
            "Parsed and validated documents looked up, by result (hit or miss).",
        );
        hit_miss(
            out,
            "gateway_document_cache_requests_total",
            &self.documents,
        );
        family(
            out,
            "gateway_plan_cache_requests_total",
            "counter",
            "Query plans looked up, by result (hit or miss).",
        );
        hit_miss(out, "gateway_plan_cache_requests_total", &self.plans);
        for (name, size) in [("document", documents), ("plan", plans)] {
            family(
                out,
                &format!("gateway_{name}_cache_entries"),
                "gauge",
                &format!("Entries in the {name} cache."),
            );
            let _ = writeln!(out, "gateway_{name}_cache_entries {}", size.entries);
            family(
                out,
                &format!("gateway_{name}_cache_size_bytes"),
                "gauge",
                &format!("Estimated bytes held by the {name} cache."),
            );
            let _ = writeln!(out, "gateway_{name}_cache_size_bytes {}", size.bytes);
        }
        family(
            out,
            "gateway_query_planning_duration_seconds",
            "histogram",
            "Time spent planning operations (plan cache misses).",
        );
        self.planning
            .render(out, "gateway_query_planning_duration_seconds", "");
        self.cost.render(out);
        // The supergraph families (reloads, the loaded schema's hash) are the reloader's:
        // `reload::LiveGateway::render_metrics`.
    }

    fn render_requests(&self, out: &mut String) {
        let mut operations: Vec<Arc<OperationSeries>> =
            self.operations.iter().map(|s| s.value().clone()).collect();
        operations.extend(self.other_operations.iter().cloned());
        operations.sort_by(|a, b| (&a.name, a.kind).cmp(&(&b.name, b.kind)));
        family(
            out,
            "gateway_graphql_requests_total",
            "counter",
            "GraphQL requests by operation name and type, and outcome (success, field_errors, \
             request_error, unauthorized, refused).",
        );
        for series in &operations {
            let name = label_value(&series.name);
            for outcome in RequestOutcome::ALL {
                let count = series.requests[outcome as usize].load(Ordering::Relaxed);
                if count == 0 {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "gateway_graphql_requests_total{{graphql_operation_name=\"{name}\",\
                     graphql_operation_type=\"{}\",outcome=\"{}\"}} {count}",
                    series.kind.as_str(),
                    outcome.as_str()
                );
            }
        }
        family(
            out,
            "gateway_graphql_request_duration_seconds",
            "histogram",
            "Duration of GraphQL requests, from the request read to the response ready, by \
             operation name and type.",
        );
        for series in operations.iter().filter(|s| s.duration.count() > 0) {
            let labels = format!(
                "graphql_operation_name=\"{}\",graphql_operation_type=\"{}\",",
                label_value(&series.name),
                series.kind.as_str()
            );
            series
                .duration
                .render(out, "gateway_graphql_request_duration_seconds", &labels);
        }
        family(
            out,
            "http_server_request_duration_seconds",
            "histogram",
            "Duration of HTTP server requests to /graphql, by method and status code.",
        );
        let mut http: Vec<((bool, u16), Arc<Histogram>)> = self
            .http
            .iter()
            .map(|e| (*e.key(), e.value().clone()))
            .collect();
        http.sort_by_key(|(key, _)| *key);
        for ((post, status), histogram) in http {
            let method = if post { "POST" } else { "GET" };
            let labels = format!(
                "http_request_method=\"{method}\",http_response_status_code=\"{status}\",\
                 http_route=\"/graphql\","
            );
            histogram.render(out, "http_server_request_duration_seconds", &labels);
        }
        family(
            out,
            "http_server_active_requests",
            "gauge",
            "GraphQL requests in flight.",
        );
        let _ = writeln!(
            out,
            "http_server_active_requests {}",
            self.active_requests.load(Ordering::Relaxed)
        );
    }

    fn render_subgraphs(&self, out: &mut String) {
        let subgraphs = self.subgraphs.read().unwrap_or_else(|e| e.into_inner());
        family(
            out,
            "gateway_subgraph_requests_total",
            "counter",
            "HTTP requests sent to subgraphs (cache hits are not sent).",
        );
        for series in subgraphs.iter() {
            let _ = writeln!(
                out,
                "gateway_subgraph_requests_total{{subgraph_name=\"{}\"}} {}",
                label_value(&series.name),
                series.requests.load(Ordering::Relaxed)
            );
        }
        family(
            out,
            "gateway_subgraph_request_duration_seconds",
            "histogram",
            "Duration of subgraph requests, including waiting for a connection.",
        );
        for series in subgraphs.iter() {
            let labels = format!("subgraph_name=\"{}\",", label_value(&series.name));
            series
                .duration
                .render(out, "gateway_subgraph_request_duration_seconds", &labels);
        }
        family(
            out,
            "gateway_subgraph_errors_total",
            "counter",
            "Failed subgraph requests by error.type (the error code clients see), and answers \
             that carried GraphQL errors (GRAPHQL_ERROR).",
        );
        for series in subgraphs.iter() {
            let mut errors = series
                .errors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            errors.sort();
            for (code, count) in errors {
                let _ = writeln!(
                    out,
                    "gateway_subgraph_errors_total{{subgraph_name=\"{}\",error_type=\"{code}\"}} {count}",
                    label_value(&series.name)
                );
            }
        }
    }
}

/// Decrements `http.server.active_requests` when dropped.
#[derive(Debug)]
pub struct ActiveRequest(Arc<Metrics>);

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        self.0.active_requests.fetch_sub(1, Ordering::Relaxed);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn hit_miss(out: &mut String, name: &str, counts: &HitMiss) {
    for (result, counter) in [("hit", &counts.hits), ("miss", &counts.misses)] {
        let _ = writeln!(
            out,
            "{name}{{result=\"{result}\"}} {}",
            counter.load(Ordering::Relaxed)
        );
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
pub fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max_operation_names: usize) -> MetricsConfig {
        MetricsConfig {
            max_operation_names,
            ..MetricsConfig::default()
        }
    }

    #[test]
    fn a_histogram_renders_cumulative_buckets_sum_and_count() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_micros(300));
        histogram.observe(Duration::from_millis(3));
        histogram.observe(Duration::from_secs(60));
        let mut out = String::new();
        histogram.render(&mut out, "h", "a=\"b\",");
        assert!(out.contains("h_bucket{a=\"b\",le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("h_bucket{a=\"b\",le=\"0.0025\"} 1\n"), "{out}");
        assert!(out.contains("h_bucket{a=\"b\",le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{a=\"b\",le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("h_bucket{a=\"b\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("h_count{a=\"b\"} 3\n"), "{out}");
        assert!(out.contains("h_sum{a=\"b\"} 60.0033\n"), "{out}");
    }

    #[test]
    fn operation_names_beyond_the_cap_share_one_series() {
        let metrics = Metrics::new(&config(2));
        let a = metrics.operation("A", OperationType::Query);
        assert!(Arc::ptr_eq(
            &a,
            &metrics.operation("A", OperationType::Query)
        ));
        metrics.operation("B", OperationType::Query);
        let c = metrics.operation("C", OperationType::Query);
        assert_eq!(&*c.name, OTHER_OPERATIONS);
        let long = metrics.operation(&"x".repeat(200), OperationType::Mutation);
        assert_eq!(&*long.name, OTHER_OPERATIONS);
        assert_eq!(long.kind, OperationType::Mutation);
        a.record(RequestOutcome::Success, Duration::from_millis(1));
        c.record(RequestOutcome::FieldErrors, Duration::from_millis(1));
        let mut out = String::new();
        metrics.render(&mut out, CacheSize::default(), CacheSize::default());
        assert!(out.contains(
            "gateway_graphql_requests_total{graphql_operation_name=\"A\",graphql_operation_type=\"query\",outcome=\"success\"} 1\n"
        ), "{out}");
        assert!(out.contains(
            "gateway_graphql_requests_total{graphql_operation_name=\"__other__\",graphql_operation_type=\"query\",outcome=\"field_errors\"} 1\n"
        ), "{out}");
        assert!(!out.contains("graphql_operation_name=\"C\""), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::default();
        metrics
            .operation("q\"x", OperationType::Query)
            .record(RequestOutcome::Success, Duration::ZERO);
        let mut out = String::new();
        metrics.render(&mut out, CacheSize::default(), CacheSize::default());
        assert!(out.contains("graphql_operation_name=\"q\\\"x\""), "{out}");
    }
}
