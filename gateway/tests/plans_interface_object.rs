//! Plans for `@interfaceObject`: a subgraph that sees an interface as an object type adds
//! fields to every implementation, and cannot say which implementation an object is.

mod common;

use common::plan;

#[test]
fn jumps_to_the_interface_object_with_the_interface_name() {
    insta::assert_snapshot!(plan("interface_object", "{ items { name rating } }"), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "inventory") {
          {
            items {
              __typename
              name
              id
            }
          }
        },
        Flatten(path: "items.@") {
          Fetch(service: "ratings") {
            {
              ... on Item {
                __typename
                id
              }
            } =>
            {
              ... on Item {
                rating
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn asks_the_owning_subgraph_for_the_concrete_type() {
    insta::assert_snapshot!(plan("interface_object", "{ topRated { __typename rating ... on Book { pages } } }"), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "ratings") {
          {
            topRated {
              rating
              id
            }
          }
        },
        Flatten(path: "topRated.@") {
          Fetch(service: "inventory") {
            {
              ... on Item {
                __typename
                id
              }
            } =>
            {
              ... on Item {
                __typename
                ... on Book {
                  pages
                }
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn a_fragment_whose_every_selection_is_skipped_selects_nothing() {
    // Found by the fuzzer: kept as an empty `... on Book`, it made `topRated` unplannable.
    insta::assert_snapshot!(
        plan("interface_object", "{ topRated { ... on Book { pages @skip(if: true) } } }"),
        @r#"
    QueryPlan {
      Fetch(service: "ratings") {
        {
          topRated {
            __typename
          }
        }
      },
    }
    "#
    );
}
