//! Sends fetches to subgraphs over HTTP: one pooled keep-alive client ([`super::client`]), and
//! per subgraph a
//! timeout, a cap on requests in flight, a limit on answer size and a circuit breaker; every
//! failure (unreachable, slow, non-2xx, malformed JSON, too large) turned into a
//! [`FetchError`] rather than a panic.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http_body_util::Full;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Map;
use tokio::sync::Semaphore;

use super::body::{BodyError, read_limited};
use super::breaker::{Breaker, Outcome};
use super::client::{Client, TransportError};
use super::config::{CircuitBreakerConfig, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RESPONSE_BYTES};
use super::dedup::{Deduplicator, RequestKey};
use crate::cache::CacheControl;
use crate::executor::{
    FetchError, FetchFuture, FetchRequest, Fetcher, OperationKind, SubgraphResponse,
};
use crate::headers::HeaderRules;
use crate::inflight::Role;
use crate::json::Value;
use crate::response::{CachePolicy, GraphQLError, PropagatedHeader};
use crate::supergraph::SubgraphId;
use crate::telemetry::LogRateLimit;
use crate::telemetry::metrics::{Metrics, SUBGRAPH_GRAPHQL_ERROR, SubgraphSeries};

/// Where one subgraph is reached, and what it may cost the gateway.
#[derive(Debug, Clone)]
pub struct SubgraphEndpoint {
    /// Its name in the supergraph, for logs and metrics.
    pub name: String,
    pub url: String,
    /// For one whole fetch: waiting for a connection, sending, and reading the answer.
    pub timeout: Duration,
    pub max_response_bytes: u64,
    /// Requests in flight at once (each holds one connection).
    pub max_connections: usize,
    pub circuit_breaker: CircuitBreakerConfig,
    /// Identical query requests in flight share one HTTP request (see [`super::dedup`]).
    pub deduplicate: bool,
}

impl SubgraphEndpoint {
    /// An endpoint with the default protections.
    pub fn new(name: impl Into<String>, url: impl Into<String>, timeout: Duration) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            timeout,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            circuit_breaker: CircuitBreakerConfig::default(),
            deduplicate: true,
        }
    }
}

/// The version of the data as the cache knows it (its invalidations): requests started under
/// an older one are not joined.
pub type DataVersion = Arc<dyn Fn() -> u128 + Send + Sync>;

/// Fetches over HTTP; subgraphs indexed like the supergraph's.
#[derive(Clone)]
pub struct HttpFetcher {
    client: Client,
    endpoints: Vec<Endpoint>,
    /// Mutations sent so far: a query sent after one never joins a request sent before.
    writes: Arc<AtomicU64>,
    data_version: Option<DataVersion>,
    /// Which headers of subgraph answers go on to the client.
    header_rules: Option<Arc<HeaderRules>>,
}

/// An endpoint with its URL parsed once: parsing it per request (IDNA, IP formatting) was
/// a visible share of a small query's time. A URL that does not parse fails the fetches to
/// that subgraph, not the startup: a supergraph may name subgraphs no query ever reaches.
#[derive(Clone)]
struct Endpoint {
    id: SubgraphId,
    name: Arc<str>,
    /// The URL as parsed (and normalised) by the URL standard's rules, for spans; the request
    /// URI made from it, which a request clones (reference counts, no parsing).
    url: Result<(Arc<str>, http::Uri), String>,
    timeout: Duration,
    max_response_bytes: u64,
    /// One permit per request in flight: a subgraph that never answers holds at most this
    /// many connections, and the requests beyond wait (inside their timeout).
    connections: Arc<Semaphore>,
    max_connections: usize,
    breaker: Option<Arc<Breaker>>,
    dedup: Option<Arc<Deduplicator>>,
    /// Its request count, durations and errors (`telemetry.metrics`).
    metrics: Option<Arc<SubgraphSeries>>,
    /// Failures are logged at most once per interval (with the count held back).
    failure_log: Arc<LogRateLimit>,
}

/// How often a failing subgraph's failures are logged, at most.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(5);

impl HttpFetcher {
    /// A fetcher that asks subgraphs for compressed answers.
    pub fn new(endpoints: Vec<SubgraphEndpoint>) -> Self {
        Self::with_compression(endpoints, true)
    }

    /// `accept_compressed`: send `Accept-Encoding: gzip, br, zstd, deflate` and decompress
    /// what comes back (the size limit counts decompressed bytes).
    pub fn with_compression(endpoints: Vec<SubgraphEndpoint>, accept_compressed: bool) -> Self {
        // Idle connections beyond what one subgraph may use at once could never all be busy
        // again: keeping them would only hold sockets.
        let max_idle = endpoints
            .iter()
            .map(|e| e.max_connections)
            .max()
            .unwrap_or(1);
        // A subgraph that redirects is misconfigured: its answer is an error, not a second
        // request (the client follows no redirects).
        let client = Client::new(max_idle, accept_compressed);
        let endpoints = endpoints
            .into_iter()
            .enumerate()
            .map(|(index, endpoint)| {
                let max_connections = endpoint.max_connections.clamp(1, Semaphore::MAX_PERMITS);
                Endpoint {
                    id: SubgraphId(index as u16),
                    url: parse_url(&endpoint.url),
                    timeout: endpoint.timeout,
                    max_response_bytes: endpoint.max_response_bytes,
                    connections: Arc::new(Semaphore::new(max_connections)),
                    max_connections,
                    breaker: endpoint
                        .circuit_breaker
                        .is_active()
                        .then(|| Arc::new(Breaker::new(&endpoint.name, &endpoint.circuit_breaker))),
                    dedup: endpoint
                        .deduplicate
                        .then(|| Arc::new(Deduplicator::default())),
                    name: endpoint.name.into(),
                    metrics: None,
                    failure_log: Arc::new(LogRateLimit::new(FAILURE_LOG_INTERVAL)),
                }
            })
            .collect();
        Self {
            client,
            endpoints,
            writes: Arc::new(AtomicU64::new(0)),
            data_version: None,
            header_rules: None,
        }
    }

    /// Takes the headers `rules` pick from subgraph answers into [`SubgraphResponse::headers`].
    pub fn with_header_rules(mut self, rules: Arc<HeaderRules>) -> Self {
        self.header_rules = Some(rules);
        self
    }

    /// Records each subgraph's requests in `metrics` (handles resolved now, once).
    pub fn with_metrics(mut self, metrics: &Metrics) -> Self {
        if metrics.enabled() {
            for endpoint in &mut self.endpoints {
                endpoint.metrics = Some(metrics.subgraph(&endpoint.name));
            }
        }
        self
    }

    /// Requests are de-duplicated only among those started under the same version of the
    /// data (the cache's watermark).
    pub fn with_data_version(mut self, version: DataVersion) -> Self {
        self.data_version = Some(version);
        self
    }

    /// Prometheus text: whether each subgraph's circuit breaker is open, and how its requests
    /// were de-duplicated.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let mut deduplicated = self
            .endpoints
            .iter()
            .filter_map(|e| Some((&e.name, e.dedup.as_ref()?)))
            .peekable();
        if deduplicated.peek().is_some() {
            out.push_str(
                "# HELP gateway_subgraph_deduplication_total Query requests to a subgraph by how \
                 they were served: sent, or shared with an identical request in flight.\n\
                 # TYPE gateway_subgraph_deduplication_total counter\n",
            );
        }
        for (name, dedup) in deduplicated {
            let (sent, shared) = dedup.counts();
            let name = label_value(name);
            let _ = writeln!(
                out,
                "gateway_subgraph_deduplication_total{{subgraph=\"{name}\",role=\"sent\"}} {sent}\n\
                 gateway_subgraph_deduplication_total{{subgraph=\"{name}\",role=\"shared\"}} {shared}"
            );
        }
        let mut breakers = self
            .endpoints
            .iter()
            .filter_map(|e| Some((&e.name, e.breaker.as_ref()?)))
            .peekable();
        if breakers.peek().is_none() {
            return;
        }
        out.push_str(
            "# HELP gateway_subgraph_circuit_open Whether a subgraph's circuit breaker is open \
             (1: its fetches fail at once, but for a probe now and then) or closed (0).\n\
             # TYPE gateway_subgraph_circuit_open gauge\n",
        );
        for (name, breaker) in breakers {
            let _ = writeln!(
                out,
                "gateway_subgraph_circuit_open{{subgraph=\"{}\"}} {}",
                label_value(name),
                u8::from(breaker.is_open())
            );
        }
    }
}

/// A subgraph URL, parsed once: as a URL (the standard's rules, as reqwest read it), then as
/// the URI requests carry. Only `http` is supported (the gateway is built without TLS).
fn parse_url(text: &str) -> Result<(Arc<str>, http::Uri), String> {
    let invalid = |e: &dyn std::fmt::Display| format!("invalid subgraph URL {text:?}: {e}");
    let url = reqwest::Url::parse(text).map_err(|e| invalid(&e))?;
    let uri = url.as_str().parse::<http::Uri>().map_err(|e| invalid(&e))?;
    Ok((url.as_str().into(), uri))
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label_value(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The request body: `variables` carries the client variables plus `representations`, written
/// straight from the request without building a merged map.
struct Body<'a> {
    request: &'a FetchRequest,
}

struct Variables<'a> {
    request: &'a FetchRequest,
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("query", &*self.request.operation)?;
        if let Some(name) = &self.request.operation_name {
            map.serialize_entry("operationName", &**name)?;
        }
        map.serialize_entry(
            "variables",
            &Variables {
                request: self.request,
            },
        )?;
        map.end()
    }
}

impl Serialize for Variables<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in &self.request.variables {
            map.serialize_entry(name, value)?;
        }
        if let Some(entities) = &self.request.entities {
            map.serialize_entry("representations", &entities.representations)?;
        }
        map.end()
    }
}

/// The members of a GraphQL response; `null` reads as absent.
struct WireResponse {
    data: Option<Value>,
    errors: Option<Vec<GraphQLError>>,
    extensions: Option<Map<String, serde_json::Value>>,
}

impl WireResponse {
    /// From the parsed body. `errors` and `extensions` (rare, small) are read through
    /// serde_json's types; `data` is kept as parsed.
    fn from_value(value: Value) -> Result<Self, String> {
        let Value::Object(mut object) = value else {
            return Err(format!(
                "invalid type: {}, expected a GraphQL response object",
                kind(&value)
            ));
        };
        let mut take = |key: &str| object.remove(key).filter(|v| !v.is_null());
        let data = take("data");
        let errors = take("errors")
            .map(|v| serde_json::from_value(serde_json::Value::from(v)))
            .transpose()
            .map_err(|e| format!("`errors`: {e}"))?;
        let extensions = take("extensions")
            .map(|v| serde_json::from_value(serde_json::Value::from(v)))
            .transpose()
            .map_err(|e| format!("`extensions`: {e}"))?;
        Ok(Self {
            data,
            errors,
            extensions,
        })
    }
}

/// What kind of JSON value `value` is, for an error message.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async move {
            let endpoint = self
                .endpoints
                .get(request.subgraph.0 as usize)
                .ok_or(FetchError::UnknownSubgraph)?;
            let started = Instant::now();
            let body: Bytes = serde_json::to_vec(&Body { request: &request })
                .map_err(|e| FetchError::InvalidResponse(e.to_string()))?
                .into();
            let (role, result) = match (&endpoint.dedup, request.kind) {
                (Some(dedup), OperationKind::Query) => {
                    let key = RequestKey::new(
                        self.writes.load(Ordering::Acquire),
                        self.data_version.as_ref().map_or(0, |version| version()),
                        &body,
                        request.context.headers_for(request.subgraph),
                    );
                    // Boxed: held inline, the request's future would be stored several times
                    // over in the de-duplicator's (its states each keep room for it), and this
                    // whole future, moved into its box per fetch, grew to about 14 KB.
                    let send = Box::pin(self.fetch_from(endpoint, &request, body.clone()));
                    dedup.send(key, send).await
                }
                _ => (Role::Ran, self.fetch_from(endpoint, &request, body).await),
            };
            if request.kind == OperationKind::Mutation {
                // Before the client hears of it: no query after this joins one from before.
                self.writes.fetch_add(1, Ordering::Release);
            }
            // A request refused by the open breaker never reached the subgraph.
            if !matches!(result, Err(FetchError::CircuitOpen)) {
                // A shared request was counted by the one that ran it.
                if let (Role::Ran, Some(series)) = (role, &endpoint.metrics) {
                    let error = match &result {
                        Ok(response) if response.errors.is_empty() => None,
                        Ok(_) => Some(SUBGRAPH_GRAPHQL_ERROR),
                        Err(error) => Some(error.code()),
                    };
                    series.record(started.elapsed(), error);
                }
                if let Some(record) = &request.context.record {
                    record.fetched(request.subgraph);
                }
            }
            // A shared failure was logged by the request that ran.
            if let (Role::Ran, Err(error)) = (role, &result) {
                match error {
                    FetchError::CircuitOpen => tracing::debug!(
                        subgraph = %endpoint.name,
                        "fetch from subgraph \"{}\" refused: circuit breaker open",
                        endpoint.name
                    ),
                    error => {
                        if let Some(held_back) = endpoint.failure_log.admit() {
                            tracing::warn!(
                                subgraph = %endpoint.name,
                                code = error.code(),
                                reason = %error,
                                held_back,
                                "fetch from subgraph \"{}\" failed: {error} ({held_back} more \
                                 failures of it not logged since the last line)",
                                endpoint.name
                            );
                        }
                    }
                }
            }
            result
        })
    }
}

/// How far a fetch got: what its outcome says about the subgraph, and what to tell a
/// client.
enum Failure {
    /// All connections stayed busy for the whole timeout: the subgraph never saw it.
    NoConnection,
    Timeout,
    Transport(TransportError),
    TooLarge,
}

impl HttpFetcher {
    async fn fetch_from(
        &self,
        endpoint: &Endpoint,
        request: &FetchRequest,
        body: Bytes,
    ) -> Result<SubgraphResponse, FetchError> {
        let (url, uri) = endpoint
            .url
            .as_ref()
            .map_err(|e| FetchError::Unreachable(e.clone()))?;
        let attempt = match &endpoint.breaker {
            Some(breaker) => Some(
                breaker
                    .admit(Instant::now)
                    .map_err(|_| FetchError::CircuitOpen)?,
            ),
            None => None,
        };
        let mut headers = request.context.headers_for(request.subgraph).clone();
        let tracing = request.context.traced();
        if tracing {
            crate::telemetry::spans::record_subgraph_request(url, None);
            if crate::telemetry::propagating() {
                crate::telemetry::spans::inject_current(&mut headers);
            }
        } else if let Some(parent) = request
            .context
            .record
            .as_ref()
            .and_then(|r| r.parent.clone())
        {
            // An untraced request's caller's trace context goes on as it came.
            headers.insert(http::header::HeaderName::from_static("traceparent"), parent);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/graphql-response+json, application/json;q=0.9"),
        );
        let mut send = http::Request::new(Full::new(body));
        *send.method_mut() = http::Method::POST;
        *send.uri_mut() = uri.clone();
        *send.headers_mut() = headers;
        let exchange = self.exchange(endpoint, send).await;
        let (result, outcome) = match exchange {
            Ok((status, cache_control, picked, bytes)) => {
                if tracing {
                    crate::telemetry::spans::record_subgraph_request_status(status.as_u16());
                }
                let result = read_response(status.as_u16(), cache_control, &bytes).map(|mut r| {
                    r.headers = picked;
                    r
                });
                let outcome = match result {
                    Err(FetchError::HttpStatus { status: 502..=504 }) => Some(Outcome::Down),
                    _ => Some(Outcome::Answered),
                };
                (result, outcome)
            }
            Err(Failure::Timeout) => (
                Err(FetchError::Timeout(endpoint.timeout)),
                Some(Outcome::Down),
            ),
            // The breaker judges the subgraph, not the gateway's queue for it; the requests
            // holding the connections report how the subgraph is doing.
            Err(Failure::NoConnection) => {
                tracing::debug!(
                    subgraph = %endpoint.name,
                    "all {} connections to subgraph \"{}\" stayed busy for the whole timeout",
                    endpoint.max_connections,
                    endpoint.name
                );
                (Err(FetchError::Timeout(endpoint.timeout)), None)
            }
            Err(Failure::TooLarge) => (
                Err(FetchError::ResponseTooLarge {
                    limit: endpoint.max_response_bytes,
                }),
                Some(Outcome::Answered),
            ),
            Err(Failure::Transport(e)) => (Err(FetchError::Unreachable(e.0)), Some(Outcome::Down)),
        };
        if let (Some(attempt), Some(outcome)) = (attempt, outcome) {
            attempt.settle(outcome, Instant::now);
        }
        let response = result?;
        // Checked here, before any cache stores items under the wrong representations.
        if let Some(entities) = &request.entities
            && let Some(mismatch) = response.entities_mismatch(entities.representations.len())
        {
            return Err(FetchError::InvalidResponse(mismatch));
        }
        Ok(response)
    }

    /// Sends the request and reads the answer within the endpoint's timeout, waiting for a
    /// free connection first (inside the same timeout).
    async fn exchange(
        &self,
        endpoint: &Endpoint,
        request: http::Request<Full<Bytes>>,
    ) -> Result<Exchanged, Failure> {
        let deadline = tokio::time::Instant::now() + endpoint.timeout;
        let permit = match tokio::time::timeout_at(deadline, endpoint.connections.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(Failure::NoConnection),
        };
        // A timeout polls its future before its timer, so a permit can come after the
        // deadline: starting the request then would open a connection only to drop it (and,
        // when many waiters get their turn at once, open many).
        if tokio::time::Instant::now() >= deadline {
            return Err(Failure::NoConnection);
        }
        let exchange = tokio::time::timeout_at(deadline, async {
            let response = self
                .client
                .send(request)
                .await
                .map_err(Failure::Transport)?;
            let status = response.status();
            let cache_control = response
                .headers()
                .get(CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let picked = match &self.header_rules {
                Some(rules) if rules.picks_responses(endpoint.id) => {
                    rules.responses(endpoint.id, response.headers())
                }
                _ => Vec::new(),
            };
            // Removed when the answer is decompressed: then only the bytes read are counted.
            let content_length = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse().ok());
            let bytes = read_limited(
                response.into_body(),
                content_length,
                endpoint.max_response_bytes,
            )
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => Failure::TooLarge,
                BodyError::Transport(e) => Failure::Transport(e),
            })?;
            Ok((status, cache_control, picked, bytes))
        })
        .await;
        if exchange.is_err() {
            // Dropping a request in flight only wakes hyper's connection task to close its
            // socket. Let it run before the next waiter gets the permit and connects, so that
            // the sockets open at once stay within the cap.
            tokio::task::yield_now().await;
        }
        // Released only now: the connection was busy until its answer was read.
        drop(permit);
        exchange.unwrap_or(Err(Failure::Timeout))
    }
}

/// A subgraph's HTTP answer: status, `Cache-Control`, the headers the rules pick, body.
type Exchanged = (
    http::StatusCode,
    Option<String>,
    Vec<PropagatedHeader>,
    bytes::Bytes,
);

/// Reads a subgraph's HTTP answer: a GraphQL response whatever the status (subgraphs may
/// send errors with a 4xx or 5xx), else the status, else why the body is not one. Public so
/// that benchmarks replay recorded answers exactly as they are read from the network.
pub fn read_response(
    status: u16,
    cache_control: Option<String>,
    body: &[u8],
) -> Result<SubgraphResponse, FetchError> {
    // UTF-8 is checked once for the whole body, which is faster than string by string; then
    // serde_json reads the text straight into the json module's value.
    let parsed = std::str::from_utf8(body)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            serde_json::from_str::<crate::json::Value>(text).map_err(|e| e.to_string())
        })
        .and_then(WireResponse::from_value);
    match parsed {
        Ok(wire) if wire.data.is_some() || wire.errors.is_some() => Ok(SubgraphResponse {
            data: wire.data,
            errors: wire.errors.unwrap_or_default(),
            extensions: wire.extensions.unwrap_or_default(),
            cache_policy: cache_control
                .as_deref()
                .map_or(CachePolicy::NoStore, |header| {
                    CacheControl::parse(header).client_policy()
                }),
            cache_control,
            ..Default::default()
        }),
        _ if !(200..300).contains(&status) => Err(FetchError::HttpStatus { status }),
        Ok(_) => Err(FetchError::InvalidResponse(
            "neither `data` nor `errors` in the response".into(),
        )),
        Err(e) => Err(FetchError::InvalidResponse(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::executor::OperationKind;
    use crate::supergraph::SubgraphId;

    fn request() -> FetchRequest {
        FetchRequest {
            subgraph: SubgraphId(0),
            subgraph_name: "products".into(),
            kind: OperationKind::Query,
            operation: "{ __typename }".into(),
            operation_name: None,
            variables: Map::new(),
            selection: Arc::default(),
            selection_hash: 0,
            entities: None,
            context: Arc::default(),
        }
    }

    #[test]
    fn a_body_that_is_not_a_graphql_response_is_an_invalid_response() {
        let invalid = |status: u16, body: &[u8]| match read_response(status, None, body) {
            Err(FetchError::InvalidResponse(message)) => message,
            other => panic!("{status} {body:?}: {other:?}"),
        };
        assert!(invalid(200, b"\xff\xfe{}").contains("utf-8"));
        assert!(invalid(200, b"{\"data\": {\"a\": ").contains("EOF"));
        assert!(invalid(200, b"{}").contains("neither `data` nor `errors`"));
        assert!(matches!(
            read_response(502, None, b"<html>bad gateway</html>"),
            Err(FetchError::HttpStatus { status: 502 })
        ));
        let answer = read_response(
            500,
            Some("max-age=5".into()),
            br#"{"errors":[{"message":"x"}]}"#,
        )
        .expect("a GraphQL answer whatever the status");
        assert_eq!(answer.errors.len(), 1);
        assert_eq!(answer.cache_control.as_deref(), Some("max-age=5"));
    }

    #[tokio::test]
    async fn an_invalid_url_fails_each_fetch_with_a_clear_error() {
        let fetcher = HttpFetcher::new(vec![SubgraphEndpoint::new(
            "products",
            "not a url",
            Duration::from_secs(1),
        )]);
        let error = fetcher.fetch(request()).await.unwrap_err();
        assert_eq!(error.code(), "SUBGRAPH_UNREACHABLE");
        assert!(
            error
                .to_string()
                .contains("invalid subgraph URL \"not a url\""),
            "{error}"
        );
        let mut unknown = request();
        unknown.subgraph = SubgraphId(1);
        assert!(matches!(
            fetcher.fetch(unknown).await,
            Err(FetchError::UnknownSubgraph)
        ));
    }
}
