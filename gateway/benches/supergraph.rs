//! Loading the supergraph: `Supergraph::parse` of `schema/supergraph.graphql` (the SDL
//! already in memory), and building a whole gateway from it as `gateway serve` does at startup.
//!
//! `cargo bench -p gateway --bench supergraph`; see docs/benchmarks.md.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use gateway::config::Config;
use gateway::startup::build_gateway;
use gateway::supergraph::Supergraph;

fn demo_sdl() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn load(c: &mut Criterion) {
    let sdl = demo_sdl();
    let mut group = c.benchmark_group("supergraph");
    group.bench_function("parse/demo", |b| {
        b.iter(|| Supergraph::parse(black_box(&sdl)).expect("the demo supergraph loads"))
    });
    // Parse, then the API schema, the planner and the caches: what startup costs in all.
    let config = Config::default();
    group.bench_function("build_gateway/demo", |b| {
        b.iter(|| {
            let supergraph = Supergraph::parse(black_box(&sdl)).expect("the demo supergraph loads");
            build_gateway(supergraph, &config).expect("the gateway builds")
        })
    });
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
