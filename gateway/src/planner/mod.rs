//! The query planner: a normalised operation and the supergraph in, a [`QueryPlan`] out.
//! Pure and deterministic, so every plan can be printed and snapshot-tested.
//!
//! Stages, one module each: [`root`] picks subgraphs for the root fields, [`walk`] resolves
//! every selection location by location (entity jumps, `@requires`, `@provides`, abstract
//! types), [`fetch_graph`] assembles and merges fetch steps, [`aliases`] keeps each subgraph
//! query valid, [`operation_text`] writes it, [`tree`] orders the steps into a plan tree.

mod aliases;
mod contexts;
mod defer;
mod display;
mod fetch_graph;
mod field_set;
mod merge_fetches;
mod operation_text;
pub mod plan;
mod root;
mod tree;
mod walk;

use std::sync::Arc;

use apollo_compiler::Name;
use apollo_compiler::ast::OperationType;

pub use display::PathDisplay;
pub use plan::{
    DeferredNode, EntityFetch, EntityInput, EntityPart, FetchNode, KeyRename, OperationKind,
    PathSegment, PlanNode, QueryPlan,
};
pub use walk::DEFAULT_LOCATION_BUDGET;

use crate::operation::NormalizedOperation;
use crate::operation::selection::{Field, Selection, SelectionSet};
use crate::supergraph::{NO_OVERRIDE_LABELS, OverrideLabels, SubgraphId, Supergraph};
use fetch_graph::FetchGraph;
use walk::Walker;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    #[error("no subgraph can resolve `{type_name}.{field}` for this query")]
    Unsatisfiable { type_name: String, field: String },
    /// What the query asks for under `root` includes a field that only subgraphs with no
    /// resolvable key for its type serve: nothing can be fetched from where it is reached.
    #[error(
        "no subgraph can resolve `{type_name}.{field}` under `{root}`: the subgraphs that have it cannot be reached by an entity key"
    )]
    UnreachableField {
        root: String,
        type_name: String,
        field: String,
    },
    #[error("the schema has no {0} type")]
    MissingRootType(&'static str),
    #[error("a subscription selects exactly one root field, served by one subgraph")]
    SubscriptionRoot,
    #[error("the query is too complex to plan: simplify it or split it")]
    TooComplex,
}

impl PlanError {
    fn unsatisfiable(type_name: &Name, field: &Field) -> Self {
        PlanError::Unsatisfiable {
            type_name: type_name.to_string(),
            field: field.name.to_string(),
        }
    }
}

/// Plans operations over one supergraph.
#[derive(Debug, Clone)]
pub struct QueryPlanner {
    supergraph: Arc<Supergraph>,
    location_budget: u32,
}

impl QueryPlanner {
    pub fn new(supergraph: Arc<Supergraph>) -> Self {
        Self {
            supergraph,
            location_budget: walk::DEFAULT_LOCATION_BUDGET,
        }
    }

    /// Caps how many locations planning one operation may explore (see
    /// [`PlanError::TooComplex`]).
    pub fn with_location_budget(mut self, budget: u32) -> Self {
        self.location_budget = budget;
        self
    }

    pub fn supergraph(&self) -> &Arc<Supergraph> {
        &self.supergraph
    }

    /// Which subgraphs could serve `field` (a selection of one field, with a sub-selection for
    /// composite types) on a `parent` object found in `subgraph`: `subgraph` itself when it
    /// resolves the field there, and every subgraph an entity jump could reach for it. Empty
    /// when nothing can resolve it from there, with `labels` the active progressive override
    /// labels. Composition's satisfiability check explores the supergraph with it.
    pub fn serving_subgraphs(
        &self,
        subgraph: SubgraphId,
        parent: &Name,
        field: &Field,
        labels: &OverrideLabels,
    ) -> Vec<SubgraphId> {
        let walker = Walker::new(&self.supergraph, labels, self.location_budget);
        let item = Selection::Field(field.clone());
        let selection = SelectionSet {
            items: vec![item.clone()],
        };
        let located = walker.plan_at(subgraph, parent, &selection, None);
        let key = field.response_key();
        let local = located
            .planned
            .selection
            .fields()
            .any(|f| f.response_key() == key)
            || located.planned.selection.fragments().any(|fragment| {
                fragment
                    .selection_set
                    .fields()
                    .any(|f| f.response_key() == key)
            });
        let mut serving = Vec::new();
        if local && located.leftover.is_empty() {
            serving.push(subgraph);
        }
        for target in walker.jump_targets(subgraph, parent, &item) {
            if !serving.contains(&target) {
                serving.push(target);
            }
        }
        serving
    }

    /// Plans `operation` with no progressive override label active.
    pub fn plan(&self, operation: &NormalizedOperation) -> Result<QueryPlan, PlanError> {
        self.plan_with_labels(operation, &NO_OVERRIDE_LABELS)
    }

    /// Plans `operation` with `labels` the active progressive override labels: a field
    /// overridden under an active label is resolved by the overriding subgraph, otherwise by
    /// the subgraph it is overridden from.
    pub fn plan_with_labels(
        &self,
        operation: &NormalizedOperation,
        labels: &OverrideLabels,
    ) -> Result<QueryPlan, PlanError> {
        if operation.has_deferred() {
            return defer::plan(self, operation, labels);
        }
        self.plan_undeferred(operation, labels)
    }

    /// Plans an operation's `selection_set` (its deferred fragments, if any, aside).
    fn plan_undeferred(
        &self,
        operation: &NormalizedOperation,
        labels: &OverrideLabels,
    ) -> Result<QueryPlan, PlanError> {
        let sg = &*self.supergraph;
        let kind = match operation.kind {
            OperationType::Query => OperationKind::Query,
            OperationType::Mutation => OperationKind::Mutation,
            OperationType::Subscription => OperationKind::Subscription,
        };
        // Contextual arguments bound (see `contexts`): only when the operation has some.
        let bound = contexts::bind(sg, operation);
        let (operation, contextual) = match &bound {
            Some(bound) => (&bound.operation, bound.variables.clone()),
            None => (operation, Vec::new()),
        };
        let walker = Walker::new(sg, labels, self.location_budget).with_contextual(contextual);
        let mut unplannable = Vec::new();
        let roots = match kind {
            OperationKind::Query => {
                let roots =
                    root::plan_query_root(&walker, &operation.root_type, &operation.selection_set);
                match roots {
                    Err(error @ PlanError::UnreachableField { .. }) if !walker.exhausted() => {
                        self.plan_plannable_roots(&walker, operation, error, &mut unplannable)
                    }
                    roots => roots,
                }
            }
            OperationKind::Mutation => {
                root::plan_mutation_root(&walker, &operation.root_type, &operation.selection_set)
            }
            OperationKind::Subscription => root::plan_subscription_root(
                &walker,
                &operation.root_type,
                &operation.selection_set,
            ),
        };
        if walker.exhausted() {
            return Err(PlanError::TooComplex);
        }
        let roots = roots?;
        let graph = FetchGraph::build(roots, kind);
        let (root, fetch_count) = self.graph_to_tree(graph, operation, 0);
        Ok(QueryPlan {
            root,
            fetch_count,
            unplannable,
        })
    }

    /// The plan tree of a fetch graph, its fetches numbered from `first_id`; and how many
    /// fetches it has.
    fn graph_to_tree(
        &self,
        graph: FetchGraph,
        operation: &NormalizedOperation,
        first_id: usize,
    ) -> (Option<PlanNode>, usize) {
        let sg = &*self.supergraph;
        let fetch_count = graph.steps.len();
        let deps: Vec<_> = graph.steps.iter().map(|s| s.deps.clone()).collect();
        let mut nodes: Vec<Option<PlanNode>> = graph
            .steps
            .into_iter()
            .enumerate()
            .map(|(index, step)| {
                let id = first_id + index;
                let subgraph = sg.subgraph(step.subgraph);
                let mut selection = step.selection;
                let output_renames = match &step.entity {
                    // Each `_entities` item is one entity: its fragment is checked on its own.
                    Some(_) => aliases::resolve_entity_conflicts(sg, step.subgraph, &mut selection),
                    None => aliases::resolve_conflicts(
                        sg,
                        step.subgraph,
                        &operation.root_type,
                        &mut selection,
                    ),
                };
                let operation_name = operation.name.as_ref().map(|name| {
                    let service: String = subgraph
                        .name
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    Arc::<str>::from(format!("{name}__{service}__{id}"))
                });
                let variable_usages = operation_text::variable_usages(&selection);
                let text = operation_text::render(
                    step.kind,
                    operation_name.as_deref(),
                    step.entity.is_some(),
                    &selection,
                    &variable_usages,
                    &operation.variables,
                );
                let fetch = PlanNode::Fetch(Arc::new(FetchNode {
                    id,
                    subgraph: step.subgraph,
                    subgraph_name: subgraph.name.clone(),
                    kind: step.kind,
                    operation: text.into(),
                    operation_name,
                    variable_usages,
                    entity: step.entity.map(|parts| EntityFetch {
                        parts,
                        more: step.more,
                    }),
                    output_renames,
                    // Not the operation text: its name follows the client's operation name.
                    // The subgraph's fingerprint: a reloaded supergraph that changes what the
                    // subgraph is gives its cache entries new keys (supergraph/fingerprint.rs).
                    selection_hash: xxhash_rust::xxh3::xxh3_64(
                        format!(
                            "{}\u{1}{:016x}\u{1}{:?}\u{1}{selection}",
                            subgraph.name,
                            sg.subgraph_fingerprint(step.subgraph),
                            step.kind
                        )
                        .as_bytes(),
                    ),
                    selection: Arc::new(selection),
                }));
                Some(if step.merge_path.is_empty() {
                    fetch
                } else {
                    PlanNode::Flatten {
                        path: step.merge_path,
                        node: Box::new(fetch),
                    }
                })
            })
            .collect();
        let root = tree::build_tree(&deps, &mut |i| nodes[i].take().expect("each step once"));
        (root, fetch_count)
    }

    /// After a query failed to plan because a field cannot be reached at all: the root fields
    /// that plan on their own are planned together, those that cannot reach a field are
    /// recorded in `unplannable` (they answer null with an error, as peers answer, rather
    /// than failing the whole query). When none plans, or a root field fails for another
    /// reason (e.g. an interface field that no one subgraph resolves for every
    /// implementation, which fails the query, as the federation audit pins down), the query
    /// fails.
    fn plan_plannable_roots(
        &self,
        walker: &Walker,
        operation: &NormalizedOperation,
        error: PlanError,
        unplannable: &mut Vec<(Name, String)>,
    ) -> Result<Vec<root::RootFetch>, PlanError> {
        let root_type = &operation.root_type;
        let mut plannable = SelectionSet::default();
        for item in &operation.selection_set.items {
            let Selection::Field(field) = item else {
                continue;
            };
            if root::is_meta_field(field) {
                continue;
            }
            let single = SelectionSet {
                items: vec![item.clone()],
            };
            match root::plan_query_root(walker, root_type, &single) {
                Ok(_) => plannable.items.push(item.clone()),
                Err(e @ PlanError::UnreachableField { .. }) => {
                    unplannable.push((field.response_key().clone(), e.to_string()))
                }
                Err(other) => {
                    unplannable.clear();
                    return Err(other);
                }
            }
            if walker.exhausted() {
                return Err(PlanError::TooComplex);
            }
        }
        if plannable.is_empty() {
            unplannable.clear();
            return Err(error);
        }
        root::plan_query_root(walker, root_type, &plannable)
    }
}
