//! The query plan: what the executor runs. A tree of fetches to subgraphs, ordered by
//! `Sequence` and `Parallel`, with `Flatten` saying where in the response an entity fetch reads
//! its representations and merges its results.

use std::sync::Arc;

use apollo_compiler::Name;

use crate::operation::SelectionSet;
use crate::supergraph::SubgraphId;

/// A plan for one operation (with its `@skip`/`@include` conditions resolved).
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// `None` when nothing needs fetching (e.g. only `__typename` or introspection).
    pub root: Option<PlanNode>,
    /// Number of fetch nodes, for diagnostics and metrics.
    pub fetch_count: usize,
    /// Root fields of a query that no subgraph can resolve in full, by response key, with
    /// why: the rest of the query is planned and they answer null with an error.
    pub unplannable: Vec<(Name, String)>,
}

#[derive(Debug, Clone)]
pub enum PlanNode {
    Fetch(Arc<FetchNode>),
    Sequence(Vec<PlanNode>),
    Parallel(Vec<PlanNode>),
    /// Runs an entity fetch on every object found at `path` in the response so far.
    Flatten {
        path: Vec<PathSegment>,
        node: Box<PlanNode>,
    },
    /// An operation with `@defer`: the primary part (what the first response needs), then
    /// each deferred fragment's fetches, run once what it depends on has run (see
    /// `planner::defer`). Only at the root of a plan.
    Defer {
        primary: Option<Box<PlanNode>>,
        deferred: Vec<DeferredNode>,
    },
}

/// One deferred fragment of a [`PlanNode::Defer`].
#[derive(Debug, Clone)]
pub struct DeferredNode {
    /// The fragment's id in the operation (`NormalizedOperation::deferred`).
    pub id: usize,
    pub label: Option<String>,
    /// Where its objects are; each object is delivered as one incremental part.
    pub path: Vec<PathSegment>,
    /// The deferred fragment it sits in (runs and is delivered after it); `None`: after the
    /// primary part.
    pub depends: Option<usize>,
    /// Its fetches; `None` when the data comes with what it depends on (fields fetched
    /// there anyway, or a selection that cannot be fetched on its own).
    pub node: Option<Box<PlanNode>>,
}

/// One step of a response path in a plan: an object field, every element of a list, or only the
/// objects whose `__typename` is one of the given types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSegment {
    Field(Name),
    List,
    TypeCondition(Vec<Name>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
    /// The root fetch of a subscription: opened once as a stream to its subgraph, never sent
    /// as a request; each event it yields runs the rest of the plan (see `crate::realtime`).
    Subscription,
}

/// One request to one subgraph.
#[derive(Debug, Clone)]
pub struct FetchNode {
    pub id: usize,
    pub subgraph: SubgraphId,
    pub subgraph_name: Arc<str>,
    pub kind: OperationKind,
    /// The GraphQL document sent to the subgraph, ready to go.
    pub operation: Arc<str>,
    pub operation_name: Option<Arc<str>>,
    /// The client's variables this fetch forwards (by name).
    pub variable_usages: Vec<Name>,
    /// For entity fetches: how to build each representation from an object in the response.
    pub entity: Option<EntityFetch>,
    /// Keys the subgraph query had to alias (to avoid conflicts within the subgraph) and that
    /// must get their client name back before the result is merged.
    pub output_renames: Vec<KeyRename>,
    /// The selection sent; for entity fetches, the inside of `_entities` (one `... on Type`
    /// fragment per entity type).
    pub selection: Arc<SelectionSet>,
    /// A stable hash of the subgraph and the selection: what caches key answers by.
    pub selection_hash: u64,
}

/// How an entity fetch builds `_entities` representations: one part per entity type the
/// fetch resolves (several types can share one request).
#[derive(Debug, Clone)]
pub struct EntityFetch {
    /// For the objects at the path of the enclosing `Flatten`.
    pub parts: Vec<EntityPart>,
    /// For a merged fetch (see the planner's `merge_fetches`): objects at further paths,
    /// from the response root, each with its parts. One request carries the representations
    /// of every path (each distinct one once), and each object gets its own entity's answer.
    pub more: Vec<EntityInput>,
}

/// Objects at one more path that a merged entity fetch fills.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityInput {
    pub path: Vec<PathSegment>,
    pub parts: Vec<EntityPart>,
}

/// Representations of one entity type.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityPart {
    /// The objects this part applies to, by `__typename`; `None`: every object at the path.
    pub applies_to: Option<Vec<Name>>,
    /// The `__typename` of the representations: the entity type, or the interface name when
    /// the target subgraph models it with `@interfaceObject`.
    pub typename: Name,
    /// The fields copied from the object into the representation (keys and `@requires`
    /// fields), read under their response keys and written under their field names.
    pub requires: SelectionSet,
    /// Contextual variables (`contextualArgument_<n>_<i>`) the fetch binds per representation:
    /// each is read from the nearest object along the path (the entity itself or an ancestor)
    /// that has the same name as a response key (where the planner selected the context's
    /// selection). Representations with different values go in separate `_entities` calls.
    pub contexts: Vec<Name>,
}

/// A response key that the fetch aliased and that goes back to its client name on merge.
/// `path` is relative to each fetched object (the root, or each entity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRename {
    pub path: Vec<PathSegment>,
    pub from: Name,
    pub to: Name,
}

impl QueryPlan {
    /// The deferred fragments, when the plan defers any.
    pub fn deferred(&self) -> &[DeferredNode] {
        match &self.root {
            Some(PlanNode::Defer { deferred, .. }) => deferred,
            _ => &[],
        }
    }

    pub fn empty() -> Self {
        Self {
            root: None,
            fetch_count: 0,
            unplannable: Vec::new(),
        }
    }

    /// The fetch that opens a subscription's stream: the first fetch of a subscription plan.
    pub fn subscription_fetch(&self) -> Option<&Arc<FetchNode>> {
        fn first(node: &PlanNode) -> Option<&Arc<FetchNode>> {
            match node {
                PlanNode::Fetch(fetch) => Some(fetch),
                PlanNode::Flatten { node, .. } => first(node),
                PlanNode::Sequence(nodes) | PlanNode::Parallel(nodes) => {
                    nodes.iter().find_map(first)
                }
                PlanNode::Defer { primary, .. } => primary.as_deref().and_then(first),
            }
        }
        self.root
            .as_ref()
            .and_then(first)
            .filter(|fetch| fetch.kind == OperationKind::Subscription)
    }
}
