//! Plans for `@provides`: fields a subgraph resolves under a providing field need no jump.

mod common;

use common::plan;

#[test]
fn provided_field_needs_no_jump() {
    insta::assert_snapshot!(plan("provides", "{ topReviews { body author { username } } }"), @r#"
    QueryPlan {
      Fetch(service: "reviews") {
        {
          topReviews {
            body
            author {
              username
            }
          }
        }
      },
    }
    "#);
}

#[test]
fn only_unprovided_fields_jump() {
    insta::assert_snapshot!(plan("provides", "{ topReviews { author { username name } } }"), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "reviews") {
          {
            topReviews {
              author {
                username
                id
              }
            }
          }
        },
        Flatten(path: "topReviews.@.author") {
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
    }
    "#);
}
