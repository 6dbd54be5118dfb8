//! The plan cache: a plan is reused only for the values it was made for.

use gateway::config::Config;
use gateway::gateway::GraphQLRequest;
use gateway::startup::build_gateway;
use gateway::supergraph::Supergraph;
use serde_json::{Map, Value};

const DEMO: &str = include_str!("../../schema/supergraph.graphql");

#[test]
fn more_than_64_skip_and_include_variables_each_select_the_plan() {
    // Found by the fuzzer's author: only the first 64 condition variables were in the key.
    let gateway =
        build_gateway(Supergraph::parse(DEMO).expect("loads"), &Config::default()).expect("builds");
    let count = 70;
    let definitions: Vec<String> = (0..count).map(|i| format!("$v{i}: Boolean!")).collect();
    let fields: String = (0..count)
        .map(|i| format!("f{i}: me {{ id @include(if: $v{i}) }} "))
        .collect();
    let query = format!("query({}) {{ {fields}}}", definitions.join(", "));
    let plan = |last: bool| {
        let mut variables = Map::new();
        for i in 0..count {
            variables.insert(format!("v{i}"), Value::Bool(i == count - 1 && last));
        }
        let request = GraphQLRequest {
            query: Some(query.clone()),
            variables: Some(variables),
            ..Default::default()
        };
        gateway.plan(&request).expect("plans").plan.to_string()
    };
    let without = plan(false);
    let with = plan(true);
    assert_ne!(with, without);
    assert!(with.contains("f69: me {\n        id"), "{with}");
    assert!(!without.contains("id"), "{without}");
    // And each is served again from the cache for its own values.
    assert_eq!(plan(false), without);
    assert_eq!(plan(true), with);
}
