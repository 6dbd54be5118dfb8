//! Normalises a validated operation into [`SelectionSet`]s: named fragments inlined, `@skip` and
//! `@include` applied with the request's variable values, fragments that always apply spliced into
//! their parent, fragments that never apply dropped, fields merged by response key.

use std::cell::RefCell;

use apollo_compiler::executable::{self, ExecutableDocument, Operation};
use apollo_compiler::{Name, ast};

use super::ApiSchema;
use super::defer::{DeferPathStep, DeferredFragment, defer_directive};
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
        defers: None,
    };
    normalizer.set(operation.object_type(), &operation.selection_set)
}

/// Normalises `operation` as [`normalize`] does, but sets fragments marked `@defer` (whose
/// `if` is true) apart: they are returned in document order, each with where its objects are,
/// and left out of the selection that encloses them.
pub fn normalize_deferring(
    schema: &ApiSchema,
    document: &ExecutableDocument,
    operation: &Operation,
    condition: &dyn Fn(&str) -> bool,
) -> (SelectionSet, Vec<DeferredFragment>) {
    let normalizer = Normalizer {
        schema,
        document,
        condition,
        defers: Some(RefCell::new(DeferState::default())),
    };
    let selection = normalizer.set(operation.object_type(), &operation.selection_set);
    let mut found = normalizer
        .defers
        .map(|state| state.into_inner().found)
        .unwrap_or_default();
    found.sort_by_key(|d| d.id);
    (selection, found)
}

struct Normalizer<'a> {
    schema: &'a ApiSchema,
    document: &'a ExecutableDocument,
    condition: &'a dyn Fn(&str) -> bool,
    /// Set when `@defer` is honoured.
    defers: Option<RefCell<DeferState>>,
}

/// Where the normaliser is, and the deferred fragments found so far.
#[derive(Default)]
struct DeferState {
    path: Vec<DeferPathStep>,
    /// The deferred fragment being normalised, if any.
    current: Option<usize>,
    next_id: usize,
    found: Vec<DeferredFragment>,
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
                        let depth = self.enter_field(field);
                        let set = self.set(field.ty().inner_named_type(), &field.selection_set);
                        self.leave(depth);
                        set
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
                        if self.deferred(
                            &spread.directives,
                            parent,
                            Some(fragment.type_condition()),
                            &fragment.selection_set,
                        ) {
                            continue;
                        }
                        self.fragment(
                            parent,
                            Some(fragment.type_condition()),
                            &fragment.selection_set,
                            out,
                        );
                    }
                }
                executable::Selection::InlineFragment(inline) => {
                    if self.deferred(
                        &inline.directives,
                        parent,
                        inline.type_condition.as_ref(),
                        &inline.selection_set,
                    ) {
                        continue;
                    }
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
                let depth = self.enter(DeferPathStep::TypeCondition(condition.clone()));
                let selection_set = self.set(condition, selections);
                self.leave(depth);
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

    /// When `@defer` is honoured and `directives` defer the fragment: records it as a
    /// deferred fragment (normalising its selection) and returns true.
    fn deferred(
        &self,
        directives: &ast::DirectiveList,
        parent: &Name,
        condition: Option<&Name>,
        selections: &executable::SelectionSet,
    ) -> bool {
        let Some(state) = &self.defers else {
            return false;
        };
        let Some(defer) = defer_directive(directives) else {
            return false;
        };
        let enabled = match defer.specified_argument_by_name("if").map(|v| v.as_ref()) {
            Some(ast::Value::Boolean(b)) => *b,
            Some(ast::Value::Variable(var)) => (self.condition)(var),
            _ => true,
        };
        if !enabled {
            return false;
        }
        let label = match defer
            .specified_argument_by_name("label")
            .map(|v| v.as_ref())
        {
            Some(ast::Value::String(label)) => Some(label.clone()),
            _ => None,
        };
        let (id, enclosing, path) = {
            let mut state = state.borrow_mut();
            let id = state.next_id;
            state.next_id += 1;
            let enclosing = state.current.replace(id);
            (id, enclosing, state.path.clone())
        };
        let mut items = Vec::new();
        self.fragment(parent, condition, selections, &mut items);
        let mut selection = SelectionSet::default();
        selection.merge_all(items);
        let mut state = state.borrow_mut();
        state.current = enclosing;
        // A fragment whose every selection is skipped has nothing to deliver.
        if !selection.is_empty() {
            state.found.push(DeferredFragment {
                id,
                label,
                parent: enclosing,
                path,
                parent_type: parent.clone(),
                selection,
            });
        }
        true
    }

    /// Enters a field's selection (for deferred fragments' paths); returns the depth to
    /// [`Self::leave`] to.
    fn enter_field(&self, field: &executable::Field) -> usize {
        let Some(state) = &self.defers else {
            return 0;
        };
        let mut state = state.borrow_mut();
        let depth = state.path.len();
        state.path.push(DeferPathStep::Field(
            field.alias.clone().unwrap_or_else(|| field.name.clone()),
        ));
        let mut ty = field.ty();
        while let ast::Type::List(inner) | ast::Type::NonNullList(inner) = ty {
            state.path.push(DeferPathStep::List);
            ty = inner;
        }
        depth
    }

    fn enter(&self, step: DeferPathStep) -> usize {
        let Some(state) = &self.defers else {
            return 0;
        };
        let mut state = state.borrow_mut();
        state.path.push(step);
        state.path.len() - 1
    }

    fn leave(&self, depth: usize) {
        if let Some(state) = &self.defers {
            state.borrow_mut().path.truncate(depth);
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
