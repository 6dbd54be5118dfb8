//! The `Gateway` facade the server calls: one GraphQL request in, one response out. It owns the
//! caches that keep the hot path cheap (validated documents, plans) and runs each request
//! through the pipeline: document → operation → variables → plan → execution.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use apollo_compiler::executable::{ExecutableDocument, Operation};
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, ast};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::authorization::{self, Authorization, AuthorizationConfig, Grants};
use crate::config::QueryPlanningConfig;
use crate::executor::{self, Execution, Fetcher, Introspection, RequestContext, ResponseShape};
use crate::headers::HeaderRules;
use crate::identity::Identity;
use crate::inflight::Inflight;
use crate::limits::{LimitsConfig, OperationMeasures};
use crate::operation::{self, ApiSchema, NormalizedOperation, OperationError};
use crate::planner::{QueryPlan, QueryPlanner};
use crate::response::{CachePolicy, GraphQLError, JsonText, Response};
use crate::supergraph::Supergraph;
use crate::telemetry::metrics::{CacheSize, OperationType, RequestOutcome};
use crate::telemetry::{RequestRecord, Telemetry, spans};
use tracing::Instrument;

/// A GraphQL request as GraphQL over HTTP carries it (POST body or GET query string).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphQLRequest {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
    /// The id of a persisted document (trusted documents), resolved to `query` by the edge.
    #[serde(default)]
    pub document_id: Option<String>,
}

/// What kind of answer a request got, which decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The operation ran (possibly with field errors).
    Executed,
    /// The request failed before execution (parse, validation, variables): no `data`.
    RequestError,
    /// A mutation over GET.
    MutationNotAllowed,
    /// The operation selects what the request may not see (`reject_unauthorized`): no data.
    Unauthorized,
    /// The operation defers fragments and the client does not accept `multipart/mixed`
    /// (`DEFER_BAD_HEADER`, 406, as Apollo Router answers).
    NotAcceptable,
}

/// What a request's transport can do with `@defer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deferring {
    /// Deliver deferred fragments incrementally (`multipart/mixed`, or successive `next`
    /// messages over WebSocket and SSE), or print their plan.
    Deliver,
    /// Plain HTTP: an operation that defers is refused with `DEFER_BAD_HEADER`.
    Refuse,
    /// Apollo's multipart subscription protocol: `@defer` is ignored, the whole result comes
    /// in one response.
    Ignore,
}

/// What an incremental request got: one response (no fragment deferred, or refused before
/// execution), or its payloads.
pub enum Incremental {
    Response(Outcome, Response),
    Stream(tokio::sync::mpsc::Receiver<crate::executor::IncrementalPayload>),
}

/// Whether the transport allows mutations (GET does not) and subscriptions (only streaming
/// ones do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Post,
    Get,
    /// WebSocket, SSE or multipart: every operation type.
    Stream,
}

/// What a streaming transport got for a request: one response (queries, mutations, and
/// requests refused before execution), or a subscription to open.
pub enum Streamed {
    Response(Outcome, Response),
    Subscription(Box<SubscriptionPlan>),
    /// A `query @live`: executed again whenever what its answer holds changes.
    Live(Box<LivePlan>),
    /// A query or mutation that defers fragments (over a transport that delivers them): its
    /// payloads.
    Incremental(tokio::sync::mpsc::Receiver<crate::executor::IncrementalPayload>),
}

/// A live query the gateway accepted (parsed, validated, within limits, authorised and
/// planned): what each of its executions runs.
pub struct LivePlan {
    prepared: Prepared,
    context: Arc<RequestContext>,
    operation_name: Option<String>,
    /// `@live(throttle:)`: the least time between two executions the client asked for, in
    /// milliseconds.
    pub throttle_ms: Option<u64>,
}

impl LivePlan {
    /// What decides its answers: live queries with equal keys share their executions.
    pub fn key(&self) -> LiveKey {
        let sorted = |headers: &http::HeaderMap| {
            let mut pairs: SortedHeaders = headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                .collect();
            pairs.sort();
            pairs
        };
        let context = &self.context;
        LiveKey {
            inbound: InboundKey {
                // Sorted below, with every subgraph's own headers.
                headers: Vec::new(),
                ..InboundKey::new(&self.prepared, self.operation_name.clone(), context)
            },
            headers: std::iter::once((None, sorted(&context.headers)))
                .chain(
                    context
                        .subgraph_headers
                        .iter()
                        .map(|(subgraph, headers)| (Some(subgraph.0), sorted(headers))),
                )
                .collect(),
        }
    }
}

/// What makes two live queries' answers the same, so that one execution serves both: the
/// operation (document and name), its variables, what the request may see (the
/// authorization grants its identity's claims give), which progressive override labels are
/// active (together these pick the plan), the user private cached data is scoped to, whether
/// it asked for `extensions.cache`, and every header that reaches a subgraph (the forwarded
/// ones, claims forwarded as headers included, and each subgraph's own), sorted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LiveKey {
    inbound: InboundKey,
    headers: Vec<(Option<u16>, SortedHeaders)>,
}

/// Header names and values, sorted.
type SortedHeaders = Vec<(String, Vec<u8>)>;

/// A subscription the gateway accepted (parsed, validated, within limits, authorised and
/// planned): what opens its stream on the subgraph, and what each event runs.
pub struct SubscriptionPlan {
    prepared: Prepared,
    context: Arc<RequestContext>,
}

impl SubscriptionPlan {
    /// The fetch whose subgraph stream feeds the subscription.
    pub fn root_fetch(&self) -> &Arc<crate::planner::FetchNode> {
        self.prepared
            .planned
            .plan
            .subscription_fetch()
            .expect("checked when the plan was accepted")
    }

    /// The variables the root fetch sends.
    pub fn root_variables(&self) -> Map<String, Value> {
        self.root_fetch()
            .variable_usages
            .iter()
            .filter_map(|name| {
                self.prepared
                    .variables
                    .get(name.as_str())
                    .map(|v| (name.to_string(), v.clone()))
            })
            .collect()
    }

    pub fn context(&self) -> &Arc<RequestContext> {
        &self.context
    }
}

/// A valid document as the document cache keeps it. Invalid documents are not kept: their
/// error lists can be far larger than their text, and the token limit already bounds the cost
/// of parsing one again.
struct PreparedDocument {
    id: u64,
    document: Valid<ExecutableDocument>,
    /// Variables `@skip`/`@include` (and `@defer`'s `if`) read: their values select the plan.
    condition_variables: Vec<Name>,
    /// Whether any fragment has `@defer` (the others are normalised without looking).
    uses_defer: bool,
    /// Each operation's size with its fragments expanded, for the limits and the plan cache.
    measures: Vec<(Option<Name>, OperationMeasures)>,
    /// Each operation's progressive override labels (of the fields it selects); empty when
    /// the supergraph has none.
    override_labels: Vec<(Option<Name>, Vec<Arc<str>>)>,
    /// Its estimated size in memory, in bytes (the cache's weigher).
    weight: u32,
}

impl PreparedDocument {
    /// The text the document was parsed from.
    fn text(&self) -> &str {
        self.document
            .sources
            .values()
            .next()
            .map_or("", |source| source.source_text())
    }

    fn measures(&self, operation: &Operation) -> OperationMeasures {
        self.measures
            .iter()
            .find(|(name, _)| *name == operation.name)
            .map(|(_, measures)| *measures)
            .unwrap_or_default()
    }

    fn override_labels(&self, operation: &Operation) -> &[Arc<str>] {
        self.override_labels
            .iter()
            .find(|(name, _)| *name == operation.name)
            .map_or(&[], |(_, labels)| labels)
    }
}

/// A plan with the normalised operation it was made for, and the shape of its response.
pub struct PlannedOperation {
    /// The operation planned: what the request may not see taken out.
    pub operation: NormalizedOperation,
    pub plan: QueryPlan,
    pub shape: ResponseShape,
    /// What the request may not see and asked for (`me.email`), for `reject_unauthorized`.
    pub unauthorized: Vec<String>,
    /// Its estimated size in memory, in bytes (the plan cache's weigher).
    weight: u32,
}

/// What decides an operation's plan besides its document, its conditions and what the
/// request may see: whether its deferred fragments are delivered apart, and the progressive
/// override labels active for the request.
struct PlanVariant<'a> {
    defer: bool,
    labels: &'a crate::supergraph::OverrideLabels,
}

/// Document id, operation name, the values of the `@skip`/`@include` variables as bits
/// (the first 64, then the rest), what the request may see ([`Grants::key`]; 0 when the
/// supergraph protects nothing), whether `@defer` was planned, and which of the operation's
/// progressive override labels are active (bit i: its i-th relevant label; empty when it has
/// none).
type PlanKey = (u64, Option<String>, u64, Vec<u64>, u64, bool, Vec<u64>);

pub struct Gateway {
    supergraph: Arc<Supergraph>,
    api: ApiSchema,
    planner: QueryPlanner,
    implementers: apollo_compiler::collections::HashMap<Name, Implementers>,
    /// Documents by a keyed hash of their text (checked against the text on a hit). Not by the
    /// text itself: moka's table frees removed keys lazily, in batches, and with megabyte
    /// keys that batch alone was a hundred megabytes.
    documents: moka::sync::Cache<u64, Arc<PreparedDocument>>,
    document_hasher: ahash::RandomState,
    plans: moka::sync::Cache<PlanKey, Arc<PlannedOperation>>,
    next_document_id: AtomicU64,
    fetcher: Arc<dyn Fetcher>,
    requests: RequestSettings,
    /// Metrics and invalidation, when a cache is configured.
    hooks: Option<Arc<dyn GatewayHooks>>,
    /// Queries being executed, for inbound de-duplication (when it is on).
    inflight: Inflight<InboundKey, Response>,
    /// The security directives' enforcement.
    authorization: Authorization,
    /// Open subscriptions, their shared upstreams and their limits.
    subscriptions: Arc<crate::realtime::Subscriptions>,
    /// Metrics and the access log.
    telemetry: Telemetry,
}

/// What makes two client queries the same execution: the same operation of the same document
/// with the same variables, and the same request context (forwarded headers, user), since
/// subgraph answers may depend on those.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct InboundKey {
    document: u64,
    operation_name: Option<String>,
    /// The coerced variables as JSON text (maps are sorted by key, so equal variables give
    /// equal text).
    variables: String,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    user: Option<String>,
    cache_debug: bool,
    /// What the request may see ([`Grants::key`]).
    grants: u64,
    /// Which progressive override labels are active (the plan key's bits).
    override_labels: Vec<u64>,
}

impl InboundKey {
    fn new(prepared: &Prepared, operation_name: Option<String>, context: &RequestContext) -> Self {
        InboundKey {
            document: prepared.document,
            operation_name,
            variables: serde_json::to_string(&prepared.variables).unwrap_or_default(),
            headers: context
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            user: context.user.clone(),
            cache_debug: context.cache_debug,
            grants: prepared.grants,
            override_labels: prepared.override_labels.clone(),
        }
    }
}

/// How the gateway reads client requests (see docs/config.md).
#[derive(Debug, Clone)]
pub struct RequestSettings {
    /// What subgraph requests carry of the client's headers.
    pub header_rules: Arc<HeaderRules>,
    /// Headers verified claims are forwarded under: a client's own are dropped.
    pub claim_headers: Vec<http::HeaderName>,
    /// How private cached data is scoped to users.
    pub private: crate::cache::PrivateConfig,
    /// The header that asks for `extensions.cache`.
    pub cache_debug_header: Option<http::HeaderName>,
    /// Identical concurrent queries share one execution.
    pub deduplicate_inbound: bool,
    /// How large an operation may be.
    pub limits: LimitsConfig,
    /// Whether `__schema` and `__type` are answered.
    pub introspection: bool,
    /// Replace the messages of subgraph errors (and the reasons of failed fetches) with a
    /// generic one, logging the originals.
    pub mask_subgraph_errors: bool,
    /// Whether browsers that `GET /graphql` get the playground (and `/playground/` its files).
    pub playground: bool,
    /// Which progressive override labels are active for a request.
    pub override_labels: Arc<crate::progressive_override::OverrideLabelRules>,
    /// Demand control, when it is on.
    pub demand_control: Option<Arc<crate::limits::DemandControlConfig>>,
}

impl Default for RequestSettings {
    fn default() -> Self {
        Self {
            header_rules: Arc::default(),
            claim_headers: Vec::new(),
            private: Default::default(),
            cache_debug_header: None,
            deduplicate_inbound: false,
            limits: LimitsConfig::default(),
            introspection: true,
            mask_subgraph_errors: false,
            playground: true,
            override_labels: Arc::default(),
            demand_control: None,
        }
    }
}

/// What the server may ask of the parts behind the gateway (the cache and its invalidation
/// sources) without knowing them.
pub trait GatewayHooks: Send + Sync {
    /// Prometheus text for `/metrics`.
    fn metrics(&self, out: &mut String);
    /// `POST /invalidate`: `None` when the endpoint is off.
    fn invalidation_secret(&self) -> Option<&str>;
    fn invalidate(
        &self,
        invalidations: Vec<crate::cache::Invalidation>,
    ) -> futures::future::BoxFuture<'_, ()>;
    /// The invalidations applied from now on (live queries re-run on them); `None` without
    /// a cache.
    fn changes(&self) -> Option<crate::events::Changes> {
        None
    }
}

impl Gateway {
    pub fn new(
        supergraph: Arc<Supergraph>,
        fetcher: Arc<dyn Fetcher>,
        planning: &QueryPlanningConfig,
    ) -> Self {
        // Operations may use the gateway's own directives (`@live`) besides the API schema's.
        let api = ApiSchema::new(operation::with_client_directives(supergraph.api_schema()));
        let implementers = supergraph.api_schema().implementers_map();
        Self {
            planner: QueryPlanner::new(supergraph.clone())
                .with_location_budget(planning.location_budget),
            api,
            implementers,
            documents: moka::sync::Cache::builder()
                .max_capacity(planning.document_cache_bytes)
                .weigher(|_: &u64, prepared: &Arc<PreparedDocument>| prepared.weight)
                .build(),
            plans: moka::sync::Cache::builder()
                .max_capacity(planning.plan_cache_bytes)
                .weigher(|_: &PlanKey, planned: &Arc<PlannedOperation>| planned.weight)
                .build(),
            document_hasher: ahash::RandomState::new(),
            next_document_id: AtomicU64::new(0),
            fetcher,
            requests: RequestSettings::default(),
            hooks: None,
            inflight: Inflight::default(),
            authorization: Authorization::default(),
            subscriptions: Arc::new(crate::realtime::Subscriptions::new(
                Default::default(),
                supergraph_urls(&supergraph),
            )),
            telemetry: Telemetry::default(),
            supergraph,
        }
    }

    /// Serves subscriptions with `subscriptions` (its config and subgraph endpoints).
    pub fn with_subscriptions(mut self, subscriptions: crate::realtime::Subscriptions) -> Self {
        self.subscriptions = Arc::new(subscriptions);
        self
    }

    /// Open subscriptions, their shared upstreams and their limits.
    pub fn subscriptions(&self) -> &Arc<crate::realtime::Subscriptions> {
        &self.subscriptions
    }

    /// Records metrics in `telemetry` (and writes access log lines, if it says so).
    pub fn with_telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = telemetry;
        self
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// Enforces the supergraph's `@authenticated`, `@requiresScopes` and `@policy` as `config`
    /// says.
    pub fn with_authorization(mut self, config: &AuthorizationConfig) -> Self {
        self.authorization = Authorization::new(config, self.supergraph.access());
        self
    }

    pub fn with_request_settings(mut self, requests: RequestSettings) -> Self {
        self.requests = requests;
        self
    }

    pub fn with_hooks(mut self, hooks: Arc<dyn GatewayHooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    pub fn hooks(&self) -> Option<&Arc<dyn GatewayHooks>> {
        self.hooks.as_ref()
    }

    /// Prometheus text for `/metrics`: inbound de-duplication (when it is on) and the hooks'.
    pub fn metrics(&self, out: &mut String) {
        use std::fmt::Write;
        self.telemetry.metrics.render(
            out,
            CacheSize {
                entries: self.documents.entry_count(),
                bytes: self.documents.weighted_size(),
            },
            CacheSize {
                entries: self.plans.entry_count(),
                bytes: self.plans.weighted_size(),
            },
        );
        if self.requests.deduplicate_inbound {
            let (ran, shared) = self.inflight.counts();
            let _ = write!(
                out,
                "# HELP gateway_inbound_deduplication_total Queries by how inbound de-duplication \
                 served them: ran (executed them) or shared (got a concurrent identical query's \
                 result).\n\
                 # TYPE gateway_inbound_deduplication_total counter\n\
                 gateway_inbound_deduplication_total{{role=\"ran\"}} {ran}\n\
                 gateway_inbound_deduplication_total{{role=\"shared\"}} {shared}\n"
            );
        }
        if self.subscriptions.enabled() {
            self.subscriptions.metrics(out);
        }
        if let Some(hooks) = &self.hooks {
            hooks.metrics(out);
        }
    }

    /// What the fetches of a request need to know about it: its HTTP headers and its
    /// verified identity.
    pub fn request_context(
        &self,
        headers: &http::HeaderMap,
        identity: Option<Arc<Identity>>,
    ) -> Arc<RequestContext> {
        self.observed_request_context(headers, identity, None)
    }

    /// [`Gateway::request_context`] of a request the server observes: the gateway and the
    /// fetchers report to `record`.
    pub fn observed_request_context(
        &self,
        headers: &http::HeaderMap,
        identity: Option<Arc<Identity>>,
        record: Option<Arc<RequestRecord>>,
    ) -> Arc<RequestContext> {
        let (mut forwarded, mut subgraph_headers) = self
            .requests
            .header_rules
            .requests(headers, identity.as_deref());
        let claims = identity
            .as_deref()
            .map_or(&[][..], |identity| &identity.forwarded_headers[..]);
        if !self.requests.claim_headers.is_empty() || !claims.is_empty() {
            let maps = std::iter::once(&mut forwarded)
                .chain(subgraph_headers.iter_mut().map(|(_, map)| map));
            for map in maps {
                // A header claims are forwarded under is the gateway's to set, never the
                // client's.
                for name in &self.requests.claim_headers {
                    map.remove(name);
                }
                for (name, value) in claims {
                    map.append(name.clone(), value.clone());
                }
            }
        }
        Arc::new(RequestContext {
            headers: forwarded,
            subgraph_headers,
            user: crate::cache::scope::user_id(
                headers,
                identity.as_deref(),
                &self.requests.private,
            ),
            cache_debug: self
                .requests
                .cache_debug_header
                .as_ref()
                .is_some_and(|name| headers.contains_key(name)),
            override_labels: self.requests.override_labels.requested(headers),
            identity,
            record,
            live: None,
        })
    }

    /// Whether the playground is served (`playground:` in the config).
    pub fn playground(&self) -> bool {
        self.requests.playground
    }

    pub fn supergraph(&self) -> &Arc<Supergraph> {
        &self.supergraph
    }

    /// Runs one request.
    pub async fn execute(
        &self,
        request: GraphQLRequest,
        transport: Transport,
        context: Arc<RequestContext>,
    ) -> (Outcome, Response) {
        let record = context.record.clone();
        let (outcome, mut response) = self.execute_uncapped(request, transport, context).await;
        if self.requests.mask_subgraph_errors {
            mask_subgraph_errors(&mut response.errors);
        }
        self.requests.limits.cap_errors(&mut response.errors);
        if !response.errors.is_empty() {
            // An answer with errors may be right only now (a subgraph down): never kept.
            response.meta.cache = CachePolicy::NoStore;
        }
        if let Some(record) = record {
            record.outcome(match outcome {
                Outcome::Executed if response.errors.is_empty() => RequestOutcome::Success,
                Outcome::Executed => RequestOutcome::FieldErrors,
                Outcome::RequestError => RequestOutcome::RequestError,
                Outcome::MutationNotAllowed | Outcome::Unauthorized => RequestOutcome::Unauthorized,
                Outcome::NotAcceptable => RequestOutcome::RequestError,
            });
        }
        (outcome, response)
    }

    /// Runs one request that came over a streaming transport: a subscription or live query is
    /// planned and handed back to be opened; an operation that defers fragments (when
    /// `deferring` delivers them) is started and its payloads handed back; anything else runs
    /// as [`Gateway::execute`] runs it.
    pub async fn execute_streamed(
        self: &Arc<Self>,
        request: GraphQLRequest,
        context: Arc<RequestContext>,
        deferring: Deferring,
    ) -> Streamed {
        let prepared = self.prepare(
            &request,
            Transport::Stream,
            deferring,
            context.identity.as_deref(),
            context.record.as_deref(),
            &context.override_labels,
        );
        let prepared = match prepared {
            Ok(prepared) if prepared.planned.operation.kind == ast::OperationType::Subscription => {
                if prepared.planned.plan.subscription_fetch().is_none() {
                    // Nothing to stream (every root field filtered out, say): refused, as the
                    // planner refuses a subscription without one root field.
                    let error = GraphQLError::new(format!(
                        "cannot plan the query: {}",
                        crate::planner::PlanError::SubscriptionRoot
                    ))
                    .with_code("QUERY_PLANNING_FAILED");
                    return Streamed::Response(
                        Outcome::RequestError,
                        Response::request_errors(vec![error]),
                    );
                }
                return Streamed::Subscription(Box::new(SubscriptionPlan { prepared, context }));
            }
            Ok(prepared) if prepared.live.is_some() => {
                return Streamed::Live(Box::new(LivePlan {
                    throttle_ms: prepared.live.flatten(),
                    prepared,
                    context,
                    operation_name: request.operation_name,
                }));
            }
            Ok(prepared) if !prepared.planned.plan.deferred().is_empty() => {
                return Streamed::Incremental(self.start_incremental(prepared, context));
            }
            other => other,
        };
        let (outcome, mut response) = self
            .run_prepared(prepared, request.operation_name, context)
            .await;
        if self.requests.mask_subgraph_errors {
            mask_subgraph_errors(&mut response.errors);
        }
        self.requests.limits.cap_errors(&mut response.errors);
        Streamed::Response(outcome, response)
    }

    /// One execution of a live query: every fetch records the cache tags of its answer in
    /// `tags`, and none is answered from an entry past its freshness.
    pub async fn execute_live(
        &self,
        live: &LivePlan,
        tags: Arc<crate::executor::LiveTags>,
    ) -> Response {
        let context = Arc::new(RequestContext {
            live: Some(tags),
            ..RequestContext::clone(&live.context)
        });
        let mut response = self.run(live.prepared.clone(), context).await;
        if self.requests.mask_subgraph_errors {
            mask_subgraph_errors(&mut response.errors);
        }
        self.requests.limits.cap_errors(&mut response.errors);
        response
    }

    /// The invalidations applied from now on, for live queries; `None` without a cache.
    pub fn changes(&self) -> Option<crate::events::Changes> {
        self.hooks.as_ref()?.changes()
    }

    /// The response to one event of `subscription`'s stream: the rest of its plan run with
    /// the event as the root fetch's answer.
    pub async fn execute_event(
        &self,
        subscription: &SubscriptionPlan,
        event: crate::executor::SubgraphResponse,
    ) -> Response {
        let prepared = &subscription.prepared;
        let mut response = executor::execute_event(
            &prepared.planned.plan,
            Execution {
                supergraph: &self.supergraph,
                shape: &prepared.planned.shape,
                variables: &prepared.variables,
                fetcher: &*self.fetcher,
                introspection: None,
                context: subscription.context.clone(),
            },
            event,
        )
        .await;
        if self.requests.mask_subgraph_errors {
            mask_subgraph_errors(&mut response.errors);
        }
        self.requests.limits.cap_errors(&mut response.errors);
        response
    }

    /// Runs one request whose client accepts incremental delivery (`multipart/mixed`): an
    /// operation that defers fragments is executed with the executor's incremental API, its
    /// payloads sent as they come (by a task of its own, which stops when the receiver is
    /// dropped); anything else gets one response, as [`Gateway::execute`] gives it.
    pub async fn execute_incremental(
        self: &Arc<Self>,
        request: GraphQLRequest,
        transport: Transport,
        context: Arc<RequestContext>,
    ) -> Incremental {
        let prepared = self.prepare(
            &request,
            transport,
            Deferring::Deliver,
            context.identity.as_deref(),
            context.record.as_deref(),
            &context.override_labels,
        );
        let prepared = match prepared {
            Ok(prepared) if !prepared.planned.plan.deferred().is_empty() => prepared,
            other => {
                let (outcome, mut response) = self
                    .run_prepared(other, request.operation_name, context)
                    .await;
                self.cap_errors(&mut response.errors);
                if !response.errors.is_empty() {
                    response.meta.cache = CachePolicy::NoStore;
                }
                return Incremental::Response(outcome, response);
            }
        };
        Incremental::Stream(self.start_incremental(prepared, context))
    }

    /// Executes `prepared` (which defers fragments) with the executor's incremental API, by a
    /// task of its own that stops when the receiver is dropped.
    fn start_incremental(
        self: &Arc<Self>,
        prepared: Prepared,
        context: Arc<RequestContext>,
    ) -> tokio::sync::mpsc::Receiver<crate::executor::IncrementalPayload> {
        let (sender, receiver) = tokio::sync::mpsc::channel(16);
        let gateway = self.clone();
        tokio::spawn(async move {
            let Prepared {
                planned,
                variables,
                introspection,
                ..
            } = prepared;
            let execution = Execution {
                supergraph: &gateway.supergraph,
                shape: &planned.shape,
                variables: &variables,
                fetcher: &*gateway.fetcher,
                introspection,
                context,
            };
            executor::execute_incremental(&planned.plan, execution, sender).await;
        });
        receiver
    }

    /// Masks subgraph errors (`subgraph_errors.mask`) and caps their number, as every
    /// response's are: for payloads that do not go through [`Gateway::execute`].
    pub fn cap_errors(&self, errors: &mut Vec<GraphQLError>) {
        if self.requests.mask_subgraph_errors {
            mask_subgraph_errors(errors);
        }
        self.requests.limits.cap_errors(errors);
    }

    async fn execute_uncapped(
        &self,
        request: GraphQLRequest,
        transport: Transport,
        context: Arc<RequestContext>,
    ) -> (Outcome, Response) {
        let prepared = self.prepare(
            &request,
            transport,
            Deferring::Refuse,
            context.identity.as_deref(),
            context.record.as_deref(),
            &context.override_labels,
        );
        self.run_prepared(prepared, request.operation_name, context)
            .await
    }

    async fn run_prepared(
        &self,
        prepared: Result<Prepared, Rejected>,
        operation_name: Option<String>,
        context: Arc<RequestContext>,
    ) -> (Outcome, Response) {
        match prepared {
            Ok(prepared) => {
                let shared = self.requests.deduplicate_inbound
                    && prepared.planned.operation.kind == ast::OperationType::Query;
                let response = if shared {
                    let key = InboundKey::new(&prepared, operation_name, &context);
                    let (_, response) = self
                        .inflight
                        .run_or_join(key, self.run(prepared, context))
                        .await;
                    response
                } else {
                    self.run(prepared, context).await
                };
                (Outcome::Executed, response)
            }
            Err(Rejected::Request(errors)) => {
                (Outcome::RequestError, Response::request_errors(errors))
            }
            Err(Rejected::Unauthorized(errors)) => {
                (Outcome::Unauthorized, Response::request_errors(errors))
            }
            Err(Rejected::NotAcceptable(errors)) => {
                (Outcome::NotAcceptable, Response::request_errors(errors))
            }
            Err(Rejected::MutationOverGet) => (
                Outcome::MutationNotAllowed,
                Response::request_errors(vec![
                    GraphQLError::new("mutations cannot be sent with GET; use POST")
                        .with_code("METHOD_NOT_ALLOWED"),
                ]),
            ),
            Err(Rejected::Planning(error)) => (
                Outcome::Executed,
                Response {
                    data: Some(JsonText::null()),
                    errors: vec![*error],
                    ..Default::default()
                },
            ),
        }
    }

    /// The plan for a request, as `gateway plan` prints it.
    pub fn plan(
        &self,
        request: &GraphQLRequest,
    ) -> Result<Arc<PlannedOperation>, Vec<GraphQLError>> {
        self.plan_for(request, None)
    }

    /// The plan for a request from `identity` (what it may not see taken out).
    pub fn plan_for(
        &self,
        request: &GraphQLRequest,
        identity: Option<&Identity>,
    ) -> Result<Arc<PlannedOperation>, Vec<GraphQLError>> {
        // As a streaming transport would: every operation type has a plan.
        match self.prepare(
            request,
            Transport::Stream,
            Deferring::Deliver,
            identity,
            None,
            &[],
        ) {
            Ok(prepared) => Ok(prepared.planned),
            Err(
                Rejected::Request(errors)
                | Rejected::Unauthorized(errors)
                | Rejected::NotAcceptable(errors),
            ) => Err(errors),
            Err(Rejected::Planning(error)) => Err(vec![*error]),
            Err(Rejected::MutationOverGet) => unreachable!("POST allows mutations"),
        }
    }

    fn prepare(
        &self,
        request: &GraphQLRequest,
        transport: Transport,
        deferring: Deferring,
        identity: Option<&Identity>,
        record: Option<&RequestRecord>,
        requested_labels: &[Arc<str>],
    ) -> Result<Prepared, Rejected> {
        let query = request.query.as_deref().ok_or_else(|| {
            Rejected::Request(vec![
                GraphQLError::new("the request has no `query`").with_code("BAD_REQUEST"),
            ])
        })?;
        let traced = record.is_some_and(|r| r.traced);
        let prepared = self.document(query, traced).map_err(Rejected::Request)?;
        let document = &prepared.document;
        let operation = operation::select_operation(document, request.operation_name.as_deref())
            .map_err(request_error)?;
        if let Some(record) = record {
            record.operation(
                operation.name.as_ref(),
                OperationType::from(operation.operation_type),
            );
        }
        let measures = prepared.measures(operation);
        self.requests
            .limits
            .check_operation(&measures)
            .map_err(|exceeded| request_error(exceeded.into()))?;
        if transport == Transport::Get && operation.operation_type == ast::OperationType::Mutation {
            return Err(Rejected::MutationOverGet);
        }
        if operation.operation_type == ast::OperationType::Subscription {
            if transport != Transport::Stream {
                return Err(request_error(OperationError::SubscriptionUnsupported));
            }
            if !self.subscriptions.enabled() {
                return Err(request_error(OperationError::SubscriptionsDisabled));
            }
        }
        let empty = Map::new();
        let raw_variables = request.variables.as_ref().unwrap_or(&empty);
        let variables = operation::coerce_variables(&self.api, document, operation, raw_variables)
            .map_err(request_error)?;
        // Demand control: the estimate before any planning (one walk of the operation).
        let measured = match &self.requests.demand_control {
            None => None,
            Some(demand_control) => {
                let calculator = self.cost_calculator(document, &variables, demand_control);
                let estimate = calculator.estimate(operation);
                // In enforce mode, a list the estimate cannot size as the schema says (no
                // slicing argument, or several, where `@listSize` requires one) is refused
                // too; measure mode only counts.
                let unsliced = calculator.slicing_violations(operation);
                let enforce = demand_control.mode == crate::limits::DemandControlMode::Enforce;
                let refused = demand_control.refuses(estimate) || (enforce && !unsliced.is_empty());
                self.telemetry
                    .metrics
                    .cost
                    .observe_estimate(estimate, refused);
                if refused {
                    let errors = if enforce && !unsliced.is_empty() {
                        unsliced.iter().map(|v| v.error()).collect()
                    } else {
                        vec![demand_control.refusal(estimate)]
                    };
                    return Err(Rejected::Request(errors));
                }
                Some(MeasuredCost {
                    document: prepared.clone(),
                    operation_name: operation.name.clone(),
                })
            }
        };
        let condition = |name: &str| {
            variables
                .get(name)
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        // One bit per condition variable: the first 64 in a word, any further ones in words
        // of their own (a plan made for other values must never be reused).
        let mut bits = 0u64;
        let mut more_bits = Vec::new();
        for (i, name) in prepared.condition_variables.iter().enumerate() {
            if i > 0 && i % 64 == 0 {
                more_bits.push(0u64);
            }
            let word = more_bits.last_mut().unwrap_or(&mut bits);
            if condition(name) {
                *word |= 1 << (i % 64);
            }
        }
        let access = self.supergraph.access();
        let grants = self
            .authorization
            .is_active()
            .then(|| self.authorization.grants(identity, access));
        let grants_key = grants.as_ref().map_or(0, Grants::key);
        // Subscriptions and live queries (each of whose results is whole) ignore `@defer`.
        let live = live_directive(operation, &variables);
        let defer = deferring != Deferring::Ignore
            && prepared.uses_defer
            && live.is_none()
            && operation.operation_type != ast::OperationType::Subscription;
        // Progressive override: only the labels of fields this operation selects are drawn
        // (nothing at all for a supergraph without labels).
        let relevant_labels = prepared.override_labels(operation);
        let label_bits = if relevant_labels.is_empty() {
            Vec::new()
        } else {
            self.requests
                .override_labels
                .resolve(relevant_labels, requested_labels)
        };
        let key = (
            prepared.id,
            request.operation_name.clone(),
            bits,
            more_bits,
            grants_key,
            defer,
            label_bits.clone(),
        );
        let mut planned_now = false;
        let plan_span = spans::plan(traced);
        let planning = plan_span.enter();
        let planned = self
            .plans
            .try_get_with(key, || {
                planned_now = true;
                let started = std::time::Instant::now();
                let labels =
                    crate::progressive_override::labels_from_bits(relevant_labels, &label_bits);
                let plan = self.make_plan(
                    document,
                    operation,
                    &condition,
                    grants.as_ref(),
                    &measures,
                    PlanVariant {
                        defer,
                        labels: &labels,
                    },
                );
                self.telemetry.metrics.observe_planning(started.elapsed());
                plan
            })
            .map_err(|e| {
                Rejected::Planning(Box::new(
                    GraphQLError::new(format!("cannot plan the query: {e}"))
                        .with_code("QUERY_PLANNING_FAILED"),
                ))
            })?;
        self.telemetry.metrics.plans.record(!planned_now);
        if planned_now {
            // As for documents: evict now rather than after a batch of new plans.
            self.plans.run_pending_tasks();
        }
        // A disabled span (tracing off) would still look the field up by name.
        if !plan_span.is_disabled() {
            plan_span.record("graphql.plan.cached", !planned_now);
        }
        drop(planning);
        if deferring == Deferring::Refuse && planned.operation.has_deferred() {
            return Err(Rejected::NotAcceptable(vec![
                GraphQLError::new(
                    "the gateway received a query with the @defer directive but the client \
                     does not accept multipart/mixed HTTP responses. To enable @defer support, \
                     add the HTTP header 'Accept: multipart/mixed;deferSpec=20220824'",
                )
                .with_code("DEFER_BAD_HEADER"),
            ]));
        }
        if self.authorization.reject_unauthorized() && !planned.unauthorized.is_empty() {
            return Err(Rejected::Unauthorized(
                planned
                    .unauthorized
                    .iter()
                    .map(|path| {
                        GraphQLError::new(format!("Unauthorized field or type: {path}"))
                            .with_code(crate::executor::UNAUTHORIZED_CODE)
                            .with_extension("affectedPath", Value::String(path.clone()))
                    })
                    .collect(),
            ));
        }
        let introspection = self.introspection(document, operation, raw_variables)?;
        Ok(Prepared {
            live,
            document: prepared.id,
            planned,
            variables,
            introspection,
            grants: grants_key,
            override_labels: label_bits,
            measured,
        })
    }

    /// Normalises, filters (what `grants` may not see) and plans one operation.
    fn make_plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation: &Operation,
        condition: &dyn Fn(&str) -> bool,
        grants: Option<&Grants>,
        measures: &OperationMeasures,
        variant: PlanVariant<'_>,
    ) -> Result<Arc<PlannedOperation>, crate::planner::PlanError> {
        let PlanVariant { defer, labels } = variant;
        let access = self.supergraph.access();
        let normalized = if defer {
            NormalizedOperation::new_deferring(&self.api, document, operation, condition)
        } else {
            NormalizedOperation::new(&self.api, document, operation, condition)
        };
        let filtered =
            grants.and_then(|grants| authorization::filter(&normalized, &self.api, access, grants));
        let (operation, shape, unauthorized) = match filtered {
            Some(filtered) => (
                filtered.for_planning,
                ResponseShape::new(&self.api, &filtered.for_shape),
                filtered.unauthorized,
            ),
            None => (
                normalized.clone(),
                ResponseShape::new(&self.api, &normalized),
                Vec::new(),
            ),
        };
        self.planner
            .plan_with_labels(&operation, labels)
            .map(|plan| {
                Arc::new(PlannedOperation {
                    shape: shape.with_unplannable(&plan.unplannable),
                    operation,
                    plan,
                    unauthorized,
                    weight: plan_weight(measures),
                })
            })
    }

    /// Plans again, for this gateway's supergraph, up to `limit` of the operations `old` has
    /// plans for (a reload's warm-up, run before the swap so that the first requests on the
    /// new supergraph find their plans). Documents that no longer validate are skipped, and
    /// so are plans made for what one user may see (their grants cannot be rebuilt from the
    /// plan key). Returns how many plans it made.
    pub fn warm_from(&self, old: &Gateway, limit: usize) -> usize {
        if limit == 0 || self.authorization.is_active() {
            return 0;
        }
        let documents: std::collections::HashMap<u64, Arc<PreparedDocument>> = old
            .documents
            .iter()
            .map(|(_, prepared)| (prepared.id, prepared))
            .collect();
        let mut warmed = 0;
        for (key, _) in old.plans.iter() {
            if warmed >= limit {
                break;
            }
            let (document_id, operation_name, bits, more_bits, grants, defer, label_bits) = &*key;
            if *grants != 0 {
                continue;
            }
            let Some(old_document) = documents.get(document_id) else {
                continue;
            };
            let Ok(prepared) = self.document(old_document.text(), false) else {
                continue;
            };
            let Ok(operation) =
                operation::select_operation(&prepared.document, operation_name.as_deref())
            else {
                continue;
            };
            // The active labels by name, as bits over the new document's relevant labels
            // (a new supergraph may label other fields).
            let old_labels =
                operation::select_operation(&old_document.document, operation_name.as_deref())
                    .map(|old| {
                        crate::progressive_override::labels_from_bits(
                            old_document.override_labels(old),
                            label_bits,
                        )
                    })
                    .unwrap_or_default();
            let relevant = prepared.override_labels(operation);
            let mut new_label_bits = vec![0u64; relevant.len().div_ceil(64)];
            for (i, label) in relevant.iter().enumerate() {
                if old_labels.contains(label) {
                    new_label_bits[i / 64] |= 1 << (i % 64);
                }
            }
            let labels = crate::progressive_override::labels_from_bits(relevant, &new_label_bits);
            let new_key = (
                prepared.id,
                operation_name.clone(),
                *bits,
                more_bits.clone(),
                0,
                *defer,
                new_label_bits,
            );
            if self.plans.contains_key(&new_key) {
                continue;
            }
            // The same document gives the same condition variables in the same order: bit i
            // is the i-th one's value, as `prepare` set it.
            let condition = |name: &str| {
                prepared
                    .condition_variables
                    .iter()
                    .position(|variable| variable == name)
                    .is_some_and(|i| {
                        let word = if i < 64 {
                            *bits
                        } else {
                            more_bits.get(i / 64 - 1).copied().unwrap_or(0)
                        };
                        word & (1 << (i % 64)) != 0
                    })
            };
            let measures = prepared.measures(operation);
            if let Ok(planned) = self.make_plan(
                &prepared.document,
                operation,
                &condition,
                None,
                &measures,
                PlanVariant {
                    defer: *defer,
                    labels: &labels,
                },
            ) {
                self.plans.insert(new_key, planned);
                warmed += 1;
            }
        }
        self.plans.run_pending_tasks();
        warmed
    }

    fn cost_calculator<'a>(
        &'a self,
        document: &'a ExecutableDocument,
        variables: &'a Map<String, Value>,
        demand_control: &crate::limits::DemandControlConfig,
    ) -> crate::limits::CostCalculator<'a> {
        crate::limits::CostCalculator {
            schema: self.supergraph.api_schema(),
            rules: self.supergraph.costs(),
            document,
            variables,
            default_list_size: demand_control.list_size,
        }
    }

    /// Demand control's actual cost of a response: its data parsed again (only when demand
    /// control is on) and walked with the operation.
    fn measure_actual_cost(
        &self,
        measured: Option<&MeasuredCost>,
        variables: &Map<String, Value>,
        response: &Response,
    ) {
        let (Some(measured), Some(demand_control)) = (measured, &self.requests.demand_control)
        else {
            return;
        };
        let Some(data) = &response.data else { return };
        let Ok(operation) = operation::select_operation(
            &measured.document.document,
            measured.operation_name.as_ref().map(Name::as_str),
        ) else {
            return;
        };
        let Ok(data) = serde_json::from_str::<Value>(data.as_str()) else {
            return;
        };
        let calculator =
            self.cost_calculator(&measured.document.document, variables, demand_control);
        self.telemetry
            .metrics
            .cost
            .observe_actual(calculator.actual(operation, &data));
    }

    async fn run(&self, mut prepared: Prepared, context: Arc<RequestContext>) -> Response {
        let measured = prepared.measured.take();
        let query = prepared.planned.operation.kind == ast::OperationType::Query;
        let span = spans::execute(context.traced());
        let mut response = executor::execute(
            &prepared.planned.plan,
            Execution {
                supergraph: &self.supergraph,
                shape: &prepared.planned.shape,
                variables: &prepared.variables,
                fetcher: &*self.fetcher,
                introspection: prepared.introspection,
                context,
            },
        )
        .instrument(span)
        .await;
        if !query {
            response.meta.cache = CachePolicy::NoStore;
        }
        self.measure_actual_cost(measured.as_ref(), &prepared.variables, &response);
        response
    }

    /// The parsed and validated document for `query`, from the cache when it is there.
    fn document(
        &self,
        query: &str,
        traced: bool,
    ) -> Result<Arc<PreparedDocument>, Vec<GraphQLError>> {
        let span = spans::parse_validate(traced);
        let _entered = span.enter();
        let key = self.document_hasher.hash_one(query);
        let cached = self.documents.get(&key);
        if let Some(found) = &cached
            && found.text() == query
        {
            self.telemetry.metrics.documents.record(true);
            if !span.is_disabled() {
                span.record("graphql.document.cached", true);
            }
            return Ok(found.clone());
        }
        self.telemetry.metrics.documents.record(false);
        if !span.is_disabled() {
            span.record("graphql.document.cached", false);
        }
        let limits = &self.requests.limits;
        let parsed = operation::parse_document(&self.api, query, limits).map_err(|e| {
            let mut errors = e.to_graphql_errors();
            limits.cap_errors(&mut errors);
            errors
        })?;
        let document = parsed.document;
        limits
            .check_document(&document)
            .map_err(|exceeded| vec![exceeded.to_graphql_error()])?;
        let measures = document
            .operations
            .iter()
            .map(|operation| {
                (
                    operation.name.clone(),
                    crate::limits::measure(&document, operation),
                )
            })
            .collect();
        let override_labels = if self.supergraph.override_labels().is_empty() {
            Vec::new()
        } else {
            document
                .operations
                .iter()
                .map(|operation| {
                    (
                        operation.name.clone(),
                        crate::progressive_override::relevant_labels(
                            &self.supergraph,
                            &document,
                            operation,
                        ),
                    )
                })
                .collect()
        };
        let prepared = Arc::new(PreparedDocument {
            override_labels,
            id: self.next_document_id.fetch_add(1, Ordering::Relaxed),
            condition_variables: condition_variables(&document),
            uses_defer: crate::operation::defer::uses_defer(&document),
            document,
            measures,
            weight: document_weight(query, parsed.tokens),
        });
        // A different text under the same hash (one in 2⁶⁴) is served, not cached.
        if cached.is_none() {
            self.documents.insert(key, prepared.clone());
        }
        // moka evicts in batches of pending writes; a burst of large documents would overshoot
        // the byte bound by up to a batch of them. Misses pay for parsing already.
        self.documents.run_pending_tasks();
        Ok(prepared)
    }

    /// Answers `__schema` and `__type` from the API schema, when the operation asks for them.
    fn introspection(
        &self,
        document: &Valid<ExecutableDocument>,
        operation: &Operation,
        variables: &Map<String, Value>,
    ) -> Result<Option<Introspection>, Rejected> {
        let asks = operation
            .root_fields(document)
            .any(|f| matches!(f.name.as_str(), "__schema" | "__type"));
        if !asks {
            return Ok(None);
        }
        if !self.requests.introspection {
            return Err(Rejected::Request(vec![
                GraphQLError::new("introspection is disabled on this gateway")
                    .with_code("INTROSPECTION_DISABLED"),
            ]));
        }
        let schema = self.api.schema();
        let introspection_error = |message: String| {
            Rejected::Request(vec![
                GraphQLError::new(message).with_code("INTROSPECTION_FAILED"),
            ])
        };
        apollo_compiler::introspection::check_max_depth(document, operation)
            .map_err(|e| introspection_error(e.message().to_string()))?;
        let input: apollo_compiler::response::JsonMap = variables
            .iter()
            .map(|(k, v)| (k.as_str().into(), serde_json_bytes::Value::from(v.clone())))
            .collect();
        let coerced = apollo_compiler::request::coerce_variable_values(schema, operation, &input)
            .map_err(|e| introspection_error(e.message().to_string()))?;
        let response = apollo_compiler::introspection::partial_execute(
            schema,
            &self.implementers,
            document,
            operation,
            &coerced,
        )
        .map_err(|e| introspection_error(e.message().to_string()))?;
        // Kept as apollo-compiler wrote it, in the query's order.
        let entries = response
            .data
            .into_iter()
            .flatten()
            .filter_map(|(key, value)| {
                let text = serde_json::to_string(&value).ok()?;
                let raw = serde_json::value::RawValue::from_string(text).ok()?;
                Some((key.as_str().to_string(), raw))
            })
            .collect();
        Ok(Some(entries))
    }
}

#[derive(Clone)]
struct Prepared {
    /// `Some` for a query marked `@live`, with its `throttle:` argument.
    live: Option<Option<u64>>,
    /// The prepared document's id.
    document: u64,
    /// [`Grants::key`] of the request.
    grants: u64,
    planned: Arc<PlannedOperation>,
    variables: Map<String, Value>,
    introspection: Option<Introspection>,
    /// Which progressive override labels are active (the plan key's bits).
    override_labels: Vec<u64>,
    /// What demand control measures the response against, when it is on.
    measured: Option<MeasuredCost>,
}

/// The operation whose response's actual cost is measured (demand control).
#[derive(Clone)]
struct MeasuredCost {
    document: Arc<PreparedDocument>,
    operation_name: Option<Name>,
}

enum Rejected {
    Request(Vec<GraphQLError>),
    /// Selections the request may not see, with `reject_unauthorized`.
    Unauthorized(Vec<GraphQLError>),
    MutationOverGet,
    Planning(Box<GraphQLError>),
    /// `@defer` over a transport that cannot deliver it.
    NotAcceptable(Vec<GraphQLError>),
}

/// `Some(throttle)` for a query marked `@live` (validation allows it on queries only), with
/// its `throttle:` argument in milliseconds (a literal or a variable; negative ones ignored).
fn live_directive(operation: &Operation, variables: &Map<String, Value>) -> Option<Option<u64>> {
    let directive = operation.directives.get("live")?;
    let throttle = directive
        .specified_argument_by_name("throttle")
        .and_then(|value| match value.as_ref() {
            ast::Value::Int(int) => int.try_to_i32().ok().map(i64::from),
            ast::Value::Variable(name) => variables.get(name.as_str()).and_then(Value::as_i64),
            _ => None,
        })
        .and_then(|ms| u64::try_from(ms).ok());
    Some(throttle)
}

fn request_error(error: OperationError) -> Rejected {
    Rejected::Request(error.to_graphql_errors())
}

/// Each subgraph's routing URL, by name.
fn supergraph_urls(supergraph: &Supergraph) -> Vec<(String, String)> {
    supergraph
        .subgraphs()
        .iter()
        .map(|s| (s.name.to_string(), s.url.to_string()))
        .collect()
}

/// The variables used as `@skip(if:)` / `@include(if:)` conditions anywhere in the document.
fn condition_variables(document: &Valid<ExecutableDocument>) -> Vec<Name> {
    use apollo_compiler::executable::{Selection, SelectionSet};
    fn visit(set: &SelectionSet, out: &mut Vec<Name>) {
        for selection in &set.selections {
            for directive in selection.directives().iter() {
                if (directive.name == "skip"
                    || directive.name == "include"
                    || directive.name == "defer")
                    && let Some(ast::Value::Variable(name)) = directive
                        .specified_argument_by_name("if")
                        .map(|v| v.as_ref())
                    && !out.contains(name)
                {
                    out.push(name.clone());
                }
            }
            match selection {
                Selection::Field(f) => visit(&f.selection_set, out),
                Selection::InlineFragment(f) => visit(&f.selection_set, out),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    for operation in document.operations.iter() {
        visit(&operation.selection_set, &mut out);
    }
    for fragment in document.fragments.values() {
        visit(&fragment.selection_set, &mut out);
    }
    out
}

/// Bytes a cached document takes, estimated from its size: the text (kept once, as the
/// document's source) and an AST node of about 160 bytes per token. Measured with
/// the demo queries, the estimate is above the real size (docs/config.md).
fn document_weight(query: &str, tokens: usize) -> u32 {
    let bytes = query.len() + 160 * tokens + 512;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// Bytes a cached plan takes, estimated from its operation's expanded size: the normalised
/// operation, its response shape and the fetches' selections each hold every field.
fn plan_weight(measures: &OperationMeasures) -> u32 {
    let bytes = 2048u64.saturating_add(measures.fields.saturating_mul(512));
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// The message clients see in place of a subgraph's own (`subgraph_errors.mask`).
const MASKED_MESSAGE: &str = "subgraph error (its message is masked; see the gateway's log)";

/// Replaces the message of every error that came from a subgraph (those naming one in
/// `extensions.serviceName`) with a generic one, after logging it: subgraph messages and
/// connection failures can reveal internals (hosts, stack traces, SQL) to clients.
fn mask_subgraph_errors(errors: &mut [GraphQLError]) {
    for error in errors {
        let Some(service) = error.extensions.get("serviceName") else {
            continue;
        };
        tracing::warn!(
            subgraph = %service,
            code = ?error.extensions.get("code"),
            path = ?error.path,
            "masked subgraph error: {}",
            error.message
        );
        error.message = MASKED_MESSAGE.to_string();
    }
}
