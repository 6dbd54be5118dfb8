//! Directives the gateway itself understands in client operations, declared in the schema
//! operations are validated against (and introspection answers from), not in the supergraph's
//! API schema: they are the gateway's, not the subgraphs' (`gateway check` and composition do
//! not see them):
//!
//! - `@live(throttle: Int) on QUERY`: the query is a live query (docs/realtime.md), answered
//!   again over its stream whenever the data under it changes; `throttle` is the least time
//!   between two answers, in milliseconds. The name and placement are those of
//!   graphql-live-query's `@live` (a directive on the query operation), so clients written for
//!   it work unchanged; its `throttle` argument is ours.

use std::sync::Arc;

use apollo_compiler::validation::Valid;
use apollo_compiler::{Node, Schema, ast, name};

/// `api` with the gateway's client directives. A supergraph that defines a `@live` of its own
/// keeps its definition (the gateway still reads `@live` on a query as its own).
pub fn with_client_directives(api: &Arc<Valid<Schema>>) -> Arc<Valid<Schema>> {
    if api.directive_definitions.contains_key("live") {
        return api.clone();
    }
    let mut schema = Schema::clone(api);
    schema
        .directive_definitions
        .insert(name!("live"), Node::new(live()));
    match schema.validate() {
        Ok(valid) => Arc::new(valid),
        Err(error) => {
            // Cannot happen (a new directive name, a built-in argument type): serve without.
            tracing::error!(
                "the client directives do not fit the API schema: {}",
                error.errors
            );
            api.clone()
        }
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
