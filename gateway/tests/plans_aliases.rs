//! Plans that alias fields to keep a subgraph query valid: same response key, different
//! types in the subgraph. The client's key comes back on merge.

mod common;

use common::plan;

#[test]
fn renames_a_field_whose_subgraph_types_conflict() {
    insta::assert_snapshot!(plan("aliases", "{ accounts { ... on User { id name } ... on Admin { id name } } }"), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          accounts {
            __typename
            ... on User {
              id
              name
            }
            ... on Admin {
              id__alias_0: id
              name
            }
          }
        }
        rename accounts.@|[Admin].id__alias_0 => id
      },
    }
    "#);
}
