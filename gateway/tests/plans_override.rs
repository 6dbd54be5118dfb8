//! Plans for `@override`: the field comes from the subgraph that took it over.

mod common;

use common::plan;

#[test]
fn overridden_field_comes_from_the_new_owner() {
    insta::assert_snapshot!(plan("override", r#"{ account(id: "1") { plan balance } }"#), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "legacy") {
          {
            account(id: "1") {
              balance
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
