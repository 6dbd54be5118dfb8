//! The process's `tracing` subscriber: the log layer (text or JSON on stderr) and, when
//! tracing is on, the OpenTelemetry layer that turns the gateway's spans into OTLP exports.
//!
//! The gateway's spans are at INFO level under [`super::spans::TARGET`], which the log layer
//! refuses: only the OpenTelemetry layer takes them. INFO, not TRACE: a layer enabling TRACE
//! would lift `tracing`'s global level, and every `trace!` of hyper, h2 and reqwest (hundreds a
//! request) would then be checked one by one instead of skipped by one compare.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use super::config::{LogConfig, LogFormat, OtlpProtocol, TelemetryConfig, TracingConfig};

static TRACING: AtomicBool = AtomicBool::new(false);
static PROPAGATE: AtomicBool = AtomicBool::new(false);
/// `telemetry.tracing.sampling`, as f64 bits.
static SAMPLING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The share of requests without a `traceparent` that are traced.
pub fn sampling() -> f64 {
    f64::from_bits(SAMPLING.load(Ordering::Relaxed))
}

/// Whether spans are exported (checked before any work for them: reading `traceparent`,
/// recording fields).
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// Whether `traceparent` is sent to subgraphs.
pub fn propagating() -> bool {
    PROPAGATE.load(Ordering::Relaxed)
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("`log.level`: {0}")]
    Filter(String),
    #[error("`telemetry.tracing.sampling` must be between 0 and 1, not {0}")]
    Sampling(f64),
    #[error("`telemetry.tracing.otlp`: {0}")]
    Exporter(String),
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Keeps the span exporter; [`TelemetryGuard::shutdown`] exports what is left.
#[must_use = "dropping the guard loses the spans not yet exported"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Exports the spans still buffered, within the exporter's timeout.
    pub async fn shutdown(self) {
        let _ = tokio::task::spawn_blocking(super::otlp_metrics::shutdown).await;
        if let Some(provider) = self.provider {
            TRACING.store(false, Ordering::Relaxed);
            // The batch task runs on this runtime: wait for it from a blocking thread.
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(error) = provider.shutdown() {
                    eprintln!("exporting the last spans failed: {error}");
                }
            })
            .await;
        }
    }
}

/// The filter for the log layer: `RUST_LOG` when set, else `log.level`.
fn log_filter(log: &LogConfig) -> Result<EnvFilter, TelemetryError> {
    match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => {
            EnvFilter::try_new(value).map_err(|e| TelemetryError::Filter(format!("RUST_LOG: {e}")))
        }
        _ => EnvFilter::try_new(&log.level).map_err(|e| TelemetryError::Filter(e.to_string())),
    }
}

/// The log layer alone, for commands other than `serve` (and before its config is read).
pub fn init_logs(log: &LogConfig) -> Result<(), TelemetryError> {
    Registry::default()
        .with(log_layer(log)?)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)
}

fn log_layer(log: &LogConfig) -> Result<Box<dyn Layer<Registry> + Send + Sync>, TelemetryError> {
    use tracing_subscriber::filter::{FilterExt, LevelFilter};
    // The gateway's spans are the OpenTelemetry layer's alone (a static, per-callsite "no").
    let filter = log_filter(log)?.and(
        Targets::new()
            .with_default(LevelFilter::TRACE)
            .with_target(super::spans::TARGET, LevelFilter::OFF),
    );
    // Colour codes only for a person at a terminal, not in log files and collectors.
    let ansi = std::io::stderr().is_terminal();
    Ok(match log.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    })
}

/// Installs the subscriber for `serve`: logs as `log` says, spans exported as
/// `telemetry.tracing` says, and the OTLP metrics pipeline when `telemetry.metrics.otlp` is set
/// (before the gateway is built: its metrics register with it). Call from within a Tokio
/// runtime (the exporters' tasks run on it).
pub fn init(
    log: &LogConfig,
    telemetry: &TelemetryConfig,
) -> Result<TelemetryGuard, TelemetryError> {
    let tracing = &telemetry.tracing;
    let logs = log_layer(log)?;
    if let Some(otlp) = &telemetry.metrics.otlp {
        super::otlp_metrics::init(otlp, &tracing.service_name)?;
    }
    let provider = if tracing.enabled {
        Some(tracer_provider(tracing)?)
    } else {
        None
    };
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("gateway"))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_level(false)
            .with_tracked_inactivity(false)
            .with_filter(Targets::new().with_target(super::spans::TARGET, tracing::Level::INFO))
    });
    Registry::default()
        .with(logs)
        .with(otel)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    if provider.is_some() {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        PROPAGATE.store(tracing.propagate, Ordering::Relaxed);
        SAMPLING.store(tracing.sampling.to_bits(), Ordering::Relaxed);
        TRACING.store(true, Ordering::Relaxed);
    }
    Ok(TelemetryGuard { provider })
}

fn tracer_provider(config: &TracingConfig) -> Result<SdkTracerProvider, TelemetryError> {
    if !(0.0..=1.0).contains(&config.sampling) {
        return Err(TelemetryError::Sampling(config.sampling));
    }
    let timeout = Duration::from_millis(config.otlp.timeout_ms);
    let exporter = match config.otlp.protocol {
        OtlpProtocol::Grpc => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_timeout(timeout);
            if let Some(endpoint) = &config.otlp.endpoint {
                builder = builder.with_endpoint(endpoint.clone());
            }
            builder.build()
        }
        OtlpProtocol::HttpProtobuf => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_timeout(timeout);
            if let Some(endpoint) = &config.otlp.endpoint {
                builder = builder.with_endpoint(endpoint.clone());
            }
            builder.build()
        }
    }
    .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    // Batches are exported from a task on the gateway's runtime (both the tonic and the hyper
    // client need one), never on the request path.
    let processor =
        opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        // The ratio is applied before a request's root span is made (`spans::head_sampled`),
        // so that an untraced request makes no span at all; every span made is recorded.
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .with_resource(resource)
        .build())
}
