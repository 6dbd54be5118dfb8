//! `@defer` in client operations: the deferred fragments that normalisation sets apart from
//! the rest of the selection. The rules a document must follow (labels static and unique, not
//! on the root of a mutation or subscription, disabled in subscriptions) are apollo-compiler's
//! validation, once the API schema defines `@defer`.

use apollo_compiler::executable::{ExecutableDocument, Selection, SelectionSet};
use apollo_compiler::{Name, ast};

use super::selection;

/// A fragment marked `@defer` (with `if` true) in a normalised operation. Its selection is not
/// part of the operation's (or its enclosing deferred fragment's) selection: it is delivered
/// later, as one incremental part per object found at `path`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeferredFragment {
    /// In document order (an enclosing fragment comes before the ones inside it).
    pub id: usize,
    pub label: Option<String>,
    /// The deferred fragment this one sits in (delivered before it), if any.
    pub parent: Option<usize>,
    /// Where its objects are, from the response root.
    pub path: Vec<DeferPathStep>,
    /// The type of the objects at `path` (the parent selection's type).
    pub parent_type: Name,
    /// What it selects on each object, normalised; fragments deferred inside it are not in it.
    pub selection: selection::SelectionSet,
}

/// One step of a deferred fragment's path: a field (by response key), every element of a
/// list, or only the objects of a type (an enclosing fragment on a narrower type).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeferPathStep {
    Field(Name),
    List,
    TypeCondition(Name),
}

/// The `@defer` of a fragment, if it has one.
pub fn defer_directive(
    directives: &ast::DirectiveList,
) -> Option<&apollo_compiler::Node<ast::Directive>> {
    directives.get("defer")
}

/// Whether any fragment of `document` has `@defer`.
pub fn uses_defer(document: &ExecutableDocument) -> bool {
    fn visit(set: &SelectionSet) -> bool {
        set.selections.iter().any(|selection| match selection {
            Selection::Field(field) => visit(&field.selection_set),
            Selection::InlineFragment(fragment) => {
                defer_directive(&fragment.directives).is_some() || visit(&fragment.selection_set)
            }
            Selection::FragmentSpread(spread) => defer_directive(&spread.directives).is_some(),
        })
    }
    document
        .operations
        .iter()
        .any(|operation| visit(&operation.selection_set))
        || document
            .fragments
            .values()
            .any(|fragment| visit(&fragment.selection_set))
}
