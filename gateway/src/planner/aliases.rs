//! Keeps a fetch valid in its subgraph. Two fields under the same response key in fragments on
//! different types are fine for the client (the API schema merged their types) but a subgraph
//! rejects them when its own types differ (`ID!` here, `ID` there). Such fields get an alias in
//! the subgraph query and a rename back to the client's key when the result arrives.

use std::collections::HashMap;

use apollo_compiler::ast::{Type, Value};
use apollo_compiler::{Name, Node};

use super::plan::{KeyRename, PathSegment};
use super::walk::field_path;
use crate::operation::selection::{Selection, SelectionSet};
use crate::supergraph::{SubgraphId, Supergraph, TypeKind};

pub(super) fn resolve_conflicts(
    sg: &Supergraph,
    subgraph: SubgraphId,
    parent: &Name,
    selection: &mut SelectionSet,
) -> Vec<KeyRename> {
    let mut resolver = Resolver {
        sg,
        subgraph,
        renames: Vec::new(),
        counter: 0,
    };
    resolver.selection_set(parent, selection, &[]);
    // Children first: a rename inside an aliased field is found under the alias.
    resolver
        .renames
        .sort_by_key(|r| std::cmp::Reverse(r.path.len()));
    resolver.renames
}

/// Like [`resolve_conflicts`] for an entity fetch's selection: each `... on Type` fragment is
/// one entity's selection, checked on its own, with renames relative to the entity.
pub(super) fn resolve_entity_conflicts(
    sg: &Supergraph,
    subgraph: SubgraphId,
    selection: &mut SelectionSet,
) -> Vec<KeyRename> {
    let mut renames = Vec::new();
    for item in &mut selection.items {
        if let Selection::InlineFragment(fragment) = item {
            let entity = fragment.type_condition.clone();
            renames.extend(resolve_conflicts(
                sg,
                subgraph,
                &entity,
                &mut fragment.selection_set,
            ));
        }
    }
    renames
}

struct Seen {
    name: Name,
    arguments: Vec<(Name, Node<Value>)>,
    ty: Type,
}

struct Resolver<'a> {
    sg: &'a Supergraph,
    subgraph: SubgraphId,
    renames: Vec<KeyRename>,
    counter: u32,
}

impl Resolver<'_> {
    fn selection_set(&mut self, parent: &Name, selection: &mut SelectionSet, path: &[PathSegment]) {
        let mut seen = HashMap::new();
        self.scope(parent, selection, path, &[], &mut seen);
    }

    /// One merge scope: the fields of a selection set and of the fragments inside it all land
    /// in the same response object.
    fn scope(
        &mut self,
        parent: &Name,
        selection: &mut SelectionSet,
        path: &[PathSegment],
        conditions: &[PathSegment],
        seen: &mut HashMap<Name, Seen>,
    ) {
        for item in &mut selection.items {
            match item {
                Selection::Field(field) => {
                    let ty = self.subgraph_type(parent, &field.name, &field.ty);
                    let key = field.response_key().clone();
                    match seen.get(&key) {
                        Some(previous)
                            if previous.name != field.name
                                || previous.arguments != field.arguments
                                || self.shapes_conflict(&previous.ty, &ty) =>
                        {
                            let alias = Name::new(&format!("{key}__alias_{}", self.counter))
                                .expect("valid alias");
                            self.counter += 1;
                            let mut rename_path = path.to_vec();
                            rename_path.extend(conditions.iter().cloned());
                            self.renames.push(KeyRename {
                                path: rename_path,
                                from: alias.clone(),
                                to: key,
                            });
                            field.alias = Some(alias);
                        }
                        Some(_) => {}
                        None => {
                            seen.insert(
                                key,
                                Seen {
                                    name: field.name.clone(),
                                    arguments: field.arguments.clone(),
                                    ty,
                                },
                            );
                        }
                    }
                    if !field.selection_set.is_empty() {
                        let mut child_path = path.to_vec();
                        child_path.extend(conditions.iter().cloned());
                        child_path.extend(field_path(field));
                        let child_type = field.ty.inner_named_type().clone();
                        self.selection_set(&child_type, &mut field.selection_set, &child_path);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let mut inner_conditions = conditions.to_vec();
                    inner_conditions.push(PathSegment::TypeCondition(vec![
                        fragment.type_condition.clone(),
                    ]));
                    let condition = fragment.type_condition.clone();
                    self.scope(
                        &condition,
                        &mut fragment.selection_set,
                        path,
                        &inner_conditions,
                        seen,
                    );
                }
            }
        }
    }

    fn subgraph_type(&self, parent: &Name, field: &Name, fallback: &Type) -> Type {
        self.sg
            .field_in_subgraph(parent, field, self.subgraph)
            .and_then(|f| f.ty)
            .unwrap_or_else(|| fallback.clone())
    }

    /// Whether two types cannot share a response key in one selection set (the spec's
    /// SameResponseShape, without descending into composite fields).
    fn shapes_conflict(&self, a: &Type, b: &Type) -> bool {
        match (a, b) {
            (Type::Named(x), Type::Named(y)) | (Type::NonNullNamed(x), Type::NonNullNamed(y)) => {
                x != y && (self.is_leaf(x) || self.is_leaf(y))
            }
            (Type::List(x), Type::List(y)) | (Type::NonNullList(x), Type::NonNullList(y)) => {
                self.shapes_conflict(x, y)
            }
            _ => true,
        }
    }

    fn is_leaf(&self, name: &Name) -> bool {
        self.sg
            .type_def(name)
            .is_none_or(|d| matches!(d.kind, TypeKind::Scalar | TypeKind::Enum))
    }
}
