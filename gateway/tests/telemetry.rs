//! Telemetry of the real `gateway serve` process over the demo subgraphs: spans exported over
//! OTLP to a receiver this test runs on loopback (decoded with the opentelemetry-proto types),
//! a client's `traceparent` kept and sent on to the subgraphs, JSON logs with an access line
//! per request, and `/metrics` on its own listener.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data, number_data_point};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::Value;
use tokio::net::TcpListener;

const SUPERGRAPH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/supergraph.graphql");

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN_ID: &str = "00f067aa0ba902b7";

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    (listener, address)
}

/// The demo subgraphs; products and reviews behind a proxy that records the headers the
/// gateway sent them. Their URLs by name, and the recorded headers by subgraph.
async fn subgraphs() -> (
    HashMap<&'static str, String>,
    Arc<Mutex<Vec<(&'static str, HeaderMap)>>>,
) {
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let mut urls = HashMap::new();
    for service in subgraphs::Service::ALL {
        let (real, address) = listener().await;
        tokio::spawn(async move {
            let _ = subgraphs::serve(service, real).await;
        });
        let target = format!("http://{address}/graphql");
        let name = service.name();
        if !matches!(name, "products" | "reviews") {
            urls.insert(name, target);
            continue;
        }
        let record = recorded.clone();
        let client = reqwest::Client::new();
        let proxy = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            record.lock().unwrap().push((name, headers));
            let (client, target) = (client.clone(), target.clone());
            async move {
                let answer = client
                    .post(target)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (
                    [("content-type", "application/json")],
                    answer.bytes().await.unwrap(),
                )
            }
        });
        let (listener, address) = listener().await;
        tokio::spawn(async move {
            let _ = axum::serve(listener, proxy).await;
        });
        urls.insert(name, format!("http://{address}/graphql"));
    }
    (urls, recorded)
}

/// An OTLP/HTTP receiver: every span of every `POST /v1/traces` and every metric of every
/// `POST /v1/metrics` (protobuf). Its base URL.
async fn otlp_http_receiver() -> (String, Arc<Mutex<Vec<Span>>>, Arc<Mutex<Vec<Metric>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let metrics = Arc::new(Mutex::new(Vec::new()));
    let (received, received_metrics) = (spans.clone(), metrics.clone());
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            axum::routing::post(move |body: Bytes| {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut spans = received.lock().unwrap();
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        spans.extend(scope.spans);
                    }
                }
                async { "" }
            }),
        )
        .route(
            "/v1/metrics",
            axum::routing::post(move |body: Bytes| {
                let request = ExportMetricsServiceRequest::decode(body).expect("OTLP protobuf");
                let mut metrics = received_metrics.lock().unwrap();
                for resource in request.resource_metrics {
                    for scope in resource.scope_metrics {
                        metrics.extend(scope.metrics);
                    }
                }
                async { "" }
            }),
        );
    let (listener, address) = listener().await;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), spans, metrics)
}

struct Gateway {
    child: Child,
    graphql: String,
    metrics: String,
    /// Every line it wrote to stderr.
    log: Arc<Mutex<Vec<String>>>,
    dir: std::path::PathBuf,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Gateway {
    /// Sends SIGTERM and waits for the exit (which exports the spans still buffered).
    fn stop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the gateway did not stop");
    }
}

fn start_gateway(config: &str, tag: &str) -> Gateway {
    let dir = std::env::temp_dir().join(format!("gateway-telemetry-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gateway.yaml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["serve", "--supergraph", SUPERGRAPH, "--config"])
        .arg(&path)
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("gateway starts");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (sender, receiver) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let lines = log.clone();
    // Keep reading the log so the gateway never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            for (marker, kind) in [
                ("listening on http://", "graphql"),
                ("metrics on http://", "metrics"),
            ] {
                if let Some(rest) = line.split(marker).nth(1) {
                    let address = rest.split('/').next().unwrap().to_string();
                    let _ = sender.send((kind, address));
                }
            }
            eprintln!("gateway: {line}");
            lines.lock().unwrap().push(line);
        }
    });
    let mut addresses = HashMap::new();
    while addresses.len() < 2 {
        let (kind, address) = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the gateway logs its addresses");
        addresses.insert(kind, address);
    }
    Gateway {
        child,
        graphql: format!("http://{}/graphql", addresses["graphql"]),
        metrics: format!("http://{}", addresses["metrics"]),
        log,
        dir,
    }
}

fn subgraphs_yaml(urls: &HashMap<&str, String>) -> String {
    let mut yaml = "subgraphs:\n".to_string();
    for (name, url) in urls {
        yaml.push_str(&format!("  {name}: {{ url: \"{url}\" }}\n"));
    }
    yaml
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn string_attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attribute(span, key)? {
        AnyValue::StringValue(text) => Some(text),
        _ => None,
    }
}

fn int_attribute(span: &Span, key: &str) -> Option<i64> {
    match attribute(span, key)? {
        AnyValue::IntValue(value) => Some(*value),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const QUERY: &str = "query Reviewed { topProducts(first: 2) { name reviews { body } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_of_a_federated_query_reach_an_otlp_receiver_and_logs_are_json() {
    let (urls, recorded) = subgraphs().await;
    let (receiver, spans, exported_metrics) = otlp_http_receiver().await;
    // Metrics every minute: the ones checked below are those flushed at shutdown.
    let config = format!(
        "listen: 127.0.0.1:0\n\
         log: {{ format: json }}\n\
         telemetry:\n  metrics:\n    listen: 127.0.0.1:0\n    otlp: {{ endpoint: \
         \"{receiver}/v1/metrics\", protocol: http_protobuf, interval_ms: 60000 }}\n  \
         tracing:\n    enabled: true\n    sampling: 1.0\n    \
         otlp: {{ endpoint: \"{receiver}/v1/traces\", protocol: http_protobuf }}\n{}",
        subgraphs_yaml(&urls)
    );
    let mut gateway = start_gateway(&config, "http");
    let client = reqwest::Client::new();
    let response: Value = client
        .post(&gateway.graphql)
        .header("traceparent", format!("00-{TRACE_ID}-{CLIENT_SPAN_ID}-01"))
        .json(&serde_json::json!({ "query": QUERY }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["topProducts"].as_array().unwrap().len(), 2);

    // The trace id reached both subgraphs, each under a span of the gateway's.
    {
        let recorded = recorded.lock().unwrap();
        for subgraph in ["products", "reviews"] {
            let (_, headers) = recorded
                .iter()
                .find(|(name, _)| *name == subgraph)
                .unwrap_or_else(|| panic!("{subgraph} was asked"));
            let traceparent = headers["traceparent"].to_str().unwrap();
            let parts: Vec<&str> = traceparent.split('-').collect();
            assert_eq!(parts[1], TRACE_ID, "{subgraph}: {traceparent}");
            assert_ne!(parts[2], CLIENT_SPAN_ID, "{subgraph}: {traceparent}");
            assert_eq!(parts[3], "01", "{subgraph}: sampled");
        }
    }

    // /metrics and /health on their own listener, not on the GraphQL one.
    let metrics = client
        .get(format!("{}/metrics", gateway.metrics))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "gateway_graphql_requests_total{graphql_operation_name=\"Reviewed\",\
             graphql_operation_type=\"query\",outcome=\"success\"} 1"
        ),
        "{metrics}"
    );
    let health = client
        .get(format!("{}/health", gateway.metrics))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let on_graphql = client
        .get(gateway.graphql.replace("/graphql", "/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_graphql.status(), 404);

    gateway.stop();

    // The span tree: the request under the client's span, the fetches beneath it.
    let spans = spans.lock().unwrap().clone();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let by_id: HashMap<Vec<u8>, &Span> = spans.iter().map(|s| (s.span_id.clone(), s)).collect();
    let root = spans
        .iter()
        .find(|s| s.name == "graphql.request")
        .unwrap_or_else(|| panic!("a request span among {names:?}"));
    assert_eq!(hex(&root.trace_id), TRACE_ID);
    assert_eq!(hex(&root.parent_span_id), CLIENT_SPAN_ID);
    assert_eq!(
        int_attribute(root, "http.response.status_code"),
        Some(200),
        "{:?}",
        root.attributes
    );
    assert_eq!(
        string_attribute(root, "graphql.operation.name"),
        Some("Reviewed")
    );
    assert_eq!(
        string_attribute(root, "graphql.operation.type"),
        Some("query")
    );
    let under_root = |span: &Span| {
        let mut parent = span.parent_span_id.clone();
        while let Some(next) = by_id.get(&parent) {
            if next.span_id == root.span_id {
                return true;
            }
            parent = next.parent_span_id.clone();
        }
        false
    };
    for stage in ["graphql.parse_validate", "graphql.plan", "graphql.execute"] {
        let span = spans
            .iter()
            .find(|s| s.name == stage)
            .unwrap_or_else(|| panic!("a {stage} span among {names:?}"));
        assert_eq!(
            span.parent_span_id, root.span_id,
            "{stage} is a child of the request"
        );
    }
    let fetches: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "subgraph.fetch")
        .collect();
    for subgraph in ["products", "reviews"] {
        let fetch = fetches
            .iter()
            .find(|s| string_attribute(s, "subgraph.name") == Some(subgraph))
            .unwrap_or_else(|| panic!("a fetch span of {subgraph} among {names:?}"));
        assert_eq!(hex(&fetch.trace_id), TRACE_ID);
        assert!(
            under_root(fetch),
            "{subgraph}'s fetch is under the request span"
        );
        assert_eq!(
            string_attribute(fetch, "url.full"),
            Some(urls[subgraph].as_str())
        );
        assert_eq!(int_attribute(fetch, "http.response.status_code"), Some(200));
        // The span the subgraph was told about is its fetch span.
        let recorded = recorded.lock().unwrap();
        let (_, headers) = recorded.iter().find(|(name, _)| *name == subgraph).unwrap();
        let traceparent = headers["traceparent"].to_str().unwrap();
        assert_eq!(
            traceparent.split('-').nth(2),
            Some(hex(&fetch.span_id).as_str())
        );
    }

    // The metrics went out over OTLP too.
    let metrics = exported_metrics.lock().unwrap().clone();
    let metric = |name: &str| {
        metrics
            .iter()
            .rev()
            .find(|m| m.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "{name} among {:?}",
                    metrics.iter().map(|m| &m.name).collect::<Vec<_>>()
                )
            })
    };
    let has = |attributes: &[KeyValue], key: &str, value: &str| {
        attributes.iter().any(|a| {
            a.key == key
                && matches!(a.value.as_ref().and_then(|v| v.value.as_ref()), Some(AnyValue::StringValue(v)) if v == value)
        })
    };
    let Some(Data::Sum(requests)) = &metric("gateway.graphql.requests").data else {
        panic!("a sum");
    };
    let point = requests
        .data_points
        .iter()
        .find(|p| has(&p.attributes, "graphql.operation.name", "Reviewed"))
        .expect("a point for the operation");
    assert!(requests.is_monotonic);
    assert!(has(&point.attributes, "outcome", "success"));
    assert_eq!(point.value, Some(number_data_point::Value::AsInt(1)));
    let Some(Data::Histogram(durations)) = &metric("gateway.graphql.request.duration").data else {
        panic!("a histogram");
    };
    let point = &durations.data_points[0];
    assert_eq!(point.count, 1);
    assert!(has(&point.attributes, "graphql.operation.type", "query"));
    let Some(Data::Sum(subgraph_requests)) = &metric("gateway.subgraph.requests").data else {
        panic!("a sum");
    };
    for subgraph in ["products", "reviews"] {
        let point = subgraph_requests
            .data_points
            .iter()
            .find(|p| has(&p.attributes, "subgraph.name", subgraph))
            .unwrap_or_else(|| panic!("{subgraph}"));
        assert_eq!(point.value, Some(number_data_point::Value::AsInt(1)));
    }

    // Every log line is JSON; the startup lines and the request's access line are there.
    let log = gateway.log.lock().unwrap().clone();
    let lines: Vec<Value> = log
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let startup = lines
        .iter()
        .find(|l| l["message"] == "supergraph loaded")
        .expect("a startup line naming the supergraph");
    assert_eq!(startup["schema_hash"].as_str().unwrap().len(), 64);
    assert_eq!(startup["subgraphs"], 4);
    for subgraph in ["accounts", "inventory", "products", "reviews"] {
        assert!(
            lines
                .iter()
                .any(|l| l["subgraph"] == subgraph && l["url"] == urls[subgraph].as_str()),
            "a startup line for {subgraph}"
        );
    }
    let access = lines
        .iter()
        .find(|l| l["target"] == "gateway::access")
        .expect("an access line");
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["operation_name"], "Reviewed");
    assert_eq!(access["operation_type"], "query");
    assert_eq!(access["status"], 200);
    assert_eq!(access["outcome"], "success");
    assert_eq!(access["subgraphs"], "products,reviews");
    assert!(access["duration_ms"].as_f64().unwrap() > 0.0);
}

/// An OTLP/gRPC receiver (the collector's `TraceService`), served by tonic.
struct GrpcReceiver(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn otlp_grpc_receiver() -> (String, Arc<Mutex<Vec<Span>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let (listener, address) = listener().await;
    let service = TraceServiceServer::new(GrpcReceiver(spans.clone()));
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await;
    });
    (format!("http://{address}"), spans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_grpc_unsampled_requests_export_nothing_and_cached_fetches_say_so() {
    let (urls, _recorded) = subgraphs().await;
    let (endpoint, spans) = otlp_grpc_receiver().await;
    // Ratio 0: only requests whose caller sampled them are traced (parent-based). The cache
    // answers the second request's fetches.
    let config = format!(
        "listen: 127.0.0.1:0\n\
         log: {{ access_log: false }}\n\
         cache: {{ enabled: true, defaults: {{ mode: ttl, ttl_seconds: 3600 }} }}\n\
         telemetry:\n  metrics: {{ listen: 127.0.0.1:0 }}\n  tracing:\n    enabled: true\n    \
         sampling: 0.0\n    otlp: {{ endpoint: \"{endpoint}\", protocol: grpc }}\n{}",
        subgraphs_yaml(&urls)
    );
    let mut gateway = start_gateway(&config, "grpc");
    let client = reqwest::Client::new();
    let unsampled = format!("00-{TRACE_ID}-{CLIENT_SPAN_ID}-00");
    for traceparent in [
        None,
        Some(unsampled.clone()),
        Some(format!("00-{TRACE_ID}-{CLIENT_SPAN_ID}-01")),
    ] {
        let mut request = client
            .post(&gateway.graphql)
            .json(&serde_json::json!({ "query": QUERY }));
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(response.get("errors").is_none(), "{response}");
    }
    gateway.stop();

    let spans = spans.lock().unwrap().clone();
    assert!(
        !spans.is_empty(),
        "the sampled request's spans were exported"
    );
    for span in &spans {
        assert_eq!(
            hex(&span.trace_id),
            TRACE_ID,
            "only the sampled trace: {span:?}"
        );
    }
    let fetches: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "subgraph.fetch")
        .collect();
    assert_eq!(fetches.len(), 2, "{fetches:?}");
    for fetch in fetches {
        assert_eq!(
            string_attribute(fetch, "cache.level"),
            Some("l1"),
            "{fetch:?}"
        );
        assert_eq!(
            string_attribute(fetch, "url.full"),
            None,
            "not sent: {fetch:?}"
        );
    }
    // Text logs to a pipe: no colour codes; the access log is off.
    let log = gateway.log.lock().unwrap().clone();
    assert!(log.iter().any(|l| l.contains("supergraph loaded")));
    assert!(log.iter().all(|l| !l.contains('\x1b')), "{log:?}");
    assert!(
        log.iter().all(|l| !l.contains("gateway::access")),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_subgraph_is_logged_at_warn_once_per_interval() {
    let (mut urls, _recorded) = subgraphs().await;
    // Nothing listens on port 1.
    urls.insert("inventory", "http://127.0.0.1:1/graphql".into());
    let config = format!(
        "listen: 127.0.0.1:0\nlog: {{ format: json }}\n\
         telemetry:\n  metrics: {{ listen: 127.0.0.1:0 }}\n{}",
        subgraphs_yaml(&urls)
    );
    let mut gateway = start_gateway(&config, "failing");
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response: Value = client
            .post(&gateway.graphql)
            .json(&serde_json::json!({ "query": "query Stock { topProducts(first: 1) { inStock } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            response["errors"][0]["extensions"]["code"],
            "SUBGRAPH_UNREACHABLE"
        );
    }
    gateway.stop();
    let log = gateway.log.lock().unwrap().clone();
    let lines: Vec<Value> = log
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let warnings: Vec<&Value> = lines
        .iter()
        .filter(|l| l["level"] == "WARN" && l["subgraph"] == "inventory")
        .collect();
    assert_eq!(warnings.len(), 1, "one line per interval: {warnings:?}");
    assert_eq!(warnings[0]["code"], "SUBGRAPH_UNREACHABLE");
    assert!(
        warnings[0]["reason"]
            .as_str()
            .unwrap()
            .contains("connection failed"),
        "{:?}",
        warnings[0]
    );
    // Every request still has its access line, with the failed subgraph among those hit.
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "gateway::access")
        .collect();
    assert_eq!(access.len(), 3);
    assert_eq!(access[0]["outcome"], "field_errors");
    assert_eq!(access[0]["subgraphs"], "inventory,products");
}
