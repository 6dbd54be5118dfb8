//! The caching fetcher: the hybrid path between the executor and the subgraphs. Root-field
//! fetches are cached whole; entity fetches entity by entity, so an `_entities` request asks
//! the subgraph only for the misses. Concurrent identical misses share one subgraph request.
//! Answers are tagged with what they contain (types, entity keys) so that change events,
//! mutations and explicit invalidations can make them stale.

use std::collections::HashSet;
use std::sync::Arc;

use apollo_compiler::Name;
use dashmap::DashMap;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde_json::Map;

use crate::cache::key::{Scope, entity_key, forwarded_headers, root_key};
use crate::cache::{
    Answer, Cache, CacheControl, CacheKey, Invalidation, Level, Lookup, Mode, Outcome, Policy, Tag,
    Version, canonical_json, canonical_variables,
};
use crate::executor::{
    CacheReport, EntityRequest, FetchError, FetchFuture, FetchRequest, FetchedEntity, Fetcher,
    OperationKind, SubgraphResponse,
};
use crate::json::{Object, Value};
use crate::operation::selection::{Selection, SelectionSet};
use crate::response::{Algorithm, CachePolicy, GraphQLError, PathElement, PropagatedHeader};
use crate::supergraph::{SubgraphId, Supergraph};

/// Called with the invalidations this gateway learns itself (mutation answers, subgraph
/// extensions), after applying them locally: publishes them to the other instances.
pub type InvalidationSink = Arc<dyn Fn(Vec<Invalidation>) + Send + Sync>;

type SharedFetch = Shared<BoxFuture<'static, Result<SubgraphResponse, FetchError>>>;
type SharedEntity = Shared<BoxFuture<'static, Option<Arc<Value>>>>;

/// A subgraph request under way that concurrent misses of the same key may join, as long as
/// nothing was invalidated since it started: an answer fetched before a write must not reach
/// a read that began after the write was acknowledged (read-your-writes on the instance that
/// applied it; the consistency checker, benches/consistency, counts the violations).
struct InFlight<F> {
    future: F,
    /// The cache's watermark when it started.
    born: Version,
}

impl<F: Clone> InFlight<F> {
    /// The future to join, if it started after every invalidation so far.
    fn joinable(&self, watermark: Version) -> Option<F> {
        (self.born >= watermark).then(|| self.future.clone())
    }
}

/// A miss this request fetches for every concurrent request with the same key.
struct Claim {
    key: CacheKey,
    born: Version,
    policy: Policy,
    sender: futures::channel::oneshot::Sender<Option<Arc<Value>>>,
}

pub struct CachedFetcher {
    inner: Arc<dyn Fetcher>,
    cache: Arc<Cache>,
    supergraph: Arc<Supergraph>,
    // aHash rather than SipHash: these are looked up for every entity of every fetch, on keys
    // that are hashes already (aHash is keyed per process all the same).
    root_inflight: DashMap<CacheKey, InFlight<SharedFetch>, ahash::RandomState>,
    entity_inflight: DashMap<CacheKey, InFlight<SharedEntity>, ahash::RandomState>,
    /// (subgraph, selection hash) whose answers came back `Cache-Control: private`: looked up
    /// per user from then on.
    learned_private: DashMap<(SubgraphId, u64), (), ahash::RandomState>,
    /// Stale entries being refreshed in the background: one refresh per entry at a time.
    revalidating: DashMap<CacheKey, (), ahash::RandomState>,
    sink: Option<InvalidationSink>,
    /// Itself, for the background refreshes of stale-while-revalidate (set by
    /// [`CachedFetcher::into_shared`]; without it, stale entries are served without refresh
    /// until their window ends).
    me: std::sync::Weak<CachedFetcher>,
    /// The response header naming the cache tags of answers, when configured.
    surrogate_key_header: Option<http::HeaderName>,
}

impl CachedFetcher {
    pub fn new(inner: Arc<dyn Fetcher>, cache: Arc<Cache>, supergraph: Arc<Supergraph>) -> Self {
        Self {
            inner,
            supergraph,
            root_inflight: DashMap::default(),
            entity_inflight: DashMap::default(),
            learned_private: DashMap::default(),
            revalidating: DashMap::default(),
            sink: None,
            me: std::sync::Weak::new(),
            surrogate_key_header: cache
                .config()
                .surrogate_key_header
                .as_deref()
                .and_then(|name| http::HeaderName::from_bytes(name.as_bytes()).ok()),
            cache,
        }
    }

    /// The fetcher, shared, able to refresh stale entries in the background.
    pub fn into_shared(self) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            ..self
        })
    }

    pub fn with_sink(mut self, sink: InvalidationSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// The user scope of an entry, `Err(())` when it must not be cached at all (private data
    /// without a verified user).
    fn user(&self, request: &FetchRequest, policy: &Policy) -> Result<Option<String>, ()> {
        let private = policy.private
            || self
                .learned_private
                .contains_key(&(request.subgraph, request.selection_hash));
        match (private, &request.context.user) {
            (false, _) => Ok(None),
            (true, Some(user)) => Ok(Some(user.clone())),
            (true, None) => Err(()),
        }
    }

    /// Applies invalidations here, then hands them to the sink for the other instances.
    fn invalidate(&self, invalidations: Vec<Invalidation>) {
        if invalidations.is_empty() {
            return;
        }
        let version = self.cache.local_version();
        for invalidation in &invalidations {
            self.cache.invalidate(invalidation, version);
        }
        if let Some(sink) = &self.sink {
            sink(invalidations);
        }
    }

    /// Invalidations a subgraph names in `extensions.invalidate` (its own name by default).
    fn extension_invalidations(&self, request: &FetchRequest, response: &SubgraphResponse) {
        let Some(serde_json::Value::Array(items)) = response.extensions.get("invalidate") else {
            return;
        };
        let invalidations = items
            .iter()
            .filter_map(|item| {
                let mut item = item.as_object()?.clone();
                item.entry("subgraph")
                    .or_insert_with(|| request.subgraph_name.as_ref().into());
                serde_json::from_value::<Invalidation>(serde_json::Value::Object(item)).ok()
            })
            .collect();
        self.invalidate(invalidations);
    }

    async fn root(&self, request: FetchRequest) -> Result<SubgraphResponse, FetchError> {
        let subgraph = request.subgraph_name.clone();
        let policy = self.cache.policy(&subgraph, "Query");
        let Ok(user) = self.user(&request, &policy).map_err(|_| ()) else {
            return self.forward(request).await;
        };
        if policy.mode == Mode::None {
            return self.forward(request).await;
        }
        let key = root_key(
            &subgraph,
            request.selection_hash,
            &canonical_variables(&request.variables),
            Scope {
                user: user.as_deref(),
                headers: &forwarded_headers(request.context.headers_for(request.subgraph)),
            },
        );
        let mut fallback = None;
        match self.cache.lookup(&key).await {
            Lookup::Fresh {
                value,
                level,
                client,
                expires_at_ms,
            } => {
                self.cache.stats().count(&subgraph, "Query", hit(level));
                if let Some(live) = &request.context.live {
                    live.expires_at(expires_at_ms);
                }
                return Ok(cached(value, level, client));
            }
            // A live query re-runs because something changed: never on what is known stale.
            Lookup::Stale {
                value,
                level,
                for_ms,
            } if for_ms < policy.stale_while_revalidate_seconds * 1000
                && request.context.live.is_none() =>
            {
                self.cache.stats().count(&subgraph, "Query", Outcome::Stale);
                if self.revalidating.insert(key, ()).is_none() {
                    match self.me.upgrade() {
                        Some(me) => {
                            tokio::spawn(async move {
                                let _ = me.fetch_root(request, key, user, policy).await;
                                me.revalidating.remove(&key);
                            });
                        }
                        None => {
                            self.revalidating.remove(&key);
                        }
                    }
                }
                return Ok(cached(value, level, CachePolicy::NoStore));
            }
            Lookup::Stale { value, for_ms, .. }
                if for_ms < policy.stale_if_error_seconds * 1000 =>
            {
                fallback = Some(value);
            }
            _ => {}
        }
        self.cache.stats().count(&subgraph, "Query", Outcome::Miss);
        match (self.fetch_root(request, key, user, policy).await, fallback) {
            // The subgraph failed: a stale answer within stale_if_error_seconds beats none.
            (Err(_), Some(value)) => {
                self.cache.stats().count(&subgraph, "Query", Outcome::Stale);
                Ok(cached(value, Level::L1, CachePolicy::NoStore))
            }
            (result, _) => result,
        }
    }

    /// Fetches a root answer the cache lacks (sharing one request among concurrent misses),
    /// and stores it under `key`, or its user's key if it turns out private.
    async fn fetch_root(
        &self,
        request: FetchRequest,
        key: CacheKey,
        user: Option<String>,
        policy: Policy,
    ) -> Result<SubgraphResponse, FetchError> {
        let subgraph = request.subgraph_name.clone();
        let variables = canonical_variables(&request.variables);
        let headers = forwarded_headers(request.context.headers_for(request.subgraph));
        // Before the request starts: what it answers is fresh only if nothing it holds was
        // invalidated after this.
        let born = self.cache.watermark();
        let joined = self
            .root_inflight
            .get(&key)
            .and_then(|existing| existing.joinable(born));
        let (shared, leader) = match joined {
            Some(shared) => (shared, false),
            None => {
                let inner = self.inner.clone();
                let forwarded = request.clone();
                let shared = async move { inner.fetch(forwarded).await }.boxed().shared();
                let in_flight = InFlight {
                    future: shared.clone(),
                    born,
                };
                self.root_inflight.insert(key, in_flight);
                (shared, true)
            }
        };
        let result = shared.await;
        if !leader {
            return result.map(|mut r| {
                r.cache = Some(report(Level::L1, 0));
                r
            });
        }
        // Unless a later request (started after an invalidation) took the key over.
        self.root_inflight
            .remove_if(&key, |_, in_flight| in_flight.born == born);
        let mut response = result?;
        self.extension_invalidations(&request, &response);
        let control = response
            .cache_control
            .as_deref()
            .map(CacheControl::parse)
            .unwrap_or_default();
        if let Some(data) = response.data.as_ref().filter(|data| {
            response.errors.is_empty()
                && !control.no_store
                && (policy.cache_nulls || !all_null(data))
        }) {
            let key = match (control.private, user.as_deref(), &request.context.user) {
                (false, _, _) | (true, Some(_), _) => Some(key),
                (true, None, Some(user)) => {
                    self.learned_private
                        .insert((request.subgraph, request.selection_hash), ());
                    Some(root_key(
                        &subgraph,
                        request.selection_hash,
                        &variables,
                        Scope {
                            user: Some(user),
                            headers: &headers,
                        },
                    ))
                }
                (true, None, None) => {
                    self.learned_private
                        .insert((request.subgraph, request.selection_hash), ());
                    None
                }
            };
            if let Some(key) = key {
                let mut tagger = Tagger::new(&self.supergraph, request.subgraph, &subgraph);
                tagger.walk_selection(&name("Query"), &request.selection);
                tagger.walk(&name("Query"), &request.selection, data);
                let size = serde_json::to_vec(data).map(|b| b.len()).unwrap_or(0);
                let answer = Answer {
                    value: Arc::new(data.clone()),
                    size,
                    tags: tagger.finish(),
                    born,
                    policy,
                    subgraph: subgraph.clone(),
                    max_age: control.max_age,
                    private: control.private || policy.private,
                };
                if let Some(at) = self.cache.put(key, answer).await
                    && let Some(live) = &request.context.live
                {
                    live.expires_at(at);
                }
            }
        }
        response.cache = Some(report_fetched(1));
        Ok(response)
    }

    /// Sends a fetch the cache does not answer.
    async fn forward(&self, request: FetchRequest) -> Result<SubgraphResponse, FetchError> {
        let mut response = self.inner.fetch(request.clone()).await?;
        self.extension_invalidations(&request, &response);
        response.cache = Some(report_fetched(1));
        Ok(response)
    }

    async fn mutation(&self, request: FetchRequest) -> Result<SubgraphResponse, FetchError> {
        let response = self.forward(request.clone()).await?;
        if let Some(data) = &response.data {
            let mut tagger =
                Tagger::new(&self.supergraph, request.subgraph, &request.subgraph_name);
            tagger.walk(&name("Mutation"), &request.selection, data);
            self.invalidate(tagger.mutation_invalidations());
        }
        Ok(response)
    }

    async fn entities(&self, request: FetchRequest) -> Result<SubgraphResponse, FetchError> {
        self.fetch_entities(request, Reads::Cache).await
    }

    async fn fetch_entities(
        &self,
        mut request: FetchRequest,
        reads: Reads,
    ) -> Result<SubgraphResponse, FetchError> {
        let subgraph = request.subgraph_name.clone();
        let representations = request
            .entities
            .take()
            .map(|e| e.representations)
            .unwrap_or_default();
        let variables = canonical_variables(&request.variables);
        let headers = forwarded_headers(request.context.headers_for(request.subgraph));
        let mut results: Vec<Option<FetchedEntity>> = vec![None; representations.len()];
        let mut cache_report = CacheReport::default();
        // What a client may do with the answer: the strictest of its parts.
        let mut client = Strictest::default();
        let mut client_headers = Vec::new();
        // The misses this request fetches (with their in-flight claim when cacheable), and
        // those another request is already fetching.
        let mut misses: Vec<(usize, Option<Claim>)> = Vec::new();
        let mut followers: Vec<(usize, SharedEntity)> = Vec::new();
        // Stale entries served now and refreshed in the background; stale entries to fall
        // back on should the subgraph fail.
        let mut revalidate: Vec<(usize, CacheKey)> = Vec::new();
        let mut fallbacks = Fallbacks::default();
        // Before any request starts (see `InFlight`).
        let born = self.cache.watermark();
        for (index, representation) in representations.iter().enumerate() {
            let typename = representation
                .get("__typename")
                .and_then(Value::as_str)
                .unwrap_or("");
            let policy = self.cache.policy(&subgraph, typename);
            let user = match self.user(&request, &policy) {
                Ok(user) if policy.mode != Mode::None => user,
                _ => {
                    misses.push((index, None));
                    continue;
                }
            };
            let key = entity_key(
                &subgraph,
                representation,
                request.selection_hash,
                &variables,
                Scope {
                    user: user.as_deref(),
                    headers: &headers,
                },
            );
            let found = match reads {
                Reads::Cache => self.cache.lookup(&key).await,
                Reads::Skip => Lookup::Miss,
            };
            match found {
                Lookup::Fresh {
                    value,
                    level,
                    client: part,
                    expires_at_ms,
                } => {
                    if let Some(live) = &request.context.live {
                        live.expires_at(expires_at_ms);
                    }
                    self.cache.stats().count(&subgraph, typename, hit(level));
                    client.and(part);
                    tally(&mut cache_report, level);
                    results[index] = Some(FetchedEntity::Shared(value));
                    continue;
                }
                Lookup::Stale {
                    value,
                    level,
                    for_ms,
                } if for_ms < policy.stale_while_revalidate_seconds * 1000
                    && request.context.live.is_none() =>
                {
                    self.cache
                        .stats()
                        .count(&subgraph, typename, Outcome::Stale);
                    tally(&mut cache_report, level);
                    client.and(CachePolicy::NoStore);
                    results[index] = Some(FetchedEntity::Shared(value));
                    if self.revalidating.insert(key, ()).is_none() {
                        revalidate.push((index, key));
                    }
                    continue;
                }
                Lookup::Stale { value, for_ms, .. }
                    if for_ms < policy.stale_if_error_seconds * 1000 =>
                {
                    fallbacks.insert(index, value, typename);
                }
                _ => {}
            }
            self.cache.stats().count(&subgraph, typename, Outcome::Miss);
            let joined = self
                .entity_inflight
                .get(&key)
                .and_then(|existing| existing.joinable(born));
            if let Some(shared) = joined {
                followers.push((index, shared));
                continue;
            }
            let (sender, receiver) = futures::channel::oneshot::channel::<Option<Arc<Value>>>();
            let future = receiver.map(|r| r.ok().flatten()).boxed().shared();
            self.entity_inflight.insert(key, InFlight { future, born });
            misses.push((
                index,
                Some(Claim {
                    key,
                    born,
                    policy,
                    sender,
                }),
            ));
        }
        if !revalidate.is_empty() {
            self.revalidate_entities(&request, &representations, revalidate);
        }
        let mut errors = Vec::new();
        let mut extensions = Map::new();
        let mut cache_control = None;
        if !misses.is_empty() {
            let fetched = self.fetch_some(&request, &representations, &misses).await;
            let (values, mut response) = match fetched {
                Ok(found) => found,
                Err(error) => {
                    for claim in misses.iter_mut().filter_map(|(_, claim)| claim.take()) {
                        self.release(claim, None);
                    }
                    // The subgraph failed: stale entries within stale_if_error_seconds beat
                    // none, when there is one for every entity it was asked for.
                    if !self.rescue(&subgraph, &misses, &fallbacks, &mut results) {
                        return Err(error);
                    }
                    (Vec::new(), SubgraphResponse::default())
                }
            };
            client.and(response.cache_policy);
            client_headers.append(&mut response.headers);
            let control = response
                .cache_control
                .as_deref()
                .map(CacheControl::parse)
                .unwrap_or_default();
            let failed: HashSet<usize> = failed_entities(&response.errors);
            let whole_failed = response.errors.iter().any(|e| entity_index(e).is_none());
            // A failure of the whole request is rescued only if every entity has a fallback.
            let whole_rescued =
                whole_failed && self.rescue(&subgraph, &misses, &fallbacks, &mut results);
            let mut rescued = HashSet::new();
            let mut values = values.into_iter();
            for (position, (index, claim)) in misses.iter_mut().enumerate() {
                if results[*index].is_some() {
                    // Rescued from a failed request.
                    continue;
                }
                let value = values.next().unwrap_or(Value::Null);
                cache_report.fetched += 1;
                if failed.contains(&position)
                    && let Some(stale) = fallbacks.serve(&self.cache, &subgraph, *index)
                {
                    rescued.insert(position);
                    if let Some(claim) = claim.take() {
                        self.release(claim, None);
                    }
                    results[*index] = Some(FetchedEntity::Shared(stale));
                    continue;
                }
                // A private answer is not stored: entity entries are shared unless the config
                // marks the type private (then the scope is already the user's).
                let storable = value.is_object()
                    && !failed.contains(&position)
                    && !whole_failed
                    && !control.no_store
                    && !control.private;
                let Some(claim) = claim.take() else {
                    results[*index] = Some(FetchedEntity::Owned(value));
                    continue;
                };
                if !storable {
                    // Its followers fetch it themselves.
                    self.release(claim, None);
                    results[*index] = Some(FetchedEntity::Owned(value));
                    continue;
                }
                let typename = representations[*index]
                    .get("__typename")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let mut tagger = Tagger::new(&self.supergraph, request.subgraph, &subgraph);
                let entity_type = name(typename);
                tagger.own_entity(&entity_type, &representations[*index]);
                tagger.walk_selection(&entity_type, &request.selection);
                tagger.walk_entity(&entity_type, &request.selection, &value);
                let size = serde_json::to_vec(&value).map(|b| b.len()).unwrap_or(0);
                let value = Arc::new(value);
                let answer = Answer {
                    value: value.clone(),
                    size,
                    tags: tagger.finish(),
                    born,
                    policy: claim.policy,
                    subgraph: subgraph.clone(),
                    max_age: control.max_age,
                    private: claim.policy.private,
                };
                if let Some(at) = self.cache.put(claim.key, answer).await
                    && let Some(live) = &request.context.live
                {
                    live.expires_at(at);
                }
                self.release(claim, Some(value.clone()));
                results[*index] = Some(FetchedEntity::Shared(value));
            }
            self.extension_invalidations(&request, &response);
            // Move error paths from the sub-request's indices back to the request's; drop
            // those of the entities answered from stale entries instead.
            for mut error in response.errors {
                match entity_index(&error) {
                    Some(position) if rescued.contains(&position) => continue,
                    None if whole_rescued => continue,
                    Some(position) => {
                        if let Some((index, _)) = misses.get(position)
                            && let Some(path) = error.path.as_mut()
                        {
                            path[1] = PathElement::Index(*index);
                        }
                    }
                    None => {}
                }
                errors.push(error);
            }
            extensions = response.extensions;
            cache_control = response.cache_control;
        }
        let mut refetch: Vec<(usize, Option<()>)> = Vec::new();
        for (index, shared) in followers {
            // Another request's answer: what its subgraph said of it is not known here.
            client.and(CachePolicy::NoStore);
            match shared.await {
                Some(value) => {
                    cache_report.l1 += 1;
                    results[index] = Some(FetchedEntity::Shared(value));
                }
                None => refetch.push((index, None)),
            }
        }
        if !refetch.is_empty() {
            match self.fetch_some(&request, &representations, &refetch).await {
                Ok((values, mut response)) => {
                    client.and(response.cache_policy);
                    client_headers.append(&mut response.headers);
                    let mut values = values.into_iter();
                    for (index, _) in &refetch {
                        cache_report.fetched += 1;
                        results[*index] = values.next().map(FetchedEntity::Owned);
                    }
                    errors.extend(response.errors);
                }
                Err(error) => {
                    if !self.rescue(&subgraph, &refetch, &fallbacks, &mut results) {
                        return Err(error);
                    }
                }
            }
        }
        Ok(SubgraphResponse {
            entities: Some(
                results
                    .into_iter()
                    .map(|v| v.unwrap_or(FetchedEntity::Owned(Value::Null)))
                    .collect(),
            ),
            errors,
            extensions,
            cache_control,
            cache_policy: client.0.unwrap_or_default(),
            headers: client_headers,
            cache: Some(cache_report),
            ..Default::default()
        })
    }

    /// Answers the entities at `indices` from their stale fallbacks, if every one has one
    /// (`false`, and nothing changed, otherwise).
    fn rescue<T>(
        &self,
        subgraph: &str,
        indices: &[(usize, T)],
        fallbacks: &Fallbacks,
        results: &mut [Option<FetchedEntity>],
    ) -> bool {
        if !indices.iter().all(|(index, _)| fallbacks.has(*index)) {
            return false;
        }
        for (index, _) in indices {
            if let Some(stale) = fallbacks.serve(&self.cache, subgraph, *index) {
                results[*index] = Some(FetchedEntity::Shared(stale));
            }
        }
        true
    }

    /// Refreshes stale entities in the background, in one request, for the entries only:
    /// the request that found them stale has already answered with them.
    fn revalidate_entities(
        &self,
        request: &FetchRequest,
        representations: &[Value],
        stale: Vec<(usize, CacheKey)>,
    ) {
        let Some(me) = self.me.upgrade() else {
            for (_, key) in &stale {
                self.revalidating.remove(key);
            }
            return;
        };
        let mut refresh = request.clone();
        refresh.entities = Some(EntityRequest {
            representations: stale
                .iter()
                .map(|(index, _)| representations[*index].clone())
                .collect(),
        });
        tokio::spawn(async move {
            let _ = me.fetch_entities(refresh, Reads::Skip).await;
            for (_, key) in &stale {
                me.revalidating.remove(key);
            }
        });
    }

    /// Ends a claim on an in-flight entity: its followers get `value`, or fetch it themselves.
    fn release(&self, claim: Claim, value: Option<Arc<Value>>) {
        self.entity_inflight
            .remove_if(&claim.key, |_, in_flight| in_flight.born == claim.born);
        // Followers that went away need nothing.
        let _ = claim.sender.send(value);
    }

    /// Fetches the representations at `indices` in one request; returns the `_entities` items
    /// in that order and the response (errors still indexed by position in the sub-request).
    async fn fetch_some<T>(
        &self,
        request: &FetchRequest,
        representations: &[Value],
        indices: &[(usize, T)],
    ) -> Result<(Vec<Value>, SubgraphResponse), FetchError> {
        let mut sub = request.clone();
        sub.entities = Some(EntityRequest {
            representations: indices
                .iter()
                .map(|(index, _)| representations[*index].clone())
                .collect(),
        });
        let mut response = self.inner.fetch(sub).await?;
        let values = response
            .take_entities()
            .into_iter()
            .map(|entity| match entity {
                FetchedEntity::Owned(value) => value,
                FetchedEntity::Shared(value) => Arc::unwrap_or_clone(value),
            })
            .collect();
        Ok((values, response))
    }
}

impl Fetcher for CachedFetcher {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async move {
            // A query's answer is tagged for a CDN (surrogate keys) and for a live query.
            let tagged = (request.kind == OperationKind::Query
                && (self.surrogate_key_header.is_some() || request.context.live.is_some()))
            .then(|| request.clone());
            let mut response = match (request.kind, request.entities.is_some()) {
                (OperationKind::Mutation, _) => self.mutation(request).await,
                // Opened as a stream by the realtime part, never fetched; not cacheable.
                (OperationKind::Subscription, _) => self.inner.fetch(request).await,
                (OperationKind::Query, false) => self.root(request).await,
                (OperationKind::Query, true) => self.entities(request).await,
            };
            if let (Some(request), Ok(response)) = (tagged, &mut response) {
                self.tag_answer(&request, response);
            }
            response
        })
    }
}

impl CachedFetcher {
    /// Names the cache tags of `response`'s data: for a live query, in its [`LiveTags`]
    /// (with the `events` epoch, moved when events were lost); as a surrogate-key header for
    /// the client when configured: `subgraph:Type` for every entity type it can hold,
    /// `subgraph:Type:{key JSON}` for every entity in it, the names change events use
    /// (docs/cache.md, "Purging a CDN").
    ///
    /// [`LiveTags`]: crate::executor::LiveTags
    fn tag_answer(&self, request: &FetchRequest, response: &mut SubgraphResponse) {
        let mut tagger = Tagger::new(&self.supergraph, request.subgraph, &request.subgraph_name);
        match (&request.entities, &response.entities) {
            (Some(sent), Some(answered)) => {
                for (representation, entity) in sent.representations.iter().zip(answered) {
                    let Some(typename) = representation.get("__typename").and_then(Value::as_str)
                    else {
                        continue;
                    };
                    let entity_type = name(typename);
                    tagger.own_entity(&entity_type, representation);
                    tagger.walk_selection(&entity_type, &request.selection);
                    tagger.walk_entity(&entity_type, &request.selection, entity.value());
                }
            }
            (None, _) => {
                tagger.walk_selection(&name("Query"), &request.selection);
                if let Some(data) = &response.data {
                    tagger.walk(&name("Query"), &request.selection, data);
                }
            }
            (Some(_), None) => {}
        }
        if let Some(header) = &self.surrogate_key_header {
            let words = tagger.surrogate_keys().join(" ");
            if let Ok(value) = http::HeaderValue::from_str(&words) {
                response.headers.push(PropagatedHeader {
                    name: header.clone(),
                    value,
                    algorithm: Algorithm::Words,
                });
            }
        }
        if let Some(live) = &request.context.live {
            live.add(tagger.finish());
            live.add([Tag::EventsEpoch.id()]);
        }
    }
}

fn name(text: &str) -> Name {
    Name::new(text).unwrap_or_else(|_| apollo_compiler::name!("Query"))
}

fn hit(level: Level) -> Outcome {
    match level {
        Level::L1 => Outcome::HitL1,
        Level::L2 => Outcome::HitL2,
    }
}

fn report(level: Level, count: u32) -> CacheReport {
    match level {
        Level::L1 => CacheReport {
            l1: count,
            ..Default::default()
        },
        Level::L2 => CacheReport {
            l2: count,
            ..Default::default()
        },
    }
}

/// A root fetch answered by the cache.
fn cached(value: Arc<Value>, level: Level, client: CachePolicy) -> SubgraphResponse {
    SubgraphResponse {
        data: Some(Value::clone(&value)),
        cache: Some(report(level, 1)),
        cache_policy: client,
        ..Default::default()
    }
}

/// The strictest cache policy of the parts seen so far (`None`: no part yet).
#[derive(Default)]
struct Strictest(Option<CachePolicy>);

impl Strictest {
    fn and(&mut self, part: CachePolicy) {
        self.0 = Some(self.0.map_or(part, |whole| whole.and(part)));
    }
}

/// Counts one answer from the cache in `report`.
fn tally(report: &mut CacheReport, level: Level) {
    match level {
        Level::L1 => report.l1 += 1,
        Level::L2 => report.l2 += 1,
    }
}

fn report_fetched(count: u32) -> CacheReport {
    CacheReport {
        fetched: count,
        ..Default::default()
    }
}

/// Whether a fetch reads the cache: a background refresh of stale entries does not (it would
/// only find them stale again).
#[derive(Clone, Copy)]
enum Reads {
    Cache,
    Skip,
}

/// The stale entries of an `_entities` fetch that may stand in for a failed subgraph
/// (`stale_if_error_seconds`), by index in the fetch.
#[derive(Default)]
struct Fallbacks {
    entries: Vec<(usize, Arc<Value>, String)>,
}

impl Fallbacks {
    fn insert(&mut self, index: usize, value: Arc<Value>, typename: &str) {
        self.entries.push((index, value, typename.to_string()));
    }

    fn has(&self, index: usize) -> bool {
        self.entries.iter().any(|(i, _, _)| *i == index)
    }

    /// The stale value for `index`, counted as served.
    fn serve(&self, cache: &Cache, subgraph: &str, index: usize) -> Option<Arc<Value>> {
        let (_, value, typename) = self.entries.iter().find(|(i, _, _)| *i == index)?;
        cache.stats().count(subgraph, typename, Outcome::Stale);
        Some(value.clone())
    }
}

/// The `_entities` index an error's path points into, if any.
fn entity_index(error: &GraphQLError) -> Option<usize> {
    match error.path.as_deref()? {
        [PathElement::Key(key), PathElement::Index(index), ..] if key == "_entities" => {
            Some(*index)
        }
        _ => None,
    }
}

fn failed_entities(errors: &[GraphQLError]) -> HashSet<usize> {
    errors.iter().filter_map(entity_index).collect()
}

/// Collects the tags of an answer: its subgraph, the types its selection can hold, and the
/// keys of the entities in its data (or, where keys are missing, that it holds entities of a
/// type without knowing which).
struct Tagger<'a> {
    supergraph: &'a Supergraph,
    subgraph: SubgraphId,
    subgraph_name: &'a str,
    types: HashSet<Name>,
    keyed: HashSet<(Name, String)>,
    unkeyed: HashSet<Name>,
}

impl<'a> Tagger<'a> {
    fn new(supergraph: &'a Supergraph, subgraph: SubgraphId, subgraph_name: &'a str) -> Self {
        Self {
            supergraph,
            subgraph,
            subgraph_name,
            types: HashSet::new(),
            keyed: HashSet::new(),
            unkeyed: HashSet::new(),
        }
    }

    /// The tags as words for a CDN: `subgraph:Type`, `subgraph:Type:{key JSON}` (bytes
    /// outside `!`..`~`, and `%`, percent-encoded, so that a word never holds a space).
    fn surrogate_keys(&self) -> Vec<String> {
        let s = self.subgraph_name;
        let types = self.types.iter().chain(&self.unkeyed);
        let mut words: Vec<String> = types.map(|ty| format!("{s}:{ty}")).collect();
        for (ty, key) in &self.keyed {
            let mut word = format!("{s}:{ty}:");
            for byte in key.bytes() {
                match byte {
                    b'!'..=b'~' if byte != b'%' => word.push(byte as char),
                    _ => word.push_str(&format!("%{byte:02X}")),
                }
            }
            words.push(word);
        }
        words
    }

    fn finish(self) -> Vec<u64> {
        let s = self.subgraph_name;
        let mut tags = vec![Tag::Subgraph(s).id()];
        for ty in &self.types {
            tags.push(Tag::Type(s, ty).id());
        }
        for ty in &self.unkeyed {
            tags.push(Tag::AnyKey(s, ty).id());
        }
        for (ty, key) in &self.keyed {
            tags.push(Tag::Key(s, ty, key).id());
        }
        tags
    }

    /// What a mutation's answer invalidates: each entity it returns, in every subgraph that
    /// caches that entity type, and the returned types in the mutating subgraph (lists of them
    /// may have changed).
    fn mutation_invalidations(self) -> Vec<Invalidation> {
        let mut invalidations: Vec<Invalidation> = self
            .types
            .iter()
            .chain(self.unkeyed.iter())
            .collect::<HashSet<_>>()
            .into_iter()
            .map(|ty| Invalidation {
                subgraph: self.subgraph_name.to_string(),
                type_name: Some(ty.to_string()),
                keys: Vec::new(),
            })
            .collect();
        for (ty, key) in &self.keyed {
            let key: Value = serde_json::from_str(key).unwrap_or(Value::Null);
            for owner in self
                .supergraph
                .type_def(ty)
                .map(|d| d.subgraphs.as_slice())
                .unwrap_or(&[])
            {
                invalidations.push(Invalidation {
                    subgraph: self.supergraph.subgraph(owner.subgraph).name.to_string(),
                    type_name: Some(ty.to_string()),
                    keys: vec![key.clone()],
                });
            }
        }
        invalidations
    }

    fn is_entity(&self, type_name: &str) -> bool {
        self.supergraph
            .type_def(type_name)
            .and_then(|d| d.in_subgraph(self.subgraph))
            .is_some_and(|t| !t.keys.is_empty())
    }

    /// Tags an entity entry with its own type and keys.
    fn own_entity(&mut self, type_name: &Name, representation: &Value) {
        self.types.insert(type_name.clone());
        if let Some(object) = representation.as_object() {
            self.record(type_name, object);
        }
    }

    /// Records an entity object: by key when its key fields are there, else as unkeyed.
    fn record(&mut self, type_name: &Name, object: &Object) {
        let Some(def) = self.supergraph.type_def(type_name) else {
            return;
        };
        let Some(in_subgraph) = def.in_subgraph(self.subgraph) else {
            return;
        };
        if in_subgraph.keys.is_empty() {
            return;
        }
        let mut found = false;
        for key in &in_subgraph.keys {
            if let Some(projected) = project(&key.fields, object) {
                self.keyed
                    .insert((type_name.clone(), canonical_json(&projected)));
                found = true;
            }
        }
        if !found {
            self.unkeyed.insert(type_name.clone());
        }
    }

    /// The types a selection can hold, whatever the data: an empty list still depends on them.
    fn walk_selection(&mut self, parent: &Name, selection: &SelectionSet) {
        for item in &selection.items {
            match item {
                Selection::Field(field) if !field.selection_set.is_empty() => {
                    let Some(def) = self.supergraph.field_def(parent, &field.name) else {
                        continue;
                    };
                    let child = def.ty.inner_named_type().clone();
                    if self.is_entity(&child) {
                        self.types.insert(child.clone());
                    }
                    for object in self.supergraph.possible_types(&child).to_vec() {
                        if self.is_entity(&object) {
                            self.types.insert(object);
                        }
                    }
                    self.walk_selection(&child, &field.selection_set);
                }
                Selection::Field(_) => {}
                Selection::InlineFragment(fragment) => {
                    self.walk_selection(&fragment.type_condition, &fragment.selection_set)
                }
            }
        }
    }

    /// An entity's answer: the fragments of the entity selection that apply to its type. The
    /// entity itself is not recorded here: its answer lacks its key fields (they are in the
    /// representation, see [`Tagger::own_entity`]), and recording it as unkeyed would let
    /// every event about its type make it stale.
    fn walk_entity(&mut self, entity_type: &Name, selection: &SelectionSet, value: &Value) {
        let Value::Object(object) = value else {
            return;
        };
        for fragment in selection.fragments() {
            if self
                .supergraph
                .is_possible_type(&fragment.type_condition, entity_type)
                || fragment.type_condition == *entity_type
            {
                self.walk_fields(entity_type, entity_type, &fragment.selection_set, object);
            }
        }
    }

    fn walk(&mut self, parent: &Name, selection: &SelectionSet, value: &Value) {
        match value {
            Value::Array(items) => {
                for item in items {
                    self.walk(parent, selection, item);
                }
            }
            Value::Object(object) => {
                let concrete = match object.get("__typename").and_then(Value::as_str) {
                    Some(typename)
                        if self
                            .supergraph
                            .type_def(parent)
                            .is_some_and(|d| d.is_abstract()) =>
                    {
                        name(typename)
                    }
                    _ => parent.clone(),
                };
                if parent != "Query" && parent != "Mutation" && self.is_entity(&concrete) {
                    self.types.insert(concrete.clone());
                    self.record(&concrete, object);
                }
                self.walk_fields(&concrete, parent, selection, object);
            }
            _ => {}
        }
    }

    /// The fields of an object already recorded: walks into the ones that hold objects.
    fn walk_fields(
        &mut self,
        concrete: &Name,
        parent: &Name,
        selection: &SelectionSet,
        object: &Object,
    ) {
        for item in &selection.items {
            match item {
                Selection::Field(field) if !field.selection_set.is_empty() => {
                    let child = self
                        .supergraph
                        .field_def(concrete, &field.name)
                        .or_else(|| self.supergraph.field_def(parent, &field.name))
                        .map(|d| d.ty.inner_named_type().clone());
                    if let (Some(child), Some(value)) =
                        (child, object.get(field.response_key().as_str()))
                    {
                        self.walk(&child, &field.selection_set, value);
                    }
                }
                Selection::Field(_) => {}
                Selection::InlineFragment(fragment) => {
                    if fragment.type_condition == *concrete
                        || self
                            .supergraph
                            .is_possible_type(&fragment.type_condition, concrete)
                    {
                        self.walk_fields(concrete, concrete, &fragment.selection_set, object);
                    }
                }
            }
        }
    }
}

/// The key fields of `object`, shaped like the key (nested keys included); `None` when some
/// are missing.
fn project(key: &apollo_compiler::executable::SelectionSet, object: &Object) -> Option<Value> {
    let mut out = Object::new();
    for selection in &key.selections {
        match selection {
            apollo_compiler::executable::Selection::Field(field) => {
                let value = object.get(field.name.as_str())?;
                if value.is_null() {
                    return None;
                }
                let projected = if field.selection_set.selections.is_empty() {
                    value.clone()
                } else {
                    project(&field.selection_set, value.as_object()?)?
                };
                out.insert(field.name.to_string(), projected);
            }
            _ => return None,
        }
    }
    Some(Value::Object(out))
}

/// A root answer that found nothing: every field `null` (`{"product": null}`).
fn all_null(data: &Value) -> bool {
    data.as_object()
        .is_some_and(|fields| fields.iter().all(|(_, value)| value.is_null()))
}
