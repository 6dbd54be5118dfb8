//! Directives the gateway itself understands in client operations, declared in the API
//! schema so that operations using them validate (and introspection shows them):
//!
//! - `@live(throttle: Int) on QUERY`: the query is a live query (docs/realtime.md), answered
//!   again over its stream whenever the data under it changes; `throttle` is the least time
//!   between two answers, in milliseconds. The name and placement are those of
//!   graphql-live-query's `@live` (a directive on the query operation), so clients written for
//!   it work unchanged; its `throttle` argument is ours.

use apollo_compiler::{Node, Schema, ast, name};

/// Adds the gateway's client directives to `schema`. A supergraph that defines a `@live` of
/// its own keeps its definition (the gateway still reads `@live` on a query as its own).
pub(super) fn add(schema: &mut Schema) {
    if !schema.directive_definitions.contains_key("live") {
        schema
            .directive_definitions
            .insert(name!("live"), Node::new(live()));
    }
}

fn live() -> ast::DirectiveDefinition {
    ast::DirectiveDefinition {
        description: Some(
            "A live query: answered again whenever the data under its answer changes (a change \
             event, a mutation, a TTL). Over WebSocket or SSE. `throttle`: the least time \
             between two answers, in milliseconds."
                .into(),
        ),
        name: name!("live"),
        arguments: vec![Node::new(ast::InputValueDefinition {
            description: None,
            name: name!("throttle"),
            ty: Node::new(ast::Type::Named(name!("Int"))),
            default_value: None,
            directives: Default::default(),
        })],
        repeatable: false,
        locations: vec![ast::DirectiveLocation::Query],
    }
}
