//! Typed readings of the join spec's directives (`@join__graph`, `@join__type`, `@join__field`,
//! `@join__implements`, `@join__unionMember`, `@join__enumValue`). Each function turns one
//! directive application into a struct and says precisely what is wrong when it can't.

use apollo_compiler::Name;
use apollo_compiler::ast::{Directive, Value};

/// A reading that failed: which argument and why. The caller adds the coordinate and location.
#[derive(Debug)]
pub struct BadArgument(pub String);

type Result<T> = std::result::Result<T, BadArgument>;

fn arg<'a>(directive: &'a Directive, name: &str) -> Option<&'a Value> {
    directive
        .specified_argument_by_name(name)
        .map(|v| v.as_ref())
        .filter(|v| !matches!(v, Value::Null))
}

fn string_arg(directive: &Directive, name: &str) -> Result<Option<String>> {
    match arg(directive, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(BadArgument(format!(
            "argument `{name}` must be a string, found {other}"
        ))),
    }
}

fn bool_arg(directive: &Directive, name: &str, default: bool) -> Result<bool> {
    match arg(directive, name) {
        None => Ok(default),
        Some(Value::Boolean(b)) => Ok(*b),
        Some(other) => Err(BadArgument(format!(
            "argument `{name}` must be a boolean, found {other}"
        ))),
    }
}

fn graph_arg(directive: &Directive) -> Result<Option<Name>> {
    match arg(directive, "graph") {
        None => Ok(None),
        Some(Value::Enum(name)) => Ok(Some(name.clone())),
        Some(other) => Err(BadArgument(format!(
            "argument `graph` must be a join__Graph value, found {other}"
        ))),
    }
}

fn required_graph(directive: &Directive) -> Result<Name> {
    graph_arg(directive)?.ok_or_else(|| BadArgument("argument `graph` is required".into()))
}

fn required_string(directive: &Directive, name: &str) -> Result<String> {
    string_arg(directive, name)?
        .ok_or_else(|| BadArgument(format!("argument `{name}` is required")))
}

/// `@join__graph(name:, url:)` on a value of the `join__Graph` enum.
pub struct JoinGraph {
    pub name: String,
    pub url: String,
}

pub fn join_graph(directive: &Directive) -> Result<JoinGraph> {
    Ok(JoinGraph {
        name: required_string(directive, "name")?,
        url: required_string(directive, "url")?,
    })
}

/// `@join__type(graph:, key:, extension:, resolvable:, isInterfaceObject:)`.
pub struct JoinType {
    pub graph: Name,
    pub key: Option<String>,
    pub extension: bool,
    pub resolvable: bool,
    pub is_interface_object: bool,
}

pub fn join_type(directive: &Directive) -> Result<JoinType> {
    Ok(JoinType {
        graph: required_graph(directive)?,
        key: string_arg(directive, "key")?,
        extension: bool_arg(directive, "extension", false)?,
        resolvable: bool_arg(directive, "resolvable", true)?,
        is_interface_object: bool_arg(directive, "isInterfaceObject", false)?,
    })
}

/// `@join__field(graph:, requires:, provides:, type:, external:, override:, usedOverridden:,
/// overrideLabel:)`.
/// A `@join__field` without `graph` says the field is resolved by no subgraph directly (it is
/// contributed by an `@interfaceObject` elsewhere).
pub struct JoinField {
    pub graph: Option<Name>,
    pub requires: Option<String>,
    pub provides: Option<String>,
    pub ty: Option<String>,
    pub external: bool,
    pub override_from: Option<String>,
    pub used_overridden: bool,
    /// Progressive override (join v0.4): on both the overriding and the overridden
    /// `@join__field`, the label under which the override applies.
    pub override_label: Option<String>,
    /// join v0.5 `contextArguments`.
    pub context_arguments: Vec<JoinContextArgument>,
}

/// One item of `@join__field(contextArguments:)`: the argument `name` of type `ty` is filled
/// with `selection` read on the nearest ancestor whose type sets `context`.
pub struct JoinContextArgument {
    pub context: String,
    pub name: String,
    pub ty: String,
    pub selection: String,
}

fn context_arguments(directive: &Directive) -> Result<Vec<JoinContextArgument>> {
    let items = match arg(directive, "contextArguments") {
        None => return Ok(Vec::new()),
        Some(Value::List(items)) => items.iter().map(|i| i.as_ref()).collect::<Vec<_>>(),
        Some(single @ Value::Object(_)) => vec![single],
        Some(other) => {
            return Err(BadArgument(format!(
                "argument `contextArguments` must be a list of join__ContextArgument, found {other}"
            )));
        }
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Object(fields) = item else {
                return Err(BadArgument(format!(
                    "`contextArguments` items must be objects, found {item}"
                )));
            };
            let get = |key: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == key)
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        BadArgument(format!("`contextArguments` items need a string `{key}`"))
                    })
            };
            Ok(JoinContextArgument {
                context: get("context")?,
                name: get("name")?,
                ty: get("type")?,
                selection: get("selection")?,
            })
        })
        .collect()
}

pub fn join_field(directive: &Directive) -> Result<JoinField> {
    Ok(JoinField {
        graph: graph_arg(directive)?,
        requires: string_arg(directive, "requires")?,
        provides: string_arg(directive, "provides")?,
        ty: string_arg(directive, "type")?,
        external: bool_arg(directive, "external", false)?,
        override_from: string_arg(directive, "override")?,
        used_overridden: bool_arg(directive, "usedOverridden", false)?,
        context_arguments: context_arguments(directive)?,
        override_label: string_arg(directive, "overrideLabel")?,
    })
}

/// `@join__implements(graph:, interface:)`.
pub struct JoinImplements {
    pub graph: Name,
    pub interface: String,
}

pub fn join_implements(directive: &Directive) -> Result<JoinImplements> {
    Ok(JoinImplements {
        graph: required_graph(directive)?,
        interface: required_string(directive, "interface")?,
    })
}

/// `@join__unionMember(graph:, member:)`.
pub struct JoinUnionMember {
    pub graph: Name,
    pub member: String,
}

pub fn join_union_member(directive: &Directive) -> Result<JoinUnionMember> {
    Ok(JoinUnionMember {
        graph: required_graph(directive)?,
        member: required_string(directive, "member")?,
    })
}

/// `@join__enumValue(graph:)`.
pub fn join_enum_value(directive: &Directive) -> Result<Name> {
    required_graph(directive)
}
