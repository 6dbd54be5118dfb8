//! How big an operation is once its fragment spreads are expanded, measured without expanding
//! them: each named fragment is measured once and its measure reused wherever it is spread, so
//! the time is proportional to the document's text even when every fragment spreads the one
//! before it twice (a document of 1 KB can stand for 2³⁰ fields).

use std::collections::{HashMap, HashSet};

use apollo_compiler::Name;
use apollo_compiler::executable::{ExecutableDocument, Operation, Selection, SelectionSet};

/// The sizes the operation limits compare against. Counts saturate instead of overflowing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationMeasures {
    /// The deepest field nesting (a root field is at depth 1).
    pub depth: u64,
    /// Distinct fields (`Type.field` coordinates) the operation selects anywhere.
    pub height: u64,
    /// Aliased fields, every spread of a fragment counting its aliases again.
    pub aliases: u64,
    /// Fields at the root, fragments on the root type expanded.
    pub root_fields: u64,
    /// Fields the operation stands for with every fragment spread expanded: what normalising
    /// and planning it costs.
    pub fields: u64,
}

/// What a selection set contributes wherever it appears.
#[derive(Debug, Clone, Copy, Default)]
struct SetMeasure {
    depth: u64,
    aliases: u64,
    top_fields: u64,
    fields: u64,
}

impl SetMeasure {
    fn add(&mut self, other: SetMeasure) {
        self.depth = self.depth.max(other.depth);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.top_fields = self.top_fields.saturating_add(other.top_fields);
        self.fields = self.fields.saturating_add(other.fields);
    }
}

/// Measures `operation` of a validated `document` (validation guarantees that fragments exist
/// and do not spread themselves, so the recursion ends).
pub fn measure(document: &ExecutableDocument, operation: &Operation) -> OperationMeasures {
    let mut measurer = Measurer {
        document,
        fragments: HashMap::new(),
    };
    let root = measurer.set(&operation.selection_set);
    OperationMeasures {
        depth: root.depth,
        height: height(document, &operation.selection_set),
        aliases: root.aliases,
        root_fields: root.top_fields,
        fields: root.fields,
    }
}

/// The most directives on any one selection or on the operation, anywhere in the document.
pub fn max_directives(document: &ExecutableDocument) -> usize {
    fn visit(set: &SelectionSet, most: &mut usize) {
        for selection in &set.selections {
            *most = (*most).max(selection.directives().len());
            match selection {
                Selection::Field(field) => visit(&field.selection_set, most),
                Selection::InlineFragment(inline) => visit(&inline.selection_set, most),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut most = 0;
    for operation in document.operations.iter() {
        most = most.max(operation.directives.len());
        visit(&operation.selection_set, &mut most);
    }
    for fragment in document.fragments.values() {
        most = most.max(fragment.directives.len());
        visit(&fragment.selection_set, &mut most);
    }
    most
}

struct Measurer<'a> {
    document: &'a ExecutableDocument,
    /// Each named fragment's measure, computed the first time it is spread.
    fragments: HashMap<&'a Name, SetMeasure>,
}

impl<'a> Measurer<'a> {
    fn set(&mut self, set: &'a SelectionSet) -> SetMeasure {
        let mut total = SetMeasure::default();
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    let sub = self.set(&field.selection_set);
                    total.add(SetMeasure {
                        depth: sub.depth.saturating_add(1),
                        aliases: sub.aliases.saturating_add(u64::from(field.alias.is_some())),
                        top_fields: 1,
                        fields: sub.fields.saturating_add(1),
                    });
                }
                Selection::InlineFragment(inline) => {
                    let sub = self.set(&inline.selection_set);
                    total.add(sub);
                }
                Selection::FragmentSpread(spread) => {
                    let sub = self.fragment(&spread.fragment_name);
                    total.add(sub);
                }
            }
        }
        total
    }

    fn fragment(&mut self, name: &'a Name) -> SetMeasure {
        if let Some(known) = self.fragments.get(name) {
            return *known;
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return SetMeasure::default();
        };
        let measured = self.set(&fragment.selection_set);
        self.fragments.insert(name, measured);
        measured
    }
}

/// Distinct `Type.field` coordinates, visiting each named fragment once.
fn height(document: &ExecutableDocument, root: &SelectionSet) -> u64 {
    fn visit<'a>(
        document: &'a ExecutableDocument,
        set: &'a SelectionSet,
        seen_fragments: &mut HashSet<&'a Name>,
        coordinates: &mut HashSet<(&'a Name, &'a Name)>,
    ) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    coordinates.insert((&set.ty, &field.name));
                    visit(document, &field.selection_set, seen_fragments, coordinates);
                }
                Selection::InlineFragment(inline) => {
                    visit(document, &inline.selection_set, seen_fragments, coordinates)
                }
                Selection::FragmentSpread(spread) => {
                    if seen_fragments.insert(&spread.fragment_name)
                        && let Some(fragment) = document.fragments.get(&spread.fragment_name)
                    {
                        visit(
                            document,
                            &fragment.selection_set,
                            seen_fragments,
                            coordinates,
                        );
                    }
                }
            }
        }
    }
    let mut coordinates = HashSet::new();
    visit(document, root, &mut HashSet::new(), &mut coordinates);
    coordinates.len() as u64
}
