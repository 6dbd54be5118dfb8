//! Shared by the plan snapshot tests: load a fixture supergraph and print the plan of a query.

use std::path::PathBuf;

use gateway::config::Config;
use gateway::gateway::{Gateway, GraphQLRequest};
use gateway::startup::{build_gateway, load_supergraph};

/// A gateway over `tests/fixtures/<fixture>/supergraph.graphql` (subgraphs never contacted).
pub fn gateway(fixture: &str) -> Gateway {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture)
        .join("supergraph.graphql");
    let supergraph = load_supergraph(&path).expect("fixture supergraph loads");
    build_gateway(supergraph, &Config::default()).expect("gateway builds")
}

/// The printed plan of `query` over a fixture supergraph.
pub fn plan(fixture: &str, query: &str) -> String {
    plan_with(fixture, query, None)
}

/// The printed plan of `query` with `variables` (they select `@skip`/`@include` branches).
pub fn plan_with(fixture: &str, query: &str, variables: Option<serde_json::Value>) -> String {
    let request = GraphQLRequest {
        query: Some(query.to_string()),
        operation_name: None,
        variables: variables.map(|v| v.as_object().expect("variables object").clone()),
        ..Default::default()
    };
    match gateway(fixture).plan(&request) {
        Ok(planned) => planned.plan.to_string(),
        Err(errors) => panic!("planning failed: {errors:?}"),
    }
}
