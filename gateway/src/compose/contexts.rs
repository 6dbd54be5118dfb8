//! The `@context` / `@fromContext` rules (federation 2.8), each reported with the code Apollo's
//! composition gives it. A contextual argument is filled by the gateway from the nearest
//! ancestor (in the response) whose type sets the context, so composition makes sure that
//! every context used is set in the same subgraph, that its selection is valid on every type
//! setting it and yields a value of the argument's type, and that the field's parent can be
//! reached by an entity key (the gateway fetches it through `_entities`, the value bound per
//! representation).

use std::collections::HashMap;

use apollo_compiler::ast::Type as AstType;
use apollo_compiler::executable::{FieldSet, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Schema};

use super::error::CompositionError;
use super::merge::split_context_reference;
use super::model::{Origin, Supergraph};
use super::subgraph::Subgraph;
use crate::supergraph::context_selection;

/// Checks one subgraph's `@context` and `@fromContext` applications.
pub fn check_subgraph(subgraph: &Subgraph, errors: &mut Vec<CompositionError>) {
    let at = |message: String, code: &'static str, span| {
        CompositionError::new(code, message).at(&subgraph.name, span)
    };
    // Context name → the types setting it.
    let mut setters: HashMap<String, Vec<Name>> = HashMap::new();
    for ty in subgraph.types() {
        for directive in subgraph.type_directives(ty, "context") {
            let name = directive
                .specified_argument_by_name("name")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            if name.contains('_') {
                errors.push(at(
                    format!(
                        "[{}] Context name \"{name}\" may not contain an underscore.",
                        subgraph.name
                    ),
                    "CONTEXT_NAME_INVALID",
                    directive.location(),
                ));
            } else if !valid_context_name(name) {
                errors.push(at(
                    format!(
                        "[{}] Context name \"{name}\" is invalid. It should have only alphanumeric characters.",
                        subgraph.name
                    ),
                    "CONTEXT_NAME_INVALID",
                    directive.location(),
                ));
            }
            setters
                .entry(name.to_string())
                .or_default()
                .push(ty.name().clone());
        }
    }
    // `@fromContext` on a directive definition's argument: no field to fill it for.
    for definition in subgraph.schema.directive_definitions.values() {
        for argument in &definition.arguments {
            if let Some(directive) = subgraph.get(&argument.directives, "fromContext") {
                errors.push(at(
                    format!(
                        "[{}] @fromContext argument cannot be used on a directive definition \"@{}({}:)\".",
                        subgraph.name, definition.name, argument.name
                    ),
                    "CONTEXT_NOT_SET",
                    directive.location(),
                ));
            }
        }
    }
    for ty in subgraph.types() {
        let (fields, is_interface) = match ty {
            ExtendedType::Object(o) => (&o.fields, false),
            ExtendedType::Interface(i) => (&i.fields, true),
            _ => continue,
        };
        for field in fields.values() {
            for argument in &field.arguments {
                let Some(directive) = subgraph.get(&argument.directives, "fromContext") else {
                    continue;
                };
                let coordinate = format!("{}.{}({}:)", ty.name(), field.name, argument.name);
                let span = directive.location();
                let mut error = |code, message: String| {
                    errors.push(at(format!("[{}] {message}", subgraph.name), code, span))
                };
                if is_interface {
                    error(
                        "CONTEXT_NOT_SET",
                        format!(
                            "@fromContext argument cannot be used on a field that exists on an abstract type \"{coordinate}\"."
                        ),
                    );
                    continue;
                }
                if let Some(interface) = declaring_interface(subgraph, ty, &field.name) {
                    error(
                        "CONTEXT_NOT_SET",
                        format!(
                            "@fromContext argument cannot be used on a field implementing an interface field \"{interface}.{}\".",
                            field.name
                        ),
                    );
                    continue;
                }
                if argument.default_value.is_some() {
                    error(
                        "CONTEXT_NOT_SET",
                        format!(
                            "@fromContext arguments may not have a default value: \"{coordinate}\"."
                        ),
                    );
                    continue;
                }
                let value = directive
                    .specified_argument_by_name("field")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let Some((context, selection)) = split_context_reference(value) else {
                    error(
                        "NO_CONTEXT_IN_SELECTION",
                        format!(
                            "@fromContext argument does not reference a context \"{value}\" (on \"{coordinate}\"): write \"$contextName {{ selection }}\"."
                        ),
                    );
                    continue;
                };
                if selection.trim().is_empty() {
                    error(
                        "NO_CONTEXT_IN_SELECTION",
                        format!(
                            "@fromContext argument does not reference a context \"{value}\" (on \"{coordinate}\"): it has no selection."
                        ),
                    );
                    continue;
                }
                let Some(types) = setters.get(context) else {
                    error(
                        "CONTEXT_NOT_SET",
                        format!(
                            "Context \"{context}\" is used at location \"{coordinate}\" but is never set."
                        ),
                    );
                    continue;
                };
                for setter in types {
                    if let Err(why) =
                        selection_fits(&subgraph.schema, setter, selection, &argument.ty)
                    {
                        error(
                            "CONTEXT_INVALID_SELECTION",
                            format!(
                                "Context \"{context}\" is used in \"{coordinate}\" but the selection is invalid for type \"{setter}\": {why}"
                            ),
                        );
                    }
                }
                let resolvable = subgraph.type_directives(ty, "key").any(|key| {
                    key.specified_argument_by_name("resolvable")
                        .and_then(|v| v.to_bool())
                        .unwrap_or(true)
                });
                if !resolvable {
                    error(
                        "CONTEXT_NO_RESOLVABLE_KEY",
                        format!(
                            "Object \"{}\" has no resolvable key but has a field with a contextual argument.",
                            ty.name()
                        ),
                    );
                }
            }
        }
    }
}

/// Apollo's rule for context names: a letter, then letters, digits (underscores are refused
/// apart, as they would clash with the `Subgraph__name` the supergraph writes).
fn valid_context_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// An interface of `ty` (in this subgraph) that declares `field`.
fn declaring_interface(subgraph: &Subgraph, ty: &ExtendedType, field: &Name) -> Option<Name> {
    let ExtendedType::Object(object) = ty else {
        return None;
    };
    object
        .implements_interfaces
        .iter()
        .find(|interface| {
            matches!(
                subgraph.schema.types.get(&interface.name),
                Some(ExtendedType::Interface(i)) if i.fields.contains_key(field)
            )
        })
        .map(|i| i.name.clone())
}

/// Whether `selection` is valid on `setter` and selects exactly one field (per type
/// condition) whose type fits an argument of type `argument`.
fn selection_fits(
    schema: &apollo_compiler::validation::Valid<Schema>,
    setter: &Name,
    selection: &str,
    argument: &AstType,
) -> Result<(), String> {
    let set = FieldSet::parse_and_validate(
        schema,
        setter.clone(),
        context_selection::for_setter(schema, setter, selection).as_ref(),
        "context.graphql",
    )
    .map_err(|e| {
        e.errors
            .iter()
            .map(|d| d.error.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    no_alias_or_directive(&set.selection_set)?;
    let mut leaves = Vec::new();
    selected_fields(&set.selection_set, &mut leaves)?;
    if leaves.is_empty() {
        return Err("it selects no field".into());
    }
    for ty in leaves {
        if !fits(&ty, argument) {
            return Err(format!(
                "the type of the selection \"{ty}\" does not match the expected type \"{argument}\""
            ));
        }
    }
    Ok(())
}

/// A context selection reads values as the setter's fields hold them: Apollo refuses aliases
/// and directives anywhere in it.
fn no_alias_or_directive(set: &SelectionSet) -> Result<(), String> {
    for selection in &set.selections {
        match selection {
            Selection::Field(f) => {
                if f.alias.is_some() {
                    return Err("aliases are not allowed in the selection".into());
                }
                if !f.directives.is_empty() {
                    return Err("directives are not allowed in the selection".into());
                }
                no_alias_or_directive(&f.selection_set)?;
            }
            Selection::InlineFragment(f) => {
                if !f.directives.is_empty() {
                    return Err("directives are not allowed in the selection".into());
                }
                no_alias_or_directive(&f.selection_set)?;
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}

/// The types of the fields a context selection yields: one field at the top, or one in each
/// type condition.
fn selected_fields(set: &SelectionSet, out: &mut Vec<AstType>) -> Result<(), String> {
    let fields: Vec<_> = set
        .selections
        .iter()
        .filter_map(|s| match s {
            Selection::Field(f) if f.name != "__typename" => Some(f),
            _ => None,
        })
        .collect();
    let fragments: Vec<_> = set
        .selections
        .iter()
        .filter_map(|s| match s {
            Selection::InlineFragment(f) => Some(f),
            _ => None,
        })
        .collect();
    match (fields.len(), fragments.is_empty()) {
        (1, true) => {
            out.push(fields[0].ty().clone());
            Ok(())
        }
        (0, false) => {
            for fragment in fragments {
                selected_fields(&fragment.selection_set, out)?;
            }
            Ok(())
        }
        _ => Err(
            "a context selection must select exactly one field (or one per type condition)".into(),
        ),
    }
}

/// Whether a value of type `field` can be passed to an argument of type `argument`: the same
/// named type and list shape, a nullable value only to a nullable argument. The value itself
/// may always be missing (no ancestor sets the context), so the argument must be nullable,
/// as Apollo's composition requires.
fn fits(field: &AstType, argument: &AstType) -> bool {
    let field = match field {
        AstType::NonNullNamed(n) => AstType::Named(n.clone()),
        AstType::NonNullList(inner) => AstType::List(inner.clone()),
        other => other.clone(),
    };
    fits_inner(&field, argument)
}

fn fits_inner(field: &AstType, argument: &AstType) -> bool {
    match (field, argument) {
        (AstType::NonNullNamed(a), AstType::Named(b) | AstType::NonNullNamed(b)) => a == b,
        (AstType::Named(a), AstType::Named(b)) => a == b,
        (AstType::NonNullList(a), AstType::List(b) | AstType::NonNullList(b)) => fits_inner(a, b),
        (AstType::List(a), AstType::List(b)) => fits_inner(a, b),
        _ => false,
    }
}

/// Across subgraphs: an argument contextual in one subgraph but declared plainly in another
/// leaves the supergraph all the same (clients may not pass what a context fills), with a
/// hint, as Apollo's composition does.
pub fn check_merged(
    supergraph: &mut Supergraph,
    subgraphs: &[Subgraph],
    hints: &mut Vec<CompositionError>,
) {
    for ty in supergraph.types.values_mut() {
        for field in ty.fields.values_mut() {
            let mut dropped = Vec::new();
            for source in &field.sources {
                for contextual in &source.context_arguments {
                    if let Some(plain) = field.arguments.get(&contextual.name) {
                        let mut error = CompositionError::new(
                            "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS",
                            format!(
                                "Argument \"{}.{}({}:)\" is contextual in subgraph \"{}\" but not in every subgraph declaring it: it is left out of the supergraph.",
                                ty.name,
                                field.name,
                                contextual.name,
                                subgraphs[source.origin.subgraph].name
                            ),
                        );
                        let places: Vec<Origin> = std::iter::once(contextual.origin)
                            .chain(plain.origins.iter().copied())
                            .collect();
                        for place in places {
                            error = error.at(&subgraphs[place.subgraph].name, place.span);
                        }
                        hints.push(error);
                        dropped.push(contextual.name.clone());
                    }
                }
            }
            for name in dropped {
                field.arguments.shift_remove(&name);
            }
        }
    }
}
