//! `@skip`/`@include` at every position a selection can take (field, root field, entity
//! field, fragment spread, inline fragment, under `@interfaceObject`, `@requires` inputs),
//! with literal and variable conditions: a selection that is left out plans exactly as the
//! query written without it, and one that is kept plans as the query without the directive.
//! Selections emptied by a condition have snapshots of their own.

mod common;

use common::{plan, plan_with};
use serde_json::json;

/// One position: a query with `@@` where the directive goes, and the same query written
/// without the selection that carries it.
struct Case {
    fixture: &'static str,
    position: &'static str,
    with: &'static str,
    without: &'static str,
}

const CASES: &[Case] = &[
    Case {
        fixture: "entities",
        position: "field",
        with: "{ order(id: 1) { id items { sku @@ quantity } } }",
        without: "{ order(id: 1) { id items { quantity } } }",
    },
    Case {
        fixture: "entities",
        position: "root field",
        with: "{ me { name } order(id: 1) @@ { id } }",
        without: "{ me { name } }",
    },
    Case {
        fixture: "entities",
        position: "entity field",
        with: "{ order(id: 1) { buyer { name @@ reviews { body } } } }",
        without: "{ order(id: 1) { buyer { reviews { body } } } }",
    },
    Case {
        fixture: "entities",
        position: "entity field that is the only reason for a jump",
        with: "{ order(id: 1) { id buyer { email reviews @@ { body } } } }",
        without: "{ order(id: 1) { id buyer { email } } }",
    },
    Case {
        fixture: "entities",
        position: "fragment spread",
        with: "{ order(id: 1) { id ...Items @@ } } fragment Items on Order { items { sku } }",
        without: "{ order(id: 1) { id } }",
    },
    Case {
        fixture: "entities",
        position: "inline fragment without type condition",
        with: "{ order(id: 1) { id ... @@ { buyer { name } } } }",
        without: "{ order(id: 1) { id } }",
    },
    Case {
        fixture: "interface_object",
        position: "inline fragment on a type under @interfaceObject",
        with: "{ topRated { rating ... on Book @@ { pages } } }",
        without: "{ topRated { rating } }",
    },
    Case {
        fixture: "interface_object",
        position: "field under @interfaceObject fetched from the implementations",
        with: "{ topRated { rating name @@ } }",
        without: "{ topRated { rating } }",
    },
    Case {
        fixture: "interface_object",
        position: "field that the @interfaceObject adds",
        with: "{ items { name rating @@ } }",
        without: "{ items { name } }",
    },
    Case {
        fixture: "requires",
        position: "@requires input",
        with: "{ products { weight @@ shippingCost } }",
        without: "{ products { shippingCost } }",
    },
    Case {
        fixture: "requires",
        position: "field with @requires",
        with: "{ products { name shippingCost @@ } }",
        without: "{ products { name } }",
    },
    Case {
        fixture: "requires",
        position: "nested @requires input",
        with: "{ products { dimensions @@ { width } packaging } }",
        without: "{ products { packaging } }",
    },
];

/// The query of `case` with `directive` in place (`$c` as its condition when `variable`).
fn query(case: &Case, directive: &str, variable: bool) -> String {
    let body = case.with.replace("@@", directive);
    if variable {
        format!("query ($c: Boolean!) {body}")
    } else {
        format!("query {body}")
    }
}

#[test]
fn a_left_out_selection_plans_as_if_never_written() {
    for case in CASES {
        let without = plan(case.fixture, case.without);
        let kept = plan(case.fixture, &case.with.replace("@@", ""));
        assert_ne!(
            without, kept,
            "{}: the case must change the plan",
            case.position
        );
        for (directive, value, left_out) in [
            ("@skip(if: true)", true, true),
            ("@skip(if: false)", false, false),
            ("@include(if: false)", false, true),
            ("@include(if: true)", true, false),
        ] {
            let expected = if left_out { &without } else { &kept };
            let literal = plan(case.fixture, &query(case, directive, false));
            assert_eq!(&literal, expected, "{}: {directive}", case.position);
            let variable_directive = directive.replace(&value.to_string(), "$c");
            let variable = plan_with(
                case.fixture,
                &query(case, &variable_directive, true),
                Some(json!({ "c": value })),
            );
            assert_eq!(
                &variable, expected,
                "{}: {variable_directive} with $c = {value}",
                case.position
            );
        }
    }
}

/// Both directives on one selection: it is kept only when neither leaves it out.
#[test]
fn skip_and_include_together() {
    let case = &CASES[0];
    let without = plan(case.fixture, case.without);
    let kept = plan(case.fixture, &case.with.replace("@@", ""));
    for (skip, include, left_out) in [
        (false, true, false),
        (true, true, true),
        (false, false, true),
        (true, false, true),
    ] {
        let directive = "@skip(if: $s) @include(if: $i)";
        let text = format!(
            "query ($s: Boolean!, $i: Boolean!) {}",
            case.with.replace("@@", directive)
        );
        let planned = plan_with(
            case.fixture,
            &text,
            Some(json!({ "s": skip, "i": include })),
        );
        let expected = if left_out { &without } else { &kept };
        assert_eq!(&planned, expected, "skip {skip}, include {include}");
    }
}

#[test]
fn a_field_emptied_by_its_conditions_asks_for_its_typename() {
    insta::assert_snapshot!(plan_with(
        "entities",
        "query ($c: Boolean!) { me { name @include(if: $c) } }",
        Some(json!({ "c": false })),
    ), @r#"
    QueryPlan {
      Fetch(service: "users") {
        {
          me {
            __typename
          }
        }
      },
    }
    "#);
}

#[test]
fn a_fragment_emptied_under_an_interface_object_is_dropped() {
    insta::assert_snapshot!(plan(
        "interface_object",
        "{ topRated { rating ... on Book { pages @include(if: false) } } }",
    ), @r#"
    QueryPlan {
      Fetch(service: "ratings") {
        {
          topRated {
            rating
          }
        }
      },
    }
    "#);
}

#[test]
fn a_skipped_requires_input_is_still_fetched_for_the_requirement() {
    insta::assert_snapshot!(plan(
        "requires",
        "{ products { weight @skip(if: true) shippingCost } }",
    ), @r#"
    QueryPlan {
      Sequence {
        Fetch(service: "products") {
          {
            products {
              upc
              weight
              price__b8a9b483: price(currency: USD)
            }
          }
        },
        Flatten(path: "products.@") {
          Fetch(service: "shipping") {
            {
              ... on Product {
                __typename
                upc
                weight
                price__b8a9b483: price(currency: USD)
              }
            } =>
            {
              ... on Product {
                shippingCost
              }
            }
          },
        },
      },
    }
    "#);
}
