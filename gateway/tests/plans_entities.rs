//! Plans that jump between subgraphs through `@key`: simple, multiple, composite and nested
//! keys, `resolvable: false`, and chains of jumps.

mod common;

use common::plan;

#[test]
fn jumps_by_the_key_the_parent_can_provide() {
    // Orders know buyers by email only; users can be reached by email.
    insta::assert_snapshot!(plan("entities", r#"{ order(id: "1") { buyer { name } } }"#), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "orders") {
          {
            order(id: "1") {
              buyer {
                email
              }
            }
          }
        },
        Flatten(path: "order.buyer") {
          Fetch(service: "users") {
            {
              ... on User {
                __typename
                email
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
    }
    "#);
}

#[test]
fn chains_jumps_to_obtain_a_key() {
    // Reviews need the user's id, which only users can give from the email.
    insta::assert_snapshot!(plan("entities", r#"{ order(id: "1") { buyer { reviews { body } } } }"#), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "orders") {
          {
            order(id: "1") {
              buyer {
                email
              }
            }
          }
        },
        Flatten(path: "order.buyer") {
          Fetch(service: "users") {
            {
              ... on User {
                __typename
                email
              }
            } =>
            {
              ... on User {
                id
              }
            }
          },
        },
        Flatten(path: "order.buyer") {
          Fetch(service: "reviews") {
            {
              ... on User {
                __typename
                id
              }
            } =>
            {
              ... on User {
                reviews {
                  body
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
fn jumps_by_a_composite_nested_key() {
    insta::assert_snapshot!(plan("entities", r#"{ order(id: "1") { items { quantity warehouse { address } } } }"#), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "orders") {
          {
            order(id: "1") {
              items {
                quantity
                warehouse {
                  region {
                    code
                  }
                  number
                }
              }
            }
          }
        },
        Flatten(path: "order.items.@.warehouse") {
          Fetch(service: "stock") {
            {
              ... on Warehouse {
                __typename
                region {
                  code
                }
                number
              }
            } =>
            {
              ... on Warehouse {
                address
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn groups_fields_of_one_subgraph_into_one_fetch() {
    insta::assert_snapshot!(plan("entities", r#"{ me { name email reviews { body } } }"#), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "users") {
          {
            me {
              name
              email
              id
            }
          }
        },
        Flatten(path: "me") {
          Fetch(service: "reviews") {
            {
              ... on User {
                __typename
                id
              }
            } =>
            {
              ... on User {
                reviews {
                  body
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
fn selecting_only_key_fields_needs_no_jump() {
    insta::assert_snapshot!(plan("entities", r#"{ order(id: "1") { id buyer { email } } }"#), @r#"
    QueryPlan {
      Fetch(service: "orders") {
        {
          order(id: "1") {
            id
            buyer {
              email
            }
          }
        }
      },
    }
    "#);
}
