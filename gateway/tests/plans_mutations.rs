//! Plans for mutations: root fields run in order, one fetch per run of the same subgraph.

mod common;

use common::plan;

#[test]
fn mutation_root_fields_run_in_order() {
    let query = r#"mutation {
        first: addItem(name: "a") { id tags }
        tagged: tagItem(id: "1", tag: "new") { name }
        second: addItem(name: "b") { id }
    }"#;
    insta::assert_snapshot!(plan("mutations", query), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "items") {
          {
            first: addItem(name: "a") {
              id
              __typename
            }
          }
        },
        Flatten(path: "first") {
          Fetch(service: "tags") {
            {
              ... on Item {
                __typename
                id
              }
            } =>
            {
              ... on Item {
                tags
              }
            }
          },
        },
        Fetch(service: "tags") {
          {
            tagged: tagItem(id: "1", tag: "new") {
              id
              __typename
            }
          }
        },
        Flatten(path: "tagged") {
          Fetch(service: "items") {
            {
              ... on Item {
                __typename
                id
              }
            } =>
            {
              ... on Item {
                name
              }
            }
          },
        },
        Fetch(service: "items") {
          {
            second: addItem(name: "b") {
              id
              __typename
            }
          }
        },
      },
    }
    "#);
}
