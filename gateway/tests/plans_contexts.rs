//! Plans for contextual arguments (`@context` / `@fromContext`): the context's selection is
//! fetched on the ancestors that set it, and the field with contextual arguments is resolved in
//! an entity fetch whose representations carry the values (`with context $contextualArgument_…`).
//! Queries that select no such field plan as they would without contexts.

mod common;

use common::plan;

#[test]
fn a_context_from_the_grandparent_rides_the_representation() {
    insta::assert_snapshot!(plan("contexts", "{ users { orgs { items { price } } } }"));
}

#[test]
fn two_contexts_from_two_ancestors() {
    insta::assert_snapshot!(plan(
        "contexts",
        "{ users { locale orgs { id currency items { id price } } } }"
    ));
}

#[test]
fn an_interface_sets_the_context() {
    insta::assert_snapshot!(plan(
        "contexts",
        "{ nodes { ... on Doc { leaf { label } } ... on Note { tag leaf { label } } } }"
    ));
}

#[test]
fn no_ancestor_sets_the_context() {
    insta::assert_snapshot!(plan("contexts", "{ topItems { name price } }"));
}

#[test]
fn queries_without_contextual_fields_plan_as_before() {
    insta::assert_snapshot!(plan(
        "contexts",
        "{ users { locale orgs { items { id } } } }"
    ));
}

/// `Foo` and `Bar` both set the context, and the selection reads another field on each
/// (`... on Foo { prop } ... on Bar { prop2 }`): each ancestor is asked only its own field.
/// (Fixture: contexts_by_type, composed from its a.graphql and b.graphql.)
#[test]
fn each_setter_reads_its_own_type_condition() {
    insta::assert_snapshot!(plan(
        "contexts_by_type",
        "{ foo { u { field } } bar { u { field } } }"
    ));
}
