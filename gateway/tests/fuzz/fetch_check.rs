//! An independent check of what a plan sends: every subgraph operation must be a valid
//! GraphQL document. Validated against the supergraph schema (every subgraph's types and
//! fields) with `_entities` added, as each subgraph's own schema is not at hand; so it catches
//! malformed operations (a composite field without a selection, unknown fields, conflicting
//! aliases, undeclared variables), not fields asked of the wrong subgraph.

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use gateway::planner::{PlanNode, QueryPlan};
use gateway::supergraph::Supergraph;

pub struct FetchChecker {
    schema: Valid<Schema>,
}

impl FetchChecker {
    /// `None` when the extended schema does not build (the check is then skipped).
    pub fn new(supergraph: &Supergraph) -> Option<Self> {
        let schema = supergraph.schema();
        let objects: Vec<String> = schema
            .types
            .iter()
            .filter(|(name, ty)| matches!(ty, ExtendedType::Object(_)) && !name.starts_with("__"))
            .map(|(name, _)| name.to_string())
            .collect();
        let query = schema.root_operation(apollo_compiler::ast::OperationType::Query)?;
        let sdl = format!(
            "{schema}\nscalar _Any\nunion _Entity = {}\nextend type {query} {{ _entities(representations: [_Any!]!): [_Entity]! }}\n",
            objects.join(" | ")
        );
        let schema = Schema::parse_and_validate(sdl, "supergraph+entities.graphql").ok()?;
        Some(Self { schema })
    }

    /// The first subgraph operation of `plan` that does not validate, with why.
    pub fn first_invalid(&self, plan: &QueryPlan) -> Option<String> {
        let mut fetches = Vec::new();
        if let Some(root) = &plan.root {
            collect(root, &mut fetches);
        }
        fetches.into_iter().find_map(|(subgraph, operation)| {
            let errors =
                ExecutableDocument::parse_and_validate(&self.schema, operation, "fetch.graphql")
                    .err()?;
            let first = errors.errors.iter().next()?.error.to_string();
            Some(format!("fetch to {subgraph}: {first}"))
        })
    }
}

fn collect<'p>(node: &'p PlanNode, out: &mut Vec<(&'p str, &'p str)>) {
    match node {
        PlanNode::Fetch(fetch) => out.push((&fetch.subgraph_name, &fetch.operation)),
        PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
            nodes.iter().for_each(|n| collect(n, out))
        }
        PlanNode::Flatten { node, .. } => collect(node, out),
        PlanNode::Defer { primary, deferred } => primary
            .iter()
            .map(|p| &**p)
            .chain(deferred.iter().filter_map(|d| d.node.as_deref()))
            .for_each(|n| collect(n, out)),
    }
}
