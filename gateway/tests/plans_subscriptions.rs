//! Plans for subscriptions: the root field is one stream from the subgraph that owns it, and
//! what other subgraphs add runs as entity fetches for each event.

mod common;

use common::plan;
use gateway::gateway::GraphQLRequest;

#[test]
fn subscription_root_is_a_stream_and_the_rest_entity_fetches() {
    let query = r#"subscription($upc: String) {
        reviewAdded(upc: $upc) { body product { name inStock } }
    }"#;
    insta::assert_snapshot!(plan("subscriptions", query), @r#"
    QueryPlan {
      Sequence {
        Subscription(service: "reviews") {
          {
            reviewAdded(upc: $upc) {
              body
              product {
                upc
              }
            }
          }
        },
        Parallel {
          Flatten(path: "reviewAdded.product") {
            Fetch(service: "products") {
              {
                ... on Product {
                  __typename
                  upc
                }
              } =>
              {
                ... on Product {
                  name
                }
              }
            },
          },
          Flatten(path: "reviewAdded.product") {
            Fetch(service: "inventory") {
              {
                ... on Product {
                  __typename
                  upc
                }
              } =>
              {
                ... on Product {
                  inStock
                }
              }
            },
          },
        },
      },
    }
    "#);
}

#[test]
fn a_subscription_served_by_its_subgraph_alone_is_one_stream() {
    let query = r#"subscription { stockChanged { upc inStock } }"#;
    insta::assert_snapshot!(plan("subscriptions", query), @r#"
    QueryPlan {
      Subscription(service: "inventory") {
        {
          stockChanged {
            upc
            inStock
          }
        }
      },
    }
    "#);
}

#[test]
fn a_subscription_selects_one_root_field() {
    let request = GraphQLRequest {
        query: Some("subscription { reviewAdded { body } stockChanged { upc } }".into()),
        ..Default::default()
    };
    let errors = match common::gateway("subscriptions").plan(&request) {
        Ok(_) => panic!("two root fields are not a valid subscription"),
        Err(errors) => errors,
    };
    assert_eq!(
        errors[0].extensions.get("code").and_then(|c| c.as_str()),
        Some("GRAPHQL_VALIDATION_FAILED"),
        "{errors:?}"
    );
}
