//! The `log:` and `telemetry:` sections of the config (docs/config.md).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (for people) or `json` (one object a line, for collectors).
    pub format: LogFormat,
    /// The filter when `RUST_LOG` is not set, in its syntax (`info`, `gateway=debug,info`).
    pub level: String,
    /// One `info` line per GraphQL request: operation, status, duration, subgraphs fetched.
    pub access_log: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
            access_log: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    pub metrics: MetricsConfig,
    pub tracing: TracingConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Record request, subgraph and planning metrics. The cache's own families are on
    /// `/metrics` either way.
    pub enabled: bool,
    /// Serve `/metrics`, `/health` and `/ready` on this address (`host:port`) instead of the
    /// GraphQL listener, so they need not be public with `/graphql`.
    pub listen: Option<String>,
    /// Operation names get a series each, up to this many; later ones are counted under
    /// `__other__` (names are chosen by clients).
    pub max_operation_names: usize,
    /// Also push the metrics over OTLP.
    pub otlp: Option<MetricsOtlpConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsOtlpConfig {
    /// The collector: `http://host:4317` for gRPC; for HTTP the full metrics URL, e.g.
    /// `http://host:4318/v1/metrics`.
    pub endpoint: Option<String>,
    pub protocol: OtlpProtocol,
    /// How long one export may take, in milliseconds.
    pub timeout_ms: u64,
    /// How often metrics are exported, in milliseconds.
    pub interval_ms: u64,
}

impl Default for MetricsOtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: OtlpProtocol::Grpc,
            timeout_ms: 10_000,
            interval_ms: 15_000,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: None,
            max_operation_names: 200,
            otlp: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// Export OpenTelemetry spans over OTLP. Off: no span is created at all.
    pub enabled: bool,
    /// `service.name` of the exported resource.
    pub service_name: String,
    /// Share of new traces recorded, 0.0 to 1.0; a request with a `traceparent` follows its
    /// caller's decision (parent-based sampling).
    pub sampling: f64,
    /// Send `traceparent` (W3C trace context) to subgraphs.
    pub propagate: bool,
    pub otlp: OtlpConfig,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            service_name: "gateway".into(),
            sampling: 1.0,
            propagate: true,
            otlp: OtlpConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpConfig {
    /// The collector: `http://host:4317` for gRPC; for HTTP the full traces URL, e.g.
    /// `http://host:4318/v1/traces`.
    pub endpoint: Option<String>,
    pub protocol: OtlpProtocol,
    /// How long one export may take, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: OtlpProtocol::Grpc,
            timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtlpProtocol {
    #[default]
    Grpc,
    HttpProtobuf,
}
