//! `@authenticated`, `@requiresScopes` and `@policy` over a supergraph in rover's output
//! format (rover-supergraphs/authorization: @apollo/composition 2.14's supergraph of the two subgraph
//! SDLs beside it): for each case, the plan a request gets, which shows what is never
//! fetched, and the selections reported unauthorized.

use std::path::Path;

use gateway::authorization::{AuthorizationConfig, OneOrMany, PolicyRule};
use gateway::config::Config;
use gateway::gateway::{Gateway, GraphQLRequest};
use gateway::identity::Identity;
use gateway::startup::{build_gateway, load_supergraph};
use serde_json::json;

fn gateway() -> Gateway {
    let policies = [
        (
            "support".to_string(),
            PolicyRule {
                claims: [("role".to_string(), OneOrMany::One("support".into()))].into(),
            },
        ),
        (
            "owner".to_string(),
            PolicyRule {
                claims: [(
                    "groups".to_string(),
                    OneOrMany::Many(vec!["owners".into(), "admins".into()]),
                )]
                .into(),
            },
        ),
        ("verified".to_string(), PolicyRule::default()),
    ];
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/rover-supergraphs/authorization/supergraph.graphql");
    let supergraph = load_supergraph(&path).expect("fixture supergraph loads");
    let gateway = build_gateway(supergraph, &Config::default()).expect("gateway builds");
    gateway.with_authorization(&AuthorizationConfig {
        policies: policies.into(),
        ..Default::default()
    })
}

fn identity(claims: serde_json::Value) -> Identity {
    Identity {
        claims: claims.as_object().unwrap().clone(),
        ..Default::default()
    }
}

/// The plan of `query` for `who`, then the selections taken out.
fn plan(query: &str, who: Option<&Identity>) -> String {
    let request = GraphQLRequest {
        query: Some(query.to_string()),
        ..Default::default()
    };
    let planned = gateway()
        .plan_for(&request, who)
        .unwrap_or_else(|errors| panic!("planning failed: {errors:?}"));
    format!("{}unauthorized: {:?}", planned.plan, planned.unauthorized)
}

#[test]
fn an_authenticated_field_is_not_fetched_for_anonymous_requests() {
    insta::assert_snapshot!(plan("{ me { id name email } }", None), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          me {
            id
            name
          }
        }
      },
    }unauthorized: ["me.email"]
    "#);
    insta::assert_snapshot!(plan("{ me { id name email } }", Some(&identity(json!({ "sub": "u1" })))), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          me {
            id
            name
            email
          }
        }
      },
    }unauthorized: []
    "#);
}

#[test]
fn scopes_need_every_scope_of_one_alternative() {
    let query = "{ me { phone orders { id total } } }";
    insta::assert_snapshot!(plan(query, Some(&identity(json!({ "scope": "profile pii:read" })))), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          me {
            phone
          }
        }
      },
    }unauthorized: ["me.orders"]
    "#);
    insta::assert_snapshot!(plan(query, Some(&identity(json!({ "scope": "admin orders:read" })))), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "accounts") {
          {
            me {
              phone
              id
            }
          }
        },
        Flatten(path: "me") {
          Fetch(service: "orders") {
            {
              ... on User {
                __typename
                id
              }
            } =>
            {
              ... on User {
                orders {
                  id
                  total
                }
              }
            }
          },
        },
      },
    }unauthorized: []
    "#);
}

#[test]
fn a_selection_left_empty_still_fetches_its_parent_for_the_nulls() {
    insta::assert_snapshot!(plan("{ users { email phone } }", None), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          users {
            __typename
          }
        }
      },
    }unauthorized: ["users.email", "users.phone"]
    "#);
}

#[test]
fn a_protected_type_is_protected_wherever_it_is_returned_or_named() {
    // `Stats` requires the admin scope: the field returning it goes.
    insta::assert_snapshot!(plan("{ stats { orders } me { id } }", None), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          me {
            id
          }
        }
      },
    }unauthorized: ["stats"]
    "#);
    // `Coupon` is @authenticated: its fragment goes, the rest of the union stays.
    insta::assert_snapshot!(plan(r#"{ search(term: "x") { ... on Order { id } ... on Coupon { code } } }"#, None), @r#"
    QueryPlan {
      Fetch(service: "orders") {
        {
          search(term: "x") {
            __typename
            ... on Order {
              id
            }
          }
        }
      },
    }unauthorized: ["search.... on Coupon"]
    "#);
}

#[test]
fn through_an_interface_a_protected_implementation_field_is_protected() {
    insta::assert_snapshot!(plan("{ accounts { id label } }", None), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          accounts {
            __typename
            id
          }
        }
      },
    }unauthorized: ["accounts.label"]
    "#);
    // Asked of the unprotected implementation only, it is fetched.
    insta::assert_snapshot!(plan("{ accounts { id ... on Person { label } } }", None), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          accounts {
            __typename
            id
            ... on Person {
              label
            }
          }
        }
      },
    }unauthorized: []
    "#);
}

#[test]
fn policies_are_decided_by_the_configured_claim_rules() {
    let mutation = r#"mutation { cancelOrder(id: "o1") { id internalNote } }"#;
    insta::assert_snapshot!(plan(mutation, Some(&identity(json!({ "groups": ["owners"] })))), @r#"
    QueryPlan {
      Fetch(service: "orders") {
        {
          cancelOrder(id: "o1") {
            id
            __typename
          }
        }
      },
    }unauthorized: ["cancelOrder.internalNote"]
    "#);
    insta::assert_snapshot!(plan(mutation, Some(&identity(json!({ "role": "support" })))), @r#"
    QueryPlan {
      Fetch(service: "orders") {
        {
          cancelOrder(id: "o1") {
            id
            internalNote
            __typename
          }
        }
      },
    }unauthorized: []
    "#);
    insta::assert_snapshot!(plan(mutation, None), @r#"
    QueryPlan {
    }unauthorized: ["cancelOrder"]
    "#);
}

#[test]
fn typename_and_introspection_are_always_answered() {
    insta::assert_snapshot!(plan("{ __typename stats { __typename } }", None), @r#"
    QueryPlan {
    }unauthorized: ["stats"]
    "#);
}

#[test]
fn requests_with_the_same_grants_share_a_plan() {
    let gateway = gateway();
    let request = GraphQLRequest {
        query: Some("{ me { email orders { id } } }".into()),
        ..Default::default()
    };
    let alice = identity(json!({ "sub": "alice", "scope": "orders:read unrelated" }));
    let bob = identity(json!({ "sub": "bob", "scope": "orders:read other" }));
    let first = gateway.plan_for(&request, Some(&alice)).unwrap();
    let second = gateway.plan_for(&request, Some(&bob)).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&first, &second),
        "scopes the supergraph never names do not split the cache"
    );
    let anonymous = gateway.plan_for(&request, None).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &anonymous));
    assert_eq!(anonymous.unauthorized, ["me.email", "me.orders"]);
}

#[test]
fn the_api_schema_hides_the_security_directives() {
    let gateway = gateway();
    let api = gateway.supergraph().api_schema();
    for hidden in ["authenticated", "requiresScopes", "policy"] {
        assert!(!api.directive_definitions.contains_key(hidden), "{hidden}");
    }
    for hidden in ["requiresScopes__Scope", "policy__Policy"] {
        assert!(!api.types.contains_key(hidden), "{hidden}");
    }
}

#[test]
fn a_deferred_fragment_is_filtered_as_the_rest_is() {
    // Anonymous: the deferred part fetches `name` but never `email`, which is answered null
    // with its error in that part.
    insta::assert_snapshot!(plan(r#"{ me { id ... @defer(label: "contact") { name email } } }"#, None), @r#"
    QueryPlan {
      Defer {
        Primary {
          Fetch(service: "accounts") {
            {
              me {
                id
                __typename
              }
            }
          },
        },
        [
          Deferred(id: 0, depends: [], path: "me", label: "contact") {
            Flatten(path: "me") {
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
        ]
      },
    }unauthorized: ["me.email"]
    "#);
    // A deferred fragment whose every field is protected still delivers its part (its nulls
    // and errors), and fetches nothing.
    insta::assert_snapshot!(plan("{ me { id ... @defer { orders { total } } } }", Some(&identity(json!({ "sub": "u1" })))), @r#"
    QueryPlan {
      Defer {
        Primary {
          Fetch(service: "accounts") {
            {
              me {
                id
              }
            }
          },
        },
        [
          Deferred(id: 0, depends: [], path: "me") {
          },
        ]
      },
    }unauthorized: ["me.orders"]
    "#);
}

#[test]
fn a_deferred_fragment_under_a_protected_field_is_not_planned_at_all() {
    // `orders` needs `orders:read`: it is null, so the fragment under it has no objects to
    // deliver, and nothing is fetched for it (not even the orders' keys).
    insta::assert_snapshot!(plan("{ me { id orders { id ... @defer { total internalNote } } } }", Some(&identity(json!({ "sub": "u1" })))), @r#"
    QueryPlan {
      Fetch(service: "accounts") {
        {
          me {
            id
          }
        }
      },
    }unauthorized: ["me.orders"]
    "#);
}
