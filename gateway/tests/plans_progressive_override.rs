//! Plans for progressive override (`@override(label:)`): a labelled field is resolved by the
//! overriding subgraph when its label is active for the request, by the subgraph it is
//! overridden from otherwise. `percent(0)` and `percent(100)` are deterministic; a custom label
//! is active when the config (or a request header rule) says so.

use std::path::PathBuf;

use gateway::config::Config;
use gateway::gateway::{Gateway, GraphQLRequest};
use gateway::startup::{build_gateway, load_supergraph};

fn gateway_with(active: &[&str]) -> Gateway {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/progressive_override/supergraph.graphql");
    let supergraph = load_supergraph(&path).expect("fixture supergraph loads");
    let mut config = Config::default();
    config.override_labels.active = active.iter().map(|s| s.to_string()).collect();
    build_gateway(supergraph, &config).expect("gateway builds")
}

fn plan(gateway: &Gateway, query: &str) -> String {
    let request = GraphQLRequest {
        query: Some(query.to_string()),
        ..Default::default()
    };
    match gateway.plan(&request) {
        Ok(planned) => planned.plan.to_string(),
        Err(errors) => panic!("planning failed: {errors:?}"),
    }
}

#[test]
fn percent_100_is_always_the_overriding_subgraph_and_percent_0_never() {
    let gateway = gateway_with(&[]);
    let query = r#"{ account(id: "1") { plan balance credit } }"#;
    // Planned many times: a draw per request, but these two never vary.
    let first = plan(&gateway, query);
    for _ in 0..20 {
        assert_eq!(plan(&gateway, query), first);
    }
    insta::assert_snapshot!(first, @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "legacy") {
          {
            account(id: "1") {
              balance
              credit
              id
            }
          }
        },
        Flatten(path: "account") {
          Fetch(service: "billing") {
            {
              ... on Account {
                __typename
                id
              }
            } =>
            {
              ... on Account {
                plan
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn a_custom_label_off_leaves_the_field_with_the_original_subgraph() {
    let gateway = gateway_with(&[]);
    insta::assert_snapshot!(plan(&gateway, r#"{ account(id: "1") { tier credit } }"#), @r#"
    QueryPlan {
      Fetch(service: "legacy") {
        {
          account(id: "1") {
            tier
            credit
          }
        }
      },
    }
    "#);
}

#[test]
fn a_custom_label_on_in_config_moves_the_field_to_the_overriding_subgraph() {
    let gateway = gateway_with(&["beta"]);
    insta::assert_snapshot!(plan(&gateway, r#"{ account(id: "1") { tier credit } }"#), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "legacy") {
          {
            account(id: "1") {
              credit
              id
            }
          }
        },
        Flatten(path: "account") {
          Fetch(service: "billing") {
            {
              ... on Account {
                __typename
                id
              }
            } =>
            {
              ... on Account {
                tier
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn operations_without_labelled_fields_have_one_plan_whatever_the_labels() {
    // Unrelated operations are not multiplied in the plan cache: their key has no label bits.
    let off = gateway_with(&[]);
    let on = gateway_with(&["beta"]);
    let query = r#"{ account(id: "1") { credit } }"#;
    assert_eq!(plan(&off, query), plan(&on, query));
}

#[test]
fn a_label_without_the_overridden_side_leaves_the_field_where_it_is() {
    // `billing` overrides `plan` from a subgraph outside the composition: composition writes
    // the label on billing's side only, and billing resolves the field whatever the labels.
    let legacy = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
type Query { account(id: ID!): Account }
type Account @key(fields: "id") { id: ID! balance: Int! }
"#;
    let billing = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
type Account @key(fields: "id") { id: ID! plan: String! @override(from: "gone", label: "beta") }
"#;
    let input = |name: &str, sdl: &str| gateway::compose::SubgraphInput {
        name: name.into(),
        url: format!("http://{name}.invalid/graphql"),
        sdl: sdl.into(),
        path: format!("{name}.graphql").into(),
    };
    let composition =
        gateway::compose::compose(vec![input("legacy", legacy), input("billing", billing)]);
    let supergraph = composition.supergraph.expect("composes");
    assert!(
        supergraph.contains(r#"override: "gone", overrideLabel: "beta""#),
        "{supergraph}"
    );
    let supergraph = gateway::supergraph::Supergraph::parse(&supergraph).expect("loads");
    let gateway = build_gateway(supergraph, &Config::default()).expect("builds");
    let planned = plan(&gateway, r#"{ account(id: "1") { plan } }"#);
    assert!(
        planned.contains(r#"Fetch(service: "billing")"#),
        "{planned}"
    );
}
