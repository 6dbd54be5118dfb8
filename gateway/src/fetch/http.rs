//! Sends fetches to subgraphs over HTTP: one pooled keep-alive client, a timeout per
//! subgraph, and every failure (unreachable, slow, non-2xx, malformed JSON) turned into a
//! [`FetchError`] rather than a panic.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Map;

use crate::executor::{FetchError, FetchFuture, FetchRequest, Fetcher, SubgraphResponse};
use crate::json::Value;
use crate::response::GraphQLError;

/// Where one subgraph is reached and how long it may take.
#[derive(Debug, Clone)]
pub struct SubgraphEndpoint {
    pub url: String,
    pub timeout: Duration,
}

/// Fetches over HTTP; subgraphs indexed like the supergraph's.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    endpoints: Vec<Endpoint>,
}

/// An endpoint with its URL parsed once: parsing it per request (IDNA, IP formatting) was
/// a visible share of a small query's time. A URL that does not parse fails the fetches to
/// that subgraph, not the startup: a supergraph may name subgraphs no query ever reaches.
#[derive(Debug, Clone)]
struct Endpoint {
    url: Result<reqwest::Url, String>,
    timeout: Duration,
}

impl HttpFetcher {
    pub fn new(endpoints: Vec<SubgraphEndpoint>) -> Self {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            // A subgraph that redirects is misconfigured: its answer is an error, not a
            // second request (which would also re-send the POST body elsewhere).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client with static settings");
        let endpoints = endpoints
            .into_iter()
            .map(|endpoint| Endpoint {
                url: reqwest::Url::parse(&endpoint.url)
                    .map_err(|e| format!("invalid subgraph URL {:?}: {e}", endpoint.url)),
                timeout: endpoint.timeout,
            })
            .collect();
        Self { client, endpoints }
    }
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

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Vec<GraphQLError>>,
    #[serde(default)]
    extensions: Option<Map<String, serde_json::Value>>,
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async move {
            let endpoint = self
                .endpoints
                .get(request.subgraph.0 as usize)
                .ok_or(FetchError::UnknownSubgraph)?;
            let url = endpoint.url.clone().map_err(FetchError::Unreachable)?;
            let body = serde_json::to_vec(&Body { request: &request })
                .map_err(|e| FetchError::InvalidResponse(e.to_string()))?;
            let send = self
                .client
                .post(url)
                .headers(request.context.headers.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .header(
                    ACCEPT,
                    HeaderValue::from_static(
                        "application/graphql-response+json, application/json;q=0.9",
                    ),
                )
                .body(body)
                .send();
            let response = tokio::time::timeout(endpoint.timeout, async {
                let response = send.await?;
                let status = response.status();
                let cache_control = response
                    .headers()
                    .get(reqwest::header::CACHE_CONTROL)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let bytes = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, cache_control, bytes))
            })
            .await
            .map_err(|_| FetchError::Timeout(endpoint.timeout))?
            .map_err(|e| FetchError::Unreachable(describe(&e)))?;
            let (status, cache_control, bytes) = response;
            read_response(status.as_u16(), cache_control, &bytes)
        })
    }
}

/// Reads a subgraph's HTTP answer: a GraphQL response whatever the status (subgraphs may
/// send errors with a 4xx or 5xx), else the status, else why the body is not one. Public so
/// that benchmarks replay recorded answers exactly as they are read from the network.
pub fn read_response(
    status: u16,
    cache_control: Option<String>,
    body: &[u8],
) -> Result<SubgraphResponse, FetchError> {
    // UTF-8 is checked once for the whole body, which is faster than string by string.
    let parsed = std::str::from_utf8(body)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<WireResponse>(text).map_err(|e| e.to_string()));
    match parsed {
        Ok(wire) if wire.data.is_some() || wire.errors.is_some() => Ok(SubgraphResponse {
            data: wire.data,
            errors: wire.errors.unwrap_or_default(),
            extensions: wire.extensions.unwrap_or_default(),
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

/// A short description of a transport failure: its kind and the innermost cause (reqwest's
/// own message repeats the URL, which the error already names through the subgraph).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "could not read the response body"
    } else {
        "request failed"
    };
    let mut cause = None;
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        cause = Some(inner.to_string());
        source = inner.source();
    }
    match cause {
        Some(cause) => format!("{kind}: {cause}"),
        None => kind.to_string(),
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
        let fetcher = HttpFetcher::new(vec![SubgraphEndpoint {
            url: "not a url".into(),
            timeout: Duration::from_secs(1),
        }]);
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
