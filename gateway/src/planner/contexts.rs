//! Contextual arguments (`@fromContext`, `@join__field(contextArguments:)`): a pass over the
//! operation before planning, run only when the supergraph sets contexts.
//!
//! For each selected field that takes arguments from a context, occurrence `n` in document
//! order, argument `i`:
//! - the field gets the argument `name: $contextualArgument_<n>_<i>`, and the operation a
//!   definition of that variable (with the argument's type), so the subgraph operation that
//!   resolves the field passes it on;
//! - every ancestor selection (the field's parent included) whose type can be a type that sets
//!   the context selects the context's selection under the alias `contextualArgument_<n>_<i>`
//!   (in a fragment on the setting type where the ancestor's type is wider). The planner then
//!   fetches it like any field the client asked for.
//!
//! The walker resolves a field with contextual arguments only at the root of an entity fetch
//! (as a field with `@requires`), and the fetch's representations name the variables
//! ([`super::EntityPart::contexts`]). The executor reads each variable from the nearest object
//! along the entity's path that has the alias as a key (so the innermost ancestor that really
//! sets the context at run time wins), and sends one `_entities` call per distinct set of values.

use apollo_compiler::ast::{Type, Value, VariableDefinition};
use apollo_compiler::{Name, Node};

use super::field_set::from_field_set;
use crate::operation::NormalizedOperation;
use crate::operation::selection::{Field, InlineFragment, Selection, SelectionSet};
use crate::supergraph::Supergraph;

/// The operation with contextual arguments bound, and the variables that bind them.
pub(super) struct Bound {
    pub operation: NormalizedOperation,
    pub variables: Vec<Name>,
}

/// Binds the contextual arguments of `operation`; `None` when it selects no field that takes
/// one (the operation is planned as it is).
pub(super) fn bind(sg: &Supergraph, operation: &NormalizedOperation) -> Option<Bound> {
    if !sg.has_contexts() {
        return None;
    }
    let mut finder = Finder {
        sg,
        occurrences: 0,
        arguments: Vec::new(),
        insertions: Vec::new(),
        variables: Vec::new(),
    };
    let mut frames = vec![(Vec::new(), operation.root_type.clone())];
    finder.walk(
        &operation.selection_set,
        &operation.root_type,
        &mut Vec::new(),
        &mut frames,
    );
    if finder.variables.is_empty() {
        return None;
    }
    let mut bound = operation.clone();
    for (path, argument) in finder.arguments {
        if let Some(Selection::Field(field)) = item_at(&mut bound.selection_set, &path) {
            field.arguments.push(argument);
        }
    }
    for (path, selection) in finder.insertions {
        if let Some(set) = set_at(&mut bound.selection_set, &path) {
            set.merge_in(selection);
        }
    }
    let mut names = Vec::new();
    for (name, ty) in finder.variables {
        bound.variables.push(Node::new(VariableDefinition {
            name: name.clone(),
            ty: Node::new(ty),
            default_value: None,
            directives: Default::default(),
        }));
        names.push(name);
    }
    Some(Bound {
        operation: bound,
        variables: names,
    })
}

/// An argument given to a field: its name and value.
type Argument = (Name, Node<Value>);

struct Finder<'a> {
    sg: &'a Supergraph,
    occurrences: usize,
    /// (path of a field, argument to add to it).
    arguments: Vec<(Vec<usize>, Argument)>,
    /// (path of a selection set, selection to merge into it).
    insertions: Vec<(Vec<usize>, Selection)>,
    variables: Vec<(Name, Type)>,
}

impl Finder<'_> {
    /// `set` is at `path` and selects on `ty`; `frames` are the selection sets of the objects
    /// from the root down to this one (its own last), each with its type.
    fn walk(
        &mut self,
        set: &SelectionSet,
        ty: &Name,
        path: &mut Vec<usize>,
        frames: &mut Vec<(Vec<usize>, Name)>,
    ) {
        for (index, item) in set.items.iter().enumerate() {
            path.push(index);
            match item {
                Selection::Field(field) => {
                    self.contextual_field(field, ty, path, frames);
                    if !field.selection_set.is_empty() {
                        let inner = field.ty.inner_named_type().clone();
                        frames.push((path.clone(), inner.clone()));
                        self.walk(&field.selection_set, &inner, path, frames);
                        frames.pop();
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.walk(
                        &fragment.selection_set,
                        &fragment.type_condition,
                        path,
                        frames,
                    );
                }
            }
            path.pop();
        }
    }

    fn contextual_field(
        &mut self,
        field: &Field,
        parent: &Name,
        path: &[usize],
        frames: &[(Vec<usize>, Name)],
    ) {
        let Some(def) = self.sg.field_def(parent, &field.name) else {
            return;
        };
        let Some(contextual) = def
            .sources
            .iter()
            .flatten()
            .find(|s| !s.context_arguments.is_empty())
        else {
            return;
        };
        self.occurrences += 1;
        for (i, argument) in contextual.context_arguments.iter().enumerate() {
            let variable = Name::new(&format!("contextualArgument_{}_{i}", self.occurrences))
                .expect("a valid name");
            self.arguments.push((
                path.to_vec(),
                (
                    argument.name.clone(),
                    Node::new(Value::Variable(variable.clone())),
                ),
            ));
            self.variables.push((variable.clone(), argument.ty.clone()));
            for (frame_path, frame_type) in frames {
                for (setter, selection) in &argument.selections {
                    let aliased = aliased(&from_field_set(selection), &variable);
                    if self.sg.is_subtype_or_same(setter, frame_type) {
                        // The object here always sets the context.
                        for item in aliased.items {
                            self.insertions.push((frame_path.clone(), item));
                        }
                    } else if self.sg.is_subtype_or_same(frame_type, setter) {
                        // Some objects here may: those of the setting type.
                        self.insertions.push((
                            frame_path.clone(),
                            Selection::InlineFragment(InlineFragment {
                                type_condition: setter.clone(),
                                selection_set: aliased,
                            }),
                        ));
                    }
                }
            }
        }
    }
}

/// The context selection with its field (or the field of each type condition) under `alias`.
fn aliased(selection: &SelectionSet, alias: &Name) -> SelectionSet {
    SelectionSet {
        items: selection
            .items
            .iter()
            .map(|item| match item {
                Selection::Field(field) => Selection::Field(Field {
                    alias: Some(alias.clone()),
                    ..field.clone()
                }),
                Selection::InlineFragment(fragment) => Selection::InlineFragment(InlineFragment {
                    type_condition: fragment.type_condition.clone(),
                    selection_set: aliased(&fragment.selection_set, alias),
                }),
            })
            .collect(),
    }
}

fn item_at<'s>(set: &'s mut SelectionSet, path: &[usize]) -> Option<&'s mut Selection> {
    let (last, parents) = path.split_last()?;
    set_at(set, parents)?.items.get_mut(*last)
}

fn set_at<'s>(set: &'s mut SelectionSet, path: &[usize]) -> Option<&'s mut SelectionSet> {
    let Some((first, rest)) = path.split_first() else {
        return Some(set);
    };
    match set.items.get_mut(*first)? {
        Selection::Field(field) => set_at(&mut field.selection_set, rest),
        Selection::InlineFragment(fragment) => set_at(&mut fragment.selection_set, rest),
    }
}
