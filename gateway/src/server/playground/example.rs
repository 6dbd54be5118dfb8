//! The operation the playground opens with, made from the served API schema: the first root
//! `Query` fields whose required arguments take simple literals, each with a few leaf fields
//! and one nested object.

use std::fmt::Write;

use apollo_compiler::ast::{OperationType, Type};
use apollo_compiler::collections::IndexMap;
use apollo_compiler::schema::{Component, ExtendedType, FieldDefinition};
use apollo_compiler::{Name, Schema};

type Fields = IndexMap<Name, Component<FieldDefinition>>;

/// Root fields in the example.
const ROOT_FIELDS: usize = 2;
/// Leaf fields selected under a root field, and under the nested object.
const LEAVES: usize = 4;
const NESTED_LEAVES: usize = 3;
/// How deep input objects are filled in for a required argument.
const INPUT_DEPTH: usize = 3;

/// An example query of `schema`, or `None` when no root field can be selected without values
/// the schema cannot suggest (custom scalars, deep input objects).
pub fn example_operation(schema: &Schema) -> Option<String> {
    let query = schema.root_operation(OperationType::Query)?;
    let fields = fields_of(schema, query)?;
    // Fields without required arguments first: their answer does not depend on a made-up id.
    let mut candidates: Vec<(&FieldDefinition, String)> = Vec::new();
    for field in usable(fields) {
        if let Some(arguments) = arguments(schema, field) {
            candidates.push((field, arguments));
        }
    }
    candidates.sort_by_key(|(_, arguments)| !arguments.is_empty());

    let mut body = String::new();
    // Root fields of different types show more of the schema.
    let mut types: Vec<&Name> = Vec::new();
    for (field, arguments) in candidates {
        let type_name = field.ty.inner_named_type();
        if types.len() == ROOT_FIELDS || types.contains(&type_name) {
            continue;
        }
        let Some(selection) = selection(schema, field, 1) else {
            continue;
        };
        let _ = writeln!(body, "  {}{arguments}{selection}", field.name);
        types.push(type_name);
    }
    if types.is_empty() {
        return None;
    }
    Some(format!(
        "# An example made from this gateway's schema.\n\
         # Run it with Ctrl-Enter; the book icon (top\n\
         # left) opens the docs of every type and field.\n\
         query Example {{\n{body}}}\n"
    ))
}

/// The fields of an object or interface type.
fn fields_of<'a>(schema: &'a Schema, name: &Name) -> Option<&'a Fields> {
    match schema.types.get(name)? {
        ExtendedType::Object(object) => Some(&object.fields),
        ExtendedType::Interface(interface) => Some(&interface.fields),
        _ => None,
    }
}

/// Fields worth showing: not deprecated (GraphiQL would underline them).
fn usable(fields: &Fields) -> impl Iterator<Item = &FieldDefinition> {
    fields
        .values()
        .map(|field| &***field)
        .filter(|field| !field.directives.has("deprecated"))
}

/// `(name: value, …)` for the required arguments of `field` (empty without any), or `None`
/// when one of them takes a value no literal here fits.
fn arguments(schema: &Schema, field: &FieldDefinition) -> Option<String> {
    let mut out = Vec::new();
    for argument in &field.arguments {
        if argument.ty.is_non_null() && argument.default_value.is_none() {
            out.push(format!(
                "{}: {}",
                argument.name,
                literal(schema, &argument.ty, INPUT_DEPTH)?
            ));
        }
    }
    Some(if out.is_empty() {
        String::new()
    } else {
        format!("({})", out.join(", "))
    })
}

/// A value of input type `ty`: a simple literal of its scalar or enum, a one-item list, an
/// input object with its required fields.
fn literal(schema: &Schema, ty: &Type, depth: usize) -> Option<String> {
    match ty {
        Type::List(inner) | Type::NonNullList(inner) => {
            Some(format!("[{}]", literal(schema, inner, depth)?))
        }
        Type::Named(name) | Type::NonNullNamed(name) => match schema.types.get(name)? {
            ExtendedType::Scalar(_) => match name.as_str() {
                "Int" => Some("1".into()),
                "Float" => Some("1.5".into()),
                "String" | "ID" => Some("\"1\"".into()),
                "Boolean" => Some("true".into()),
                _ => None,
            },
            ExtendedType::Enum(enumeration) => {
                enumeration.values.keys().next().map(|v| v.to_string())
            }
            ExtendedType::InputObject(input) if depth > 0 => {
                let mut fields = Vec::new();
                for field in input.fields.values() {
                    if field.ty.is_non_null() && field.default_value.is_none() {
                        fields.push(format!(
                            "{}: {}",
                            field.name,
                            literal(schema, &field.ty, depth - 1)?
                        ));
                    }
                }
                Some(format!("{{{}}}", fields.join(", ")))
            }
            _ => None,
        },
    }
}

/// What to select under `field` (with a leading space), `Some("")` for a leaf, `None` when
/// nothing fits. `depth` 1 is a root field: it may hold one nested object.
fn selection(schema: &Schema, field: &FieldDefinition, depth: usize) -> Option<String> {
    let type_name = field.ty.inner_named_type();
    let indent = "  ".repeat(depth + 1);
    let close = "  ".repeat(depth);
    match schema.types.get(type_name)? {
        ExtendedType::Scalar(_) | ExtendedType::Enum(_) => Some(String::new()),
        ExtendedType::Union(union) => {
            let mut lines = vec!["__typename".to_string()];
            if let Some(member) = union.members.iter().next() {
                let leaves = leaves(schema, member, NESTED_LEAVES);
                if !leaves.is_empty() {
                    lines.push(format!("... on {} {{ {} }}", member.name, leaves.join(" ")));
                }
            }
            Some(block(&lines, &indent, &close))
        }
        ExtendedType::Object(_) | ExtendedType::Interface(_) => {
            let max = if depth == 1 { LEAVES } else { NESTED_LEAVES };
            let mut lines = leaves(schema, type_name, max);
            if depth == 1 {
                let nested = usable(fields_of(schema, type_name)?).find_map(|child| {
                    let composite = matches!(
                        schema.types.get(child.ty.inner_named_type()),
                        Some(ExtendedType::Object(_) | ExtendedType::Interface(_))
                    );
                    if !composite || !arguments(schema, child)?.is_empty() {
                        return None;
                    }
                    let inner = leaves(schema, child.ty.inner_named_type(), NESTED_LEAVES);
                    (!inner.is_empty()).then(|| format!("{} {{ {} }}", child.name, inner.join(" ")))
                });
                lines.extend(nested);
            }
            if lines.is_empty() {
                lines.push("__typename".into());
            }
            Some(block(&lines, &indent, &close))
        }
        ExtendedType::InputObject(_) => None,
    }
}

/// Up to `max` fields of `type_name` that are scalars or enums and take no required argument.
fn leaves(schema: &Schema, type_name: &Name, max: usize) -> Vec<String> {
    let Some(fields) = fields_of(schema, type_name) else {
        return Vec::new();
    };
    usable(fields)
        .filter(|field| {
            matches!(
                schema.types.get(field.ty.inner_named_type()),
                Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_))
            ) && field
                .arguments
                .iter()
                .all(|argument| !argument.ty.is_non_null() || argument.default_value.is_some())
        })
        .take(max)
        .map(|field| field.name.to_string())
        .collect()
}

/// ` {\n<indent>line\n…<close>}`.
fn block(lines: &[String], indent: &str, close: &str) -> String {
    let mut out = String::from(" {\n");
    for line in lines {
        let _ = writeln!(out, "{indent}{line}");
    }
    out.push_str(close);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use apollo_compiler::ExecutableDocument;

    use super::*;
    use crate::supergraph::Supergraph;

    fn api_schema(path: &Path) -> std::sync::Arc<apollo_compiler::validation::Valid<Schema>> {
        let sdl = std::fs::read_to_string(path).unwrap();
        Supergraph::parse(&sdl)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .api_schema()
            .clone()
    }

    fn assert_valid(schema: &apollo_compiler::validation::Valid<Schema>, name: &str) -> String {
        let example = example_operation(schema).unwrap_or_else(|| panic!("{name}: no example"));
        if let Err(errors) = ExecutableDocument::parse_and_validate(schema, &example, "example") {
            panic!("{name}: the example is not valid:\n{example}\n{errors}");
        }
        example
    }

    #[test]
    fn the_demo_example_is_valid_and_reads_well() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let schema = api_schema(&root.join("../schema/supergraph.graphql"));
        let example = assert_valid(&schema, "demo");
        insta::assert_snapshot!(example, @r#"
        # An example made from this gateway's schema.
        # Run it with Ctrl-Enter; the book icon (top
        # left) opens the docs of every type and field.
        query Example {
          me {
            id
            name
            username
            email
            reviews { id body rating }
          }
          topProducts {
            upc
            weight
            price
            inStock
            reviews { id body rating }
          }
        }
        "#);
    }

    #[test]
    fn every_fixture_gets_a_valid_example() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut checked = 0;
        for entry in std::fs::read_dir(&fixtures).unwrap() {
            let path = entry.unwrap().path().join("supergraph.graphql");
            if path.exists() {
                let name = path.display().to_string();
                assert_valid(&api_schema(&path), &name);
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} fixtures found");
    }

    #[test]
    fn required_arguments_get_literals_and_unfillable_fields_are_left_out() {
        let schema = Schema::parse_and_validate(
            r#"
            scalar JSON
            enum Sort { NEWEST OLDEST }
            input Filter { tag: String!, limit: Int = 3, nested: Inner }
            input Inner { on: Boolean! }
            type Query {
              raw(value: JSON!): Item
              search(filter: Filter!, sort: Sort!, ids: [ID!]!): [Item!]!
              old: Item @deprecated(reason: "no")
              owner(id: ID!): Owner
            }
            type Item { id: ID! name: String price(currency: String!): Float tags: [String!] owner: Owner }
            type Owner { id: ID! since: Float }
            "#,
            "schema.graphql",
        )
        .unwrap();
        let example = assert_valid(&schema, "inline");
        insta::assert_snapshot!(example, @r#"
        # An example made from this gateway's schema.
        # Run it with Ctrl-Enter; the book icon (top
        # left) opens the docs of every type and field.
        query Example {
          search(filter: {tag: "1"}, sort: NEWEST, ids: ["1"]) {
            id
            name
            tags
            owner { id since }
          }
          owner(id: "1") {
            id
            since
          }
        }
        "#);
    }

    #[test]
    fn unions_and_leaf_root_fields() {
        let schema = Schema::parse_and_validate(
            r#"
            type Query { hello: String, media: [Media] }
            union Media = Book | Movie
            type Book { title: String }
            type Movie { length: Int }
            "#,
            "schema.graphql",
        )
        .unwrap();
        let example = assert_valid(&schema, "inline");
        insta::assert_snapshot!(example, @r#"
        # An example made from this gateway's schema.
        # Run it with Ctrl-Enter; the book icon (top
        # left) opens the docs of every type and field.
        query Example {
          hello
          media {
            __typename
            ... on Book { title }
          }
        }
        "#);
    }

    #[test]
    fn no_example_when_every_root_field_needs_a_custom_scalar() {
        let schema = Schema::parse_and_validate(
            "scalar JSON type Query { raw(value: JSON!): String }",
            "schema.graphql",
        )
        .unwrap();
        assert_eq!(example_operation(&schema), None);
    }
}
