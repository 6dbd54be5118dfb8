//! `@defer`: the plan's `Defer` node over the demo supergraph (products, reviews, inventory,
//! accounts): a deferred fragment on a field of the subgraph that resolved its parent, on a
//! field of another subgraph, at the root, nested, labelled, inside lists, with `if:` as a
//! literal and as a variable, and fields the primary part fetches anyway.

use std::path::PathBuf;

use gateway::config::Config;
use gateway::gateway::{Gateway, GraphQLRequest};
use gateway::startup::{build_gateway, load_supergraph};
use serde_json::json;

fn demo() -> Gateway {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql");
    let supergraph = load_supergraph(&path).expect("demo supergraph loads");
    build_gateway(supergraph, &Config::default()).expect("gateway builds")
}

fn request(query: &str, variables: Option<serde_json::Value>) -> GraphQLRequest {
    GraphQLRequest {
        query: Some(query.to_string()),
        operation_name: None,
        variables: variables.map(|v| v.as_object().expect("variables object").clone()),
        ..Default::default()
    }
}

fn plan_with(query: &str, variables: Option<serde_json::Value>) -> String {
    match demo().plan(&request(query, variables)) {
        Ok(planned) => planned.plan.to_string(),
        Err(errors) => panic!("planning failed: {errors:?}"),
    }
}

fn plan(query: &str) -> String {
    plan_with(query, None)
}

fn refused(query: &str) -> Vec<String> {
    match demo().plan(&request(query, None)) {
        Ok(planned) => panic!("planned: {}", planned.plan),
        Err(errors) => errors.into_iter().map(|e| e.message).collect(),
    }
}

#[test]
fn a_field_of_the_same_subgraph_is_fetched_again_by_key() {
    insta::assert_snapshot!(plan("{ topProducts { upc ... @defer { name } } }"));
}

#[test]
fn a_field_of_another_subgraph_is_an_entity_fetch_after_the_primary_part() {
    insta::assert_snapshot!(plan(
        r#"{ product(upc: "1") { name ... @defer(label: "stock") { inStock } } }"#
    ));
}

#[test]
fn a_fragment_spread_with_requires() {
    insta::assert_snapshot!(plan(
        "{ topProducts { name ...Shipping @defer(label: \"ship\") } } \
         fragment Shipping on Product { shippingEstimate }"
    ));
}

#[test]
fn nested_defers_depend_on_the_enclosing_one() {
    insta::assert_snapshot!(plan(
        r#"{ product(upc: "1") {
            name
            ... @defer(label: "outer") {
                price
                reviews { body ... @defer(label: "inner") { author { name } } }
            }
        } }"#
    ));
}

#[test]
fn a_deferred_root_field_is_a_query_of_its_own() {
    insta::assert_snapshot!(plan(
        r#"query Home { me { name } ... @defer(label: "top") { topProducts { name } } }"#
    ));
}

#[test]
fn defer_inside_a_list_delivers_one_part_per_element() {
    insta::assert_snapshot!(plan(
        "{ topReviews { body ... @defer(label: \"product\") { product { name inStock } } } }"
    ));
}

#[test]
fn fields_the_primary_part_fetches_anyway_are_not_fetched_again() {
    insta::assert_snapshot!(plan(
        "{ topProducts { name ... @defer { name price inStock } } }"
    ));
}

#[test]
fn fields_of_a_value_type_come_with_the_primary_part() {
    // Everything deferred is fetched anyway: nothing left to fetch later.
    insta::assert_snapshot!(plan("{ topProducts { name ... @defer { name } } }"));
}

#[test]
fn if_false_is_not_deferred() {
    let deferred = plan(r#"{ product(upc: "1") { name ... @defer(if: false) { inStock } } }"#);
    let plain = plan(r#"{ product(upc: "1") { name ... { inStock } } }"#);
    assert_eq!(deferred, plain);
    assert!(!deferred.contains("Defer"));
}

#[test]
fn if_variable_selects_the_plan() {
    let query =
        r#"query ($d: Boolean!) { product(upc: "1") { name ... @defer(if: $d) { inStock } } }"#;
    let on = plan_with(query, Some(json!({ "d": true })));
    let off = plan_with(query, Some(json!({ "d": false })));
    assert!(on.contains("Defer {"), "{on}");
    assert_eq!(
        off,
        plan(r#"{ product(upc: "1") { name ... { inStock } } }"#)
    );
    insta::assert_snapshot!(on);
}

#[test]
fn labels_are_unique_and_static() {
    let errors = refused(
        r#"{ product(upc: "1") { ... @defer(label: "a") { name } ... @defer(label: "a") { price } } }"#,
    );
    assert_eq!(
        errors,
        ["`@defer` label `a` is not unique within the document"]
    );
    let errors =
        refused(r#"query ($l: String) { product(upc: "1") { ... @defer(label: $l) { name } } }"#);
    assert_eq!(
        errors,
        ["`@defer` label argument must be a static String, not a variable"]
    );
}

#[test]
fn not_on_the_root_of_a_mutation_or_subscription() {
    let errors = refused(
        r#"mutation { ... @defer { addReview(productUpc: "1", authorId: "1", body: "b", rating: 5) { id } } }"#,
    );
    assert_eq!(
        errors,
        ["`@defer` is not allowed on root selections of mutation operations"]
    );
    let errors = refused("subscription { ... on Subscription @defer { reviewAdded { id } } }");
    assert_eq!(
        errors,
        [
            "`@defer` is not allowed on root selections of subscription operations",
            "`@defer` in a subscription operation must be disabled with an `if` argument"
        ]
    );
    // Below the root of a mutation, it is allowed.
    let planned = plan(
        r#"mutation { addReview(productUpc: "1", authorId: "1", body: "b", rating: 5) { id ... @defer { product { name } } } }"#,
    );
    assert!(planned.contains("Defer {"), "{planned}");
}

#[test]
fn existing_plans_do_not_change_without_defer() {
    let query = r#"{ product(upc: "1") { name inStock reviews { body } } }"#;
    assert!(!plan(query).contains("Defer"));
}
