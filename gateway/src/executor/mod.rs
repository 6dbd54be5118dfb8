//! Runs a [`QueryPlan`] against a [`Fetcher`]: independent fetches concurrently, entity fetches
//! with de-duplicated representations, results merged in place, subgraph errors moved to the
//! client's paths, and the merged data shaped into the response.

mod fetcher;
mod incremental;
mod merge;
mod path;
mod representations;
mod shape;

use std::sync::{Arc, Mutex};

use futures::future::{BoxFuture, join_all};
use serde_json::Map;

pub use fetcher::{
    CacheReport, EntityRequest, FetchError, FetchFuture, FetchRequest, FetchedEntity, Fetcher,
    LiveTags, OperationKind, RequestContext, SubgraphResponse,
};
pub use incremental::{IncrementalPart, IncrementalPayload, Pending, execute_incremental};
pub use shape::{Introspection, ResponseShape, UNAUTHORIZED_CODE};

use crate::json::{Object, Ordered, Value};
use crate::planner::{EntityFetch, FetchNode, PathSegment, PlanNode, QueryPlan};
use crate::response::{
    CachePolicy, GraphQLError, JsonText, PathElement, PropagatedHeader, Response, ResponseMeta,
};
use crate::supergraph::Supergraph;
use representations::Representations;

/// Everything one execution needs besides the plan.
pub struct Execution<'a> {
    pub supergraph: &'a Supergraph,
    /// What the response looks like, computed once per plan.
    pub shape: &'a ResponseShape,
    /// The request's coerced variables.
    pub variables: &'a Map<String, serde_json::Value>,
    pub fetcher: &'a dyn Fetcher,
    /// The already computed `__schema`/`__type` root fields, if any.
    pub introspection: Option<Introspection>,
    pub context: Arc<RequestContext>,
}

/// Executes `plan`.
pub async fn execute(plan: &QueryPlan, execution: Execution<'_>) -> Response {
    execute_with(plan, execution, None).await
}

/// Runs a subscription `plan` for one event of its stream: `event` stands in for the answer
/// of the root (subscription) fetch, and the rest of the plan (entity fetches to other
/// subgraphs) runs as for a query.
pub async fn execute_event(
    plan: &QueryPlan,
    execution: Execution<'_>,
    event: SubgraphResponse,
) -> Response {
    execute_with(plan, execution, Some(event)).await
}

async fn execute_with(
    plan: &QueryPlan,
    execution: Execution<'_>,
    event: Option<SubgraphResponse>,
) -> Response {
    let Execution {
        supergraph: sg,
        shape,
        variables,
        fetcher,
        introspection,
        context,
    } = execution;
    let data = Mutex::new(Value::Object(Object::new()));
    let run = Run::new(sg, fetcher, variables, context, &data, event);
    if let Some(root) = &plan.root {
        run.node(root).await;
    }
    run.finish(shape, introspection.as_ref(), &data)
}

/// What the fetches' answers say about the HTTP response, gathered as they arrive.
#[derive(Default)]
struct Meta {
    cache: Option<CachePolicy>,
    headers: Vec<PropagatedHeader>,
}

/// One line of `extensions.cache`: which fetch, and where its answers came from.
#[derive(Debug, serde::Serialize)]
struct FetchCacheReport {
    service: Arc<str>,
    path: String,
    #[serde(flatten)]
    report: CacheReport,
}

struct Run<'a> {
    sg: &'a Supergraph,
    fetcher: &'a dyn Fetcher,
    variables: &'a Map<String, serde_json::Value>,
    context: Arc<RequestContext>,
    /// The merged data, shared with the deferred parts' runs of an incremental execution.
    data: &'a Mutex<Value>,
    errors: Mutex<Vec<GraphQLError>>,
    cache_reports: Mutex<Vec<FetchCacheReport>>,
    meta: Mutex<Meta>,
    /// The subscription event the root fetch is answered with (taken by it).
    event: Mutex<Option<SubgraphResponse>>,
}

impl<'a> Run<'a> {
    fn new(
        sg: &'a Supergraph,
        fetcher: &'a dyn Fetcher,
        variables: &'a Map<String, serde_json::Value>,
        context: Arc<RequestContext>,
        data: &'a Mutex<Value>,
        event: Option<SubgraphResponse>,
    ) -> Self {
        Run {
            sg,
            fetcher,
            variables,
            context,
            data,
            errors: Mutex::new(Vec::new()),
            cache_reports: Mutex::new(Vec::new()),
            meta: Mutex::new(Meta::default()),
            event: Mutex::new(event),
        }
    }

    /// The response: the data shaped by `shape`, the errors, the cache report.
    fn finish(
        self,
        shape: &ResponseShape,
        introspection: Option<&Introspection>,
        data: &Mutex<Value>,
    ) -> Response {
        let mut errors = self.errors.into_inner().unwrap_or_else(|e| e.into_inner());
        let out = {
            let data = data.lock().unwrap_or_else(|e| e.into_inner());
            shape::write_data(shape, &data, introspection, &mut errors)
        };
        // The writer only writes JSON it produced from valid values: valid UTF-8 and JSON.
        let data =
            JsonText::new_unchecked(String::from_utf8(out).unwrap_or_else(|_| "null".into()));
        let mut extensions = Map::new();
        if self.context.cache_debug {
            let reports = self
                .cache_reports
                .into_inner()
                .unwrap_or_else(|e| e.into_inner());
            extensions.insert(
                "cache".into(),
                serde_json::to_value(reports).unwrap_or_default(),
            );
        }
        let meta = self.meta.into_inner().unwrap_or_else(|e| e.into_inner());
        Response {
            data: Some(data),
            errors,
            extensions,
            meta: ResponseMeta {
                // Nothing fetched (`__typename`, introspection): nothing vouches for a lifetime.
                cache: meta.cache.unwrap_or_default(),
                headers: meta.headers,
            },
        }
    }

    fn take_errors(&self) -> Vec<GraphQLError> {
        std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn node<'s>(&'s self, node: &'s PlanNode) -> BoxFuture<'s, ()> {
        Box::pin(async move {
            match node {
                PlanNode::Fetch(fetch) => self.fetch(fetch, &[]).await,
                PlanNode::Flatten { path, node } => match &**node {
                    PlanNode::Fetch(fetch) => self.fetch(fetch, path).await,
                    other => self.node(other).await,
                },
                PlanNode::Sequence(nodes) => {
                    for node in nodes {
                        self.node(node).await;
                    }
                }
                PlanNode::Parallel(nodes) => {
                    join_all(nodes.iter().map(|n| self.node(n))).await;
                }
                // Run all at once (only an incremental execution delivers the parts apart).
                PlanNode::Defer { primary, deferred } => {
                    if let Some(primary) = primary {
                        self.node(primary).await;
                    }
                    for node in deferred.iter().filter_map(|d| d.node.as_deref()) {
                        self.node(node).await;
                    }
                }
            }
        })
    }

    fn lock_data(&self) -> std::sync::MutexGuard<'_, Value> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push_errors(&self, new: impl IntoIterator<Item = GraphQLError>) {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(new);
    }

    async fn fetch(&self, fetch: &FetchNode, path: &[PathSegment]) {
        let span =
            crate::telemetry::spans::subgraph_fetch(self.context.traced(), &fetch.subgraph_name);
        tracing::Instrument::instrument(self.fetch_in_span(fetch, path), span).await
    }

    async fn fetch_in_span(&self, fetch: &FetchNode, path: &[PathSegment]) {
        let variables: Map<String, serde_json::Value> = fetch
            .variable_usages
            .iter()
            .filter_map(|name| {
                self.variables
                    .get(name.as_str())
                    .map(|v| (name.to_string(), v.clone()))
            })
            .collect();
        let mut request = FetchRequest {
            subgraph: fetch.subgraph,
            subgraph_name: fetch.subgraph_name.clone(),
            kind: fetch.kind,
            operation: fetch.operation.clone(),
            operation_name: fetch.operation_name.clone(),
            variables,
            selection: fetch.selection.clone(),
            selection_hash: fetch.selection_hash,
            entities: None,
            context: self.context.clone(),
        };
        match &fetch.entity {
            None => self.root_fetch(fetch, request).await,
            Some(entity) => {
                let (targets, representations) = self.entity_targets(entity, path);
                if representations.is_empty() {
                    return;
                }
                request.entities = Some(EntityRequest { representations });
                self.entity_fetch(fetch, request, targets).await;
            }
        }
    }

    /// The objects an entity fetch fills, per path (the `Flatten`'s, then those of a merged
    /// fetch), and the representations it sends: objects of the same entity share one,
    /// whatever their path.
    fn entity_targets<'p>(
        &self,
        entity: &'p EntityFetch,
        path: &'p [PathSegment],
    ) -> (Vec<Targets<'p>>, Vec<Value>) {
        let data = self.lock_data();
        // Representations come from subgraph data: a keyed hasher, but a fast one. They are
        // compared in order, which is cheap; JSON-equal ones in different orders (a key's JSON
        // scalar as the subgraph sent it, say) are merely sent twice.
        let mut sent = Representations::default();
        let inputs = std::iter::once((path, &entity.parts[..])).chain(
            entity
                .more
                .iter()
                .map(|input| (&input.path[..], &input.parts[..])),
        );
        let mut all = Vec::with_capacity(1 + entity.more.len());
        for (path, parts) in inputs {
            let mut targets = Targets::along(path);
            let keys = contextual_variables(parts);
            if !keys.is_empty() {
                path::for_each_object_in_context(
                    self.sg,
                    &data,
                    path,
                    &keys,
                    |position, object, values| {
                        for part in parts {
                            if representations::applies(self.sg, part, object)
                                && let Some(representation) = representations::contextual(
                                    self.sg, part, object, &keys, values,
                                )
                            {
                                let index = sent.insert_full(Ordered(representation)).0;
                                targets.push(position, index);
                            }
                        }
                    },
                );
                all.push(targets);
                continue;
            }
            path::for_each_object(self.sg, &data, path, |position, object| {
                for part in parts {
                    if representations::applies(self.sg, part, object)
                        && let Some(index) =
                            representations::intern(&mut sent, self.sg, part, object)
                    {
                        targets.push(position, index);
                    }
                }
            });
            all.push(targets);
        }
        (all, sent.into_iter().map(|Ordered(r)| r).collect())
    }

    /// Counts a fetch's answer (`None`: the fetch failed) in the response's cache policy, and
    /// takes the headers the rules propagate from it.
    fn absorb(&self, response: Option<&mut SubgraphResponse>) {
        let mut meta = self.meta.lock().unwrap_or_else(|e| e.into_inner());
        let part = match response {
            Some(response) => {
                meta.headers.append(&mut response.headers);
                response.cache_policy
            }
            None => CachePolicy::NoStore,
        };
        meta.cache = Some(meta.cache.map_or(part, |whole| whole.and(part)));
    }

    fn report(&self, fetch: &FetchNode, path: &[PathSegment], response: &SubgraphResponse) {
        if self.context.traced() {
            crate::telemetry::spans::record_fetch(response.cache, None);
        }
        if let (true, Some(report)) = (self.context.cache_debug, response.cache) {
            self.cache_reports
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(FetchCacheReport {
                    service: fetch.subgraph_name.clone(),
                    path: crate::planner::PathDisplay(path).to_string(),
                    report,
                });
        }
    }

    async fn root_fetch(&self, fetch: &FetchNode, request: FetchRequest) {
        let answer = if fetch.kind == OperationKind::Subscription {
            // The stream was opened elsewhere; its event is this fetch's answer.
            let event = self.event.lock().unwrap_or_else(|e| e.into_inner()).take();
            event.ok_or_else(|| {
                FetchError::InvalidResponse("a subscription runs only for an event".into())
            })
        } else {
            self.fetcher.fetch(request).await
        };
        match answer {
            Ok(mut response) => {
                self.report(fetch, &[], &response);
                self.absorb(Some(&mut response));
                if let Some(mut data) = response.data {
                    merge::apply_renames(self.sg, &mut data, &fetch.output_renames);
                    merge::deep_merge(&mut self.lock_data(), data);
                }
                let service = &fetch.subgraph_name;
                self.push_errors(
                    response
                        .errors
                        .into_iter()
                        .map(|e| subgraph_error(e, service)),
                );
            }
            Err(error) => {
                self.absorb(None);
                if self.context.traced() {
                    crate::telemetry::spans::record_fetch(None, Some(error.code()));
                }
                self.push_errors([fetch_failed(fetch, &error, None)]);
            }
        }
    }

    async fn entity_fetch(
        &self,
        fetch: &FetchNode,
        request: FetchRequest,
        inputs: Vec<Targets<'_>>,
    ) {
        let first_path = || {
            inputs.iter().find_map(|targets| {
                targets
                    .iter()
                    .next()
                    .map(|(p, _)| path::response_path(targets.path, p))
            })
        };
        let reported_path = inputs.first().map_or(&[][..], |t| t.path);
        let sent = request
            .entities
            .as_ref()
            .map_or(0, |e| e.representations.len());
        let contextual = fetch.entity.as_ref().map_or_else(Vec::new, |entity| {
            let mut all = contextual_variables(&entity.parts);
            for input in &entity.more {
                for name in contextual_variables(&input.parts) {
                    if !all.contains(&name) {
                        all.push(name);
                    }
                }
            }
            all
        });
        let answer = if contextual.is_empty() {
            self.fetcher.fetch(request).await
        } else {
            self.fetch_by_context(request, &contextual).await
        };
        let mut response = match answer {
            Ok(mut response) => {
                self.report(fetch, reported_path, &response);
                self.absorb(Some(&mut response));
                response
            }
            Err(error) => {
                self.absorb(None);
                if self.context.traced() {
                    crate::telemetry::spans::record_fetch(None, Some(error.code()));
                }
                self.push_errors([fetch_failed(fetch, &error, first_path())]);
                return;
            }
        };
        // The HTTP fetcher checks this already; any other fetcher's answer is checked here,
        // since merging misaligned items would give objects other entities' data.
        if let Some(mismatch) = response.entities_mismatch(sent) {
            let error = FetchError::InvalidResponse(mismatch);
            self.push_errors([fetch_failed(fetch, &error, first_path())]);
            return;
        }
        let mut entities = response.take_entities();
        if !fetch.output_renames.is_empty() {
            for entity in &mut entities {
                merge::apply_renames(self.sg, entity.value_mut(), &fetch.output_renames);
            }
        }
        {
            // An entity shared by several objects (at one path or several) is copied into all
            // but the last, which takes it (when it is not shared with a cache).
            let mut uses = vec![0usize; entities.len()];
            for targets in &inputs {
                for (_, index) in targets.iter() {
                    if let Some(count) = uses.get_mut(index) {
                        *count += 1;
                    }
                }
            }
            let mut data = self.lock_data();
            for targets in &inputs {
                // Targets were found in document order, and the response only grows meanwhile
                // (no list changes length or order), so one walk meets them in the same
                // order: a merge join on positions. Objects that appeared since are skipped.
                let mut pending = targets.iter().peekable();
                path::for_each_object_mut(self.sg, &mut data, targets.path, |position, object| {
                    while pending.next_if(|(at, _)| *at < position).is_some() {}
                    while let Some((_, index)) = pending.next_if(|(at, _)| *at == position) {
                        let Some(entity) = entities.get_mut(index) else {
                            continue;
                        };
                        if !entity.value().is_object() {
                            continue;
                        }
                        uses[index] -= 1;
                        match entity {
                            FetchedEntity::Owned(value) if uses[index] == 0 => {
                                merge::deep_merge(object, std::mem::take(value))
                            }
                            entity => merge::deep_merge_from(object, entity.value()),
                        }
                    }
                });
            }
        }
        let service = &fetch.subgraph_name;
        let mut errors = Vec::new();
        for error in response.errors {
            let entity_index = error.path.as_ref().and_then(|p| match p.as_slice() {
                [PathElement::Key(k), PathElement::Index(i), ..] if k == "_entities" => Some(*i),
                _ => None,
            });
            match entity_index {
                Some(index) => {
                    // Every object that sent this representation, at every path.
                    let rest = error.path.as_ref().map_or(&[][..], |p| &p[2..]);
                    for targets in &inputs {
                        for (position, _) in targets.iter().filter(|(_, i)| *i == index) {
                            let mut relocated = error.clone();
                            let mut at = path::response_path(targets.path, position);
                            at.extend_from_slice(rest);
                            relocated.path = Some(at);
                            errors.push(subgraph_error(relocated, service));
                        }
                    }
                }
                None => {
                    let mut relocated = error;
                    relocated.path = first_path();
                    errors.push(subgraph_error(relocated, service));
                }
            }
        }
        self.push_errors(errors);
    }
}

impl Run<'_> {
    /// An entity fetch whose representations carry contextual variables (see
    /// `planner::contexts`): the representations are grouped by their values, each group
    /// sent as one `_entities` call with the values as variables (its representations without
    /// them), and the answers put back together in the order of the representations. The
    /// groups go out concurrently; a cache keys each by its variables.
    async fn fetch_by_context(
        &self,
        mut request: FetchRequest,
        contextual: &[apollo_compiler::Name],
    ) -> Result<SubgraphResponse, FetchError> {
        let representations = request
            .entities
            .take()
            .map_or_else(Vec::new, |e| e.representations);
        // (values, indices of the representations with them, their representations).
        let mut groups: Vec<(Vec<serde_json::Value>, Vec<usize>, Vec<Value>)> = Vec::new();
        for (index, representation) in representations.into_iter().enumerate() {
            let mut representation = representation;
            let mut values = Vec::with_capacity(contextual.len());
            if let Value::Object(object) = &mut representation {
                for name in contextual {
                    let value = object.remove(name.as_str()).unwrap_or(Value::Null);
                    values.push(serde_json::to_value(&value).unwrap_or_default());
                }
            }
            match groups.iter_mut().find(|(v, ..)| *v == values) {
                Some((_, indices, members)) => {
                    indices.push(index);
                    members.push(representation);
                }
                None => groups.push((values, vec![index], vec![representation])),
            }
        }
        let total: usize = groups.iter().map(|(_, indices, _)| indices.len()).sum();
        let mut requests = Vec::with_capacity(groups.len());
        for (values, _, members) in &mut groups {
            let mut request = request.clone();
            for (name, value) in contextual.iter().zip(values.iter()) {
                request.variables.insert(name.to_string(), value.clone());
            }
            request.entities = Some(EntityRequest {
                representations: std::mem::take(members),
            });
            requests.push(self.fetcher.fetch(request));
        }
        let answers = join_all(requests).await;
        let mut combined = SubgraphResponse::default();
        let mut entities: Vec<Option<FetchedEntity>> = vec![None; total];
        let mut policy: Option<CachePolicy> = None;
        for ((_, indices, _), answer) in groups.iter().zip(answers) {
            let mut response = answer?;
            if let Some(mismatch) = response.entities_mismatch(indices.len()) {
                return Err(FetchError::InvalidResponse(mismatch));
            }
            for (at, entity) in indices.iter().zip(response.take_entities()) {
                entities[*at] = Some(entity);
            }
            for mut error in response.errors {
                // `_entities.<i>` of the group is `_entities.<index>` of the whole fetch.
                if let Some(path) = &mut error.path
                    && let [PathElement::Key(k), PathElement::Index(i), ..] = path.as_mut_slice()
                    && k == "_entities"
                    && let Some(index) = indices.get(*i)
                {
                    *i = *index;
                }
                combined.errors.push(error);
            }
            combined.extensions.extend(response.extensions);
            combined.headers.append(&mut response.headers);
            combined.cache_control = combined.cache_control.or(response.cache_control);
            policy = Some(policy.map_or(response.cache_policy, |p| p.and(response.cache_policy)));
            if let Some(report) = response.cache {
                let sum = combined.cache.get_or_insert_with(CacheReport::default);
                sum.l1 += report.l1;
                sum.l2 += report.l2;
                sum.fetched += report.fetched;
            }
        }
        combined.cache_policy = policy.unwrap_or_default();
        combined.entities = Some(
            entities
                .into_iter()
                .map(|e| e.unwrap_or(FetchedEntity::Owned(Value::Null)))
                .collect(),
        );
        Ok(combined)
    }
}

/// The contextual variables the parts bind, each once.
fn contextual_variables(parts: &[crate::planner::EntityPart]) -> Vec<apollo_compiler::Name> {
    let mut out = Vec::new();
    for part in parts {
        for name in &part.contexts {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
    }
    out
}

/// The objects an entity fetch fills: where each is (its list indices along the plan path,
/// stored flat) and which representation it sent.
struct Targets<'p> {
    /// The plan path the objects are at.
    path: &'p [PathSegment],
    lists: usize,
    positions: Vec<u32>,
    representations: Vec<usize>,
}

impl<'p> Targets<'p> {
    fn along(path: &'p [PathSegment]) -> Self {
        Targets {
            path,
            lists: path
                .iter()
                .filter(|s| matches!(s, PathSegment::List))
                .count(),
            positions: Vec::new(),
            representations: Vec::new(),
        }
    }

    fn push(&mut self, position: &[u32], representation: usize) {
        debug_assert_eq!(position.len(), self.lists);
        self.positions.extend_from_slice(position);
        self.representations.push(representation);
    }

    fn iter(&self) -> impl Iterator<Item = (&[u32], usize)> {
        self.representations
            .iter()
            .enumerate()
            .map(|(i, r)| (&self.positions[i * self.lists..(i + 1) * self.lists], *r))
    }
}

/// An error a subgraph reported, tagged with the subgraph's name.
fn subgraph_error(mut error: GraphQLError, service: &str) -> GraphQLError {
    error
        .extensions
        .entry("code")
        .or_insert_with(|| "DOWNSTREAM_SERVICE_ERROR".into());
    error
        .extensions
        .insert("serviceName".into(), service.into());
    error
}

/// The error for a fetch that got no GraphQL answer.
fn fetch_failed(
    fetch: &FetchNode,
    error: &FetchError,
    path: Option<Vec<PathElement>>,
) -> GraphQLError {
    let mut error = GraphQLError::new(format!(
        "request to subgraph \"{}\" failed: {error}",
        fetch.subgraph_name
    ))
    .with_code(error.code())
    .with_extension("serviceName", fetch.subgraph_name.to_string());
    error.path = path;
    error
}
