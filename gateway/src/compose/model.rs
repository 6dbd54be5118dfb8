//! The supergraph being composed: every type and field with the subgraphs it comes from, before
//! it is written out as SDL.

use apollo_compiler::ast::{Directive, Type as AstType, Value};
use apollo_compiler::parser::SourceSpan;
use apollo_compiler::{Name, Node};
use indexmap::IndexMap;

/// Index of a subgraph in the (name-sorted) composition.
pub type SubgraphIndex = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
    Scalar,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Object => "object type",
            Kind::Interface => "interface",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::InputObject => "input object type",
            Kind::Scalar => "scalar",
        }
    }
}

/// Where a subgraph declares something, for errors.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub subgraph: SubgraphIndex,
    pub span: Option<SourceSpan>,
}

#[derive(Debug, Clone)]
pub struct KeySource {
    pub fields: String,
    pub resolvable: bool,
    /// `resolvable:` was written out (printed back as written).
    pub resolvable_explicit: bool,
}

/// One subgraph's declaration of a type.
#[derive(Debug, Clone)]
pub struct TypeSource {
    pub origin: Origin,
    pub keys: Vec<KeySource>,
    /// Declared with `extend type` or `@extends`.
    pub extension: bool,
    /// An `@interfaceObject`: an object type here, an interface in the supergraph.
    pub interface_object: bool,
    /// `@context(name:)` names this subgraph gives the type, as written (the supergraph
    /// prefixes them with the subgraph's name).
    pub contexts: Vec<String>,
}

/// An argument whose value the gateway takes from a context (`@fromContext`): it leaves the
/// supergraph's field and is written to `@join__field(contextArguments:)` instead.
#[derive(Debug, Clone)]
pub struct ContextArgument {
    pub name: Name,
    /// The argument's type, as the subgraph declares it.
    pub ty: AstType,
    /// The context's name in its subgraph (without the subgraph prefix).
    pub context: String,
    /// The selection on the context's types, as written after `$name`.
    pub selection: String,
    pub origin: Origin,
}

/// One subgraph's declaration of a field of an object or interface type.
#[derive(Debug, Clone)]
pub struct FieldSource {
    pub origin: Origin,
    pub ty: AstType,
    pub external: bool,
    pub shareable: bool,
    pub requires: Option<String>,
    pub provides: Option<String>,
    /// `@override(from:)`.
    pub override_from: Option<String>,
    /// `@override(label:)` on the overriding side, and on the overridden side the label under
    /// which it gives the field up (progressive override: both keep resolving it).
    pub override_label: Option<String>,
    /// Overridden by another subgraph but used by this one's keys or requires.
    pub used_overridden: bool,
    /// Overridden by another subgraph and unused here: the subgraph no longer resolves it.
    pub overridden: bool,
    /// Arguments this subgraph takes from a context (`@fromContext`).
    pub context_arguments: Vec<ContextArgument>,
}

impl FieldSource {
    /// Whether this subgraph resolves the field itself.
    pub fn resolves(&self) -> bool {
        !self.external && !self.used_overridden && !self.overridden
    }
}

/// Things every kind of element can carry into the supergraph.
#[derive(Debug, Clone, Default)]
pub struct Common {
    pub description: Option<Node<str>>,
    pub inaccessible: bool,
    pub tags: Vec<String>,
    /// `@deprecated`, `@specifiedBy` and the like, kept as written.
    pub directives: Vec<Node<Directive>>,
    pub carried: Carried,
    /// Applications of `@composeDirective`d custom directives, each distinct one once.
    pub composed: Vec<Node<Directive>>,
}

/// The access-control and demand-control directives an element carries into the supergraph,
/// merged over the subgraphs that apply them (under their spec names, whatever a subgraph
/// imported them as).
#[derive(Debug, Clone, Default)]
pub struct Carried {
    /// `@authenticated` in some subgraph.
    pub authenticated: bool,
    /// `@requiresScopes`: alternatives (any one), each a set of scopes (all of them). Several
    /// subgraphs' requirements all hold, so they are combined into one such list.
    pub scopes: Option<Vec<Vec<String>>>,
    /// `@policy`, the same with policy names.
    pub policies: Option<Vec<Vec<String>>>,
    /// `@cost(weight:)`, the highest any subgraph gives.
    pub cost: Option<i64>,
    /// `@listSize(...)`, as the first subgraph applying it writes it.
    pub list_size: Option<Node<Directive>>,
}

/// `a AND b` for requirements in disjunctive normal form: every alternative of one joined
/// with every alternative of the other.
pub fn and_requirements(a: &Option<Vec<Vec<String>>>, b: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let normal = |mut set: Vec<String>| {
        set.sort();
        set.dedup();
        set
    };
    let mut out: Vec<Vec<String>> = match a {
        None => b.into_iter().map(normal).collect(),
        Some(a) => a
            .iter()
            .flat_map(|x| {
                b.iter()
                    .map(move |y| normal(x.iter().chain(y.iter()).cloned().collect()))
            })
            .collect(),
    };
    out.dedup();
    let mut unique = Vec::new();
    for set in out {
        if !unique.contains(&set) {
            unique.push(set);
        }
    }
    unique
}

/// Whether requirements `held` (DNF) guarantee `needed` (DNF): each alternative of `held`
/// contains some alternative of `needed`.
pub fn implies(held: &Option<Vec<Vec<String>>>, needed: &Option<Vec<Vec<String>>>) -> bool {
    let Some(needed) = needed else { return true };
    let Some(held) = held else { return false };
    held.iter()
        .all(|h| needed.iter().any(|n| n.iter().all(|x| h.contains(x))))
}

#[derive(Debug, Clone)]
pub struct Argument {
    pub name: Name,
    pub ty: AstType,
    pub default: Option<Node<Value>>,
    pub common: Common,
    pub origins: Vec<Origin>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: Name,
    pub ty: AstType,
    pub arguments: IndexMap<Name, Argument>,
    pub sources: Vec<FieldSource>,
    pub common: Common,
    /// Added to an implementation because an `@interfaceObject` adds it to the interface: no
    /// subgraph resolves it on this type directly.
    pub from_interface_object: bool,
}

#[derive(Debug, Clone)]
pub struct InputField {
    pub name: Name,
    pub ty: AstType,
    pub default: Option<Node<Value>>,
    pub common: Common,
    pub origins: Vec<Origin>,
    /// The type each subgraph declares, beside `origins` (they may differ in nullability).
    pub types: Vec<AstType>,
}

#[derive(Debug, Clone)]
pub struct EnumValue {
    pub name: Name,
    pub common: Common,
    pub origins: Vec<Origin>,
}

#[derive(Debug, Clone)]
pub struct Type {
    pub name: Name,
    pub kind: Kind,
    pub sources: Vec<TypeSource>,
    pub common: Common,
    pub fields: IndexMap<Name, Field>,
    pub input_fields: IndexMap<Name, InputField>,
    pub values: IndexMap<Name, EnumValue>,
    /// Union members, each with the subgraphs that declare it.
    pub members: IndexMap<Name, Vec<SubgraphIndex>>,
    /// Implemented interfaces, each with the subgraphs that declare it.
    pub implements: IndexMap<Name, Vec<SubgraphIndex>>,
}

impl Type {
    pub fn new(name: Name, kind: Kind) -> Self {
        Self {
            name,
            kind,
            sources: Vec::new(),
            common: Common::default(),
            fields: IndexMap::new(),
            input_fields: IndexMap::new(),
            values: IndexMap::new(),
            members: IndexMap::new(),
            implements: IndexMap::new(),
        }
    }
}

/// A subgraph as the supergraph names it.
#[derive(Debug, Clone)]
pub struct SubgraphEntry {
    pub name: String,
    pub url: String,
    /// The `join__Graph` enum value.
    pub graph: String,
}

#[derive(Debug, Clone, Default)]
pub struct Supergraph {
    pub subgraphs: Vec<SubgraphEntry>,
    pub types: IndexMap<Name, Type>,
    /// The schema's description, from the first subgraph that gives one.
    pub description: Option<Node<str>>,
    /// Executable directives (`on QUERY | FIELD ...`) every subgraph defines: clients may
    /// send them and every subgraph understands them.
    pub executable_directives: Vec<Node<apollo_compiler::ast::DirectiveDefinition>>,
    /// `@composeDirective`d custom directives, one per name.
    /// `(spec URL, name in the spec, definition)`: the name differs from the definition's
    /// when a subgraph imports it renamed or namespaced (`@audit__level` for `@level`).
    pub composed_directives: Vec<(
        String,
        String,
        Node<apollo_compiler::ast::DirectiveDefinition>,
    )>,
}
