//! Directive definitions. Clients write executable directives (`@include`-like) in
//! operations, so a directive, an argument or a location they use must not go away; a new
//! required argument breaks every existing use. Built-in directives are skipped.

use apollo_compiler::ast::DirectiveDefinition;
use apollo_compiler::{Node, Schema};

use super::annotations::description;
use super::inputs::{self, Owner};
use super::{Change, ChangeKind, Severity};

pub(super) fn diff(old: &Schema, new: &Schema, changes: &mut Vec<Change>) {
    for (name, old_def) in old.directive_definitions.iter() {
        if old_def.is_built_in() {
            continue;
        }
        match user_defined(new, name) {
            None => changes.push(Change::new(
                Severity::Breaking,
                ChangeKind::DirectiveRemoved,
                format!("@{name}"),
                format!("Directive '@{name}' was removed"),
            )),
            Some(new_def) => compare(old_def, new_def, changes),
        }
    }
    for (name, new_def) in new.directive_definitions.iter() {
        if !new_def.is_built_in() && user_defined(old, name).is_none() {
            changes.push(Change::new(
                Severity::Safe,
                ChangeKind::DirectiveAdded,
                format!("@{name}"),
                format!("Directive '@{name}' was added"),
            ));
        }
    }
}

/// The definition of directive `name` unless it is one of the spec's built-ins.
fn user_defined<'a>(schema: &'a Schema, name: &str) -> Option<&'a Node<DirectiveDefinition>> {
    schema
        .directive_definitions
        .get(name)
        .filter(|d| !d.is_built_in())
}

fn compare(old: &DirectiveDefinition, new: &DirectiveDefinition, changes: &mut Vec<Change>) {
    let name = &old.name;
    let coordinate = format!("@{name}");
    description(
        &coordinate,
        &format!("directive '@{name}'"),
        old.description.as_deref(),
        new.description.as_deref(),
        changes,
    );
    for location in old.locations.iter().filter(|l| !new.locations.contains(l)) {
        changes.push(Change::new(
            Severity::Breaking,
            ChangeKind::DirectiveLocationRemoved,
            &coordinate,
            format!(
                "Location '{}' was removed from directive '@{name}'",
                location.name()
            ),
        ));
    }
    for location in new.locations.iter().filter(|l| !old.locations.contains(l)) {
        changes.push(Change::new(
            Severity::Safe,
            ChangeKind::DirectiveLocationAdded,
            &coordinate,
            format!(
                "Location '{}' was added to directive '@{name}'",
                location.name()
            ),
        ));
    }
    match (old.repeatable, new.repeatable) {
        (true, false) => changes.push(Change::new(
            Severity::Breaking,
            ChangeKind::DirectiveRepeatableRemoved,
            &coordinate,
            format!("Directive '@{name}' is no longer repeatable"),
        )),
        (false, true) => changes.push(Change::new(
            Severity::Safe,
            ChangeKind::DirectiveRepeatableAdded,
            &coordinate,
            format!("Directive '@{name}' is now repeatable"),
        )),
        _ => {}
    }
    inputs::diff(
        Owner::Directive(name),
        old.arguments.iter().map(|a| &**a),
        new.arguments.iter().map(|a| &**a),
        changes,
    );
}
