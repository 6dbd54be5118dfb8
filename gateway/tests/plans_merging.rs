//! Fetch merging: fetches to one subgraph at the same depth of the plan, neither waiting for
//! the other, go as one request (entity fetches at several paths as one `_entities` call,
//! query root fetches as one query); mutations keep one fetch per run of fields, in order.

mod common;

use common::plan;

/// The reviews of `users`, of `topProducts` and of each product's `addedBy` user: one
/// request to reviews (three before merging).
#[test]
fn entity_fetches_at_several_paths_share_one_request() {
    insta::assert_snapshot!(plan(
        "merging",
        "{ users { id reviews { body } } topProducts { name reviews { stars } addedBy { name reviews { body } } } }",
    ), @r#"
    QueryPlan {
      Sequence {
        Parallel {
          Fetch(service: "accounts") {
            {
              users {
                id
              }
            }
          },
          Sequence {
            Fetch(service: "catalog") {
              {
                topProducts {
                  name
                  addedBy {
                    id
                  }
                  upc
                }
              }
            },
            Flatten(path: "topProducts.@.addedBy") {
              Fetch(service: "accounts") {
                {
                  ... on User {
                    __typename
                    id
                  }
                } =>
                {
                  ... on User {
                    name
                  }
                }
              },
            },
          },
        },
        Flatten(paths: ["users.@", "topProducts.@.addedBy", "topProducts.@"]) {
          Fetch(service: "reviews") {
            {
              ... on User {
                __typename
                id
              }
              ... on Product {
                __typename
                upc
              }
            } =>
            {
              ... on User {
                reviews {
                  body
                }
              }
              ... on Product {
                reviews {
                  stars
                }
              }
            }
          },
        },
      },
    }
    "#);
}

/// A fetch that needs the answer of another to the same subgraph is not merged with it.
#[test]
fn a_fetch_waiting_for_another_is_not_merged_with_it() {
    insta::assert_snapshot!(plan(
        "merging",
        "{ topProducts { addedBy { name } } users { name } }",
    ), @r#"
    QueryPlan {
      Parallel {
        Sequence {
          Fetch(service: "catalog") {
            {
              topProducts {
                addedBy {
                  id
                }
              }
            }
          },
          Flatten(path: "topProducts.@.addedBy") {
            Fetch(service: "accounts") {
              {
                ... on User {
                  __typename
                  id
                }
              } =>
              {
                ... on User {
                  name
                }
              }
            },
          },
        },
        Fetch(service: "accounts") {
          {
            users {
              name
            }
          }
        },
      },
    }
    "#);
}
