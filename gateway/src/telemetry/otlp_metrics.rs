//! The same metrics over OTLP, when `telemetry.metrics.otlp` is set: counters and gauges are
//! read from [`Metrics`]' own atomics when the periodic reader collects (nothing more per
//! request), and the duration histograms are recorded a second time into OpenTelemetry
//! histograms, with each series' attributes built once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, Meter, MeterProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;

use super::config::{MetricsOtlpConfig, OtlpProtocol};
use super::metrics::{BUCKETS, Metrics};
use super::subscriber::TelemetryError;

static ENABLED: AtomicBool = AtomicBool::new(false);
static PROVIDER: std::sync::OnceLock<SdkMeterProvider> = std::sync::OnceLock::new();

/// The histograms recorded into, with the attributes of the series recording.
pub type OtelHistogram = (Histogram<f64>, Vec<KeyValue>);

/// The three duration histograms, when metrics go out over OTLP too.
#[derive(Debug, Clone)]
pub struct Histograms {
    pub requests: Histogram<f64>,
    pub subgraphs: Histogram<f64>,
    pub planning: Histogram<f64>,
}

/// Starts the OTLP metrics pipeline (a periodic reader on this Tokio runtime).
pub fn init(config: &MetricsOtlpConfig, service_name: &str) -> Result<(), TelemetryError> {
    let timeout = Duration::from_millis(config.timeout_ms);
    let exporter = match config.protocol {
        OtlpProtocol::Grpc => {
            let mut builder = opentelemetry_otlp::MetricExporter::builder()
                .with_tonic()
                .with_timeout(timeout);
            if let Some(endpoint) = &config.endpoint {
                builder = builder.with_endpoint(endpoint.clone());
            }
            builder.build()
        }
        OtlpProtocol::HttpProtobuf => {
            let mut builder = opentelemetry_otlp::MetricExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_timeout(timeout);
            if let Some(endpoint) = &config.endpoint {
                builder = builder.with_endpoint(endpoint.clone());
            }
            builder.build()
        }
    }
    .map_err(|e| TelemetryError::Exporter(format!("metrics: {e}")))?;
    let reader =
        opentelemetry_sdk::metrics::periodic_reader_with_async_runtime::PeriodicReader::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .with_interval(Duration::from_millis(config.interval_ms.max(100)))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name.to_string())
                .build(),
        )
        .build();
    let _ = PROVIDER.set(provider);
    ENABLED.store(true, Ordering::Relaxed);
    Ok(())
}

/// Exports what was recorded since the last export, and stops.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        ENABLED.store(false, Ordering::Relaxed);
        if let Err(error) = provider.shutdown() {
            eprintln!("exporting the last metrics failed: {error}");
        }
    }
}

fn meter() -> Option<Meter> {
    if !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    Some(PROVIDER.get()?.meter("gateway"))
}

/// The histograms, when the OTLP pipeline runs.
pub fn histograms() -> Option<Histograms> {
    let meter = meter()?;
    let histogram = |name: &'static str, description: &'static str| {
        meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(BUCKETS.to_vec())
            .build()
    };
    Some(Histograms {
        requests: histogram(
            "gateway.graphql.request.duration",
            "Duration of GraphQL requests by operation name and type.",
        ),
        subgraphs: histogram(
            "gateway.subgraph.request.duration",
            "Duration of subgraph requests.",
        ),
        planning: histogram(
            "gateway.query_planning.duration",
            "Time spent planning operations.",
        ),
    })
}

/// Registers the counters and gauges, read from `metrics` at each collection.
pub fn register(metrics: &Arc<Metrics>) {
    let Some(meter) = meter() else {
        return;
    };
    let weak = Arc::downgrade(metrics);
    let observe = |weak: &Weak<Metrics>| weak.upgrade();
    let from = weak.clone();
    let _ = meter
        .u64_observable_counter("gateway.graphql.requests")
        .with_description("GraphQL requests by operation name and type, and outcome.")
        .with_callback(move |instrument| {
            if let Some(metrics) = observe(&from) {
                metrics.for_each_request_count(|name, kind, outcome, count| {
                    instrument.observe(
                        count,
                        &[
                            KeyValue::new("graphql.operation.name", name.to_string()),
                            KeyValue::new("graphql.operation.type", kind),
                            KeyValue::new("outcome", outcome),
                        ],
                    )
                });
            }
        })
        .build();
    let from = weak.clone();
    let _ = meter
        .i64_observable_gauge("http.server.active_requests")
        .with_description("GraphQL requests in flight.")
        .with_callback(move |instrument| {
            if let Some(metrics) = observe(&from) {
                instrument.observe(metrics.active_requests(), &[]);
            }
        })
        .build();
    let from = weak.clone();
    let _ = meter
        .u64_observable_counter("gateway.subgraph.requests")
        .with_description("HTTP requests sent to subgraphs.")
        .with_callback(move |instrument| {
            if let Some(metrics) = observe(&from) {
                metrics.for_each_subgraph_count(|subgraph, requests, _| {
                    instrument.observe(
                        requests,
                        &[KeyValue::new("subgraph.name", subgraph.to_string())],
                    )
                });
            }
        })
        .build();
    let from = weak.clone();
    let _ = meter
        .u64_observable_counter("gateway.subgraph.errors")
        .with_description("Failed subgraph requests by error.type.")
        .with_callback(move |instrument| {
            if let Some(metrics) = observe(&from) {
                metrics.for_each_subgraph_count(|subgraph, _, errors| {
                    for (code, count) in errors {
                        instrument.observe(
                            *count,
                            &[
                                KeyValue::new("subgraph.name", subgraph.to_string()),
                                KeyValue::new("error.type", *code),
                            ],
                        )
                    }
                });
            }
        })
        .build();
    let from = weak;
    let _ = meter
        .u64_observable_counter("gateway.cache.lookups")
        .with_description(
            "Document and plan cache lookups by cache (document, plan) and result (hit, miss).",
        )
        .with_callback(move |instrument| {
            if let Some(metrics) = observe(&from) {
                for (cache, counts) in [("document", &metrics.documents), ("plan", &metrics.plans)]
                {
                    for (result, counter) in [("hit", &counts.hits), ("miss", &counts.misses)] {
                        instrument.observe(
                            counter.load(Ordering::Relaxed),
                            &[
                                KeyValue::new("cache", cache),
                                KeyValue::new("result", result),
                            ],
                        );
                    }
                }
            }
        })
        .build();
}
