//! The rules composition enforces on the merged model, each reported with the federation error
//! code it documents: `@override`, `@shareable`, `@external`, the `@key`/`@requires`/
//! `@provides` field sets, `@interfaceObject`, `@inaccessible`, and the presence of queries.

use std::collections::HashSet;

use apollo_compiler::executable::{FieldSet, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{Name, Node};

use super::error::CompositionError;
use super::merge::quoted;
use super::model::{Carried, KeySource, Kind, Origin, Supergraph, and_requirements, implies};
use super::subgraph::Subgraph;

pub struct Checker<'a> {
    pub subgraphs: &'a [Subgraph],
    pub errors: &'a mut Vec<CompositionError>,
    pub hints: &'a mut Vec<CompositionError>,
}

/// (type, field) pairs a subgraph's own field sets select (keys, requires, provides).
fn field_set_usage(subgraph: &Subgraph) -> HashSet<(Name, Name)> {
    fn walk(set: &SelectionSet, out: &mut HashSet<(Name, Name)>) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    out.insert((set.ty.clone(), field.name.clone()));
                    walk(&field.selection_set, out);
                }
                Selection::InlineFragment(fragment) => walk(&fragment.selection_set, out),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut used = HashSet::new();
    let parse = |ty: &Name, text: &str| {
        FieldSet::parse(&subgraph.schema, ty.clone(), text, "field_set.graphql").ok()
    };
    for ty in subgraph.types() {
        for key in subgraph.type_directives(ty, "key") {
            if let Some(set) = key
                .specified_argument_by_name("fields")
                .and_then(|v| v.as_str())
                .and_then(|text| parse(ty.name(), text))
            {
                walk(&set.selection_set, &mut used);
            }
        }
        let fields = match ty {
            ExtendedType::Object(o) => &o.fields,
            ExtendedType::Interface(i) => &i.fields,
            _ => continue,
        };
        for field in fields.values() {
            if let Some(set) = subgraph
                .get(&field.directives, "requires")
                .and_then(|d| d.specified_argument_by_name("fields"))
                .and_then(|v| v.as_str())
                .and_then(|text| parse(ty.name(), text))
            {
                walk(&set.selection_set, &mut used);
            }
            if let Some(set) = subgraph
                .get(&field.directives, "provides")
                .and_then(|d| d.specified_argument_by_name("fields"))
                .and_then(|v| v.as_str())
                .and_then(|text| parse(field.ty.inner_named_type(), text))
            {
                walk(&set.selection_set, &mut used);
            }
        }
    }
    used
}

impl Checker<'_> {
    fn name(&self, origin: Origin) -> &str {
        &self.subgraphs[origin.subgraph].name
    }

    fn error(&mut self, code: &'static str, message: String, places: &[Origin]) {
        let mut error = CompositionError::new(code, message);
        for place in places {
            error = error.at(&self.subgraphs[place.subgraph].name, place.span);
        }
        self.errors.push(error);
    }

    pub fn run(&mut self, supergraph: &mut Supergraph) {
        let usage: Vec<HashSet<(Name, Name)>> =
            self.subgraphs.iter().map(field_set_usage).collect();
        let provided: Vec<HashSet<(Name, Name)>> =
            self.subgraphs.iter().map(provides_selections).collect();
        self.subgraph_names();
        self.unsupported();
        self.composed_directives();
        self.overrides(supergraph, &usage);
        self.sharing(supergraph, &provided);
        self.runtime_types(supergraph);
        self.extensions(supergraph);
        self.import_names();
        for (index, subgraph) in self.subgraphs.iter().enumerate() {
            self.directives_on_externals(index, subgraph);
            self.interface_keys(index, subgraph);
            super::contexts::check_subgraph(subgraph, self.errors);
        }
        super::contexts::check_merged(supergraph, self.subgraphs, self.hints);
        self.externals(supergraph, &usage);
        for (index, subgraph) in self.subgraphs.iter().enumerate() {
            self.field_sets(index, subgraph);
        }
        self.interface_objects(supergraph);
        self.requires_need_a_local_key(supergraph);
        self.transitive_auth(supergraph);
        self.inaccessible(supergraph);
        self.interface_fields(supergraph);
        self.queries(supergraph);
    }

    /// A field with `@requires` is resolved after the fields it requires were fetched from
    /// other subgraphs, by going back into its own subgraph with a key of the type that the
    /// subgraph resolves itself. When every resolvable key of the type there selects an
    /// `@external` field, no plan can get back: Apollo's satisfiability check refuses it
    /// (`SATISFIABILITY_ERROR`), and so does this one. Federation 1 subgraphs are left out:
    /// their key fields are `@external` by convention and resolved all the same.
    fn requires_need_a_local_key(&mut self, supergraph: &Supergraph) {
        let mut errors = Vec::new();
        for ty in supergraph.types.values() {
            if ty.kind != Kind::Object {
                continue;
            }
            for field in ty.fields.values() {
                for source in field.sources.iter().filter(|s| s.requires.is_some()) {
                    let index = source.origin.subgraph;
                    if self.subgraphs[index].fed1 {
                        continue;
                    }
                    let Some(declared) = ty.sources.iter().find(|t| t.origin.subgraph == index)
                    else {
                        continue;
                    };
                    let resolvable: Vec<&KeySource> =
                        declared.keys.iter().filter(|k| k.resolvable).collect();
                    if resolvable.is_empty() {
                        continue;
                    }
                    let resolved_here = |name: &str| {
                        ty.fields
                            .get(name)
                            .and_then(|f| f.sources.iter().find(|s| s.origin.subgraph == index))
                            .is_some_and(|s| !s.external)
                    };
                    if resolvable
                        .iter()
                        .any(|key| top_level_fields(&key.fields).all(resolved_here))
                    {
                        continue;
                    }
                    errors.push((
                        format!(
                            "field \"{}.{}\" in subgraph \"{}\" has @requires, but every key of \"{}\" there selects an @external field: once the required fields are fetched, no key of the subgraph's own can take the query back to it to resolve the field",
                            ty.name, field.name, self.subgraphs[index].name, ty.name
                        ),
                        source.origin,
                    ));
                }
            }
        }
        for (message, origin) in errors {
            self.error("SATISFIABILITY_ERROR", message, &[origin]);
        }
    }

    /// `@override(from:)`: the named subgraph stops resolving the field, unless its own keys
    /// or requires use it (then it is `usedOverridden`).
    fn overrides(&mut self, supergraph: &mut Supergraph, usage: &[HashSet<(Name, Name)>]) {
        let subgraph_index = |name: &str| self.subgraphs.iter().position(|s| s.name == name);
        // Fields a subgraph must keep because they implement one of its interfaces' fields.
        let implemented: Vec<HashSet<(Name, Name)>> = self
            .subgraphs
            .iter()
            .map(interface_implementations)
            .collect();
        let mut errors = Vec::new();
        let mut hints = Vec::new();
        for ty in supergraph.types.values_mut() {
            for field in ty.fields.values_mut() {
                let overriding: Vec<(usize, String, Origin, bool, Option<String>)> = field
                    .sources
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| {
                        s.override_from
                            .clone()
                            .map(|from| (i, from, s.origin, s.external, s.override_label.clone()))
                    })
                    .collect();
                for (_, from, origin, external, label) in overriding {
                    let here = self.subgraphs[origin.subgraph].name.clone();
                    let coordinate = format!("{}.{}", ty.name, field.name);
                    let interface_object_here = ty
                        .sources
                        .iter()
                        .any(|s| s.origin.subgraph == origin.subgraph && s.interface_object);
                    // The first rule the override breaks, if any: one error per field.
                    let refusal = if ty.kind == Kind::Interface && !interface_object_here {
                        Some((
                            "OVERRIDE_ON_INTERFACE",
                            format!(
                                "field \"{coordinate}\" in subgraph \"{here}\" is an interface field: @override applies to the fields of object types, not interfaces"
                            ),
                        ))
                    } else if interface_object_here {
                        Some((
                            "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
                            format!(
                                "field \"{coordinate}\" in subgraph \"{here}\" is a field of an @interfaceObject: @override cannot take a field over from the interface's implementations"
                            ),
                        ))
                    } else if let Some(label) = label.as_ref().filter(|l| !valid_override_label(l))
                    {
                        Some((
                            "OVERRIDE_LABEL_INVALID",
                            format!(
                                "field \"{coordinate}\" in subgraph \"{here}\" has @override(label: \"{label}\"): a label is \"percent(N)\" with 0 <= N <= 100 (up to 8 decimals), or a name of letters, digits, '_', '-', ':' and '.' starting with a letter"
                            ),
                        ))
                    } else if from == here {
                        Some((
                            "OVERRIDE_FROM_SELF_ERROR",
                            format!(
                                "field \"{coordinate}\" in subgraph \"{here}\" overrides itself: @override(from:) must name another subgraph"
                            ),
                        ))
                    } else if external {
                        Some((
                            "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
                            format!(
                                "field \"{coordinate}\" in subgraph \"{here}\" is both @override and @external: an overriding subgraph must resolve the field"
                            ),
                        ))
                    } else {
                        None
                    };
                    if let Some((code, message)) = refusal {
                        errors.push(CompositionError::new(code, message).at(&here, origin.span));
                        continue;
                    }
                    let Some(source_index) = subgraph_index(&from) else {
                        // Nothing to take over: the field stays as if not overridden (the
                        // `override:` is still written, as Apollo's composition does; nothing
                        // reads it for a subgraph that is not there).
                        hints.push(
                            CompositionError::new(
                                "FROM_SUBGRAPH_DOES_NOT_EXIST",
                                format!("field \"{coordinate}\" in subgraph \"{here}\" overrides subgraph \"{from}\", which is not part of this composition"),
                            )
                            .at(&here, origin.span),
                        );
                        continue;
                    };
                    let Some(source) = field
                        .sources
                        .iter_mut()
                        .find(|s| s.origin.subgraph == source_index)
                    else {
                        continue;
                    };
                    if source.override_from.is_some() {
                        errors.push(
                            CompositionError::new(
                                "OVERRIDE_SOURCE_HAS_OVERRIDE",
                                format!("field \"{coordinate}\" in subgraph \"{here}\" overrides subgraph \"{from}\", which itself overrides it: overrides cannot be chained"),
                            )
                            .at(&here, origin.span)
                            .at(&from, source.origin.span),
                        );
                        continue;
                    }
                    if source.requires.is_some() {
                        errors.push(
                            CompositionError::new(
                                "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
                                format!("field \"{coordinate}\" in subgraph \"{here}\" overrides subgraph \"{from}\", where the field has @requires: a field that @requires cannot be overridden"),
                            )
                            .at(&here, origin.span)
                            .at(&from, source.origin.span),
                        );
                        continue;
                    }
                    if let Some(label) = &label {
                        // Progressive override: the source keeps resolving the field for
                        // requests outside the label.
                        source.override_label = Some(label.clone());
                        hints.push(
                            CompositionError::new(
                                "OVERRIDE_MIGRATION_IN_PROGRESS",
                                format!("field \"{coordinate}\" is being migrated from subgraph \"{from}\" to subgraph \"{here}\" with progressive @override(label: \"{label}\"): once the migration is complete, remove the field from subgraph \"{from}\""),
                            )
                            .at(&here, origin.span),
                        );
                        continue;
                    }
                    if source.external {
                        // An external field was never resolved there: nothing changes.
                    } else if usage[source_index].contains(&(ty.name.clone(), field.name.clone()))
                        || implemented[source_index]
                            .contains(&(ty.name.clone(), field.name.clone()))
                    {
                        source.used_overridden = true;
                    } else {
                        source.overridden = true;
                        hints.push(
                            CompositionError::new(
                                "OVERRIDDEN_FIELD_CAN_BE_REMOVED",
                                format!("field \"{coordinate}\" in subgraph \"{from}\" is overridden by subgraph \"{here}\" and used by nothing there: it can be removed from subgraph \"{from}\""),
                            )
                            .at(&from, source.origin.span),
                        );
                    }
                }
            }
        }
        self.errors.extend(errors);
        self.hints.extend(hints);
    }

    /// A field several subgraphs resolve must be `@shareable` in each of them (key fields and
    /// Federation 1 subgraphs are implicitly). Interface fields resolve nothing by themselves.
    fn sharing(&mut self, supergraph: &Supergraph, provided: &[HashSet<(Name, Name)>]) {
        for ty in supergraph.types.values() {
            // On an interface only `@interfaceObject` subgraphs resolve fields; interface
            // declarations themselves resolve nothing.
            let resolves_here = |subgraph: usize| {
                ty.kind != Kind::Interface
                    || ty
                        .sources
                        .iter()
                        .any(|s| s.origin.subgraph == subgraph && s.interface_object)
            };
            for field in ty.fields.values() {
                // A subgraph giving the field up under a progressive override label shares it
                // with the overriding one by design, for the requests outside the label.
                let mut resolving: Vec<_> = field
                    .sources
                    .iter()
                    .filter(|s| s.resolves() && resolves_here(s.origin.subgraph))
                    .filter(|s| s.override_label.is_none() || s.override_from.is_some())
                    .collect();
                // An `@interfaceObject` resolves the field for every implementation.
                if ty.kind == Kind::Object {
                    for interface in ty.implements.keys() {
                        let Some(interface) = supergraph.types.get(interface) else {
                            continue;
                        };
                        let Some(on_interface) = interface.fields.get(&field.name) else {
                            continue;
                        };
                        resolving.extend(on_interface.sources.iter().filter(|s| {
                            s.resolves()
                                && interface.sources.iter().any(|t| {
                                    // One without a key is refused on its own.
                                    t.interface_object
                                        && !t.keys.is_empty()
                                        && t.origin.subgraph == s.origin.subgraph
                                })
                        }));
                    }
                }
                if ty.name == "Subscription" && resolving.len() > 1 {
                    let names: Vec<&str> = resolving.iter().map(|s| self.name(s.origin)).collect();
                    let places: Vec<Origin> = resolving.iter().map(|s| s.origin).collect();
                    self.error(
                        "INVALID_FIELD_SHARING",
                        format!(
                            "subscription field \"Subscription.{}\" is resolved by several subgraphs ({}): a subscription field cannot be shared, @shareable or not",
                            field.name,
                            quoted(&names)
                        ),
                        &places,
                    );
                    continue;
                }
                // An `@external` field a `@provides` of its subgraph selects is resolved there
                // too, for the paths that provide it.
                let provides_it = field.sources.iter().any(|s| {
                    s.external
                        && provided[s.origin.subgraph]
                            .contains(&(ty.name.clone(), field.name.clone()))
                });
                if provides_it && !resolving.is_empty() && resolving.iter().any(|s| !s.shareable) {
                    let not_shareable: Vec<&str> = resolving
                        .iter()
                        .filter(|s| !s.shareable)
                        .map(|s| self.name(s.origin))
                        .collect();
                    let places: Vec<Origin> = resolving.iter().map(|s| s.origin).collect();
                    self.error(
                        "INVALID_FIELD_SHARING",
                        format!(
                            "field \"{}.{}\" is @provides-ed by another subgraph but is not marked @shareable in subgraph(s) {}: a provided field is resolved by several subgraphs",
                            ty.name,
                            field.name,
                            quoted(&not_shareable)
                        ),
                        &places,
                    );
                    continue;
                }
                if resolving.len() < 2 || resolving.iter().all(|s| s.shareable) {
                    continue;
                }
                let names: Vec<&str> = resolving.iter().map(|s| self.name(s.origin)).collect();
                let not_shareable: Vec<&str> = resolving
                    .iter()
                    .filter(|s| !s.shareable)
                    .map(|s| self.name(s.origin))
                    .collect();
                let message = format!(
                    "non-shareable field \"{}.{}\" is resolved by several subgraphs ({}): it is not marked @shareable in subgraph(s) {}",
                    ty.name,
                    field.name,
                    quoted(&names),
                    quoted(&not_shareable)
                );
                let places: Vec<Origin> = resolving.iter().map(|s| s.origin).collect();
                self.error("INVALID_FIELD_SHARING", message, &places);
            }
        }
    }

    /// `@external` fields must be resolved by some other subgraph, and (in Federation 2) used
    /// by a key, requires or provides of their own subgraph.
    fn externals(&mut self, supergraph: &Supergraph, usage: &[HashSet<(Name, Name)>]) {
        for ty in supergraph.types.values() {
            for field in ty.fields.values() {
                // An `@interfaceObject` resolving the field for every implementation of its
                // interface counts too.
                let resolved_elsewhere = field.sources.iter().any(|s| !s.external)
                    || ty.implements.keys().any(|interface| {
                        let Some(interface) = supergraph.types.get(interface) else {
                            return false;
                        };
                        interface.fields.get(&field.name).is_some_and(|f| {
                            f.sources.iter().any(|s| {
                                !s.external
                                    && interface.sources.iter().any(|t| {
                                        t.interface_object && t.origin.subgraph == s.origin.subgraph
                                    })
                            })
                        })
                    });
                for source in field.sources.iter().filter(|s| s.external) {
                    let subgraph = &self.subgraphs[source.origin.subgraph];
                    if !resolved_elsewhere {
                        self.error(
                            "EXTERNAL_MISSING_ON_BASE",
                            format!(
                                "field \"{}.{}\" is marked @external in subgraph \"{}\" but no subgraph resolves it",
                                ty.name, field.name, subgraph.name
                            ),
                            &[source.origin],
                        );
                    } else if !subgraph.fed1
                        && !usage[source.origin.subgraph]
                            .contains(&(ty.name.clone(), field.name.clone()))
                        && !implements_interface_field(
                            supergraph,
                            &ty.name,
                            &field.name,
                            source.origin.subgraph,
                        )
                    {
                        self.error(
                            "EXTERNAL_UNUSED",
                            format!(
                                "field \"{}.{}\" is marked @external in subgraph \"{}\" but no @key, @requires or @provides of that subgraph uses it",
                                ty.name, field.name, subgraph.name
                            ),
                            &[source.origin],
                        );
                    }
                }
            }
        }
    }

    /// Each `@key`, `@requires` and `@provides` must select fields of the right type, and
    /// `@requires`/`@provides` only `@external` ones.
    fn field_sets(&mut self, index: usize, subgraph: &Subgraph) {
        let origin = |span| Origin {
            subgraph: index,
            span,
        };
        for ty in subgraph.types() {
            for key in subgraph.type_directives(ty, "key") {
                if !fields_is_string(key) {
                    self.error(
                        "KEY_INVALID_FIELDS_TYPE",
                        format!(
                            "@key on \"{}\" in subgraph \"{}\": `fields` must be a string (a selection such as \"id\")",
                            ty.name(),
                            subgraph.name
                        ),
                        &[origin(key.location())],
                    );
                    continue;
                }
                let text = key
                    .specified_argument_by_name("fields")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                match FieldSet::parse_and_validate(
                    &subgraph.schema,
                    ty.name().clone(),
                    text,
                    "key.graphql",
                ) {
                    Err(e) => self.error(
                        "KEY_INVALID_FIELDS",
                        format!(
                            "@key(fields: \"{text}\") on \"{}\" in subgraph \"{}\" is invalid: {}",
                            ty.name(),
                            subgraph.name,
                            first_message(&e.errors)
                        ),
                        &[origin(key.location())],
                    ),
                    Ok(set) => {
                        if let Some(field) =
                            find_field(&set.selection_set, &|f| !f.definition.arguments.is_empty())
                        {
                            self.error(
                                "KEY_FIELDS_HAS_ARGS",
                                format!(
                                    "@key(fields: \"{text}\") on \"{}\" in subgraph \"{}\" selects field \"{field}\", which takes arguments",
                                    ty.name(),
                                    subgraph.name
                                ),
                                &[origin(key.location())],
                            );
                        }
                        let invalid = |f: &Node<apollo_compiler::executable::Field>| {
                            matches!(
                                subgraph.schema.types.get(f.ty().inner_named_type()),
                                Some(ExtendedType::Interface(_) | ExtendedType::Union(_))
                            )
                        };
                        if let Some(field) = find_field(&set.selection_set, &invalid) {
                            self.error(
                                "KEY_FIELDS_SELECT_INVALID_TYPE",
                                format!(
                                    "@key(fields: \"{text}\") on \"{}\" in subgraph \"{}\" selects field \"{field}\", whose type is an interface or a union",
                                    ty.name(),
                                    subgraph.name
                                ),
                                &[origin(key.location())],
                            );
                        }
                    }
                }
            }
            let fields = match ty {
                ExtendedType::Object(o) => &o.fields,
                ExtendedType::Interface(i) => &i.fields,
                _ => continue,
            };
            for field in fields.values() {
                let coordinate = format!("{}.{}", ty.name(), field.name);
                if let Some(requires) = subgraph.get(&field.directives, "requires") {
                    if !fields_is_string(requires) {
                        self.error(
                            "REQUIRES_INVALID_FIELDS_TYPE",
                            format!(
                                "@requires on \"{coordinate}\" in subgraph \"{}\": `fields` must be a string",
                                subgraph.name
                            ),
                            &[origin(requires.location())],
                        );
                        continue;
                    }
                    let text = requires
                        .specified_argument_by_name("fields")
                        .and_then(|v| v.as_str())
                        .unwrap_or("");
                    match FieldSet::parse_and_validate(&subgraph.schema, ty.name().clone(), text, "requires.graphql") {
                        Err(e) => self.error(
                            "REQUIRES_INVALID_FIELDS",
                            format!(
                                "@requires(fields: \"{text}\") on \"{coordinate}\" in subgraph \"{}\" is invalid: {}",
                                subgraph.name,
                                first_message(&e.errors)
                            ),
                            &[origin(requires.location())],
                        ),
                        Ok(set) => {
                            if let Some((parent, field)) = local_leaf(subgraph, &set.selection_set) {
                                self.error(
                                    "REQUIRES_FIELDS_MISSING_EXTERNAL",
                                    format!(
                                        "@requires on \"{coordinate}\" in subgraph \"{}\" selects \"{parent}.{field}\", which is not marked @external: a subgraph requires fields it does not resolve",
                                        subgraph.name
                                    ),
                                    &[origin(requires.location())],
                                );
                            }
                        }
                    }
                }
                if let Some(provides) = subgraph.get(&field.directives, "provides") {
                    if !fields_is_string(provides) {
                        self.error(
                            "PROVIDES_INVALID_FIELDS_TYPE",
                            format!(
                                "@provides on \"{coordinate}\" in subgraph \"{}\": `fields` must be a string",
                                subgraph.name
                            ),
                            &[origin(provides.location())],
                        );
                        continue;
                    }
                    let text = provides
                        .specified_argument_by_name("fields")
                        .and_then(|v| v.as_str())
                        .unwrap_or("");
                    let returned = field.ty.inner_named_type();
                    let returned_type = subgraph.schema.types.get(returned);
                    let composite = matches!(
                        returned_type,
                        Some(
                            ExtendedType::Object(_)
                                | ExtendedType::Interface(_)
                                | ExtendedType::Union(_)
                        )
                    );
                    if !composite {
                        self.error(
                            "PROVIDES_ON_NON_OBJECT_FIELD",
                            format!(
                                "@provides on \"{coordinate}\" in subgraph \"{}\": the field returns \"{}\", not an object type",
                                subgraph.name, field.ty
                            ),
                            &[origin(provides.location())],
                        );
                        continue;
                    }
                    match FieldSet::parse_and_validate(&subgraph.schema, returned.clone(), text, "provides.graphql") {
                        Err(e) => self.error(
                            "PROVIDES_INVALID_FIELDS",
                            format!(
                                "@provides(fields: \"{text}\") on \"{coordinate}\" in subgraph \"{}\" is invalid: {}",
                                subgraph.name,
                                first_message(&e.errors)
                            ),
                            &[origin(provides.location())],
                        ),
                        Ok(set) => {
                            if let Some((parent, field)) = local_leaf(subgraph, &set.selection_set) {
                                self.error(
                                    "PROVIDES_FIELDS_MISSING_EXTERNAL",
                                    format!(
                                        "@provides on \"{coordinate}\" in subgraph \"{}\" selects \"{parent}.{field}\", which is not marked @external",
                                        subgraph.name
                                    ),
                                    &[origin(provides.location())],
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// An `@interfaceObject` stands for an interface that some subgraph declares as an
    /// interface, and must be an entity.
    fn interface_objects(&mut self, supergraph: &Supergraph) {
        for ty in supergraph.types.values() {
            for source in ty.sources.iter().filter(|s| s.interface_object) {
                let declared_as_interface = ty.sources.iter().any(|s| !s.interface_object);
                if !declared_as_interface {
                    self.error(
                        "INTERFACE_OBJECT_USAGE_ERROR",
                        format!(
                            "type \"{}\" is an @interfaceObject in subgraph \"{}\", but no subgraph declares an interface \"{}\"",
                            ty.name,
                            self.name(source.origin),
                            ty.name
                        ),
                        &[source.origin],
                    );
                } else if let Some(implementation) = supergraph.types.values().find(|t| {
                    t.kind == Kind::Object
                        && t.implements.contains_key(&ty.name)
                        && t.sources
                            .iter()
                            .any(|s| s.origin.subgraph == source.origin.subgraph)
                }) {
                    self.error(
                        "INTERFACE_OBJECT_USAGE_ERROR",
                        format!(
                            "subgraph \"{}\" declares \"{}\" as an @interfaceObject and also its implementation \"{}\": a subgraph either abstracts the interface's implementations or knows them",
                            self.name(source.origin),
                            ty.name,
                            implementation.name
                        ),
                        &[source.origin],
                    );
                } else if source.keys.is_empty() {
                    self.error(
                        "INTERFACE_OBJECT_USAGE_ERROR",
                        format!(
                            "@interfaceObject \"{}\" in subgraph \"{}\" has no @key: an interface object must be an entity",
                            ty.name,
                            self.name(source.origin)
                        ),
                        &[source.origin],
                    );
                }
            }
        }
    }

    /// `_` is reserved (Apollo's composition uses it internally), and a subgraph needs a name.
    fn subgraph_names(&mut self) {
        for subgraph in self.subgraphs {
            if subgraph.name == "_" || subgraph.name.trim().is_empty() {
                self.errors.push(CompositionError::new(
                    "INVALID_SUBGRAPH_NAME",
                    format!(
                        "subgraph name \"{}\" is reserved or empty: choose another name for it",
                        subgraph.name
                    ),
                ));
            }
        }
    }

    /// Directives named by `@composeDirective` in several subgraphs must be the same
    /// directive of the same spec under the same name everywhere, and the subgraphs
    /// composing from one spec must link the same major version of it.
    fn composed_directives(&mut self) {
        fn identity(url: &str) -> (&str, &str) {
            let (identity, version) = url.rsplit_once('/').unwrap_or((url, ""));
            let major = version
                .trim_start_matches('v')
                .split('.')
                .next()
                .unwrap_or("");
            (identity, major)
        }
        let composed: Vec<(&str, &super::subgraph::ComposedDirective)> = self
            .subgraphs
            .iter()
            .flat_map(|s| s.composed.iter().map(|c| (s.name.as_str(), c)))
            .collect();
        let mut errors: Vec<CompositionError> = Vec::new();
        for (i, (subgraph_a, a)) in composed.iter().enumerate() {
            for (subgraph_b, b) in &composed[..i] {
                let ((id_a, major_a), (id_b, major_b)) = (identity(&a.url), identity(&b.url));
                let message = if a.name == b.name && a.original != b.original {
                    format!(
                        "Composed directive \"@{}\" does not refer to the same directive in every subgraph",
                        a.name
                    )
                } else if a.name == b.name && id_a != id_b {
                    format!(
                        "Composed directive \"@{}\" is not linked by the same core feature in every subgraph",
                        a.name
                    )
                } else if id_a == id_b && a.original == b.original && a.name != b.name {
                    format!(
                        "Composed directive is not named consistently in all subgraphs but \"@{}\" in subgraph \"{subgraph_b}\" and \"@{}\" in subgraph \"{subgraph_a}\"",
                        b.name, a.name
                    )
                } else if id_a == id_b && major_a != major_b {
                    format!(
                        "Core feature \"{id_a}\" requested to be merged has major version mismatch across subgraphs"
                    )
                } else {
                    continue;
                };
                if !errors.iter().any(|e| e.message == message) {
                    errors.push(
                        CompositionError::new("DIRECTIVE_COMPOSITION_ERROR", message)
                            .at(subgraph_b, b.location)
                            .at(subgraph_a, a.location),
                    );
                }
            }
        }
        self.errors.extend(errors);
    }

    /// Federation directives this composer reads but does not carry into the supergraph:
    /// an application is refused with a clear code rather than dropped (`@cacheTag`, v2.12,
    /// Apollo Router's response cache tags, which Apollo writes as `@join__directive`).
    fn unsupported(&mut self) {
        for subgraph in self.subgraphs {
            let name = subgraph.names.directive("cacheTag");
            if !name.is_empty() && applies(subgraph, name) {
                self.errors.push(
                    CompositionError::new(
                        "UNSUPPORTED_FEATURE",
                        format!(
                            "[{}] \"@{name}\" (federation v2.12) is not supported by this composer yet: remove its applications",
                            subgraph.name
                        ),
                    )
                    .at(&subgraph.name, subgraph.federation_link_span()),
                );
            }
        }
    }

    /// A field several subgraphs resolve with an abstract type must be able to return the
    /// same object types in each of them: otherwise which types the field may return depends
    /// on the subgraph a plan picks.
    fn runtime_types(&mut self, supergraph: &Supergraph) {
        let runtime_types = |abstract_type: &Name, subgraph: usize| -> Option<HashSet<&Name>> {
            let ty = supergraph.types.get(abstract_type)?;
            match ty.kind {
                Kind::Union => Some(
                    ty.members
                        .iter()
                        .filter(|(_, subgraphs)| subgraphs.contains(&subgraph))
                        .map(|(member, _)| member)
                        .collect(),
                ),
                Kind::Interface if !ty.sources.iter().any(|s| s.interface_object) => Some(
                    supergraph
                        .types
                        .values()
                        .filter(|t| {
                            t.implements
                                .get(abstract_type)
                                .is_some_and(|subgraphs| subgraphs.contains(&subgraph))
                        })
                        .map(|t| &t.name)
                        .collect(),
                ),
                _ => None,
            }
        };
        let mut errors = Vec::new();
        let mut hints = Vec::new();
        for ty in supergraph.types.values().filter(|t| t.kind == Kind::Object) {
            for field in ty.fields.values() {
                let resolving: Vec<_> = field.sources.iter().filter(|s| s.resolves()).collect();
                if resolving.len() < 2 {
                    continue;
                }
                let returned = field.ty.inner_named_type();
                let sets: Option<Vec<HashSet<&Name>>> = resolving
                    .iter()
                    .map(|s| runtime_types(returned, s.origin.subgraph))
                    .collect();
                let Some(sets) = sets else { continue };
                if sets.iter().any(|set| set.is_empty()) {
                    continue;
                }
                let common = sets[1..].iter().fold(sets[0].clone(), |acc, set| {
                    acc.intersection(set).copied().collect()
                });
                if common.is_empty() {
                    let names: Vec<&str> = resolving.iter().map(|s| self.name(s.origin)).collect();
                    let mut error = CompositionError::new(
                        "SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES",
                        format!(
                            "field \"{}.{}\" returns \"{returned}\" in subgraphs {}, which have no possible runtime type in common: the field's answer would depend on the subgraph that resolves it",
                            ty.name,
                            field.name,
                            quoted(&names)
                        ),
                    );
                    for source in &resolving {
                        error = error.at(self.name(source.origin), source.origin.span);
                    }
                    errors.push(error);
                } else if sets.iter().any(|set| set.len() != common.len()) {
                    let first = resolving[0].origin;
                    hints.push(
                        CompositionError::new(
                            "INCONSISTENT_RUNTIME_TYPES_FOR_SHAREABLE_RETURN",
                            format!(
                                "field \"{}.{}\" may return different object types depending on the subgraph that resolves it",
                                ty.name, field.name
                            ),
                        )
                        .at(self.name(first), first.span),
                    );
                }
            }
        }
        for ty in supergraph.types.values().filter(|t| t.kind == Kind::Union) {
            let declaring: HashSet<usize> = ty.sources.iter().map(|s| s.origin.subgraph).collect();
            for (member, subgraphs) in &ty.members {
                if subgraphs.iter().collect::<HashSet<_>>().len() < declaring.len() {
                    let origin = ty.sources[0].origin;
                    hints.push(
                        CompositionError::new(
                            "INCONSISTENT_UNION_MEMBER",
                            format!(
                                "union \"{}\" has member \"{member}\" in some of the subgraphs declaring it only",
                                ty.name
                            ),
                        )
                        .at(self.name(origin), origin.span),
                    );
                }
            }
        }
        self.errors.extend(errors);
        self.hints.extend(hints);
    }

    /// A Federation 2 type declared only with `extend type` everywhere extends nothing.
    fn extensions(&mut self, supergraph: &Supergraph) {
        for ty in supergraph.types.values() {
            if matches!(ty.name.as_str(), "Query" | "Mutation" | "Subscription") {
                continue;
            }
            let only_extensions = !ty.sources.is_empty()
                && ty
                    .sources
                    .iter()
                    .all(|s| s.extension && !self.subgraphs[s.origin.subgraph].fed1);
            if only_extensions {
                let source = ty.sources[0].origin;
                self.error(
                    "EXTENSION_WITH_NO_BASE",
                    format!(
                        "type \"{}\" is an extension in subgraph \"{}\", but no subgraph defines it",
                        ty.name,
                        self.name(source)
                    ),
                    &[source],
                );
            }
        }
    }

    /// `@tag`, `@inaccessible`, `@cost` and `@listSize` go into the supergraph under one name: subgraphs that
    /// import them must import them under the same name.
    fn import_names(&mut self) {
        for spec in ["tag", "inaccessible", "cost", "listSize"] {
            // Only subgraphs that apply it: an import nobody uses names nothing.
            let imported: Vec<(&Subgraph, &str)> = self
                .subgraphs
                .iter()
                .filter(|s| !s.fed1)
                .map(|s| (s, s.names.directive(spec)))
                .filter(|(_, local)| !local.starts_with("federation__") && !local.is_empty())
                .filter(|(s, local)| applies(s, local))
                .collect();
            let Some((first_subgraph, first)) = imported.first().copied() else {
                continue;
            };
            if let Some((other_subgraph, other)) =
                imported.iter().find(|(_, local)| *local != first)
            {
                let (first_span, other_span) = (
                    first_subgraph.federation_link_span(),
                    other_subgraph.federation_link_span(),
                );
                let (first_subgraph, other_subgraph) =
                    (first_subgraph.name.as_str(), other_subgraph.name.as_str());
                self.errors.push(CompositionError::new(
                    "LINK_IMPORT_NAME_MISMATCH",
                    format!(
                        "@{spec} is imported as @{first} in subgraph \"{first_subgraph}\" but as @{other} in subgraph \"{other_subgraph}\": a directive that goes into the supergraph must be imported under one name"
                    ),
                ).at(first_subgraph, first_span).at(other_subgraph, other_span));
            }
        }
    }

    /// `@tag` and `@inaccessible` on an `@external` field would describe a field the subgraph
    /// does not resolve; they belong where the field is defined.
    fn directives_on_externals(&mut self, index: usize, subgraph: &Subgraph) {
        for ty in subgraph.types() {
            let fields = match ty {
                ExtendedType::Object(o) => &o.fields,
                ExtendedType::Interface(i) => &i.fields,
                _ => continue,
            };
            let type_external = subgraph.has_type_directive(ty, "external");
            for field in fields.values() {
                if !type_external && !subgraph.has(&field.directives, "external") {
                    continue;
                }
                for spec in ["tag", "inaccessible"] {
                    if let Some(directive) = subgraph.get(&field.directives, spec) {
                        self.error(
                            "MERGED_DIRECTIVE_APPLICATION_ON_EXTERNAL",
                            format!(
                                "field \"{}.{}\" in subgraph \"{}\" is @external and carries @{}: apply it where the field is resolved",
                                ty.name(),
                                field.name,
                                subgraph.name,
                                directive.name
                            ),
                            &[Origin {
                                subgraph: index,
                                span: directive.location(),
                            }],
                        );
                    }
                }
            }
        }
    }

    /// A `@key` on an interface must be a key of each of its implementations in that
    /// subgraph: entities of the interface are fetched through it.
    fn interface_keys(&mut self, index: usize, subgraph: &Subgraph) {
        let normal = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
        let keys_of = |ty: &ExtendedType| -> Vec<String> {
            subgraph
                .type_directives(ty, "key")
                .filter_map(|k| k.specified_argument_by_name("fields")?.as_str().map(normal))
                .collect()
        };
        for ty in subgraph.types() {
            let ExtendedType::Interface(interface) = ty else {
                continue;
            };
            let interface_keys = keys_of(ty);
            for implementation in subgraph.types() {
                let ExtendedType::Object(object) = implementation else {
                    continue;
                };
                if !object
                    .implements_interfaces
                    .iter()
                    .any(|i| i.name == interface.name)
                {
                    continue;
                }
                let own = keys_of(implementation);
                if let Some(missing) = interface_keys.iter().find(|k| !own.contains(k)) {
                    self.error(
                        "INTERFACE_KEY_NOT_ON_IMPLEMENTATION",
                        format!(
                            "interface \"{}\" has @key(fields: \"{missing}\") in subgraph \"{}\", but its implementation \"{}\" there does not",
                            interface.name, subgraph.name, object.name
                        ),
                        &[Origin {
                            subgraph: index,
                            span: implementation.location(),
                        }],
                    );
                }
            }
        }
    }

    /// A field that reads data guarded by `@authenticated`, `@requiresScopes` or `@policy`
    /// through `@requires` or a `@fromContext` argument must be guarded at least as much:
    /// otherwise a client who may not see the guarded data could read it through that field.
    fn transitive_auth(&mut self, supergraph: &Supergraph) {
        let mut errors = Vec::new();
        for ty in supergraph.types.values() {
            for field in ty.fields.values() {
                let held = guard(supergraph, &ty.name, Some(&field.name));
                for source in &field.sources {
                    let subgraph = &self.subgraphs[source.origin.subgraph];
                    let missing = |what: String| {
                        CompositionError::new(
                            "MISSING_TRANSITIVE_AUTH_REQUIREMENTS",
                            format!(
                                "[{}] Field \"{}.{}\" does not specify necessary @authenticated, @requiresScopes and/or @policy auth requirements to access the transitive {what}",
                                subgraph.name, ty.name, field.name
                            ),
                        )
                        .at(&subgraph.name, source.origin.span)
                    };
                    if let Some(requires) = &source.requires
                        && let Ok(set) = FieldSet::parse(
                            &subgraph.schema,
                            ty.name.clone(),
                            requires.as_str(),
                            "requires.graphql",
                        )
                        && let Some((parent, required)) =
                            unguarded_selection(supergraph, &held, &set.selection_set)
                    {
                        errors.push(missing(format!(
                            "field \"{parent}.{required}\" data from @requires selection set."
                        )));
                    }
                    for argument in &source.context_arguments {
                        let setters = supergraph.types.values().filter(|t| {
                            t.sources.iter().any(|s| {
                                s.origin.subgraph == source.origin.subgraph
                                    && s.contexts.contains(&argument.context)
                            })
                        });
                        for setter in setters {
                            let context = format!("{}__{}", subgraph.name, argument.context);
                            if !covers(&held, &guard(supergraph, &setter.name, None)) {
                                errors.push(missing(format!(
                                    "data in context {context} from @fromContext selection set."
                                )));
                                break;
                            }
                            let Ok(set) = FieldSet::parse(
                                &subgraph.schema,
                                setter.name.clone(),
                                crate::supergraph::context_selection::for_setter(
                                    &subgraph.schema,
                                    &setter.name,
                                    &argument.selection,
                                )
                                .as_ref(),
                                "context.graphql",
                            ) else {
                                continue;
                            };
                            if let Some((parent, selected)) =
                                unguarded_selection(supergraph, &held, &set.selection_set)
                            {
                                errors.push(missing(format!(
                                    "field \"{parent}.{selected}\" data from @fromContext selection set."
                                )));
                                break;
                            }
                        }
                    }
                }
            }
        }
        self.errors.extend(errors);
    }

    /// `@inaccessible` elements must not leave the API schema pointing at them, required inputs
    /// cannot be hidden, and a visible type needs a visible field.
    fn inaccessible(&mut self, supergraph: &Supergraph) {
        let hidden: HashSet<&Name> = supergraph
            .types
            .values()
            .filter(|t| t.common.inaccessible)
            .map(|t| &t.name)
            .collect();
        for ty in supergraph.types.values().filter(|t| !t.common.inaccessible) {
            let first = |origins: &[Origin]| origins.first().copied();
            for field in ty.fields.values() {
                let origin = field.sources.first().map(|s| s.origin);
                if !field.common.inaccessible && hidden.contains(field.ty.inner_named_type()) {
                    self.error(
                        "REFERENCED_INACCESSIBLE",
                        format!(
                            "field \"{}.{}\" returns \"{}\", which is @inaccessible, but the field is not",
                            ty.name,
                            field.name,
                            field.ty.inner_named_type()
                        ),
                        &origin.into_iter().collect::<Vec<_>>(),
                    );
                }
                for argument in field.arguments.values() {
                    let required = argument.ty.is_non_null() && argument.default.is_none();
                    if argument.common.inaccessible && required {
                        self.error(
                            "REQUIRED_INACCESSIBLE",
                            format!(
                                "required argument \"{}.{}({}:)\" is @inaccessible: clients could never send it",
                                ty.name, field.name, argument.name
                            ),
                            &first(&argument.origins).into_iter().collect::<Vec<_>>(),
                        );
                    }
                }
            }
            for field in ty.input_fields.values() {
                let required = field.ty.is_non_null() && field.default.is_none();
                if field.common.inaccessible && required {
                    self.error(
                        "REQUIRED_INACCESSIBLE",
                        format!(
                            "required input field \"{}.{}\" is @inaccessible: clients could never send it",
                            ty.name, field.name
                        ),
                        &first(&field.origins).into_iter().collect::<Vec<_>>(),
                    );
                }
            }
            let all_hidden = match ty.kind {
                Kind::Object | Kind::Interface => {
                    !ty.fields.is_empty() && ty.fields.values().all(|f| f.common.inaccessible)
                }
                Kind::Enum => {
                    !ty.values.is_empty() && ty.values.values().all(|v| v.common.inaccessible)
                }
                Kind::InputObject => {
                    !ty.input_fields.is_empty()
                        && ty.input_fields.values().all(|f| f.common.inaccessible)
                }
                Kind::Union | Kind::Scalar => false,
            };
            if all_hidden {
                let origins: Vec<Origin> = ty.sources.iter().map(|s| s.origin).take(1).collect();
                self.error(
                    "ONLY_INACCESSIBLE_CHILDREN",
                    format!(
                        "{} \"{}\" is visible but all its fields or values are @inaccessible",
                        ty.kind.describe(),
                        ty.name
                    ),
                    &origins,
                );
            }
        }
    }

    /// After merging, a type implementing an interface (in some subgraph) must have every
    /// field the interface has (in any subgraph): a subgraph adding a field to the interface
    /// without the implementations that other subgraphs declare leaves them incomplete.
    fn interface_fields(&mut self, supergraph: &Supergraph) {
        for ty in supergraph.types.values() {
            for interface_name in ty.implements.keys() {
                let Some(interface) = supergraph.types.get(interface_name) else {
                    continue;
                };
                for field in interface.fields.values() {
                    if ty.fields.contains_key(&field.name) {
                        continue;
                    }
                    let places: Vec<Origin> = field.sources.iter().map(|s| s.origin).collect();
                    self.error(
                        "INTERFACE_FIELD_NO_IMPLEM",
                        format!(
                            "Interface field \"{}.{}\" is declared in subgraph(s) {} but type \"{}\", which implements \"{}\", does not have field \"{}\" in any subgraph",
                            interface.name,
                            field.name,
                            places
                                .iter()
                                .map(|o| format!("\"{}\"", self.name(*o)))
                                .collect::<Vec<_>>()
                                .join(", "),
                            ty.name,
                            interface.name,
                            field.name
                        ),
                        &places,
                    );
                }
            }
        }
    }

    /// A supergraph needs at least one visible query field.
    fn queries(&mut self, supergraph: &Supergraph) {
        let has_query = supergraph.types.get("Query").is_some_and(|q| {
            !q.common.inaccessible && q.fields.values().any(|f| !f.common.inaccessible)
        });
        if !has_query {
            self.errors.push(CompositionError::new(
                "NO_QUERIES",
                "no subgraph declares a query field: the supergraph would have no Query type",
            ));
        }
    }
}

/// The first field of a `@requires`/`@provides` selection that the subgraph would have to
/// resolve itself: neither `@external` nor nested under an `@external` field (fields under an
/// external one describe the shape of the external value).
fn local_leaf(subgraph: &Subgraph, set: &SelectionSet) -> Option<(Name, Name)> {
    fn walk(subgraph: &Subgraph, set: &SelectionSet, under_external: bool) -> Option<(Name, Name)> {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    let external_on = |ty: &ExtendedType| {
                        let fields = match ty {
                            ExtendedType::Object(o) => &o.fields,
                            ExtendedType::Interface(i) => &i.fields,
                            _ => return false,
                        };
                        subgraph.has_type_directive(ty, "external")
                            || fields
                                .get(&field.name)
                                .is_some_and(|f| subgraph.has(&f.directives, "external"))
                    };
                    // On an interface, the implementations say whether the field is external.
                    let external = under_external
                        || subgraph.schema.types.get(&set.ty).is_some_and(|ty| {
                            external_on(ty)
                                || (ty.is_interface()
                                    && subgraph.schema.types.values().any(|t| match t {
                                        ExtendedType::Object(o) => {
                                            o.implements_interfaces.iter().any(|i| i.name == set.ty)
                                                && external_on(t)
                                        }
                                        _ => false,
                                    }))
                        });
                    if field.selection_set.selections.is_empty() {
                        if !external && field.name != "__typename" {
                            return Some((set.ty.clone(), field.name.clone()));
                        }
                    } else if let Some(found) = walk(subgraph, &field.selection_set, external) {
                        return Some(found);
                    }
                }
                Selection::InlineFragment(fragment) => {
                    if let Some(found) = walk(subgraph, &fragment.selection_set, under_external) {
                        return Some(found);
                    }
                }
                Selection::FragmentSpread(_) => {}
            }
        }
        None
    }
    walk(subgraph, set, false)
}

/// (object type, field) pairs that implement a field of an interface the type implements in
/// the subgraph.
fn interface_implementations(subgraph: &Subgraph) -> HashSet<(Name, Name)> {
    let mut out = HashSet::new();
    for ty in subgraph.types() {
        let ExtendedType::Object(object) = ty else {
            continue;
        };
        for interface in &object.implements_interfaces {
            if let Some(ExtendedType::Interface(interface)) =
                subgraph.schema.types.get(&interface.name)
            {
                for field in interface.fields.keys() {
                    out.insert((object.name.clone(), field.clone()));
                }
            }
        }
    }
    out
}

/// Whether the external field is there to satisfy an interface the type implements in that
/// subgraph (such a field needs no key or requires to justify it).
fn implements_interface_field(
    supergraph: &Supergraph,
    type_name: &Name,
    field: &Name,
    subgraph: usize,
) -> bool {
    supergraph.types.get(type_name).is_some_and(|ty| {
        ty.implements.iter().any(|(interface, subgraphs)| {
            subgraphs.contains(&subgraph)
                && supergraph
                    .types
                    .get(interface)
                    .is_some_and(|i| i.fields.contains_key(field))
        })
    })
}

/// The first field of a field set (depth first) matching `predicate`, by name.
fn find_field(
    set: &SelectionSet,
    predicate: &dyn Fn(&Node<apollo_compiler::executable::Field>) -> bool,
) -> Option<Name> {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                if predicate(field) {
                    return Some(field.name.clone());
                }
                if let Some(found) = find_field(&field.selection_set, predicate) {
                    return Some(found);
                }
            }
            Selection::InlineFragment(fragment) => {
                if let Some(found) = find_field(&fragment.selection_set, predicate) {
                    return Some(found);
                }
            }
            Selection::FragmentSpread(_) => {}
        }
    }
    None
}

fn first_message(errors: &apollo_compiler::validation::DiagnosticList) -> String {
    errors
        .iter()
        .next()
        .map(|d| d.error.to_string())
        .unwrap_or_else(|| "invalid field set".into())
}

/// Every (parent type, field) a field set selects, nested ones included.
fn collect_selected(set: &SelectionSet, out: &mut HashSet<(Name, Name)>) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                if field.name != "__typename" {
                    out.insert((set.ty.clone(), field.name.clone()));
                }
                collect_selected(&field.selection_set, out);
            }
            Selection::InlineFragment(fragment) => collect_selected(&fragment.selection_set, out),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// (type, field) pairs a subgraph's `@provides` select.
fn provides_selections(subgraph: &Subgraph) -> HashSet<(Name, Name)> {
    let mut out = HashSet::new();
    for ty in subgraph.types() {
        let fields = match ty {
            ExtendedType::Object(o) => &o.fields,
            ExtendedType::Interface(i) => &i.fields,
            _ => continue,
        };
        for field in fields.values() {
            if let Some(set) = subgraph
                .get(&field.directives, "provides")
                .and_then(|d| d.specified_argument_by_name("fields"))
                .and_then(|v| v.as_str())
                .and_then(|text| {
                    FieldSet::parse(
                        &subgraph.schema,
                        field.ty.inner_named_type().clone(),
                        text,
                        "provides.graphql",
                    )
                    .ok()
                })
            {
                collect_selected(&set.selection_set, &mut out);
            }
        }
    }
    out
}

/// `percent(N)` with 0 <= N <= 100 and at most 8 decimals, or a name of letters, digits, `_`,
/// `-`, `:` and `.` starting with a letter.
fn valid_override_label(label: &str) -> bool {
    if let Some(number) = label
        .strip_prefix("percent(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        // Apollo's `^percent\((\d{1,2}(\.\d{1,8})?|100)\)$`.
        let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        return number == "100"
            || ((1..=2).contains(&whole.len())
                && digits(whole)
                && digits(decimals)
                && decimals.len() <= 8
                && (!number.contains('.') || !decimals.is_empty()));
    }
    // Apollo's `^[a-zA-Z][a-zA-Z0-9_\-:./]*$`.
    label.starts_with(|c: char| c.is_ascii_alphabetic())
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '/'))
}

/// Whether a `@key`/`@requires`/`@provides` has its `fields` as a string (a redefinition of
/// the directive may let another type through validation).
fn fields_is_string(directive: &apollo_compiler::ast::Directive) -> bool {
    directive
        .specified_argument_by_name("fields")
        .is_none_or(|v| v.as_str().is_some())
}

/// Whether the subgraph applies the directive `name` anywhere in its types.
fn applies(subgraph: &Subgraph, name: &str) -> bool {
    subgraph.types().any(|ty| {
        ty.directives().has(name)
            || match ty {
                ExtendedType::Object(o) => o.fields.values().any(|f| {
                    f.directives.has(name) || f.arguments.iter().any(|a| a.directives.has(name))
                }),
                ExtendedType::Interface(i) => i.fields.values().any(|f| {
                    f.directives.has(name) || f.arguments.iter().any(|a| a.directives.has(name))
                }),
                ExtendedType::Enum(e) => e.values.values().any(|v| v.directives.has(name)),
                ExtendedType::InputObject(i) => i.fields.values().any(|f| f.directives.has(name)),
                ExtendedType::Union(_) | ExtendedType::Scalar(_) => false,
            }
    })
}

/// The top-level field names of a field set (`"id org { id }"` gives `id`, `org`).
fn top_level_fields(fields: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0usize;
    fields
        .split(|c: char| c.is_whitespace() || c == ',')
        .flat_map(|word| {
            // Braces may touch names ("org{id}"): split them off, keeping them as words.
            let mut parts = Vec::new();
            let mut start = 0;
            for (i, c) in word.char_indices() {
                if c == '{' || c == '}' {
                    parts.push(&word[start..i]);
                    parts.push(&word[i..i + 1]);
                    start = i + 1;
                }
            }
            parts.push(&word[start..]);
            parts
        })
        .filter(|word| !word.is_empty())
        .filter(move |word| match *word {
            "{" => {
                depth += 1;
                false
            }
            "}" => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
}

/// The access requirements on `type_name` (and on `field` of it, with the type it returns).
fn guard(supergraph: &Supergraph, type_name: &Name, field: Option<&Name>) -> Carried {
    let Some(ty) = supergraph.types.get(type_name) else {
        return Carried::default();
    };
    let mut carried = ty.common.carried.clone();
    let mut add = |more: &Carried| {
        carried.authenticated |= more.authenticated;
        if let Some(scopes) = &more.scopes {
            carried.scopes = Some(and_requirements(&carried.scopes, scopes.clone()));
        }
        if let Some(policies) = &more.policies {
            carried.policies = Some(and_requirements(&carried.policies, policies.clone()));
        }
    };
    if let Some(field) = field.and_then(|f| ty.fields.get(f)) {
        add(&field.common.carried);
        if let Some(returned) = supergraph.types.get(field.ty.inner_named_type()) {
            add(&returned.common.carried);
        }
    }
    carried
}

/// Whether requirements `held` guarantee `needed`: any scope or policy requirement implies
/// authentication.
fn covers(held: &Carried, needed: &Carried) -> bool {
    let authenticated_ok = !needed.authenticated
        || held.authenticated
        || held.scopes.is_some()
        || held.policies.is_some();
    authenticated_ok
        && implies(&held.scopes, &needed.scopes)
        && implies(&held.policies, &needed.policies)
}

/// The first field selected in `set` (at any depth) whose requirements `held` does not cover.
fn unguarded_selection(
    supergraph: &Supergraph,
    held: &Carried,
    set: &SelectionSet,
) -> Option<(Name, Name)> {
    let mut selected = HashSet::new();
    collect_selected(set, &mut selected);
    let mut selected: Vec<(Name, Name)> = selected.into_iter().collect();
    selected.sort();
    selected
        .into_iter()
        .find(|(parent, field)| !covers(held, &guard(supergraph, parent, Some(field))))
}
