//! The supergraph as data: which subgraphs exist, which of them resolve which types and fields,
//! by which keys entities are reached, and what `@requires`, `@provides` and `@override` say.
//! Also the public API schema derived from it. No I/O, no planning: other parts ask questions.

pub mod access;
mod api_schema;
pub mod context_selection;
mod cost;
mod error;
mod fingerprint;
mod join;
mod link;
mod load;

use std::collections::HashMap;
use std::sync::Arc;

use apollo_compiler::ast::Type;
use apollo_compiler::executable::SelectionSet;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use indexmap::IndexMap;

pub use api_schema::with_defer;
pub use cost::{CostRules, ListSize};
pub use error::{Location, SupergraphError};
pub use link::links_join_spec;

/// Index of a subgraph in [`Supergraph::subgraphs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubgraphId(pub u16);

/// One subgraph, as the `join__Graph` enum declares it.
#[derive(Debug, Clone)]
pub struct Subgraph {
    pub id: SubgraphId,
    /// The subgraph's name (`@join__graph(name:)`), used in plans, config and errors.
    pub name: Arc<str>,
    /// Where the gateway sends this subgraph's fetches.
    pub url: String,
    /// The `join__Graph` enum value that directives use to refer to this subgraph.
    pub graph_value: Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
    Scalar,
}

/// A `@key` of an entity in one subgraph.
#[derive(Debug, Clone)]
pub struct Key {
    /// The key's fields, parsed against the type in the supergraph.
    pub fields: SelectionSet,
    /// The key as written, for printing.
    pub source: String,
    /// `false` for `@key(resolvable: false)`: others may not jump to this subgraph by this key.
    pub resolvable: bool,
}

/// How one subgraph knows a type (one `@join__type` per subgraph, keys gathered).
#[derive(Debug, Clone)]
pub struct TypeInSubgraph {
    pub subgraph: SubgraphId,
    pub keys: Vec<Key>,
    /// The subgraph models this interface as an object type (`@interfaceObject`).
    pub is_interface_object: bool,
    pub extension: bool,
}

impl TypeInSubgraph {
    /// Keys other subgraphs may use to reach entities of this type here.
    pub fn resolvable_keys(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(|k| k.resolvable)
    }
}

/// How one subgraph knows a field (one `@join__field`).
#[derive(Debug, Clone)]
pub struct FieldInSubgraph {
    pub subgraph: SubgraphId,
    /// `@requires`: fields of the parent type the subgraph needs in the representation.
    pub requires: Option<SelectionSet>,
    /// `@provides`: fields of the returned type the subgraph resolves under this field.
    pub provides: Option<SelectionSet>,
    /// The field's type in this subgraph, when it differs from the supergraph's.
    pub ty: Option<Type>,
    /// Declared but resolved elsewhere (`@external`), unless provided.
    pub external: bool,
    /// The field moved to another subgraph (`@override`), kept here only for keys or requires.
    pub used_overridden: bool,
    /// `@override(from:)`: the subgraph this one took the field over from.
    pub overrides: Option<String>,
    /// Progressive override (`overrideLabel`): with `overrides`, this subgraph resolves the
    /// field only when the label is active; without, it is the overridden subgraph and
    /// resolves the field only when the label is not active.
    pub override_label: Option<Arc<str>>,
    /// Arguments the gateway fills from a context (`@join__field(contextArguments:)`): they
    /// are not part of the API schema.
    pub context_arguments: Vec<ContextArgument>,
}

/// An argument the subgraph takes from a context (`@fromContext` in the subgraph): the
/// gateway reads `selections` on the nearest ancestor in the response whose type sets
/// `context`, and passes the value as the argument.
#[derive(Debug, Clone)]
pub struct ContextArgument {
    /// The argument's name on the field in the subgraph.
    pub name: Name,
    /// Its type in the subgraph.
    pub ty: Type,
    /// The context, as the supergraph names it (`Subgraph__name`).
    pub context: String,
    /// The selection as written.
    pub source: String,
    /// The selection parsed on each type that sets the context.
    pub selections: Vec<(Name, SelectionSet)>,
}

impl FieldInSubgraph {
    /// Whether the subgraph resolves the field itself when `labels` are the active
    /// progressive override labels.
    pub fn resolves(&self, labels: &OverrideLabels) -> bool {
        if self.external || self.used_overridden {
            return false;
        }
        match &self.override_label {
            None => true,
            Some(label) => labels.contains(label) == self.overrides.is_some(),
        }
    }
}

/// The progressive override labels active for one request: sorted, without duplicates.
/// Which labels a request has is decided by the gateway (crate::progressive_override); the
/// supergraph and the planner only read the set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OverrideLabels(Vec<Arc<str>>);

/// No label active: every labelled field stays with the subgraph it is overridden from.
pub static NO_OVERRIDE_LABELS: OverrideLabels = OverrideLabels(Vec::new());

impl OverrideLabels {
    pub fn new(labels: impl IntoIterator<Item = Arc<str>>) -> Self {
        let mut labels: Vec<Arc<str>> = labels.into_iter().collect();
        labels.sort();
        labels.dedup();
        Self(labels)
    }

    pub fn contains(&self, label: &str) -> bool {
        self.0.binary_search_by(|l| (**l).cmp(label)).is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<str>> {
        self.0.iter()
    }
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: Name,
    /// The field's type in the supergraph.
    pub ty: Type,
    /// The subgraphs that know the field. `None`: every subgraph that knows the parent type.
    pub sources: Option<Vec<FieldInSubgraph>>,
    /// The progressive override label that decides who resolves the field, if any.
    pub override_label: Option<Arc<str>>,
}

#[derive(Debug, Clone)]
pub struct TypeDef {
    pub name: Name,
    pub kind: TypeKind,
    /// The subgraphs that know the type, in declaration order.
    pub subgraphs: Vec<TypeInSubgraph>,
    pub fields: IndexMap<Name, FieldDef>,
    /// `@join__implements`: (subgraph, interface) pairs.
    pub implements: Vec<(SubgraphId, Name)>,
    /// `@join__unionMember`: (subgraph, member) pairs.
    pub union_members: Vec<(SubgraphId, Name)>,
    /// For enums, `@join__enumValue`: each value and the subgraphs that declare it.
    pub enum_values: IndexMap<Name, Vec<SubgraphId>>,
}

impl TypeDef {
    pub fn in_subgraph(&self, subgraph: SubgraphId) -> Option<&TypeInSubgraph> {
        self.subgraphs.iter().find(|t| t.subgraph == subgraph)
    }

    pub fn is_abstract(&self) -> bool {
        matches!(self.kind, TypeKind::Interface | TypeKind::Union)
    }
}

/// A loaded supergraph: the schema with its join metadata, and the public API schema.
#[derive(Debug)]
pub struct Supergraph {
    schema: Valid<Schema>,
    api_schema: Arc<Valid<Schema>>,
    subgraphs: Vec<Subgraph>,
    types: IndexMap<Name, TypeDef>,
    /// Abstract (and object) type → the object types its values can have.
    possible_types: HashMap<Name, Vec<Name>>,
    /// Interface → (subgraph, object type) for each `@join__implements` of an object type.
    implementations: HashMap<Name, Vec<(SubgraphId, Name)>>,
    /// `@authenticated`, `@requiresScopes` and `@policy`, per type and field.
    access: access::AccessRules,
    /// Per subgraph, a hash of what the supergraph says it resolves ([`fingerprint`]).
    fingerprints: Vec<u64>,
    /// `@context(name:)`: each context and the types that set it.
    contexts: IndexMap<String, Vec<Name>>,
    /// Every progressive override label (`overrideLabel`), sorted.
    override_labels: Vec<Arc<str>>,
    /// `@cost` and `@listSize`, for demand control.
    costs: cost::CostRules,
}

impl Supergraph {
    /// Loads a supergraph SDL as composition tools write it (`@link` core v1.0, join v0.2–v0.5).
    pub fn parse(sdl: &str) -> Result<Self, SupergraphError> {
        load::load(sdl)
    }

    /// The full supergraph schema, join directives included.
    pub fn schema(&self) -> &Valid<Schema> {
        &self.schema
    }

    /// The public schema clients see: machinery and `@inaccessible` elements removed.
    pub fn api_schema(&self) -> &Arc<Valid<Schema>> {
        &self.api_schema
    }

    /// What the cost directives (`@cost`, `@listSize`) say, for demand control.
    pub fn costs(&self) -> &CostRules {
        &self.costs
    }

    /// Who may see which types and fields (the security directives).
    pub fn access(&self) -> &access::AccessRules {
        &self.access
    }

    pub fn subgraphs(&self) -> &[Subgraph] {
        &self.subgraphs
    }

    pub fn subgraph(&self, id: SubgraphId) -> &Subgraph {
        &self.subgraphs[id.0 as usize]
    }

    /// A hash of what the supergraph says `id` resolves (types, fields, keys; not its URL):
    /// equal in two supergraphs when the subgraph's part of them is the same.
    pub fn subgraph_fingerprint(&self, id: SubgraphId) -> u64 {
        self.fingerprints.get(id.0 as usize).copied().unwrap_or(0)
    }

    pub fn subgraph_by_name(&self, name: &str) -> Option<&Subgraph> {
        self.subgraphs.iter().find(|s| &*s.name == name)
    }

    /// Every progressive override label the supergraph uses, sorted (empty for most
    /// supergraphs: then nothing on the request path looks at labels).
    pub fn override_labels(&self) -> &[Arc<str>] {
        &self.override_labels
    }

    pub fn types(&self) -> &IndexMap<Name, TypeDef> {
        &self.types
    }

    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    pub fn field_def(&self, type_name: &str, field: &str) -> Option<&FieldDef> {
        self.types.get(type_name)?.fields.get(field)
    }

    /// How `subgraph` knows `type_name.field`, if it declares it at all (resolving or not).
    pub fn field_in_subgraph(
        &self,
        type_name: &str,
        field: &str,
        subgraph: SubgraphId,
    ) -> Option<FieldInSubgraph> {
        let type_def = self.types.get(type_name)?;
        let field_def = type_def.fields.get(field)?;
        match &field_def.sources {
            Some(sources) => sources.iter().find(|s| s.subgraph == subgraph).cloned(),
            None => type_def.in_subgraph(subgraph).map(|_| FieldInSubgraph {
                subgraph,
                requires: None,
                provides: None,
                ty: None,
                external: false,
                used_overridden: false,
                overrides: None,
                context_arguments: Vec::new(),
                override_label: None,
            }),
        }
    }

    /// Whether any type sets a context: only then does planning look for contextual fields
    /// (the plans of other supergraphs stay as they were).
    pub fn has_contexts(&self) -> bool {
        !self.contexts.is_empty()
    }

    /// The types that set `context` (`@context(name:)`).
    pub fn context_types(&self, context: &str) -> &[Name] {
        self.contexts.get(context).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `subgraph` itself resolves `type_name.field` (declared, not external, not
    /// overridden away) when `labels` are active.
    pub fn resolves_field(
        &self,
        type_name: &str,
        field: &str,
        subgraph: SubgraphId,
        labels: &OverrideLabels,
    ) -> bool {
        self.field_in_subgraph(type_name, field, subgraph)
            .is_some_and(|f| f.resolves(labels))
    }

    /// The subgraphs that resolve `type_name.field` themselves when `labels` are active, in
    /// supergraph order.
    pub fn subgraphs_resolving(
        &self,
        type_name: &str,
        field: &str,
        labels: &OverrideLabels,
    ) -> Vec<SubgraphId> {
        let Some(type_def) = self.types.get(type_name) else {
            return Vec::new();
        };
        let Some(field_def) = type_def.fields.get(field) else {
            return Vec::new();
        };
        let mut ids: Vec<SubgraphId> = match &field_def.sources {
            Some(sources) => sources
                .iter()
                .filter(|s| s.resolves(labels))
                .map(|s| s.subgraph)
                .collect(),
            None => type_def.subgraphs.iter().map(|t| t.subgraph).collect(),
        };
        ids.sort();
        ids.dedup();
        ids
    }

    /// The object types a value of `abstract_type` can have when `subgraph` returns it: the
    /// implementations or members the subgraph itself declares. For an object type, itself.
    pub fn possible_types_in(&self, abstract_type: &str, subgraph: SubgraphId) -> Vec<Name> {
        let Some(def) = self.types.get(abstract_type) else {
            return Vec::new();
        };
        match def.kind {
            TypeKind::Object => vec![def.name.clone()],
            TypeKind::Union => def
                .union_members
                .iter()
                .filter(|(g, _)| *g == subgraph)
                .map(|(_, m)| m.clone())
                .collect(),
            TypeKind::Interface => {
                if def
                    .in_subgraph(subgraph)
                    .is_some_and(|t| t.is_interface_object)
                {
                    return Vec::new();
                }
                self.implementations
                    .get(abstract_type)
                    .into_iter()
                    .flatten()
                    .filter(|(g, _)| *g == subgraph)
                    .map(|(_, object)| object.clone())
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// The object types a value of `type_name` can have in the supergraph (itself for an
    /// object type).
    pub fn possible_types(&self, type_name: &str) -> &[Name] {
        self.possible_types
            .get(type_name)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether `maybe_subtype` is `type_name` or one of its possible types (supergraph view).
    pub fn is_subtype_or_same(&self, type_name: &str, maybe_subtype: &str) -> bool {
        type_name == maybe_subtype || self.schema.is_subtype(type_name, maybe_subtype)
    }

    /// Whether an object whose `__typename` is `object` matches a fragment on `condition`.
    pub fn is_possible_type(&self, condition: &str, object: &str) -> bool {
        condition == object || self.possible_types(condition).iter().any(|t| t == object)
    }
}
