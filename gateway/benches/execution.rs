//! Executing a planned query and serialising the merged response, from canned subgraph answers:
//! the gateway's own work for a request, without the network or the subgraphs.
//!
//! At start the four demo services run in this process on free loopback ports, and the load
//! benchmark's queries go once through a gateway whose fetcher records what each subgraph
//! answered (wrapping the real `HttpFetcher`). The services then stop, and a gateway whose
//! fetcher replays the recorded answers (their JSON text, read per fetch as `HttpFetcher`
//! reads a body) is measured:
//! `Gateway::execute` (with warm document and plan caches, as in steady state), and
//! `Gateway::execute` + `Response::to_bytes`, which is what the server sends.
//!
//! `cargo bench -p gateway --bench execution`; see docs/benchmarks.md.

/// The allocator the gateway binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gateway::config::QueryPlanningConfig;
use gateway::executor::{FetchError, FetchFuture, FetchRequest, Fetcher, SubgraphResponse};
use gateway::fetch::{HttpFetcher, SubgraphEndpoint, read_response};
use gateway::gateway::{Gateway, GraphQLRequest, Outcome, Transport};
use gateway::supergraph::Supergraph;
use subgraphs::Service;

/// The load benchmark's scenarios (a), (b) and small-join (benches/load/run.py).
const QUERIES: &[(&str, &str)] = &[
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
];

/// Recorded answers: subgraph name → operation text → answer. Within one query every fetch of
/// the plan sends a different operation to its subgraph, so the two identify a fetch.
type Answers = HashMap<String, HashMap<String, SubgraphResponse>>;

/// The recorded answers as the JSON text a subgraph sends.
type AnswerBodies = HashMap<String, HashMap<String, Vec<u8>>>;

fn bodies(answers: &Answers) -> AnswerBodies {
    answers
        .iter()
        .map(|(subgraph, by_operation)| {
            let by_operation = by_operation
                .iter()
                .map(|(operation, answer)| {
                    let mut body = serde_json::Map::new();
                    if let Some(data) = &answer.data {
                        body.insert("data".into(), data.into());
                    }
                    if !answer.errors.is_empty() {
                        let errors = serde_json::to_value(&answer.errors).expect("JSON errors");
                        body.insert("errors".into(), errors);
                    }
                    let text = serde_json::to_vec(&body).expect("JSON text");
                    (operation.clone(), text)
                })
                .collect();
            (subgraph.clone(), by_operation)
        })
        .collect()
}

/// Forwards to the demo services and keeps a copy of every answer.
struct Recorder {
    inner: HttpFetcher,
    answers: Mutex<Answers>,
}

impl Fetcher for Recorder {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async move {
            let subgraph = request.subgraph_name.to_string();
            let operation = request.operation.to_string();
            let response = self.inner.fetch(request).await?;
            let mut answers = self.answers.lock().expect("not poisoned");
            let previous = answers
                .entry(subgraph.clone())
                .or_default()
                .insert(operation, response.clone());
            // Two queries may send the same fetch (small and small-join both start with
            // products' topProducts); it must have had the same answer.
            assert!(
                previous.is_none_or(|p| p.data == response.data && p.errors == response.errors),
                "two fetches to {subgraph} with the same operation and different answers: the replay could not tell them apart"
            );
            Ok(response)
        })
    }
}

/// Answers every fetch by reading the recorded answer's text.
struct Replay {
    answers: AnswerBodies,
}

impl Fetcher for Replay {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        let answer = self
            .answers
            .get(&*request.subgraph_name)
            .and_then(|by_operation| by_operation.get(&*request.operation));
        Box::pin(async move {
            let body = answer.ok_or_else(|| {
                FetchError::InvalidResponse(format!(
                    "no recorded answer from {} to {}",
                    request.subgraph_name, request.operation
                ))
            })?;
            let answer = read_response(200, None, body)?;
            if let Some(entities) = &request.entities {
                let recorded = answer
                    .data
                    .as_ref()
                    .and_then(|data| data["_entities"].as_array())
                    .map_or(0, Vec::len);
                assert_eq!(
                    recorded,
                    entities.representations.len(),
                    "the replayed entity fetch to {} asks for other entities than recorded",
                    request.subgraph_name
                );
            }
            Ok(answer)
        })
    }
}

fn demo_supergraph() -> Arc<Supergraph> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql");
    let sdl = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Arc::new(Supergraph::parse(&sdl).expect("the demo supergraph loads"))
}

fn request(query: &str) -> GraphQLRequest {
    GraphQLRequest {
        query: Some(query.to_string()),
        ..Default::default()
    }
}

/// Runs the demo services in-process, sends every query once through a recording gateway, and
/// returns the recorded answers with each query's response as the services produced it.
fn record(supergraph: &Arc<Supergraph>) -> (Answers, Vec<Vec<u8>>) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let mut urls = HashMap::new();
        for service in Service::ALL {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free loopback port");
            let address = listener.local_addr().expect("a bound address");
            urls.insert(service.name(), format!("http://{address}/graphql"));
            tokio::spawn(subgraphs::serve(service, listener));
        }
        let endpoints = supergraph
            .subgraphs()
            .iter()
            .map(|subgraph| {
                SubgraphEndpoint::new(
                    &*subgraph.name,
                    urls[&*subgraph.name].clone(),
                    Duration::from_secs(30),
                )
            })
            .collect();
        let recorder = Arc::new(Recorder {
            inner: HttpFetcher::new(endpoints),
            answers: Mutex::new(HashMap::new()),
        });
        let gateway = Gateway::new(
            supergraph.clone(),
            recorder.clone(),
            &QueryPlanningConfig::default(),
        );
        let mut responses = Vec::new();
        for (name, query) in QUERIES {
            let (outcome, response) = gateway
                .execute(request(query), Transport::Post, Default::default())
                .await;
            assert!(
                outcome == Outcome::Executed && response.errors.is_empty(),
                "{name}: the demo services answered with errors: {:?}",
                response.errors
            );
            responses.push(response.to_bytes());
        }
        let answers = std::mem::take(&mut *recorder.answers.lock().expect("not poisoned"));
        (answers, responses)
    })
    // Dropping the runtime stops the services.
}

fn execution(c: &mut Criterion) {
    let supergraph = demo_supergraph();
    let (answers, expected) = record(&supergraph);
    let gateway = Gateway::new(
        supergraph,
        Arc::new(Replay {
            answers: bodies(&answers),
        }),
        &QueryPlanningConfig::default(),
    );
    // Fetches complete at once, so one thread is enough; `Parallel` nodes still run as
    // concurrent futures.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    let execute = |request: &GraphQLRequest| {
        runtime.block_on(gateway.execute(request.clone(), Transport::Post, Default::default()))
    };

    let mut group = c.benchmark_group("execute");
    for ((name, query), expected) in QUERIES.iter().zip(&expected) {
        let request = request(query);
        // The replay must give the response the services gave (this also warms the caches).
        let (_, response) = execute(&request);
        let bytes = response.to_bytes();
        assert!(
            &bytes == expected,
            "{name}: the replayed response differs from the recorded one"
        );
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("{name}/execute"), |b| {
            b.iter(|| execute(black_box(&request)))
        });
        group.bench_function(format!("{name}/execute_and_serialize"), |b| {
            b.iter(|| {
                let (_, response) = execute(black_box(&request));
                response.to_bytes()
            })
        });
        group.bench_function(format!("{name}/serialize"), |b| {
            b.iter(|| black_box(&response).to_bytes())
        });
    }
    group.finish();
}

criterion_group!(benches, execution);
criterion_main!(benches);
