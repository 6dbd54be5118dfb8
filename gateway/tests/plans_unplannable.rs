//! Root fields that no subgraph can resolve in full: the rest of the query is planned and
//! they are listed as unplannable (they answer null with an error); a query with nothing
//! plannable fails to plan.

mod common;

use common::{gateway, plan};
use gateway::gateway::GraphQLRequest;

#[test]
fn plans_the_other_root_fields() {
    insta::assert_snapshot!(plan("unresolvable", "{ asset { id label } count }"), @r#"
    QueryPlan {
      Fetch(service: "catalog") {
        {
          count
        }
      },
      Unplannable(field: "asset") { no subgraph can resolve `Asset.label` under `asset`: the subgraphs that have it cannot be reached by an entity key },
    }
    "#);
}

#[test]
fn a_non_null_unplannable_root_field_is_listed_too() {
    insta::assert_snapshot!(plan("unresolvable", "{ count cover { label } tagged { label } }"), @r#"
    QueryPlan {
      Parallel {
        Fetch(service: "catalog") {
          {
            count
          }
        },
        Fetch(service: "tags") {
          {
            tagged {
              label
            }
          }
        },
      },
      Unplannable(field: "cover") { no subgraph can resolve `Asset.label` under `cover`: the subgraphs that have it cannot be reached by an entity key },
    }
    "#);
}

#[test]
fn a_query_with_nothing_plannable_fails() {
    let request = GraphQLRequest {
        query: Some("{ asset { label } }".into()),
        ..Default::default()
    };
    let Err(errors) = gateway("unresolvable").plan(&request) else {
        panic!("nothing to plan, yet it planned");
    };
    assert_eq!(
        errors[0].extensions.get("code").and_then(|c| c.as_str()),
        Some("QUERY_PLANNING_FAILED")
    );
    assert!(
        errors[0].message.contains("Asset.label"),
        "{}",
        errors[0].message
    );
}
