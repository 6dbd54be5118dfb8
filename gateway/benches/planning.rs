//! Query planning, cold: every measured call plans on a gateway whose document and plan caches
//! are empty, so it parses and validates the document, normalises the operation and plans it,
//! as the first request of a kind does. Queries over the demo supergraph
//! (`schema/supergraph.graphql`) and over the planner's test fixtures
//! (`gateway/tests/fixtures/*/supergraph.graphql`).
//!
//! Also, for the demo queries, the planner alone on an operation normalised beforehand
//! (`QueryPlanner::plan`), and the deep query through warm caches (what a repeated request
//! pays before execution).
//!
//! `cargo bench -p gateway --bench planning`; see docs/benchmarks.md.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gateway::config::QueryPlanningConfig;
use gateway::executor::{FetchError, FetchFuture, FetchRequest, Fetcher};
use gateway::gateway::{Gateway, GraphQLRequest};
use gateway::limits::LimitsConfig;
use gateway::operation::{self, ApiSchema, NormalizedOperation};
use gateway::planner::QueryPlanner;
use gateway::supergraph::Supergraph;

/// The load benchmark's queries (benches/load/run.py) and the README's example.
const DEMO_QUERIES: &[(&str, &str)] = &[
    (
        "deep",
        "{ users { id name reviews { id body product { upc name price shippingEstimate \
         reviews { id body author { id name username } } } } } }",
    ),
    ("small", "{ topProducts(first: 3) { upc name } }"),
    (
        "small-join",
        "{ topProducts(first: 3) { upc name inStock } }",
    ),
    (
        "readme",
        "{ topProducts(first: 2) { name price inStock shippingEstimate \
         reviews { body author { username name } } } }",
    ),
    (
        "mutation",
        r#"mutation { addReview(productUpc: "1", authorId: "1", body: "ok", rating: 5) { id product { name inStock } } }"#,
    ),
];

/// One query per fixture, from the plan snapshot tests (gateway/tests/plans_*.rs).
const FIXTURE_QUERIES: &[(&str, &str)] = &[
    (
        "abstract_types",
        "{ feed { ... on Post { title likes } ... on Photo { url likes } } }",
    ),
    (
        "aliases",
        "{ accounts { ... on User { id name } ... on Admin { id name } } }",
    ),
    (
        "entities",
        r#"{ order(id: "1") { items { quantity warehouse { address } } buyer { reviews { body } } } }"#,
    ),
    ("inaccessible", "{ users { id name role lastLogin } }"),
    (
        "merging",
        "{ users { id reviews { body } } topProducts { name reviews { stars } addedBy { name reviews { body } } } }",
    ),
    (
        "interface_object",
        "{ topRated { __typename rating ... on Book { pages } } }",
    ),
    (
        "mutations",
        r#"mutation { first: addItem(name: "a") { id tags } tagged: tagItem(id: "1", tag: "new") { name } second: addItem(name: "b") { id } }"#,
    ),
    ("override", r#"{ account(id: "1") { plan balance } }"#),
    ("provides", "{ topReviews { author { username name } } }"),
    (
        "requires",
        "{ products { totalCost price(currency: EUR) shippingCost packaging } }",
    ),
    (
        "shareable",
        r#"{ search(term: "lamp") { name description price } }"#,
    ),
];

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn demo_sdl() -> String {
    read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql"))
}

fn fixture_sdl(fixture: &str) -> String {
    read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture)
            .join("supergraph.graphql"),
    )
}

fn request(query: &str) -> GraphQLRequest {
    GraphQLRequest {
        query: Some(query.to_string()),
        ..Default::default()
    }
}

/// Planning does no I/O: the gateways here never fetch.
struct NoFetch;

impl Fetcher for NoFetch {
    fn fetch(&self, _: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async { Err(FetchError::UnknownSubgraph) })
    }
}

/// A gateway with empty document and plan caches, as after startup.
fn fresh_gateway(supergraph: &Arc<Supergraph>) -> Gateway {
    Gateway::new(
        supergraph.clone(),
        Arc::new(NoFetch),
        &QueryPlanningConfig::default(),
    )
}

/// Benchmarks `Gateway::plan` of each query on a fresh gateway (built outside the timing).
fn plan_cold(c: &mut Criterion, group_name: &str, queries: &[(&str, &str, Arc<Supergraph>)]) {
    let mut group = c.benchmark_group(group_name);
    for (name, query, supergraph) in queries {
        let request = request(query);
        // Planning must succeed, or the benchmark would time an error path.
        if let Err(errors) = fresh_gateway(supergraph).plan(&request) {
            panic!("{group_name}/{name}: planning failed: {errors:?}");
        }
        group.bench_function(*name, |b| {
            b.iter_batched(
                || fresh_gateway(supergraph),
                |gateway| {
                    let planned = gateway.plan(black_box(&request)).expect("plans");
                    // Dropped outside the timing, with the gateway.
                    (gateway, planned)
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn planning(c: &mut Criterion) {
    let demo = Arc::new(Supergraph::parse(&demo_sdl()).expect("the demo supergraph loads"));
    let demo_queries: Vec<_> = DEMO_QUERIES
        .iter()
        .map(|(name, query)| (*name, *query, demo.clone()))
        .collect();
    plan_cold(c, "plan_cold/demo", &demo_queries);

    let fixture_queries: Vec<_> = FIXTURE_QUERIES
        .iter()
        .map(|(fixture, query)| {
            let supergraph = Supergraph::parse(&fixture_sdl(fixture))
                .unwrap_or_else(|e| panic!("fixture {fixture}: {e}"));
            (*fixture, *query, Arc::new(supergraph))
        })
        .collect();
    plan_cold(c, "plan_cold/fixtures", &fixture_queries);

    // The planner alone: the operation parsed, validated and normalised beforehand.
    let api = ApiSchema::new(demo.api_schema().clone());
    let planner = QueryPlanner::new(demo.clone());
    let mut group = c.benchmark_group("planner_only/demo");
    for (name, query) in DEMO_QUERIES {
        let document = operation::parse_document(&api, query, &LimitsConfig::unlimited())
            .expect("the query is valid")
            .document;
        let operation = operation::select_operation(&document, None).expect("one operation");
        let normalized = NormalizedOperation::new(&api, &document, operation, &|_| false);
        planner.plan(&normalized).expect("plans");
        group.bench_function(*name, |b| {
            // The plan is dropped outside the timing, as in `plan_cold`.
            b.iter_with_large_drop(|| planner.plan(black_box(&normalized)).expect("plans"))
        });
    }
    group.finish();

    // Warm: the document and plan come from the caches.
    let gateway = fresh_gateway(&demo);
    let deep = request(DEMO_QUERIES[0].1);
    gateway.plan(&deep).expect("plans");
    c.bench_function("plan_warm/demo/deep", |b| {
        b.iter(|| gateway.plan(black_box(&deep)).expect("plans"))
    });
}

criterion_group!(benches, planning);
criterion_main!(benches);
