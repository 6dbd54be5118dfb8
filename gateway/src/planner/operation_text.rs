//! Writes the GraphQL document a fetch sends to its subgraph, and finds which of the client's
//! variables it uses.

use std::fmt::Write;

use apollo_compiler::ast::{Value, VariableDefinition};
use apollo_compiler::{Name, Node};

use super::plan::OperationKind;
use crate::operation::selection::{Selection, SelectionSet};

/// The client variables `selection` refers to, in first-use order.
pub(super) fn variable_usages(selection: &SelectionSet) -> Vec<Name> {
    let mut names = Vec::new();
    collect_variables(selection, &mut names);
    names
}

fn collect_variables(selection: &SelectionSet, names: &mut Vec<Name>) {
    for item in &selection.items {
        match item {
            Selection::Field(field) => {
                for (_, value) in &field.arguments {
                    collect_value_variables(value, names);
                }
                collect_variables(&field.selection_set, names);
            }
            Selection::InlineFragment(fragment) => {
                collect_variables(&fragment.selection_set, names)
            }
        }
    }
}

fn collect_value_variables(value: &Value, names: &mut Vec<Name>) {
    match value {
        Value::Variable(name) if !names.contains(name) => names.push(name.clone()),
        Value::List(items) => items.iter().for_each(|v| collect_value_variables(v, names)),
        Value::Object(fields) => fields
            .iter()
            .for_each(|(_, v)| collect_value_variables(v, names)),
        _ => {}
    }
}

/// Renders a fetch's document. For an entity fetch the selection (`... on Type` fragments) goes
/// under `_entities(representations: $representations)`.
pub(super) fn render(
    kind: OperationKind,
    name: Option<&str>,
    entity: bool,
    selection: &SelectionSet,
    usages: &[Name],
    definitions: &[Node<VariableDefinition>],
) -> String {
    let mut out = String::new();
    out.push_str(match kind {
        OperationKind::Query => "query",
        OperationKind::Mutation => "mutation",
        OperationKind::Subscription => "subscription",
    });
    if let Some(name) = name {
        out.push(' ');
        out.push_str(name);
    }
    let mut declarations: Vec<String> = Vec::new();
    if entity {
        declarations.push("$representations: [_Any!]!".into());
    }
    for usage in usages {
        if let Some(definition) = definitions.iter().find(|d| d.name == *usage) {
            // The default travels too: it is what makes a nullable variable valid where a
            // non-null value is expected.
            match &definition.default_value {
                Some(default) => declarations.push(format!(
                    "${}: {} = {default}",
                    definition.name, definition.ty
                )),
                None => declarations.push(format!("${}: {}", definition.name, definition.ty)),
            }
        }
    }
    if !declarations.is_empty() {
        let _ = write!(out, "({})", declarations.join(", "));
    }
    if entity {
        let _ = write!(
            out,
            " {{ _entities(representations: $representations) {selection} }}"
        );
    } else {
        let _ = write!(out, " {selection}");
    }
    out
}
