//! Takes what a request may not see out of its normalised operation, as Apollo Router's
//! authorization does. A field is unauthorized when its definition, or the type it returns,
//! carries requirements the request's grants do not meet; through an interface, also when an
//! implementation's field does, or (unless only `__typename` and fragments are selected under
//! it) when an implementation of the interface it returns does. A root field is unauthorized
//! when its root type is protected. An inline fragment is unauthorized when its type
//! condition is protected.
//!
//! Two operations come out: the one the planner gets, with the unauthorized selections gone
//! (a field whose every child went selects `__typename`, so that it is still fetched and its
//! children can be answered `null`), and the one the response is shaped by, with the same
//! selections kept and marked, so that the client gets `null` where it asked for them, an
//! error at each such path, and null propagation as for any null.
//!
//! Deferred fragments (`@defer`) are filtered by the same rules, each on its own selection:
//! what one may not see is taken out of what its part fetches and answered `null` with an
//! error in that part. A deferred fragment under a selection the request may not see (whose
//! objects are therefore `null`, so that it would deliver nothing) is dropped, so that nothing
//! is fetched for it, not even the keys at its path.

use apollo_compiler::Name;
use apollo_compiler::schema::ExtendedType;

use super::Grants;
use crate::operation::selection::{Field, InlineFragment, Selection, SelectionSet};
use crate::operation::{ApiSchema, DeferPathStep, DeferredFragment, NormalizedOperation};
use crate::supergraph::access::{AccessRules, Requirements};

/// An operation with what the request may not see taken out.
#[derive(Debug, Clone)]
pub struct Filtered {
    /// The operation the planner gets.
    pub for_planning: NormalizedOperation,
    /// The operation the response is shaped by: unauthorized fields marked.
    pub for_shape: NormalizedOperation,
    /// Each unauthorized selection, as response keys joined by dots (`me.email`), fragments
    /// as `... on T`.
    pub unauthorized: Vec<String>,
}

/// `operation` filtered for `grants`; `None` when the request may see all of it.
pub fn filter(
    operation: &NormalizedOperation,
    schema: &ApiSchema,
    rules: &AccessRules,
    grants: &Grants,
) -> Option<Filtered> {
    let mut walk = Walk {
        schema,
        rules,
        grants,
        unauthorized: Vec::new(),
    };
    let root = &operation.root_type;
    let root_allowed = walk.allows(rules.of_type(root));
    let (planning, marked) = if root_allowed {
        walk.set(root, &operation.selection_set, "")
    } else {
        // A protected root type: nothing of the operation may run.
        let marked = walk.mark_all(&operation.selection_set, "");
        (SelectionSet::default(), marked)
    };
    // Deferred fragments, in document order (an enclosing one before those inside it, so that
    // what is unauthorized in it is known when they are looked at).
    let mut planning_deferred = Vec::new();
    let mut marked_deferred = Vec::new();
    for deferred in &operation.deferred {
        let path = path_text(&deferred.path);
        let under_unauthorized = walk
            .unauthorized
            .iter()
            .any(|denied| is_within(&path, denied));
        if !root_allowed || under_unauthorized {
            continue;
        }
        // A fragment left with nothing to fetch is still delivered: its nulls and errors.
        let (planning, marked) = walk.set(&deferred.parent_type, &deferred.selection, &path);
        planning_deferred.push(DeferredFragment {
            selection: planning,
            ..deferred.clone()
        });
        marked_deferred.push(DeferredFragment {
            selection: marked,
            ..deferred.clone()
        });
    }
    if walk.unauthorized.is_empty() {
        return None;
    }
    Some(Filtered {
        for_planning: NormalizedOperation {
            selection_set: planning,
            deferred: planning_deferred,
            ..operation.clone()
        },
        for_shape: NormalizedOperation {
            selection_set: marked,
            deferred: marked_deferred,
            ..operation.clone()
        },
        unauthorized: walk.unauthorized,
    })
}

/// A deferred fragment's path as the walk writes paths (`product.reviews`, `... on T`; list
/// steps leave no trace).
fn path_text(path: &[DeferPathStep]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            DeferPathStep::Field(key) => text = join(&text, key),
            DeferPathStep::TypeCondition(name) => text = join(&text, &format!("... on {name}")),
            DeferPathStep::List => {}
        }
    }
    text
}

/// Whether `path` is `prefix` or lies under it.
fn is_within(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

struct Walk<'a> {
    schema: &'a ApiSchema,
    rules: &'a AccessRules,
    grants: &'a Grants,
    unauthorized: Vec<String>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Walk<'_> {
    fn allows(&self, requirements: Option<&Requirements>) -> bool {
        requirements.is_none_or(|r| self.grants.meet(r))
    }

    /// `(for planning, marked)` for the selections of `set` on a value of type `parent`.
    fn set(
        &mut self,
        parent: &Name,
        set: &SelectionSet,
        path: &str,
    ) -> (SelectionSet, SelectionSet) {
        let mut planning = SelectionSet::default();
        let mut marked = SelectionSet::default();
        for item in &set.items {
            match item {
                Selection::Field(field) if field.name.starts_with("__") => {
                    planning.items.push(item.clone());
                    marked.items.push(item.clone());
                }
                Selection::Field(field) => {
                    let here = join(path, field.response_key());
                    if !self.field_allowed(parent, field) {
                        marked.items.push(Selection::Field(self.mark(field, here)));
                        continue;
                    }
                    if field.selection_set.is_empty() {
                        planning.items.push(item.clone());
                        marked.items.push(item.clone());
                        continue;
                    }
                    let (mut children, marked_children) =
                        self.set(field.ty.inner_named_type(), &field.selection_set, &here);
                    if children.is_empty() {
                        children.items.push(Selection::Field(Field::typename()));
                    }
                    planning.items.push(Selection::Field(Field {
                        selection_set: children,
                        ..field.clone()
                    }));
                    marked.items.push(Selection::Field(Field {
                        selection_set: marked_children,
                        ..field.clone()
                    }));
                }
                Selection::InlineFragment(fragment) => {
                    let here = join(path, &format!("... on {}", fragment.type_condition));
                    let condition = &fragment.type_condition;
                    if !self.allows(self.rules.of_type(condition)) {
                        self.unauthorized.push(here.clone());
                        marked.items.push(Selection::InlineFragment(InlineFragment {
                            type_condition: condition.clone(),
                            selection_set: self.mark_all(&fragment.selection_set, &here),
                        }));
                        continue;
                    }
                    let (children, marked_children) =
                        self.set(condition, &fragment.selection_set, &here);
                    if !children.is_empty() {
                        planning
                            .items
                            .push(Selection::InlineFragment(InlineFragment {
                                type_condition: condition.clone(),
                                selection_set: children,
                            }));
                    }
                    marked.items.push(Selection::InlineFragment(InlineFragment {
                        type_condition: condition.clone(),
                        selection_set: marked_children,
                    }));
                }
            }
        }
        (planning, marked)
    }

    /// `field` answered `null` with an error, its selections dropped.
    fn mark(&mut self, field: &Field, path: String) -> Field {
        self.unauthorized.push(path);
        Field {
            selection_set: SelectionSet::default(),
            unauthorized: true,
            ..field.clone()
        }
    }

    /// Every field of `set` marked (but `__typename` and introspection, which are no one's
    /// data); the errors are the caller's (one for the fragment), or at the root one per field.
    fn mark_all(&mut self, set: &SelectionSet, path: &str) -> SelectionSet {
        let root = path.is_empty();
        let items = set
            .items
            .iter()
            .map(|item| match item {
                Selection::Field(field) if field.name.starts_with("__") => item.clone(),
                Selection::Field(field) => {
                    if root {
                        self.unauthorized.push(field.response_key().to_string());
                    }
                    Selection::Field(Field {
                        selection_set: SelectionSet::default(),
                        unauthorized: true,
                        ..field.clone()
                    })
                }
                Selection::InlineFragment(fragment) => Selection::InlineFragment(InlineFragment {
                    type_condition: fragment.type_condition.clone(),
                    selection_set: self.mark_all(&fragment.selection_set, path),
                }),
            })
            .collect();
        SelectionSet { items }
    }

    fn field_allowed(&self, parent: &Name, field: &Field) -> bool {
        let returns = field.ty.inner_named_type();
        if !self.allows(self.rules.of_field(parent, &field.name))
            || !self.allows(self.rules.of_type(returns))
        {
            return false;
        }
        // Through an interface, the field is each implementation's field.
        if self.is_interface(parent)
            && !self
                .schema
                .possible_types(parent)
                .iter()
                .all(|object| self.allows(self.rules.of_field(object, &field.name)))
        {
            return false;
        }
        // An interface value may be any implementation: all must be visible, unless the
        // selection only asks for `__typename` and fragments, which are checked one by one.
        let only_typename_and_fragments = field.selection_set.items.iter().all(|item| {
            matches!(item, Selection::InlineFragment(_))
                || matches!(item, Selection::Field(f) if f.name == "__typename")
        });
        if self.is_interface(returns)
            && !only_typename_and_fragments
            && !self
                .schema
                .possible_types(returns)
                .iter()
                .all(|object| self.allows(self.rules.of_type(object)))
        {
            return false;
        }
        true
    }

    fn is_interface(&self, name: &str) -> bool {
        matches!(
            self.schema.schema().types.get(name),
            Some(ExtendedType::Interface(_))
        )
    }
}
