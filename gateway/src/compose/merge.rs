//! Merges the subgraphs' types into one supergraph model: types by name (kinds must agree),
//! fields of objects and interfaces by union, arguments by intersection, enums by union or
//! intersection depending on where they are used, input objects by intersection, union members
//! by union. What each subgraph says about an element is kept for the checks and the `@join__*`
//! directives.

use std::collections::{HashMap, HashSet};

use apollo_compiler::ast::{self, Type as AstType};
use apollo_compiler::executable::FieldSet;
use apollo_compiler::schema::{ComponentOrigin, ExtendedType};
use apollo_compiler::{Name, Node};
use indexmap::IndexMap;

use super::error::CompositionError;
use super::model::{
    Argument, Common, ContextArgument, EnumValue, Field, FieldSource, InputField, KeySource, Kind,
    Origin, SubgraphIndex, Supergraph, Type, TypeSource, and_requirements,
};
use super::subgraph::Subgraph;

/// Collects everything, reporting kind and type mismatches; later passes check the rest.
pub fn merge(
    subgraphs: &[Subgraph],
    errors: &mut Vec<CompositionError>,
    hints: &mut Vec<CompositionError>,
) -> Supergraph {
    let mut merger = Merger {
        subgraphs,
        types: IndexMap::new(),
        errors,
        hints,
    };
    for (index, subgraph) in subgraphs.iter().enumerate() {
        merger.collect_subgraph(index, subgraph);
    }
    merger.merge_field_types();
    merger.merge_enums();
    merger.merge_input_objects();
    merger.add_interface_object_fields();
    merger.propagate_access_to_interfaces();
    let executable_directives = merger.executable_directives();
    Supergraph {
        subgraphs: Vec::new(),
        types: merger.types,
        description: subgraphs
            .iter()
            .find_map(|s| s.schema.schema_definition.description.clone())
            .filter(|d| !d.trim().is_empty()),
        executable_directives,
        composed_directives: {
            let mut composed: Vec<(String, String, Node<ast::DirectiveDefinition>)> = Vec::new();
            for directive in subgraphs.iter().flat_map(|s| &s.composed) {
                if !composed.iter().any(|(_, _, d)| d.name == directive.name) {
                    composed.push((
                        directive.url.clone(),
                        directive.original.clone(),
                        directive.definition.clone(),
                    ));
                }
            }
            composed
        },
    }
}

struct Merger<'a> {
    subgraphs: &'a [Subgraph],
    types: IndexMap<Name, Type>,
    errors: &'a mut Vec<CompositionError>,
    hints: &'a mut Vec<CompositionError>,
}

/// The supergraph name of a type: root types take the standard names.
fn standard_name(subgraph: &Subgraph, name: &Name) -> Name {
    match subgraph.root_name(name) {
        Some(root) => Name::new_static(root).expect("root names are names"),
        None => name.clone(),
    }
}

/// Renames root types inside a type reference (`[RootQuery]` → `[Query]`).
fn standard_type(subgraph: &Subgraph, ty: &AstType) -> AstType {
    let name = standard_name(subgraph, ty.inner_named_type());
    if &name == ty.inner_named_type() {
        return ty.clone();
    }
    match ty {
        AstType::Named(_) => AstType::Named(name),
        AstType::NonNullNamed(_) => AstType::NonNullNamed(name),
        AstType::List(inner) => AstType::List(Box::new(standard_type(subgraph, inner))),
        AstType::NonNullList(inner) => {
            AstType::NonNullList(Box::new(standard_type(subgraph, inner)))
        }
    }
}

impl Merger<'_> {
    fn collect_subgraph(&mut self, index: SubgraphIndex, subgraph: &Subgraph) {
        for ty in subgraph.types() {
            let name = standard_name(subgraph, ty.name());
            let interface_object =
                ty.is_object() && subgraph.has_type_directive(ty, "interfaceObject");
            let kind = match ty {
                ExtendedType::Object(_) if interface_object => Kind::Interface,
                ExtendedType::Object(_) => Kind::Object,
                ExtendedType::Interface(_) => Kind::Interface,
                ExtendedType::Union(_) => Kind::Union,
                ExtendedType::Enum(_) => Kind::Enum,
                ExtendedType::InputObject(_) => Kind::InputObject,
                ExtendedType::Scalar(_) => Kind::Scalar,
            };
            let origin = Origin {
                subgraph: index,
                span: ty.location(),
            };
            let entry = self
                .types
                .entry(name.clone())
                .or_insert_with(|| Type::new(name.clone(), kind));
            if entry.kind != kind {
                let first = entry.sources[0].origin;
                let first_name = &self.subgraphs[first.subgraph].name;
                self.errors.push(
                    CompositionError::new(
                        "TYPE_KIND_MISMATCH",
                        format!(
                            "type \"{name}\" is {} {} in subgraph \"{first_name}\" but {} {} in subgraph \"{}\"",
                            article(entry.kind),
                            entry.kind.describe(),
                            article(kind),
                            kind.describe(),
                            subgraph.name
                        ),
                    )
                    .at(first_name, first.span)
                    .at(&subgraph.name, origin.span),
                );
                continue;
            }
            let keys: Vec<KeySource> = subgraph
                .type_directives(ty, "key")
                .map(|key| KeySource {
                    fields: key
                        .specified_argument_by_name("fields")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string(),
                    resolvable: key
                        .specified_argument_by_name("resolvable")
                        .and_then(|v| v.to_bool())
                        .unwrap_or(true),
                    resolvable_explicit: key.specified_argument_by_name("resolvable").is_some(),
                })
                .collect();
            // Federation 1 subgraphs are read as if upgraded: `extend type` becomes a plain
            // definition there, only `@extends` still marks an extension.
            let extension = subgraph.has_type_directive(ty, "extends")
                || (!subgraph.fed1
                    && ty
                        .iter_origins()
                        .all(|o| matches!(o, ComponentOrigin::Extension(_))));
            let contexts = subgraph
                .type_directives(ty, "context")
                .filter_map(|d| {
                    d.specified_argument_by_name("name")?
                        .as_str()
                        .map(str::to_string)
                })
                .collect();
            entry.sources.push(TypeSource {
                origin,
                keys,
                extension,
                interface_object,
                contexts,
            });
            merge_common(
                &mut entry.common,
                subgraph,
                ty.description(),
                &ty.directives()
                    .iter()
                    .map(|c| c.node.clone())
                    .collect::<Vec<_>>(),
            );
            match ty {
                ExtendedType::Object(object) => {
                    for interface in &object.implements_interfaces {
                        entry
                            .implements
                            .entry(interface.name.clone())
                            .or_default()
                            .push(index);
                    }
                    self.collect_fields(index, subgraph, &name, &object.fields, ty);
                }
                ExtendedType::Interface(interface) => {
                    for parent in &interface.implements_interfaces {
                        entry
                            .implements
                            .entry(parent.name.clone())
                            .or_default()
                            .push(index);
                    }
                    self.collect_fields(index, subgraph, &name, &interface.fields, ty);
                }
                ExtendedType::Union(union) => {
                    for member in &union.members {
                        entry
                            .members
                            .entry(member.name.clone())
                            .or_default()
                            .push(index);
                    }
                }
                ExtendedType::Enum(enum_type) => {
                    for (value_name, value) in &enum_type.values {
                        let merged =
                            entry
                                .values
                                .entry(value_name.clone())
                                .or_insert_with(|| EnumValue {
                                    name: value_name.clone(),
                                    common: Common::default(),
                                    origins: Vec::new(),
                                });
                        merged.origins.push(Origin {
                            subgraph: index,
                            span: value.location(),
                        });
                        merge_common(
                            &mut merged.common,
                            subgraph,
                            value.description.as_ref(),
                            &value.directives,
                        );
                    }
                }
                ExtendedType::InputObject(input) => {
                    for (field_name, field) in &input.fields {
                        let merged =
                            entry
                                .input_fields
                                .entry(field_name.clone())
                                .or_insert_with(|| InputField {
                                    name: field_name.clone(),
                                    ty: (*field.ty).clone(),
                                    default: field.default_value.clone(),
                                    common: Common::default(),
                                    origins: Vec::new(),
                                    types: Vec::new(),
                                });
                        merged.types.push((*field.ty).clone());
                        if !merged.origins.is_empty()
                            && merged.ty != *field.ty
                            && merge_input_type(&mut merged.ty.clone(), &field.ty)
                        {
                            self.hints.push(
                                CompositionError::new(
                                    "INCONSISTENT_BUT_COMPATIBLE_FIELD_TYPE",
                                    format!(
                                        "input field \"{name}.{field_name}\" has different but compatible types across subgraphs: \"{}\" in subgraph \"{}\"",
                                        field.ty, subgraph.name
                                    ),
                                )
                                .at(&subgraph.name, field.location()),
                            );
                        }
                        if !merge_input_type(&mut merged.ty, &field.ty) {
                            let first = merged.origins[0];
                            self.errors.push(
                                CompositionError::new(
                                    "FIELD_TYPE_MISMATCH",
                                    format!(
                                        "input field \"{name}.{field_name}\" has incompatible types across subgraphs: \"{}\" in subgraph \"{}\" and \"{}\" in subgraph \"{}\"",
                                        merged.ty,
                                        self.subgraphs[first.subgraph].name,
                                        field.ty,
                                        subgraph.name
                                    ),
                                )
                                .at(&self.subgraphs[first.subgraph].name, first.span)
                                .at(&subgraph.name, field.location()),
                            );
                        }
                        if merged.default.is_some()
                            && field.default_value.is_some()
                            && merged.default != field.default_value
                        {
                            let first = merged.origins[0];
                            self.errors.push(
                                CompositionError::new(
                                    "INPUT_FIELD_DEFAULT_MISMATCH",
                                    format!(
                                        "input field \"{name}.{field_name}\" has different default values across subgraphs: subgraph \"{}\" and subgraph \"{}\" disagree",
                                        self.subgraphs[first.subgraph].name,
                                        subgraph.name
                                    ),
                                )
                                .at(&self.subgraphs[first.subgraph].name, first.span)
                                .at(&subgraph.name, field.location()),
                            );
                        }
                        merged.origins.push(Origin {
                            subgraph: index,
                            span: field.location(),
                        });
                        merge_common(
                            &mut merged.common,
                            subgraph,
                            field.description.as_ref(),
                            &field.directives,
                        );
                    }
                }
                ExtendedType::Scalar(_) => {}
            }
        }
    }

    fn collect_fields(
        &mut self,
        index: SubgraphIndex,
        subgraph: &Subgraph,
        type_name: &Name,
        fields: &apollo_compiler::collections::IndexMap<
            Name,
            apollo_compiler::schema::Component<ast::FieldDefinition>,
        >,
        ty: &ExtendedType,
    ) {
        let key_fields = key_field_names(subgraph, ty);
        let key_selected = key_selections(subgraph);
        let type_external = subgraph.has_type_directive(ty, "external");
        // `@shareable` on a type covers the fields of the definition or extension block it is
        // written on, not those another block of the same subgraph adds.
        let shareable_blocks: Vec<&ComponentOrigin> = subgraph
            .type_directives(ty, "shareable")
            .map(|directive| &directive.origin)
            .collect();
        let extension = subgraph.has_type_directive(ty, "extends")
            || ty
                .iter_origins()
                .all(|o| matches!(o, ComponentOrigin::Extension(_)));
        let is_query = type_name == "Query";
        let mut conflicts = Vec::new();
        let entry = self.types.get_mut(type_name).expect("type collected");
        for (field_name, field) in fields {
            if is_query && matches!(field_name.as_str(), "_entities" | "_service") {
                continue;
            }
            let is_key_field = key_fields.contains(field_name);
            let declared_external = subgraph.has(&field.directives, "external") || type_external;
            // `@external` on the key fields of a type extension only restates the key (it is
            // how Federation 1 wrote entity extensions): the subgraph does resolve them.
            let external = declared_external && !(extension && is_key_field);
            let fields_arg = |spec: &str| {
                subgraph
                    .get(&field.directives, spec)
                    .and_then(|d| d.specified_argument_by_name("fields"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            let source = FieldSource {
                origin: Origin {
                    subgraph: index,
                    span: field.location(),
                },
                ty: standard_type(subgraph, &field.ty),
                external,
                shareable: subgraph.fed1
                    || shareable_blocks.contains(&&field.origin)
                    || key_selected.contains(&(ty.name().clone(), field_name.clone()))
                    || subgraph.has(&field.directives, "shareable"),
                requires: fields_arg("requires"),
                provides: fields_arg("provides"),
                override_from: subgraph
                    .get(&field.directives, "override")
                    .and_then(|d| d.specified_argument_by_name("from"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                override_label: subgraph
                    .get(&field.directives, "override")
                    .and_then(|d| d.specified_argument_by_name("label"))
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                used_overridden: false,
                overridden: false,
                context_arguments: field
                    .arguments
                    .iter()
                    .filter_map(|argument| {
                        let value = subgraph
                            .get(&argument.directives, "fromContext")?
                            .specified_argument_by_name("field")?
                            .as_str()?;
                        let (context, selection) = split_context_reference(value)?;
                        Some(ContextArgument {
                            name: argument.name.clone(),
                            ty: standard_type(subgraph, &argument.ty),
                            context: context.to_string(),
                            selection: selection.to_string(),
                            origin: Origin {
                                subgraph: index,
                                span: argument.location(),
                            },
                        })
                    })
                    .collect(),
            };
            let merged = entry
                .fields
                .entry(field_name.clone())
                .or_insert_with(|| Field {
                    name: field_name.clone(),
                    ty: source.ty.clone(),
                    arguments: IndexMap::new(),
                    sources: Vec::new(),
                    common: Common::default(),
                    from_interface_object: false,
                });
            merge_common(
                &mut merged.common,
                subgraph,
                field.description.as_ref(),
                &field.directives,
            );
            for argument in &field.arguments {
                // A contextual argument is the gateway's to fill: it leaves the supergraph's
                // field (the checks report a malformed one).
                if subgraph.has(&argument.directives, "fromContext") {
                    continue;
                }
                let ty = standard_type(subgraph, &argument.ty);
                let merged_argument = merged
                    .arguments
                    .entry(argument.name.clone())
                    .or_insert_with(|| Argument {
                        name: argument.name.clone(),
                        ty: ty.clone(),
                        default: argument.default_value.clone(),
                        common: Common::default(),
                        origins: Vec::new(),
                    });
                // Arguments of an `@external` field restate the real field's: a difference
                // there is the external declaration's mistake, reported as such.
                let involves_external = external
                    || merged.sources.iter().any(|s| {
                        s.external
                            && merged_argument
                                .origins
                                .iter()
                                .any(|o| o.subgraph == s.origin.subgraph)
                    });
                merged_argument.origins.push(Origin {
                    subgraph: index,
                    span: argument.location(),
                });
                if !merge_input_type(&mut merged_argument.ty, &ty) {
                    conflicts.push(
                        CompositionError::new(
                            if involves_external {
                                "EXTERNAL_ARGUMENT_TYPE_MISMATCH"
                            } else {
                                "FIELD_ARGUMENT_TYPE_MISMATCH"
                            },
                            format!(
                                "argument \"{type_name}.{field_name}({}:)\" has incompatible types across subgraphs: \"{}\" in subgraph \"{}\" and \"{}\" elsewhere",
                                argument.name, argument.ty, subgraph.name, merged_argument.ty
                            ),
                        )
                        .at(&subgraph.name, argument.location()),
                    );
                }
                if merged_argument.default != argument.default_value
                    && merged_argument.default.is_some()
                    && argument.default_value.is_some()
                {
                    conflicts.push(
                        CompositionError::new(
                            if involves_external {
                                "EXTERNAL_ARGUMENT_DEFAULT_MISMATCH"
                            } else {
                                "FIELD_ARGUMENT_DEFAULT_MISMATCH"
                            },
                            format!(
                                "argument \"{type_name}.{field_name}({}:)\" has different default values across subgraphs",
                                argument.name
                            ),
                        )
                        .at(&subgraph.name, argument.location()),
                    );
                }
                merge_common(
                    &mut merged_argument.common,
                    subgraph,
                    argument.description.as_ref(),
                    &argument.directives,
                );
            }
            merged.sources.push(source);
        }
        self.errors.extend(conflicts);
    }

    /// Output field types: the least specific type every subgraph's type is compatible with
    /// (nullable wins over non-null). Arguments: only those every declaring subgraph has.
    fn merge_field_types(&mut self) {
        // abstract type → its possible object types, for fields whose type is an interface or
        // union in one subgraph and one of its members in another.
        let mut possible: HashMap<Name, HashSet<Name>> = HashMap::new();
        for ty in self.types.values() {
            for member in ty.members.keys() {
                possible
                    .entry(ty.name.clone())
                    .or_default()
                    .insert(member.clone());
            }
            for interface in ty.implements.keys() {
                possible
                    .entry(interface.clone())
                    .or_default()
                    .insert(ty.name.clone());
            }
        }
        let is_subtype = |abstract_type: &Name, member: &Name| {
            possible
                .get(abstract_type)
                .is_some_and(|p| p.contains(member))
        };
        for ty in self.types.values_mut() {
            let type_name = ty.name.clone();
            for field in ty.fields.values_mut() {
                let mut merged = field.sources[0].ty.clone();
                let mut differs = field.sources[1..]
                    .iter()
                    .any(|s| s.ty != field.sources[0].ty);
                for source in &field.sources[1..] {
                    match merge_output_type(&merged, &source.ty, &is_subtype) {
                        Some(ty) => merged = ty,
                        None => {
                            // Reported as an error, not also as a compatible difference.
                            differs = false;
                            let first = &field.sources[0];
                            self.errors.push(
                                CompositionError::new(
                                    if first.external || source.external {
                                        "EXTERNAL_TYPE_MISMATCH"
                                    } else {
                                        "FIELD_TYPE_MISMATCH"
                                    },
                                    format!(
                                        "field \"{type_name}.{}\" has incompatible types across subgraphs: \"{}\" in subgraph \"{}\" and \"{}\" in subgraph \"{}\"",
                                        field.name,
                                        first.ty,
                                        self.subgraphs[first.origin.subgraph].name,
                                        source.ty,
                                        self.subgraphs[source.origin.subgraph].name
                                    ),
                                )
                                .at(&self.subgraphs[first.origin.subgraph].name, first.origin.span)
                                .at(&self.subgraphs[source.origin.subgraph].name, source.origin.span),
                            );
                        }
                    }
                }
                if differs && field.sources.len() > 1 {
                    let first = field.sources[0].origin;
                    self.hints.push(
                        CompositionError::new(
                            "INCONSISTENT_BUT_COMPATIBLE_FIELD_TYPE",
                            format!(
                                "field \"{type_name}.{}\" has different but compatible types across subgraphs: the supergraph uses \"{merged}\"",
                                field.name
                            ),
                        )
                        .at(&self.subgraphs[first.subgraph].name, first.span),
                    );
                }
                field.ty = merged;
                let declaring: HashSet<SubgraphIndex> =
                    field.sources.iter().map(|s| s.origin.subgraph).collect();
                let mut dropped = Vec::new();
                for argument in field.arguments.values() {
                    // A subgraph taking it from a context declares it too (see
                    // `contexts::check_merged`).
                    let declared: HashSet<SubgraphIndex> = argument
                        .origins
                        .iter()
                        .map(|o| o.subgraph)
                        .chain(
                            field
                                .sources
                                .iter()
                                .filter(|s| {
                                    s.context_arguments.iter().any(|c| c.name == argument.name)
                                })
                                .map(|s| s.origin.subgraph),
                        )
                        .collect();
                    if declared.len() == declaring.len() {
                        continue;
                    }
                    let required = argument.ty.is_non_null() && argument.default.is_none();
                    let missing: Vec<&str> = declaring
                        .difference(&declared)
                        .map(|s| self.subgraphs[*s].name.as_str())
                        .collect();
                    let origin = argument.origins[0];
                    // Missing only on `@external` declarations: the external field does not
                    // restate the field it stands for (the argument is not dropped for it).
                    let missing_on_externals: Vec<&FieldSource> = field
                        .sources
                        .iter()
                        .filter(|s| !declared.contains(&s.origin.subgraph))
                        .collect();
                    if missing_on_externals.iter().all(|s| s.external) {
                        let mut error = CompositionError::new(
                            "EXTERNAL_ARGUMENT_MISSING",
                            format!(
                                "field \"{type_name}.{}\" is @external in subgraph(s) {} without argument \"{}\", which the field declares elsewhere: an @external field must declare the arguments of the field it stands for",
                                field.name,
                                quoted(&missing),
                                argument.name
                            ),
                        );
                        for source in missing_on_externals {
                            error = error.at(
                                &self.subgraphs[source.origin.subgraph].name,
                                source.origin.span,
                            );
                        }
                        self.errors
                            .push(error.at(&self.subgraphs[origin.subgraph].name, origin.span));
                        continue;
                    }
                    let error = CompositionError::new(
                        if required {
                            "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH"
                        } else {
                            "INCONSISTENT_ARGUMENT_PRESENCE"
                        },
                        format!(
                            "argument \"{type_name}.{}({}:)\" is not declared in subgraph(s) {}: {}",
                            field.name,
                            argument.name,
                            quoted(&missing),
                            if required {
                                "a required argument must be declared by every subgraph declaring the field"
                            } else {
                                "it is left out of the supergraph"
                            }
                        ),
                    )
                    .at(&self.subgraphs[origin.subgraph].name, origin.span);
                    if required {
                        self.errors.push(error);
                    } else {
                        self.hints.push(error);
                        dropped.push(argument.name.clone());
                    }
                }
                for name in dropped {
                    field.arguments.shift_remove(&name);
                }
            }
        }
    }

    /// Enum values: union when the enum is only returned, intersection when it is only taken
    /// as input, and the same values everywhere when it is both.
    fn merge_enums(&mut self) {
        let (as_input, as_output) = enum_usage(&self.types);
        let names: Vec<Name> = self
            .types
            .values()
            .filter(|t| t.kind == Kind::Enum)
            .map(|t| t.name.clone())
            .collect();
        for name in names {
            let ty = &self.types[&name];
            let declaring: HashSet<SubgraphIndex> =
                ty.sources.iter().map(|s| s.origin.subgraph).collect();
            // An @inaccessible value never reaches clients: it may be missing elsewhere.
            let partial: Vec<&EnumValue> = ty
                .values
                .values()
                .filter(|v| v.origins.len() < declaring.len() && !v.common.inaccessible)
                .collect();
            if partial.is_empty() {
                continue;
            }
            let input = as_input.contains(&name);
            let output = as_output.contains(&name);
            if input && output {
                let value = partial[0];
                let present: Vec<&str> = value
                    .origins
                    .iter()
                    .map(|o| self.subgraphs[o.subgraph].name.as_str())
                    .collect();
                self.errors.push(
                    CompositionError::new(
                        "ENUM_VALUE_MISMATCH",
                        format!(
                            "enum \"{name}\" is used as both input and output, so every subgraph must declare the same values, but \"{}\" is only in subgraph(s) {}",
                            value.name,
                            quoted(&present)
                        ),
                    )
                    .at(&self.subgraphs[value.origins[0].subgraph].name, value.origins[0].span),
                );
            } else if !input {
                // Returned only: the union of the values, noted.
                let hints: Vec<CompositionError> = partial
                    .iter()
                    .map(|value| {
                        let origin = value.origins[0];
                        CompositionError::new(
                            "INCONSISTENT_ENUM_VALUE_FOR_OUTPUT_ENUM",
                            format!(
                                "value \"{name}.{}\" is not in every subgraph declaring the output enum: it is kept, and those subgraphs never return it",
                                value.name
                            ),
                        )
                        .at(&self.subgraphs[origin.subgraph].name, origin.span)
                    })
                    .collect();
                self.hints.extend(hints);
            } else {
                let dropped: Vec<Name> = partial.iter().map(|v| v.name.clone()).collect();
                let ty = self.types.get_mut(&name).expect("enum exists");
                for value in &dropped {
                    let origin = ty.values[value].origins[0];
                    self.hints.push(
                        CompositionError::new(
                            "INCONSISTENT_ENUM_VALUE_FOR_INPUT_ENUM",
                            format!(
                                "value \"{name}.{value}\" is not in every subgraph declaring the input enum: it is left out of the supergraph"
                            ),
                        )
                        .at(&self.subgraphs[origin.subgraph].name, origin.span),
                    );
                    ty.values.shift_remove(value);
                }
                if ty.values.is_empty() {
                    let origin = ty.sources[0].origin;
                    self.errors.push(
                        CompositionError::new(
                            "EMPTY_MERGED_ENUM_TYPE",
                            format!("enum \"{name}\" has no value common to every subgraph that declares it"),
                        )
                        .at(&self.subgraphs[origin.subgraph].name, origin.span),
                    );
                }
            }
        }
    }

    /// Input objects keep the fields every declaring subgraph has; a required field some lack
    /// is an error.
    fn merge_input_objects(&mut self) {
        for ty in self
            .types
            .values_mut()
            .filter(|t| t.kind == Kind::InputObject)
        {
            let declaring: HashSet<SubgraphIndex> =
                ty.sources.iter().map(|s| s.origin.subgraph).collect();
            let mut dropped = Vec::new();
            for field in ty.input_fields.values() {
                if field.origins.len() == declaring.len() {
                    continue;
                }
                let present: HashSet<SubgraphIndex> =
                    field.origins.iter().map(|o| o.subgraph).collect();
                let missing: Vec<&str> = declaring
                    .difference(&present)
                    .map(|s| self.subgraphs[*s].name.as_str())
                    .collect();
                let origin = field.origins[0];
                let required = field.ty.is_non_null() && field.default.is_none();
                let error = CompositionError::new(
                    if required {
                        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH"
                    } else {
                        "INCONSISTENT_INPUT_OBJECT_FIELD"
                    },
                    format!(
                        "input field \"{}.{}\" is not declared in subgraph(s) {}{}",
                        ty.name,
                        field.name,
                        quoted(&missing),
                        if required {
                            ": a required input field must be in every subgraph declaring the type"
                        } else {
                            ": it is left out of the supergraph"
                        }
                    ),
                )
                .at(&self.subgraphs[origin.subgraph].name, origin.span);
                if required {
                    self.errors.push(error);
                } else {
                    self.hints.push(error);
                    dropped.push(field.name.clone());
                }
            }
            for name in dropped {
                ty.input_fields.shift_remove(&name);
            }
            if ty.input_fields.is_empty() {
                let origin = ty.sources[0].origin;
                self.errors.push(
                    CompositionError::new(
                        "EMPTY_MERGED_INPUT_TYPE",
                        format!(
                            "input object \"{}\" has no field common to every subgraph that declares it",
                            ty.name
                        ),
                    )
                    .at(&self.subgraphs[origin.subgraph].name, origin.span),
                );
            }
        }
    }

    /// An interface field carries the access requirements of the fields implementing it (all
    /// of them: a client selecting it through the interface may meet any implementation), as
    /// Apollo's composition writes them.
    fn propagate_access_to_interfaces(&mut self) {
        let mut additions: Vec<(Name, Name, super::model::Carried)> = Vec::new();
        for interface in self.types.values().filter(|t| t.kind == Kind::Interface) {
            for field in interface.fields.keys() {
                let mut carried = super::model::Carried::default();
                for object in self.types.values().filter(|t| {
                    t.kind == Kind::Object && t.implements.contains_key(&interface.name)
                }) {
                    let Some(own) = object.fields.get(field).map(|f| &f.common.carried) else {
                        continue;
                    };
                    carried.authenticated |= own.authenticated;
                    if let Some(scopes) = &own.scopes {
                        carried.scopes = Some(and_requirements(&carried.scopes, scopes.clone()));
                    }
                    if let Some(policies) = &own.policies {
                        carried.policies =
                            Some(and_requirements(&carried.policies, policies.clone()));
                    }
                }
                additions.push((interface.name.clone(), field.clone(), carried));
            }
        }
        for (interface, field, carried) in additions {
            let Some(field) = self
                .types
                .get_mut(&interface)
                .and_then(|t| t.fields.get_mut(&field))
            else {
                continue;
            };
            let own = &mut field.common.carried;
            own.authenticated |= carried.authenticated;
            if let Some(scopes) = carried.scopes {
                own.scopes = Some(and_requirements(&own.scopes, scopes));
            }
            if let Some(policies) = carried.policies {
                own.policies = Some(and_requirements(&own.policies, policies));
            }
        }
    }

    /// Executable directive definitions: kept when every subgraph defines the directive, with
    /// the locations they all accept (a hint names one some subgraphs lack).
    fn executable_directives(&mut self) -> Vec<Node<ast::DirectiveDefinition>> {
        let mut kept: IndexMap<Name, Node<ast::DirectiveDefinition>> = IndexMap::new();
        let mut seen: IndexMap<Name, Vec<SubgraphIndex>> = IndexMap::new();
        for (index, subgraph) in self.subgraphs.iter().enumerate() {
            for (name, definition) in &subgraph.schema.directive_definitions {
                let executable = !definition.locations.is_empty()
                    && definition.locations.iter().all(|l| {
                        use ast::DirectiveLocation as L;
                        matches!(
                            l,
                            L::Query
                                | L::Mutation
                                | L::Subscription
                                | L::Field
                                | L::FragmentDefinition
                                | L::FragmentSpread
                                | L::InlineFragment
                                | L::VariableDefinition
                        )
                    });
                if !executable || matches!(name.as_str(), "skip" | "include" | "defer" | "stream") {
                    continue;
                }
                seen.entry(name.clone()).or_default().push(index);
                match kept.get_mut(name) {
                    None => {
                        let mut definition = (**definition).clone();
                        definition.description = None;
                        kept.insert(name.clone(), Node::new(definition));
                    }
                    Some(merged) => {
                        let merged = merged.make_mut();
                        merged
                            .locations
                            .retain(|l| definition.locations.contains(l));
                        merged.repeatable &= definition.repeatable;
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (name, definition) in kept {
            let declaring = &seen[&name];
            if declaring.len() == self.subgraphs.len() && !definition.locations.is_empty() {
                out.push(definition);
            } else {
                let origin = declaring[0];
                self.hints.push(
                    CompositionError::new(
                        "INCONSISTENT_EXECUTABLE_DIRECTIVE_PRESENCE",
                        format!(
                            "executable directive \"@{name}\" is not defined in every subgraph: it is left out of the supergraph"
                        ),
                    )
                    .at(
                        &self.subgraphs[origin].name,
                        self.subgraphs[origin].schema.directive_definitions[&name].location(),
                    ),
                );
            }
        }
        out
    }

    /// A field an `@interfaceObject` adds to an interface exists on every implementation in
    /// the supergraph, resolved by no subgraph on the implementation itself.
    fn add_interface_object_fields(&mut self) {
        let mut additions: Vec<(Name, Field)> = Vec::new();
        for interface in self.types.values().filter(|t| t.kind == Kind::Interface) {
            if !interface.sources.iter().any(|s| s.interface_object) {
                continue;
            }
            for object in self.types.values().filter(|t| t.kind == Kind::Object) {
                if !object.implements.contains_key(&interface.name) {
                    continue;
                }
                for field in interface.fields.values() {
                    if object.fields.contains_key(&field.name) {
                        continue;
                    }
                    additions.push((
                        object.name.clone(),
                        Field {
                            sources: Vec::new(),
                            from_interface_object: true,
                            ..field.clone()
                        },
                    ));
                }
            }
        }
        for (object, field) in additions {
            if let Some(ty) = self.types.get_mut(&object) {
                ty.fields.insert(field.name.clone(), field);
            }
        }
    }
}

/// The top-level field names of the type's keys in this subgraph.
pub fn key_field_names(subgraph: &Subgraph, ty: &ExtendedType) -> HashSet<Name> {
    let mut names = HashSet::new();
    for key in subgraph.type_directives(ty, "key") {
        let Some(fields) = key
            .specified_argument_by_name("fields")
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        if let Ok(set) = FieldSet::parse(&subgraph.schema, ty.name().clone(), fields, "key.graphql")
        {
            names.extend(set.selection_set.fields().map(|f| f.name.clone()));
        }
    }
    names
}

/// Every (type, field) a key of this subgraph selects, nested ones included: key fields are
/// shareable by nature.
fn key_selections(subgraph: &Subgraph) -> HashSet<(Name, Name)> {
    fn walk(set: &apollo_compiler::executable::SelectionSet, out: &mut HashSet<(Name, Name)>) {
        for selection in &set.selections {
            match selection {
                apollo_compiler::executable::Selection::Field(field) => {
                    out.insert((set.ty.clone(), field.name.clone()));
                    walk(&field.selection_set, out);
                }
                apollo_compiler::executable::Selection::InlineFragment(fragment) => {
                    walk(&fragment.selection_set, out)
                }
                apollo_compiler::executable::Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut out = HashSet::new();
    for ty in subgraph.types() {
        for key in subgraph.type_directives(ty, "key") {
            if let Some(set) = key
                .specified_argument_by_name("fields")
                .and_then(|v| v.as_str())
                .and_then(|text| {
                    FieldSet::parse(&subgraph.schema, ty.name().clone(), text, "key.graphql").ok()
                })
            {
                walk(&set.selection_set, &mut out);
            }
        }
    }
    out
}

/// Which enums are taken as input (arguments, input fields) and which are returned.
fn enum_usage(types: &IndexMap<Name, Type>) -> (HashSet<Name>, HashSet<Name>) {
    let mut input = HashSet::new();
    let mut output = HashSet::new();
    for ty in types.values() {
        for field in ty.fields.values() {
            output.insert(field.ty.inner_named_type().clone());
            for argument in field.arguments.values() {
                input.insert(argument.ty.inner_named_type().clone());
            }
        }
        for field in ty.input_fields.values() {
            input.insert(field.ty.inner_named_type().clone());
        }
    }
    (input, output)
}

/// Merges descriptions (first one wins), `@inaccessible`, `@tag` and the directives that travel
/// as written (`@deprecated`, `@specifiedBy`).
fn merge_common(
    common: &mut Common,
    subgraph: &Subgraph,
    description: Option<&Node<str>>,
    directives: &[Node<ast::Directive>],
) {
    if common.description.is_none() {
        common.description = description.filter(|d| !d.trim().is_empty()).cloned();
    }
    let inaccessible = subgraph.names.directive("inaccessible");
    let tag = subgraph.names.directive("tag");
    let named = |spec: &str| {
        let local = subgraph.names.directive(spec);
        move |directive: &Node<ast::Directive>| !local.is_empty() && directive.name == local
    };
    let (authenticated, requires_scopes, policy, cost, list_size) = (
        named("authenticated"),
        named("requiresScopes"),
        named("policy"),
        named("cost"),
        named("listSize"),
    );
    for directive in directives {
        if subgraph.composed.iter().any(|c| c.name == directive.name)
            && !common.composed.contains(directive)
        {
            common.composed.push(directive.clone());
        }
    }
    let carried = &mut common.carried;
    for directive in directives {
        if authenticated(directive) {
            carried.authenticated = true;
        } else if requires_scopes(directive) {
            let scopes = nested_strings(directive.specified_argument_by_name("scopes"));
            carried.scopes = Some(and_requirements(&carried.scopes, scopes));
        } else if policy(directive) {
            let policies = nested_strings(directive.specified_argument_by_name("policies"));
            carried.policies = Some(and_requirements(&carried.policies, policies));
        } else if cost(directive) {
            if let Some(weight) = directive
                .specified_argument_by_name("weight")
                .and_then(|v| v.to_i32())
            {
                carried.cost = Some(carried.cost.map_or(weight.into(), |c| c.max(weight.into())));
            }
        } else if list_size(directive) && carried.list_size.is_none() {
            let mut canonical = (**directive).clone();
            canonical.name = Name::new_static("listSize").expect("a name");
            carried.list_size = Some(Node::new(canonical));
        }
    }
    for directive in directives {
        if directive.name == inaccessible {
            common.inaccessible = true;
        } else if directive.name == tag {
            if let Some(name) = directive
                .specified_argument_by_name("name")
                .and_then(|v| v.as_str())
                && !common.tags.iter().any(|t| t == name)
            {
                common.tags.push(name.to_string());
            }
        } else if matches!(
            directive.name.as_str(),
            "deprecated" | "specifiedBy" | "oneOf"
        ) && !common.directives.iter().any(|d| d.name == directive.name)
        {
            common.directives.push(directive.clone());
        }
    }
}

/// `$name selection` (a `@fromContext(field:)` value) as `(name, selection)`, the selection as
/// written after the name (Apollo's composition writes it so, leading space included). `None`
/// when the value does not start with `$` and a name.
pub fn split_context_reference(value: &str) -> Option<(&str, &str)> {
    let rest = value.trim_start().strip_prefix('$')?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| (&rest[..end], &rest[end..]))
}

/// Output types: the least specific type both are compatible with (`ID!` and `ID` give `ID`;
/// a union and one of its members give the union); `None` when they differ otherwise.
fn merge_output_type(
    a: &AstType,
    b: &AstType,
    is_subtype: &dyn Fn(&Name, &Name) -> bool,
) -> Option<AstType> {
    let named = |x: &Name, y: &Name| -> Option<Name> {
        if x == y || is_subtype(x, y) {
            Some(x.clone())
        } else if is_subtype(y, x) {
            Some(y.clone())
        } else {
            None
        }
    };
    match (a, b) {
        (AstType::NonNullNamed(x), AstType::NonNullNamed(y)) => {
            named(x, y).map(AstType::NonNullNamed)
        }
        (
            AstType::Named(x) | AstType::NonNullNamed(x),
            AstType::Named(y) | AstType::NonNullNamed(y),
        ) => named(x, y).map(AstType::Named),
        (AstType::NonNullList(x), AstType::NonNullList(y)) => {
            merge_output_type(x, y, is_subtype).map(|t| AstType::NonNullList(Box::new(t)))
        }
        (
            AstType::List(x) | AstType::NonNullList(x),
            AstType::List(y) | AstType::NonNullList(y),
        ) => merge_output_type(x, y, is_subtype).map(|t| AstType::List(Box::new(t))),
        _ => None,
    }
}

/// Input types: the most specific (non-null wins, every subgraph must accept what clients
/// send). Returns `false` when the types differ otherwise.
fn merge_input_type(merged: &mut AstType, other: &AstType) -> bool {
    fn most_specific(a: &AstType, b: &AstType) -> Option<AstType> {
        match (a, b) {
            (
                AstType::Named(x) | AstType::NonNullNamed(x),
                AstType::Named(y) | AstType::NonNullNamed(y),
            ) if x == y => Some(if a.is_non_null() || b.is_non_null() {
                AstType::NonNullNamed(x.clone())
            } else {
                AstType::Named(x.clone())
            }),
            (
                AstType::List(x) | AstType::NonNullList(x),
                AstType::List(y) | AstType::NonNullList(y),
            ) => most_specific(x, y).map(|t| {
                if a.is_non_null() || b.is_non_null() {
                    AstType::NonNullList(Box::new(t))
                } else {
                    AstType::List(Box::new(t))
                }
            }),
            _ => None,
        }
    }
    match most_specific(merged, other) {
        Some(ty) => {
            *merged = ty;
            true
        }
        None => false,
    }
}

fn article(kind: Kind) -> &'static str {
    match kind {
        Kind::Union | Kind::Scalar => "a",
        Kind::Object | Kind::Interface | Kind::InputObject | Kind::Enum => "an",
    }
}

/// `"a", "b"`: subgraph names for messages.
pub fn quoted(names: &[&str]) -> String {
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort();
    sorted
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `[["a", "b"], ["c"]]` as lists of strings; a single string stands for a list of one.
fn nested_strings(value: Option<&Node<ast::Value>>) -> Vec<Vec<String>> {
    let Some(ast::Value::List(alternatives)) = value.map(|v| v.as_ref()) else {
        return Vec::new();
    };
    alternatives
        .iter()
        .map(|alternative| match alternative.as_ref() {
            ast::Value::List(all) => all
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            ast::Value::String(one) => vec![one.clone()],
            _ => Vec::new(),
        })
        .collect()
}
