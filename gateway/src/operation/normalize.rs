//! Normalises a validated operation into [`SelectionSet`]s: named fragments inlined, `@skip` and
//! `@include` applied with the request's variable values, fragments that always apply spliced into
//! their parent, fragments that never apply dropped, fields merged by response key.

use apollo_compiler::executable::{self, ExecutableDocument, Operation};
use apollo_compiler::{Name, ast};

use super::ApiSchema;
use super::selection::{Field, InlineFragment, Selection, SelectionSet};

/// Normalises `operation`. `condition` answers the value of a Boolean variable used by
/// `@skip`/`@include` (unset means `false`).
pub fn normalize(
    schema: &ApiSchema,
    document: &ExecutableDocument,
    operation: &Operation,
    condition: &dyn Fn(&str) -> bool,
) -> SelectionSet {
    let normalizer = Normalizer {
        schema,
        document,
        condition,
    };
    normalizer.set(operation.object_type(), &operation.selection_set)
}

struct Normalizer<'a> {
    schema: &'a ApiSchema,
    document: &'a ExecutableDocument,
    condition: &'a dyn Fn(&str) -> bool,
}

impl Normalizer<'_> {
    /// The normalised form of `selections` on a value of type `parent`.
    fn set(&self, parent: &Name, selections: &executable::SelectionSet) -> SelectionSet {
        let mut items = Vec::new();
        self.collect(parent, selections, &mut items);
        let mut out = SelectionSet::default();
        // Merged once at the end, so that merging stays linear in the number of selections.
        out.merge_all(items);
        out
    }

    /// Appends the selections of `selections` that apply, fragments that always apply
    /// spliced in, to `out` (merged later by the caller).
    fn collect(
        &self,
        parent: &Name,
        selections: &executable::SelectionSet,
        out: &mut Vec<Selection>,
    ) {
        for selection in &selections.selections {
            if !self.included(selection.directives()) {
                continue;
            }
            match selection {
                executable::Selection::Field(field) => {
                    let selection_set = if field.selection_set.selections.is_empty() {
                        SelectionSet::default()
                    } else {
                        self.set(field.ty().inner_named_type(), &field.selection_set)
                    };
                    out.push(Selection::Field(Field {
                        alias: field.alias.clone(),
                        name: field.name.clone(),
                        arguments: field
                            .arguments
                            .iter()
                            .map(|a| (a.name.clone(), a.value.clone()))
                            .collect(),
                        ty: field.ty().clone(),
                        selection_set,
                        unauthorized: false,
                    }));
                }
                executable::Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name) {
                        self.fragment(
                            parent,
                            Some(fragment.type_condition()),
                            &fragment.selection_set,
                            out,
                        );
                    }
                }
                executable::Selection::InlineFragment(inline) => {
                    self.fragment(
                        parent,
                        inline.type_condition.as_ref(),
                        &inline.selection_set,
                        out,
                    );
                }
            }
        }
    }

    fn fragment(
        &self,
        parent: &Name,
        condition: Option<&Name>,
        selections: &executable::SelectionSet,
        out: &mut Vec<Selection>,
    ) {
        match condition {
            None => self.collect(parent, selections, out),
            Some(condition) if self.always_applies(condition, parent) => {
                self.collect(parent, selections, out)
            }
            Some(condition) if self.never_applies(condition, parent) => {}
            Some(condition) => {
                let selection_set = self.set(condition, selections);
                // A fragment whose every selection is skipped selects nothing: kept, it would
                // ask the planner for a type condition with nothing under it.
                if !selection_set.is_empty() {
                    out.push(Selection::InlineFragment(InlineFragment {
                        type_condition: condition.clone(),
                        selection_set,
                    }));
                }
            }
        }
    }

    /// Every value of type `parent` also has type `condition`. A fragment on an object type
    /// inside an abstract one is kept even when that object is the only implementation: the
    /// selection is then only valid on the object, and subgraphs may know other types.
    fn always_applies(&self, condition: &Name, parent: &Name) -> bool {
        condition == parent
            || (self.schema.is_abstract(condition)
                && self
                    .possible_types(parent)
                    .iter()
                    .all(|t| self.is_possible(condition, t)))
    }

    /// No value of type `parent` can have type `condition`.
    fn never_applies(&self, condition: &Name, parent: &Name) -> bool {
        !self
            .possible_types(parent)
            .iter()
            .any(|t| self.is_possible(condition, t))
    }

    fn is_possible(&self, abstract_or_object: &Name, object: &Name) -> bool {
        self.schema.is_possible_type(abstract_or_object, object)
    }

    fn possible_types(&self, type_name: &Name) -> &[Name] {
        self.schema.possible_types(type_name)
    }

    /// Applies `@skip(if:)` and `@include(if:)`.
    fn included(&self, directives: &ast::DirectiveList) -> bool {
        let value = |name: &str| -> Option<bool> {
            let directive = directives.get(name)?;
            match directive.specified_argument_by_name("if")?.as_ref() {
                ast::Value::Boolean(b) => Some(*b),
                ast::Value::Variable(var) => Some((self.condition)(var)),
                _ => None,
            }
        };
        value("skip") != Some(true) && value("include") != Some(false)
    }
}
