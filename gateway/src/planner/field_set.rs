//! Converts the supergraph's parsed field sets (`@key`, `@requires`, `@provides`) into the
//! selection form the planner works with.

use apollo_compiler::executable;

use crate::operation::selection::{Field, InlineFragment, Selection, SelectionSet};

pub(super) fn from_field_set(set: &executable::SelectionSet) -> SelectionSet {
    let mut out = SelectionSet::default();
    for selection in &set.selections {
        match selection {
            executable::Selection::Field(field) => out.merge_in(Selection::Field(Field {
                alias: field.alias.clone(),
                name: field.name.clone(),
                arguments: field
                    .arguments
                    .iter()
                    .map(|a| (a.name.clone(), a.value.clone()))
                    .collect(),
                ty: field.ty().clone(),
                selection_set: from_field_set(&field.selection_set),
                unauthorized: false,
            })),
            executable::Selection::InlineFragment(fragment) => {
                let inner = from_field_set(&fragment.selection_set);
                match &fragment.type_condition {
                    Some(condition) if *condition != set.ty => {
                        out.merge_in(Selection::InlineFragment(InlineFragment {
                            type_condition: condition.clone(),
                            selection_set: inner,
                        }))
                    }
                    _ => {
                        for item in inner.items {
                            out.merge_in(item);
                        }
                    }
                }
            }
            // Field sets cannot contain named fragments.
            executable::Selection::FragmentSpread(_) => {}
        }
    }
    out
}
