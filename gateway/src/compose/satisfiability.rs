//! The satisfiability check: every field of the supergraph must be resolvable wherever a query
//! can reach its type. Starting from the root fields, the check walks the supergraph the way
//! plans do (one subgraph at a time, jumping through entity keys) and asks the query planner,
//! at each (subgraph, type) reached, whether each field can be resolved from there. A field
//! that cannot is reported with a path that reaches it.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

use apollo_compiler::Name;
use apollo_compiler::ast::Type as AstType;

use crate::operation::selection::{Field, Selection, SelectionSet};
use crate::planner::QueryPlanner;
use crate::supergraph::{NO_OVERRIDE_LABELS, OverrideLabels, SubgraphId, Supergraph, TypeKind};

/// A selection of `name` that the planner accepts for any field type: composite fields get a
/// `__typename` sub-selection.
fn probe(supergraph: &Supergraph, name: &Name, ty: &AstType) -> Field {
    let composite = supergraph.type_def(ty.inner_named_type()).is_some_and(|d| {
        matches!(
            d.kind,
            TypeKind::Object | TypeKind::Interface | TypeKind::Union
        )
    });
    let selection_set = if composite {
        SelectionSet {
            items: vec![Selection::Field(Field::typename())],
        }
    } else {
        SelectionSet::default()
    };
    Field {
        alias: None,
        name: name.clone(),
        arguments: Vec::new(),
        ty: ty.clone(),
        selection_set,
        unauthorized: false,
    }
}

/// A point of the exploration: a type, and the subgraphs where a query could be when it gets
/// there (several, through shareable fields); a field is satisfiable when at least one of them
/// can resolve it.
struct Point {
    type_name: Name,
    subgraphs: BTreeSet<SubgraphId>,
    /// The type is an interface seen through `@interfaceObject` subgraphs: its own fields are
    /// checked, its implementations are explored from the subgraphs that know them.
    interface_object: bool,
    path: String,
}

/// A field no plan can resolve on some path, with a message saying which.
pub struct Unsatisfiable {
    pub type_name: Name,
    pub field: Name,
    pub message: String,
}

pub fn check(supergraph: Arc<Supergraph>) -> Vec<Unsatisfiable> {
    // A progressive override gives a field one owner with its label active and another
    // without: both supergraphs a request can meet must be satisfiable (labels are
    // independent, so all on and all off cover each field's two owners).
    let mut errors = check_with(&supergraph, &NO_OVERRIDE_LABELS);
    if !supergraph.override_labels().is_empty() {
        let all = OverrideLabels::new(supergraph.override_labels().iter().cloned());
        for error in check_with(&supergraph, &all) {
            if !errors
                .iter()
                .any(|e| e.type_name == error.type_name && e.field == error.field)
            {
                errors.push(error);
            }
        }
    }
    errors
}

fn check_with(supergraph: &Arc<Supergraph>, labels: &OverrideLabels) -> Vec<Unsatisfiable> {
    let planner = QueryPlanner::new(supergraph.clone());
    let composite = |name: &Name| {
        supergraph.type_def(name).is_some_and(|d| {
            matches!(
                d.kind,
                TypeKind::Object | TypeKind::Interface | TypeKind::Union
            )
        })
    };
    let start =
        |root: &str, field_name: &Name, returned: &Name, subgraphs: BTreeSet<SubgraphId>| Point {
            type_name: returned.clone(),
            subgraphs,
            interface_object: false,
            path: format!("{root}.{field_name}"),
        };
    // A root field is served by any subgraph that resolves it: the plan starts there.
    let mut starts = Vec::new();
    let mut errors = Vec::new();
    for root in ["Query", "Mutation"] {
        let Some(def) = supergraph.type_def(root) else {
            continue;
        };
        for (field_name, field) in &def.fields {
            let returned = field.ty.inner_named_type();
            if !composite(returned) {
                continue;
            }
            let subgraphs: BTreeSet<SubgraphId> = supergraph
                .subgraphs_resolving(root, field_name, labels)
                .into_iter()
                .collect();
            if root == "Mutation" && subgraphs.len() > 1 {
                // A mutation runs once, in one subgraph: everything below it must be
                // reachable from (at least) one of the subgraphs that resolve it, alone.
                let mut first_failure = None;
                let mut satisfied = false;
                for subgraph in &subgraphs {
                    let found = explore(
                        supergraph,
                        &planner,
                        labels,
                        vec![start(root, field_name, returned, [*subgraph].into())],
                    );
                    if found.is_empty() {
                        satisfied = true;
                        break;
                    }
                    first_failure.get_or_insert((*subgraph, found));
                }
                if !satisfied && let Some((subgraph, found)) = first_failure {
                    let from = &supergraph.subgraph(subgraph).name;
                    errors.extend(found.into_iter().map(|e| Unsatisfiable {
                        message: format!(
                            "mutation field \"Mutation.{field_name}\" is resolved by several subgraphs, but none of them can serve every selection below it alone (a mutation is called once); when called from subgraph \"{from}\": {}",
                            e.message
                        ),
                        ..e
                    }));
                }
                continue;
            }
            starts.push(start(root, field_name, returned, subgraphs));
        }
    }
    errors.extend(explore(supergraph, &planner, labels, starts));
    errors
}

/// Walks from `starts` and reports every field some path cannot resolve.
fn explore(
    supergraph: &Arc<Supergraph>,
    planner: &QueryPlanner,
    labels: &OverrideLabels,
    starts: Vec<Point>,
) -> Vec<Unsatisfiable> {
    let api = supergraph.api_schema().clone();
    let mut errors = Vec::new();
    let mut reported: HashSet<(Name, Name)> = HashSet::new();
    let mut seen: HashSet<(Name, BTreeSet<SubgraphId>, bool)> = HashSet::new();
    let mut queue: VecDeque<Point> = VecDeque::new();
    let composite = |name: &Name| {
        supergraph.type_def(name).is_some_and(|d| {
            matches!(
                d.kind,
                TypeKind::Object | TypeKind::Interface | TypeKind::Union
            )
        })
    };
    let mut push = |queue: &mut VecDeque<Point>, point: Point| {
        if !point.subgraphs.is_empty()
            && seen.insert((
                point.type_name.clone(),
                point.subgraphs.clone(),
                point.interface_object,
            ))
        {
            queue.push_back(point);
        }
    };
    for point in starts {
        push(&mut queue, point);
    }
    while let Some(point) = queue.pop_front() {
        let Some(def) = supergraph.type_def(&point.type_name) else {
            continue;
        };
        if def.is_abstract() && !point.interface_object {
            // Explored per implementation, as plans split abstract selections; an
            // @interfaceObject subgraph checks the interface's own fields.
            let io: BTreeSet<SubgraphId> = point
                .subgraphs
                .iter()
                .copied()
                .filter(|s| def.in_subgraph(*s).is_some_and(|t| t.is_interface_object))
                .collect();
            let owners: Vec<SubgraphId> = def
                .subgraphs
                .iter()
                .filter(|t| !t.is_interface_object && t.resolvable_keys().next().is_some())
                .map(|t| t.subgraph)
                .collect();
            push(
                &mut queue,
                Point {
                    type_name: point.type_name.clone(),
                    subgraphs: io.clone(),
                    interface_object: true,
                    path: point.path.clone(),
                },
            );
            for object in supergraph.possible_types(&point.type_name) {
                let mut subgraphs: BTreeSet<SubgraphId> = point
                    .subgraphs
                    .iter()
                    .copied()
                    .filter(|s| !io.contains(s))
                    .filter(|s| {
                        supergraph
                            .possible_types_in(&point.type_name, *s)
                            .contains(object)
                    })
                    .collect();
                if !io.is_empty() {
                    subgraphs.extend(owners.iter().copied().filter(|s| {
                        supergraph
                            .possible_types_in(&point.type_name, *s)
                            .contains(object)
                    }));
                }
                push(
                    &mut queue,
                    Point {
                        type_name: object.clone(),
                        subgraphs,
                        interface_object: false,
                        path: format!("{}|{object}", point.path),
                    },
                );
            }
            continue;
        }
        for (field_name, field) in &def.fields {
            // Clients cannot select what the API schema hides.
            let visible = api
                .types
                .get(&point.type_name)
                .and_then(|t| match t {
                    apollo_compiler::schema::ExtendedType::Object(o) => o.fields.get(field_name),
                    apollo_compiler::schema::ExtendedType::Interface(i) => i.fields.get(field_name),
                    _ => None,
                })
                .is_some();
            if !visible {
                continue;
            }
            let probe = probe(supergraph, field_name, &field.ty);
            let mut next = BTreeSet::new();
            let mut resolvable = false;
            for subgraph in &point.subgraphs {
                let serving =
                    planner.serving_subgraphs(*subgraph, &point.type_name, &probe, labels);
                resolvable |= !serving.is_empty();
                next.extend(serving);
            }
            let path = format!("{}.{field_name}", point.path);
            if !resolvable {
                if reported.insert((point.type_name.clone(), field_name.clone())) {
                    let from: Vec<&str> = point
                        .subgraphs
                        .iter()
                        .map(|s| &*supergraph.subgraph(*s).name)
                        .collect();
                    errors.push(Unsatisfiable {
                        type_name: point.type_name.clone(),
                        field: field_name.clone(),
                        message: format!(
                            "field \"{}.{field_name}\" cannot be resolved for the query path `{path}`: from subgraph(s) {}, where that path leads, no subgraph resolving it can be reached (no usable @key)",
                            point.type_name,
                            super::merge::quoted(&from)
                        ),
                    });
                }
                continue;
            }
            let returned = field.ty.inner_named_type();
            if composite(returned) {
                push(
                    &mut queue,
                    Point {
                        type_name: returned.clone(),
                        subgraphs: next,
                        interface_object: false,
                        path,
                    },
                );
            }
        }
    }
    errors
}
