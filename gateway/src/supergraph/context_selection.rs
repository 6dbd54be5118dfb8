//! A `@fromContext` selection as it applies to one type that sets the context. A context set
//! by several types may select a different field on each with type conditions (`... on Foo {
//! prop } ... on Bar { prop2 }`): each setter reads only the conditions it satisfies, the
//! others are not errors (Apollo's composition accepts them). Composition and the supergraph
//! loader read selections the same way, through this function.

use std::borrow::Cow;

use apollo_compiler::Schema;
use apollo_compiler::ast::{Definition, Document, Selection};

/// The selection text `selection` (with or without its braces) reads on `setter`: the text
/// itself, or, when it is made only of inline fragments with type conditions, only those
/// whose condition `setter` satisfies (none may be left: the caller's validation says why).
pub fn for_setter<'s>(schema: &Schema, setter: &str, selection: &'s str) -> Cow<'s, str> {
    let inner = strip_braces(selection);
    let Ok(document) = Document::parse(format!("{{{inner}}}"), "context_selection.graphql") else {
        return Cow::Borrowed(inner);
    };
    let Some(Definition::OperationDefinition(operation)) = document.definitions.first() else {
        return Cow::Borrowed(inner);
    };
    let conditions: Option<Vec<_>> = operation
        .selection_set
        .iter()
        .map(|selection| match selection {
            Selection::InlineFragment(fragment) => fragment
                .type_condition
                .as_ref()
                .map(|condition| (condition, selection)),
            _ => None,
        })
        .collect();
    let Some(conditions) = conditions else {
        return Cow::Borrowed(inner);
    };
    let applicable: Vec<String> = conditions
        .into_iter()
        .filter(|(condition, _)| {
            condition.as_str() == setter || schema.is_subtype(condition, setter)
        })
        .map(|(_, selection)| selection.serialize().no_indent().to_string())
        .collect();
    if applicable.is_empty() {
        return Cow::Borrowed(inner);
    }
    Cow::Owned(applicable.join(" "))
}

/// A context selection may be written with its braces (`{ prop }`) or without them (`... on
/// A { x }`); a field set has none.
pub fn strip_braces(selection: &str) -> &str {
    let trimmed = selection.trim();
    match trimmed.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(inner) => inner.trim(),
        None => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::parse_and_validate(
            "type Query { foo: Foo bar: Bar } interface Node { id: ID } \
             type Foo implements Node { id: ID prop: String } type Bar { prop2: String }",
            "schema.graphql",
        )
        .unwrap()
        .into_inner()
    }

    #[test]
    fn each_setter_reads_only_the_conditions_it_satisfies() {
        let schema = schema();
        let selection = "... on Foo { prop } ... on Bar { prop2 }";
        assert_eq!(for_setter(&schema, "Foo", selection), "... on Foo { prop }");
        assert_eq!(
            for_setter(&schema, "Bar", selection),
            "... on Bar { prop2 }"
        );
        // An interface condition applies to its implementations.
        assert_eq!(
            for_setter(
                &schema,
                "Foo",
                "{ ... on Node { id } ... on Bar { prop2 } }"
            ),
            "... on Node { id }"
        );
    }

    #[test]
    fn a_plain_selection_is_read_as_written() {
        let schema = schema();
        assert_eq!(for_setter(&schema, "Foo", " { prop } "), "prop");
        assert_eq!(for_setter(&schema, "Foo", "prop"), "prop");
    }
}
