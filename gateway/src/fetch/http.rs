//! Sends fetches to subgraphs over HTTP: one pooled keep-alive client, a timeout per
//! subgraph, and every failure (unreachable, slow, non-2xx, malformed JSON) turned into a
//! [`FetchError`] rather than a panic.

use std::time::Duration;

use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::executor::{FetchError, FetchFuture, FetchRequest, Fetcher, SubgraphResponse};
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
    endpoints: Vec<SubgraphEndpoint>,
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
    extensions: Option<Map<String, Value>>,
}

impl Fetcher for HttpFetcher {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async move {
            let endpoint = self
                .endpoints
                .get(request.subgraph.0 as usize)
                .ok_or(FetchError::UnknownSubgraph)?;
            let body = serde_json::to_vec(&Body { request: &request })
                .map_err(|e| FetchError::InvalidResponse(e.to_string()))?;
            let send = self
                .client
                .post(&endpoint.url)
                .headers(request.context.headers.clone())
                .header("content-type", "application/json")
                .header(
                    "accept",
                    "application/graphql-response+json, application/json;q=0.9",
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
            match serde_json::from_slice::<WireResponse>(&bytes) {
                Ok(wire) if wire.data.is_some() || wire.errors.is_some() => Ok(SubgraphResponse {
                    data: wire.data,
                    errors: wire.errors.unwrap_or_default(),
                    extensions: wire.extensions.unwrap_or_default(),
                    cache_control,
                    ..Default::default()
                }),
                _ if !status.is_success() => Err(FetchError::HttpStatus {
                    status: status.as_u16(),
                }),
                Ok(_) => Err(FetchError::InvalidResponse(
                    "neither `data` nor `errors` in the response".into(),
                )),
                Err(e) => Err(FetchError::InvalidResponse(e.to_string())),
            }
        })
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
