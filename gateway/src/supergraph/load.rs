//! Turns supergraph SDL into a [`Supergraph`]: validates the schema, reads the join directives
//! into typed metadata, parses every field set, and derives the API schema.

use std::collections::HashMap;
use std::sync::Arc;

use apollo_compiler::ast::{Directive, Type};
use apollo_compiler::executable::{FieldSet, SelectionSet};
use apollo_compiler::parser::SourceSpan;
use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};
use indexmap::IndexMap;

use super::join::{self, BadArgument};
use super::link::SpecNames;
use super::{
    ContextArgument, FieldDef, FieldInSubgraph, Key, Location, Subgraph, SubgraphId, Supergraph,
    SupergraphError, TypeDef, TypeInSubgraph, TypeKind, access, api_schema,
};

pub(super) fn load(sdl: &str) -> Result<Supergraph, SupergraphError> {
    let schema = Schema::parse_and_validate(sdl, "supergraph.graphql")
        .map_err(|e| SupergraphError::InvalidSchema(e.errors.to_string()))?;
    let names = SpecNames::read(&schema)?;
    let contexts = read_contexts(&schema, &names);
    let loader = Loader {
        schema: &schema,
        names: &names,
        graphs: HashMap::new(),
        contexts: &contexts,
    };
    let (subgraphs, graphs) = loader.read_graphs()?;
    let loader = Loader { graphs, ..loader };
    let mut types = IndexMap::new();
    for (name, ty) in &schema.types {
        if ty.is_built_in() || names.is_machinery(name) {
            continue;
        }
        types.insert(name.clone(), loader.read_type(ty)?);
    }
    let api_schema = api_schema::derive(&schema, &names)?;
    let access = access::AccessRules::read(&schema, &names);
    let mut costs = super::cost::CostRules::read(&schema, &names);
    costs.read_requirements(types.values());
    let possible_types = possible_types(&schema);
    let mut implementations: HashMap<Name, Vec<(SubgraphId, Name)>> = HashMap::new();
    for def in types.values().filter(|t| t.kind == TypeKind::Object) {
        for (subgraph, interface) in &def.implements {
            implementations
                .entry(interface.clone())
                .or_default()
                .push((*subgraph, def.name.clone()));
        }
    }
    let fingerprints = super::fingerprint::fingerprints(&schema, subgraphs.len(), types.values());
    let mut override_labels: Vec<Arc<str>> = types
        .values()
        .flat_map(|t| t.fields.values())
        .filter_map(|f| f.override_label.clone())
        .collect();
    override_labels.sort();
    override_labels.dedup();
    Ok(Supergraph {
        override_labels,
        costs,
        fingerprints,
        schema,
        api_schema: Arc::new(api_schema),
        subgraphs,
        types,
        possible_types,
        implementations,
        access,
        contexts,
    })
}

/// `@context(name:)` on types (under the name the context spec is linked or imported as):
/// each context and the types that set it.
fn read_contexts(schema: &Schema, names: &SpecNames) -> IndexMap<String, Vec<Name>> {
    let mut contexts: IndexMap<String, Vec<Name>> = IndexMap::new();
    let Some(directive) = names.directive(super::link::CONTEXT, super::link::CONTEXT) else {
        return contexts;
    };
    for (name, ty) in &schema.types {
        for application in ty.directives().get_all(&directive) {
            if let Some(context) = application
                .specified_argument_by_name("name")
                .and_then(|v| v.as_str())
            {
                contexts
                    .entry(context.to_string())
                    .or_default()
                    .push(name.clone());
            }
        }
    }
    contexts
}

fn possible_types(schema: &Schema) -> HashMap<Name, Vec<Name>> {
    let mut map: HashMap<Name, Vec<Name>> = HashMap::new();
    for ty in schema.types.values() {
        match ty {
            ExtendedType::Object(object) => {
                map.entry(object.name.clone())
                    .or_default()
                    .push(object.name.clone());
                for interface in &object.implements_interfaces {
                    map.entry(interface.name.clone())
                        .or_default()
                        .push(object.name.clone());
                }
            }
            ExtendedType::Union(union) => map
                .entry(union.name.clone())
                .or_default()
                .extend(union.members.iter().map(|m| m.name.clone())),
            _ => {}
        }
    }
    map
}

struct Loader<'a> {
    schema: &'a Valid<Schema>,
    names: &'a SpecNames,
    graphs: HashMap<Name, SubgraphId>,
    contexts: &'a IndexMap<String, Vec<Name>>,
}

impl Loader<'_> {
    fn location(&self, span: Option<SourceSpan>) -> Option<Location> {
        let lc = span?.line_column(&self.schema.sources)?;
        Some(Location {
            line: lc.line,
            column: lc.column,
        })
    }

    fn bad_directive(
        &self,
        directive: &Node<Directive>,
        coordinate: &str,
        error: BadArgument,
    ) -> SupergraphError {
        SupergraphError::InvalidDirective {
            directive: directive.name.to_string(),
            coordinate: coordinate.to_string(),
            message: error.0,
            location: self.location(directive.location()),
        }
    }

    fn graph(
        &self,
        graph: &Name,
        directive: &Node<Directive>,
        coordinate: &str,
    ) -> Result<SubgraphId, SupergraphError> {
        self.graphs
            .get(graph)
            .copied()
            .ok_or_else(|| SupergraphError::UnknownGraph {
                graph: graph.to_string(),
                coordinate: coordinate.to_string(),
                location: self.location(directive.location()),
            })
    }

    fn read_graphs(&self) -> Result<(Vec<Subgraph>, HashMap<Name, SubgraphId>), SupergraphError> {
        let enum_name = self.names.join("Graph");
        let Some(ExtendedType::Enum(graph_enum)) = self.schema.types.get(enum_name.as_str()) else {
            return Err(SupergraphError::InvalidDirective {
                directive: self.names.join("graph"),
                coordinate: enum_name,
                message: "the supergraph declares no subgraphs (enum missing)".into(),
                location: None,
            });
        };
        let directive_name = self.names.join("graph");
        let mut subgraphs = Vec::new();
        let mut ids = HashMap::new();
        for (value, def) in &graph_enum.values {
            let coordinate = format!("{enum_name}.{value}");
            let directive = def.directives.get(&directive_name).ok_or_else(|| {
                SupergraphError::InvalidDirective {
                    directive: directive_name.clone(),
                    coordinate: coordinate.clone(),
                    message: "every join__Graph value needs @join__graph(name:, url:)".into(),
                    location: self.location(def.location()),
                }
            })?;
            let graph = join::join_graph(directive)
                .map_err(|e| self.bad_directive(directive, &coordinate, e))?;
            let id = SubgraphId(subgraphs.len() as u16);
            ids.insert(value.clone(), id);
            subgraphs.push(Subgraph {
                id,
                name: graph.name.into(),
                url: graph.url,
                graph_value: value.clone(),
            });
        }
        Ok((subgraphs, ids))
    }

    fn read_type(&self, ty: &ExtendedType) -> Result<TypeDef, SupergraphError> {
        let name = ty.name().clone();
        let kind = match ty {
            ExtendedType::Object(_) => TypeKind::Object,
            ExtendedType::Interface(_) => TypeKind::Interface,
            ExtendedType::Union(_) => TypeKind::Union,
            ExtendedType::Enum(_) => TypeKind::Enum,
            ExtendedType::InputObject(_) => TypeKind::InputObject,
            ExtendedType::Scalar(_) => TypeKind::Scalar,
        };
        let mut def = TypeDef {
            name: name.clone(),
            kind,
            subgraphs: Vec::new(),
            fields: IndexMap::new(),
            implements: Vec::new(),
            union_members: Vec::new(),
            enum_values: IndexMap::new(),
        };
        let type_directive = self.names.join("type");
        for directive in ty.directives().get_all(&type_directive) {
            let jt =
                join::join_type(directive).map_err(|e| self.bad_directive(directive, &name, e))?;
            let subgraph = self.graph(&jt.graph, directive, &name)?;
            let key = match jt.key {
                Some(source) => Some(Key {
                    fields: self.field_set(&name, &source, "key", &name, directive)?,
                    source,
                    resolvable: jt.resolvable,
                }),
                None => None,
            };
            match def.subgraphs.iter_mut().find(|t| t.subgraph == subgraph) {
                Some(existing) => {
                    existing.keys.extend(key);
                    existing.is_interface_object |= jt.is_interface_object;
                }
                None => def.subgraphs.push(TypeInSubgraph {
                    subgraph,
                    keys: key.into_iter().collect(),
                    is_interface_object: jt.is_interface_object,
                    extension: jt.extension,
                }),
            }
        }
        if def.subgraphs.is_empty() {
            // A type without @join__type (older composers omit it on value types) is known to
            // every subgraph.
            def.subgraphs = self
                .graphs
                .values()
                .map(|&subgraph| TypeInSubgraph {
                    subgraph,
                    keys: Vec::new(),
                    is_interface_object: false,
                    extension: false,
                })
                .collect();
            def.subgraphs.sort_by_key(|t| t.subgraph);
        }
        let implements_directive = self.names.join("implements");
        for directive in ty.directives().get_all(&implements_directive) {
            let ji = join::join_implements(directive)
                .map_err(|e| self.bad_directive(directive, &name, e))?;
            let subgraph = self.graph(&ji.graph, directive, &name)?;
            def.implements.push((
                subgraph,
                Name::new(&ji.interface).map_err(|_| {
                    self.bad_directive(
                        directive,
                        &name,
                        BadArgument("`interface` is not a name".into()),
                    )
                })?,
            ));
        }
        let member_directive = self.names.join("unionMember");
        for directive in ty.directives().get_all(&member_directive) {
            let jm = join::join_union_member(directive)
                .map_err(|e| self.bad_directive(directive, &name, e))?;
            let subgraph = self.graph(&jm.graph, directive, &name)?;
            def.union_members.push((
                subgraph,
                Name::new(&jm.member).map_err(|_| {
                    self.bad_directive(
                        directive,
                        &name,
                        BadArgument("`member` is not a name".into()),
                    )
                })?,
            ));
        }
        if let ExtendedType::Enum(enum_type) = ty {
            let value_directive = self.names.join("enumValue");
            for (value, definition) in &enum_type.values {
                let coordinate = format!("{name}.{value}");
                let mut graphs = Vec::new();
                for directive in definition.directives.get_all(&value_directive) {
                    let graph = join::join_enum_value(directive)
                        .map_err(|e| self.bad_directive(directive, &coordinate, e))?;
                    graphs.push(self.graph(&graph, directive, &coordinate)?);
                }
                def.enum_values.insert(value.clone(), graphs);
            }
        }
        let fields = match ty {
            ExtendedType::Object(o) => Some(&o.fields),
            ExtendedType::Interface(i) => Some(&i.fields),
            _ => None,
        };
        for (field_name, field) in fields.into_iter().flatten() {
            def.fields
                .insert(field_name.clone(), self.read_field(&name, field)?);
        }
        Ok(def)
    }

    fn read_field(
        &self,
        type_name: &Name,
        field: &Node<FieldDefinition>,
    ) -> Result<FieldDef, SupergraphError> {
        let coordinate = format!("{type_name}.{}", field.name);
        let field_directive = self.names.join("field");
        let mut sources: Option<Vec<FieldInSubgraph>> = None;
        for directive in field.directives.get_all(&field_directive) {
            let jf = join::join_field(directive)
                .map_err(|e| self.bad_directive(directive, &coordinate, e))?;
            let list = sources.get_or_insert_with(Vec::new);
            // `@join__field` without `graph` only records that no subgraph resolves the field
            // directly (an @interfaceObject contributes it).
            let Some(graph) = &jf.graph else { continue };
            let subgraph = self.graph(graph, directive, &coordinate)?;
            let requires = match &jf.requires {
                Some(source) => {
                    Some(self.field_set(type_name, source, "requires", &coordinate, directive)?)
                }
                None => None,
            };
            let provides = match &jf.provides {
                Some(source) => {
                    let returned = field.ty.inner_named_type();
                    Some(self.field_set(returned, source, "provides", &coordinate, directive)?)
                }
                None => None,
            };
            let ty = match &jf.ty {
                Some(source) => Some(Type::parse(source, "join__field.type").map_err(|_| {
                    self.bad_directive(
                        directive,
                        &coordinate,
                        BadArgument(format!("`type: \"{source}\"` is not a GraphQL type")),
                    )
                })?),
                None => None,
            };
            let mut context_arguments = Vec::new();
            for contextual in &jf.context_arguments {
                context_arguments.push(self.context_argument(
                    contextual,
                    &coordinate,
                    directive,
                )?);
            }
            list.push(FieldInSubgraph {
                subgraph,
                requires,
                provides,
                ty,
                external: jf.external,
                used_overridden: jf.used_overridden,
                overrides: jf.override_from,
                context_arguments,
                override_label: jf.override_label.map(Arc::from),
            });
        }
        // A label decides between two owners: one side without the other (an override of a
        // subgraph outside the composition) leaves the field with the side there is.
        if let Some(list) = &mut sources {
            let sides: Vec<(Arc<str>, bool)> = list
                .iter()
                .filter_map(|s| Some((s.override_label.clone()?, s.overrides.is_some())))
                .collect();
            for source in list.iter_mut() {
                let paired = source.override_label.as_ref().is_some_and(|label| {
                    let overriding = source.overrides.is_some();
                    sides.iter().any(|(l, o)| l == label && *o != overriding)
                });
                if !paired {
                    source.override_label = None;
                }
            }
        }
        let override_label = sources
            .iter()
            .flatten()
            .find_map(|s| s.override_label.clone());
        Ok(FieldDef {
            name: field.name.clone(),
            ty: field.ty.clone(),
            sources,
            override_label,
        })
    }

    /// One `contextArguments` item: the context must be set somewhere, and the selection is
    /// parsed on every type that sets it.
    fn context_argument(
        &self,
        contextual: &join::JoinContextArgument,
        coordinate: &str,
        directive: &Node<Directive>,
    ) -> Result<ContextArgument, SupergraphError> {
        let bad = |message: String| self.bad_directive(directive, coordinate, BadArgument(message));
        let name = Name::new(&contextual.name)
            .map_err(|_| bad(format!("`{}` is not an argument name", contextual.name)))?;
        let ty = Type::parse(&contextual.ty, "join__ContextArgument.type").map_err(|_| {
            bad(format!(
                "`type: \"{}\"` is not a GraphQL type",
                contextual.ty
            ))
        })?;
        let setters = self.contexts.get(&contextual.context).ok_or_else(|| {
            bad(format!(
                "context `{}` is set by no type",
                contextual.context
            ))
        })?;
        let mut selections = Vec::new();
        for setter in setters {
            let inner =
                super::context_selection::for_setter(self.schema, setter, &contextual.selection);
            let selection =
                self.field_set(setter, &inner, "contextArguments", coordinate, directive)?;
            selections.push((setter.clone(), selection));
        }
        Ok(ContextArgument {
            name,
            ty,
            context: contextual.context.clone(),
            source: contextual.selection.clone(),
            selections,
        })
    }

    fn field_set(
        &self,
        type_name: &Name,
        source: &str,
        argument: &'static str,
        coordinate: &str,
        directive: &Node<Directive>,
    ) -> Result<SelectionSet, SupergraphError> {
        FieldSet::parse_and_validate(self.schema, type_name.clone(), source, "field_set.graphql")
            .map(|fs| fs.into_inner().selection_set)
            .map_err(|e| SupergraphError::InvalidFieldSet {
                argument,
                field_set: source.to_string(),
                coordinate: coordinate.to_string(),
                message: e
                    .errors
                    .iter()
                    .map(|d| d.error.to_string())
                    .collect::<Vec<_>>()
                    .join("; "),
                location: self.location(directive.location()),
            })
    }
}
