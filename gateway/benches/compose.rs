//! Composing the four demo subgraphs (`schema/supergraph.yaml`) into the supergraph, as
//! `gateway compose` does in CI: parse and validate each subgraph, merge, check, write the
//! SDL, check satisfiability. The SDL files are read beforehand: disk time is not measured.
//!
//! `cargo bench -p gateway --bench compose`; see docs/benchmarks.md.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::compose::config::SupergraphConfig;
use gateway::compose::{SubgraphInput, compose};

fn demo_inputs() -> Vec<SubgraphInput> {
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema");
    let config: SupergraphConfig = serde_yaml::from_str(
        &std::fs::read_to_string(schema.join("supergraph.yaml")).expect("supergraph.yaml reads"),
    )
    .expect("supergraph.yaml parses");
    config
        .subgraphs
        .iter()
        .map(|(name, subgraph)| {
            let file = subgraph
                .schema
                .file
                .as_ref()
                .expect("the demo SDLs are files");
            let path = schema.join(file);
            SubgraphInput {
                name: name.clone(),
                url: subgraph.routing_url.clone().unwrap_or_default(),
                sdl: std::fs::read_to_string(&path).expect("a demo SDL reads"),
                path,
            }
        })
        .collect()
}

fn composition(c: &mut Criterion) {
    let inputs = demo_inputs();
    // What CI checks: the composed supergraph is the checked-in one.
    let checked_in = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql"),
    )
    .expect("schema/supergraph.graphql reads");
    let composed = compose(inputs.clone())
        .supergraph
        .expect("the demo composes");
    assert_eq!(
        composed, checked_in,
        "composition gives the checked-in supergraph"
    );

    c.bench_function("compose/demo", |b| {
        b.iter(|| compose(black_box(inputs.clone())).supergraph)
    });
}

criterion_group!(benches, composition);
criterion_main!(benches);
