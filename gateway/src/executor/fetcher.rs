//! The boundary between the executor and whatever answers a subgraph fetch: the HTTP client,
//! or the cache in front of it. Requests are structured (entity representations kept apart
//! from the other variables) so a cache can answer some entities itself and forward the rest.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Map;

use crate::json::Value;

use crate::operation::SelectionSet;
/// Part of the fetch contract: fetchers tell queries from mutations without knowing the planner.
pub use crate::planner::OperationKind;
use crate::response::{CachePolicy, GraphQLError, PropagatedHeader};
use crate::supergraph::SubgraphId;

/// One request to one subgraph, as the plan describes it.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    pub subgraph: SubgraphId,
    pub subgraph_name: Arc<str>,
    pub kind: OperationKind,
    pub operation: Arc<str>,
    pub operation_name: Option<Arc<str>>,
    /// The client variables the operation uses (representations not included).
    pub variables: Map<String, serde_json::Value>,
    /// What the fetch selects (for an entity fetch, one `... on Type` fragment per entity
    /// type), and a stable hash of it: what a cache keys answers by.
    pub selection: Arc<SelectionSet>,
    pub selection_hash: u64,
    /// For entity fetches.
    pub entities: Option<EntityRequest>,
    /// About the client request this fetch serves.
    pub context: Arc<RequestContext>,
}

/// The entity part of a fetch: one representation per entity (de-duplicated; each carries
/// its `__typename`). The answer's `_entities` list has one item per representation, in order.
#[derive(Debug, Clone)]
pub struct EntityRequest {
    pub representations: Vec<Value>,
}

/// What fetches need to know about the client request.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// Headers sent to every subgraph (built by the header rules from the client's).
    pub headers: http::HeaderMap,
    /// Those of subgraphs with rules of their own, in place of `headers`.
    pub subgraph_headers: Vec<(SubgraphId, http::HeaderMap)>,
    /// The verified user id, which private cached data is scoped to.
    pub user: Option<String>,
    /// Report in `extensions.cache` which fetches a cache answered.
    pub cache_debug: bool,
    /// The verified identity of the client, if any (authorization reads it before planning).
    pub identity: Option<std::sync::Arc<crate::identity::Identity>>,
    /// Where the fetchers report which subgraphs they fetched from, when the request is
    /// observed (metrics, access log, tracing).
    pub record: Option<std::sync::Arc<crate::telemetry::RequestRecord>>,
    /// The progressive override labels the request asked for in the configured header
    /// (`override_labels.header`; empty when that rule is off).
    pub override_labels: Vec<std::sync::Arc<str>>,
    /// Set for a live query's executions: the fetchers record there the cache tags of what
    /// they answered (an invalidation of one of them re-runs the query), and never answer
    /// from an entry that is past its freshness (stale-while-revalidate is off for it).
    pub live: Option<std::sync::Arc<LiveTags>>,
}

/// The cache tags (opaque ids) of everything one execution of a live query answered, and
/// the earliest time one of its cached parts runs out of TTL.
#[derive(Debug, Default)]
pub struct LiveTags {
    inner: std::sync::Mutex<(Vec<u64>, Option<u64>)>,
}

impl LiveTags {
    /// Records `tags` (what a fetch's answer holds).
    pub fn add(&self, tags: impl IntoIterator<Item = u64>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.extend(tags);
    }

    /// Records that a part of the answer stops being fresh at `at_ms` (Unix milliseconds).
    pub fn expires_at(&self, at_ms: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.1 = Some(inner.1.map_or(at_ms, |known| known.min(at_ms)));
    }

    /// The tags, sorted and distinct, and the earliest expiry.
    pub fn take(&self) -> (Vec<u64>, Option<u64>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (mut tags, expiry) = std::mem::take(&mut *inner);
        tags.sort_unstable();
        tags.dedup();
        (tags, expiry)
    }
}

impl RequestContext {
    /// Whether the request is traced: its parts make spans.
    pub fn traced(&self) -> bool {
        self.record.as_ref().is_some_and(|record| record.traced)
    }
}

impl RequestContext {
    /// The headers a request to `subgraph` carries.
    pub fn headers_for(&self, subgraph: SubgraphId) -> &http::HeaderMap {
        self.subgraph_headers
            .iter()
            .find(|(id, _)| *id == subgraph)
            .map_or(&self.headers, |(_, headers)| headers)
    }
}

/// How a cache served one fetch, for `extensions.cache`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheReport {
    /// Answers (entities, or the whole root fetch) from the in-process level.
    pub l1: u32,
    /// ... from Redis.
    pub l2: u32,
    /// ... fetched from the subgraph.
    pub fetched: u32,
}

/// A subgraph's answer. For an entity fetch, `data` is `{"_entities": [...]}`, or the items
/// are in `entities` (see [`SubgraphResponse::take_entities`]).
#[derive(Debug, Clone, Default)]
pub struct SubgraphResponse {
    pub data: Option<Value>,
    /// The `_entities` items of an entity fetch, when a fetcher hands some over shared (a cache
    /// does: copying each cached entity out first would cost a whole copy per hit).
    pub entities: Option<Vec<FetchedEntity>>,
    pub errors: Vec<GraphQLError>,
    pub extensions: Map<String, serde_json::Value>,
    /// The subgraph's `Cache-Control` header, as sent.
    pub cache_control: Option<String>,
    /// How long a client may keep what this answer contributes (from the subgraph's
    /// `Cache-Control`, or the cache entries that answered).
    pub cache_policy: CachePolicy,
    /// Headers of the answer that the header rules send on to the client.
    pub headers: Vec<PropagatedHeader>,
    /// Set by a caching fetcher.
    pub cache: Option<CacheReport>,
}

/// One `_entities` item: parsed from the subgraph's answer, or shared with a cache.
#[derive(Debug, Clone)]
pub enum FetchedEntity {
    Owned(Value),
    Shared(Arc<Value>),
}

impl FetchedEntity {
    pub fn value(&self) -> &Value {
        match self {
            FetchedEntity::Owned(value) => value,
            FetchedEntity::Shared(value) => value,
        }
    }

    /// For changing it: a shared item is copied first.
    pub fn value_mut(&mut self) -> &mut Value {
        match self {
            FetchedEntity::Owned(value) => value,
            FetchedEntity::Shared(value) => Arc::make_mut(value),
        }
    }
}

impl SubgraphResponse {
    /// The `_entities` items of an entity fetch's answer, in order (empty when it has none).
    pub fn take_entities(&mut self) -> Vec<FetchedEntity> {
        if let Some(entities) = self.entities.take() {
            return entities;
        }
        match self.data.take() {
            Some(Value::Object(mut data)) => match data.remove("_entities") {
                Some(Value::Array(items)) => items.into_iter().map(FetchedEntity::Owned).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}

impl SubgraphResponse {
    /// Why an entity fetch's answer, to `sent` representations, cannot be merged: `_entities`
    /// must have one item per representation, in order, else no item can be trusted to
    /// belong to its object. No `_entities` at all is fine only when errors say why.
    pub fn entities_mismatch(&self, sent: usize) -> Option<String> {
        let count = match (&self.entities, &self.data) {
            (Some(entities), _) => Some(entities.len()),
            (None, Some(Value::Object(data))) => match data.get("_entities") {
                Some(Value::Array(items)) => Some(items.len()),
                None | Some(Value::Null) => None,
                Some(_) => return Some("`_entities` in the answer is not a list".into()),
            },
            (None, _) => None,
        };
        match count {
            Some(count) if count == sent => None,
            Some(count) => Some(format!(
                "the answer has {count} `_entities` for {sent} representations"
            )),
            None if self.errors.is_empty() => {
                Some("no `_entities` and no errors in the answer to an entity fetch".into())
            }
            None => None,
        }
    }
}

/// Why a subgraph gave no GraphQL answer at all.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("request to subgraph timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("could not reach subgraph: {0}")]
    Unreachable(String),
    #[error("subgraph answered HTTP {status}")]
    HttpStatus { status: u16 },
    #[error("subgraph answered with an invalid GraphQL response: {0}")]
    InvalidResponse(String),
    #[error("unknown subgraph")]
    UnknownSubgraph,
    #[error("subgraph response exceeds the limit of {limit} bytes (max_response_bytes)")]
    ResponseTooLarge { limit: u64 },
    /// Refused without contacting the subgraph (see `fetch::breaker`).
    #[error("subgraph is unavailable: its circuit breaker is open after repeated failures")]
    CircuitOpen,
}

impl FetchError {
    /// The `extensions.code` of the error the client sees.
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Timeout(_) => "SUBGRAPH_TIMEOUT",
            FetchError::Unreachable(_) | FetchError::UnknownSubgraph => "SUBGRAPH_UNREACHABLE",
            FetchError::HttpStatus { .. } => "SUBGRAPH_HTTP_ERROR",
            FetchError::InvalidResponse(_) => "SUBGRAPH_INVALID_RESPONSE",
            FetchError::ResponseTooLarge { .. } => "SUBGRAPH_RESPONSE_TOO_LARGE",
            FetchError::CircuitOpen => "SUBGRAPH_UNAVAILABLE",
        }
    }
}

pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SubgraphResponse, FetchError>> + Send + 'a>>;

/// Answers subgraph fetches.
pub trait Fetcher: Send + Sync {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_>;
}
