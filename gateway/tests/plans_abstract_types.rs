//! Plans for interfaces and unions whose members live in several subgraphs.

mod common;

use common::plan;

#[test]
fn union_members_jump_in_one_fetch() {
    insta::assert_snapshot!(plan("abstract_types", "{ feed { ... on Post { title likes } ... on Photo { url likes } } }"), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "media") {
          {
            feed {
              __typename
              ... on Post {
                title
                id
              }
              ... on Photo {
                url
                id
              }
            }
          }
        },
        Flatten(path: "feed.@|[Photo,Post]") {
          Fetch(service: "social") {
            {
              ... on Post {
                __typename
                id
              }
              ... on Photo {
                __typename
                id
              }
            } =>
            {
              ... on Post {
                likes
              }
              ... on Photo {
                likes
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn interface_field_resolved_for_every_implementation() {
    insta::assert_snapshot!(plan("abstract_types", r#"{ node(id: "1") { id ... on Post { likes } } }"#), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "media") {
          {
            node(id: "1") {
              __typename
              id
              ... on Post {
                id
              }
            }
          }
        },
        Flatten(path: "node|[Post]") {
          Fetch(service: "social") {
            {
              ... on Post {
                __typename
                id
              }
            } =>
            {
              ... on Post {
                likes
              }
            }
          },
        },
      },
    }
    "#);
}

#[test]
fn typename_only_needs_no_jump() {
    insta::assert_snapshot!(plan("abstract_types", "{ feed { __typename } }"), @r#"
    QueryPlan {
      Fetch(service: "media") {
        {
          feed {
            __typename
          }
        }
      },
    }
    "#);
}
