//! Derives the public API schema from the supergraph, as Apollo's does: the join and link
//! machinery goes, and so does every linked feature's definitions and their applications
//! (`@inaccessible`, `@tag`, `@authenticated`, `@requiresScopes`, `@policy`, `@cost`,
//! `@listSize`, their scalars, and any other `@link`ed spec, under whatever names they are
//! linked or imported), and every element marked `@inaccessible` (types, fields, arguments,
//! input fields, enum values), together with whatever refers to a removed type.

use std::collections::HashSet;

use apollo_compiler::schema::{ExtendedType, FieldDefinition, InputValueDefinition};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema, ast};

use super::SupergraphError;
use super::link::SpecNames;

pub(super) fn derive(
    supergraph: &Valid<Schema>,
    names: &SpecNames,
) -> Result<Valid<Schema>, SupergraphError> {
    let mut schema = Schema::clone(supergraph);
    let inaccessible = names.inaccessible.as_deref().unwrap_or("inaccessible");
    let is_hidden_directive = |name: &str| {
        names.is_machinery(name) || name == inaccessible || names.is_feature_directive(name)
    };

    let removed_types: HashSet<Name> = schema
        .types
        .iter()
        .filter(|(name, ty)| {
            !ty.is_built_in()
                && (names.is_machinery(name)
                    || names.is_feature_type(name)
                    || ty.directives().has(inaccessible))
        })
        .map(|(name, _)| name.clone())
        .collect();
    schema.types.retain(|name, _| !removed_types.contains(name));
    schema
        .directive_definitions
        .retain(|name, _| !is_hidden_directive(name));
    schema.schema_definition.make_mut().directives.clear();
    {
        let def = schema.schema_definition.make_mut();
        for root in [&mut def.query, &mut def.mutation, &mut def.subscription] {
            if root
                .as_ref()
                .is_some_and(|r| removed_types.contains(&r.name))
            {
                *root = None;
            }
        }
    }

    let keeps_type = |ty: &ast::Type| !removed_types.contains(ty.inner_named_type());
    let clean_arguments = |arguments: &mut Vec<Node<InputValueDefinition>>| {
        arguments.retain(|a| !a.directives.has(inaccessible) && keeps_type(&a.ty));
        for argument in arguments.iter_mut() {
            argument
                .make_mut()
                .directives
                .retain(|d| !is_hidden_directive(&d.name));
        }
    };
    let clean_field = |field: &mut FieldDefinition| {
        field.directives.retain(|d| !is_hidden_directive(&d.name));
        clean_arguments(&mut field.arguments);
    };

    for ty in schema.types.values_mut() {
        match ty {
            ExtendedType::Object(object) => {
                let object = object.make_mut();
                object.directives.retain(|d| !is_hidden_directive(&d.name));
                object
                    .implements_interfaces
                    .retain(|i| !removed_types.contains(&i.name));
                object
                    .fields
                    .retain(|_, f| !f.directives.has(inaccessible) && keeps_type(&f.ty));
                for field in object.fields.values_mut() {
                    clean_field(field.make_mut());
                }
            }
            ExtendedType::Interface(interface) => {
                let interface = interface.make_mut();
                interface
                    .directives
                    .retain(|d| !is_hidden_directive(&d.name));
                interface
                    .implements_interfaces
                    .retain(|i| !removed_types.contains(&i.name));
                interface
                    .fields
                    .retain(|_, f| !f.directives.has(inaccessible) && keeps_type(&f.ty));
                for field in interface.fields.values_mut() {
                    clean_field(field.make_mut());
                }
            }
            ExtendedType::Union(union) => {
                let union = union.make_mut();
                union.directives.retain(|d| !is_hidden_directive(&d.name));
                union.members.retain(|m| !removed_types.contains(&m.name));
            }
            ExtendedType::Enum(enum_type) => {
                let enum_type = enum_type.make_mut();
                enum_type
                    .directives
                    .retain(|d| !is_hidden_directive(&d.name));
                enum_type
                    .values
                    .retain(|_, v| !v.directives.has(inaccessible));
                for value in enum_type.values.values_mut() {
                    value
                        .make_mut()
                        .directives
                        .retain(|d| !is_hidden_directive(&d.name));
                }
            }
            ExtendedType::InputObject(input) => {
                let input = input.make_mut();
                input.directives.retain(|d| !is_hidden_directive(&d.name));
                input
                    .fields
                    .retain(|_, f| !f.directives.has(inaccessible) && keeps_type(&f.ty));
                for field in input.fields.values_mut() {
                    field
                        .make_mut()
                        .directives
                        .retain(|d| !is_hidden_directive(&d.name));
                }
            }
            ExtendedType::Scalar(scalar) => {
                scalar
                    .make_mut()
                    .directives
                    .retain(|d| !is_hidden_directive(&d.name));
            }
        }
    }
    schema
        .validate()
        .map_err(|e| SupergraphError::InvalidApiSchema(e.errors.to_string()))
}
