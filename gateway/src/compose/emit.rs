//! Writes the composed model as a Federation v2 supergraph in the standard form: `@link` core
//! v1.0 and join v0.3, the machinery definitions first, then the types sorted by name, each with
//! its `@join__*` directives.

use std::collections::BTreeSet;
use std::fmt::Write;

use apollo_compiler::Node;
use apollo_compiler::ast::{Directive, Type as AstType};

use super::model::{Carried, Common, Field, Kind, Supergraph, Type};

const LINK_PURPOSE: &str = r#"enum link__Purpose {
  """
  `SECURITY` features provide metadata necessary to securely resolve fields.
  """
  SECURITY

  """
  `EXECUTION` features provide metadata necessary for operation execution.
  """
  EXECUTION
}
"#;

pub fn emit(supergraph: &Supergraph) -> String {
    let uses_inaccessible = supergraph.types.values().any(|t| {
        t.common.inaccessible
            || t.fields.values().any(|f| {
                f.common.inaccessible || f.arguments.values().any(|a| a.common.inaccessible)
            })
            || t.values.values().any(|v| v.common.inaccessible)
            || t.input_fields.values().any(|f| f.common.inaccessible)
    });
    let uses_tags = supergraph.types.values().any(|t| {
        !t.common.tags.is_empty()
            || t.fields.values().any(|f| {
                !f.common.tags.is_empty() || f.arguments.values().any(|a| !a.common.tags.is_empty())
            })
            || t.values.values().any(|v| !v.common.tags.is_empty())
            || t.input_fields.values().any(|f| !f.common.tags.is_empty())
    });
    let commons = commons(supergraph);
    let uses = |used: &dyn Fn(&Carried) -> bool| commons.iter().any(|c| used(&c.carried));
    let uses_authenticated = uses(&|c| c.authenticated);
    let uses_scopes = uses(&|c| c.scopes.is_some());
    let uses_policies = uses(&|c| c.policies.is_some());
    let uses_cost = uses(&|c| c.cost.is_some());
    let uses_list_size = uses(&|c| c.list_size.is_some());
    let mut out = String::new();
    description(&mut out, &supergraph.description, "");
    out.push_str("schema\n  @link(url: \"https://specs.apollo.dev/link/v1.0\")\n");
    // Progressive override labels need join v0.4's `overrideLabel`; without them join v0.3,
    // what every gateway reads.
    let uses_labels = supergraph.types.values().any(|t| {
        t.fields
            .values()
            .any(|f| f.sources.iter().any(|s| s.override_label.is_some()))
    });
    // Contexts need join v0.5's `contextArguments` (and the context spec).
    let uses_contexts = supergraph.types.values().any(|t| {
        t.sources.iter().any(|s| !s.contexts.is_empty())
            || t.fields
                .values()
                .any(|f| f.sources.iter().any(|s| !s.context_arguments.is_empty()))
    });
    let join_version = if uses_contexts {
        "v0.5"
    } else if uses_labels {
        "v0.4"
    } else {
        "v0.3"
    };
    let _ = writeln!(
        out,
        "  @link(url: \"https://specs.apollo.dev/join/{join_version}\", for: EXECUTION)"
    );
    if uses_inaccessible {
        out.push_str(
            "  @link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)\n",
        );
    }
    if uses_contexts {
        out.push_str("  @link(url: \"https://specs.apollo.dev/context/v0.1\", for: SECURITY)\n");
    }
    if uses_tags {
        out.push_str("  @link(url: \"https://specs.apollo.dev/tag/v0.3\")\n");
    }
    // The access-control and demand-control specs, as Apollo's composition links them.
    for (used, spec) in [
        (uses_authenticated, "authenticated"),
        (uses_scopes, "requiresScopes"),
        (uses_policies, "policy"),
    ] {
        if used {
            let _ = writeln!(
                out,
                "  @link(url: \"https://specs.apollo.dev/{spec}/v0.1\", for: SECURITY)"
            );
        }
    }
    if uses_list_size {
        out.push_str(
            "  @link(url: \"https://specs.apollo.dev/cost/v0.1\", import: [\"@listSize\"])\n",
        );
    } else if uses_cost {
        out.push_str("  @link(url: \"https://specs.apollo.dev/cost/v0.1\")\n");
    }
    // `@composeDirective`d specs, as the subgraphs link them.
    let mut linked_urls: Vec<&str> = Vec::new();
    for (url, _, _) in &supergraph.composed_directives {
        if !linked_urls.contains(&url.as_str()) {
            linked_urls.push(url);
            let imports: Vec<String> = supergraph
                .composed_directives
                .iter()
                .filter(|(other, _, _)| other == url)
                .map(|(_, original, d)| {
                    if *original == d.name.as_str() {
                        string(&format!("@{}", d.name))
                    } else {
                        format!(
                            "{{name: {}, as: {}}}",
                            string(&format!("@{original}")),
                            string(&format!("@{}", d.name))
                        )
                    }
                })
                .collect();
            let _ = writeln!(
                out,
                "  @link(url: {}, import: [{}])",
                string(url),
                imports.join(", ")
            );
        }
    }
    out.push_str("{\n");
    for (root, field) in [
        ("Query", "query"),
        ("Mutation", "mutation"),
        ("Subscription", "subscription"),
    ] {
        if supergraph.types.contains_key(root) {
            let _ = writeln!(out, "  {field}: {root}");
        }
    }
    out.push_str("}\n\n");
    let mut defs = String::new();
    if uses_authenticated {
        defs.push_str(
            "directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM\n\n",
        );
    }
    if uses_cost || uses_list_size {
        defs.push_str("directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR\n\n");
    }
    if uses_inaccessible {
        defs.push_str("directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION\n\n");
    }
    if uses_contexts {
        defs.push_str(
            "directive @context(name: String!) repeatable on INTERFACE | OBJECT | UNION\n\n",
        );
        defs.push_str("directive @context__fromContext(field: context__ContextFieldValue) on ARGUMENT_DEFINITION\n\n");
        defs.push_str("directive @join__directive(graphs: [join__Graph!], name: String!, args: join__DirectiveArguments) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION\n\n");
    }
    defs.push_str("directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE\n\n");
    let override_label = if uses_contexts {
        ", overrideLabel: String, contextArguments: [join__ContextArgument!]"
    } else if uses_labels {
        ", overrideLabel: String"
    } else {
        ""
    };
    let _ = write!(
        defs,
        "directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean{override_label}) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION\n\n"
    );
    defs.push_str("directive @join__graph(name: String!, url: String!) on ENUM_VALUE\n\n");
    defs.push_str("directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE\n\n");
    defs.push_str("directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR\n\n");
    defs.push_str("directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION\n\n");
    defs.push_str("directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA\n\n");
    if uses_cost || uses_list_size {
        defs.push_str("directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION\n\n");
    }
    if uses_policies {
        defs.push_str("directive @policy(policies: [[policy__Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM\n\n");
    }
    if uses_scopes {
        defs.push_str("directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM\n\n");
    }
    if uses_tags {
        defs.push_str("directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA\n\n");
    }
    // Directive definitions in name order, the executable directives every subgraph defines
    // among them.
    let mut definitions: Vec<String> = defs
        .split("\n\n")
        .filter(|d| !d.trim().is_empty())
        .map(str::to_string)
        .collect();
    definitions.extend(
        supergraph
            .executable_directives
            .iter()
            .chain(supergraph.composed_directives.iter().map(|(_, _, d)| d))
            .map(|d| d.to_string().trim_end().to_string()),
    );
    let directive_name = |definition: &str| -> String {
        definition
            .trim_start_matches(|c: char| c != '@')
            .trim_start_matches('@')
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("")
            .to_string()
    };
    definitions.sort_by_key(|d| directive_name(d));
    for definition in definitions {
        out.push_str(&definition);
        out.push_str("\n\n");
    }
    // Machinery and user types sorted together, ignoring case, as composition tools print them.
    let mut graph_enum = String::from("enum join__Graph {\n");
    for subgraph in &supergraph.subgraphs {
        let _ = writeln!(
            graph_enum,
            "  {} @join__graph(name: {}, url: {})",
            subgraph.graph,
            string(&subgraph.name),
            string(&subgraph.url)
        );
    }
    graph_enum.push_str("}\n");
    let mut blocks: Vec<(String, String)> = vec![
        ("join__FieldSet".into(), "scalar join__FieldSet\n".into()),
        ("join__Graph".into(), graph_enum),
        ("link__Import".into(), "scalar link__Import\n".into()),
        ("link__Purpose".into(), LINK_PURPOSE.into()),
    ];
    if uses_policies {
        blocks.push(("policy__Policy".into(), "scalar policy__Policy\n".into()));
    }
    if uses_contexts {
        blocks.push((
            "context__ContextFieldValue".into(),
            "scalar context__ContextFieldValue\n".into(),
        ));
        blocks.push((
            "join__ContextArgument".into(),
            "input join__ContextArgument {\n  name: String!\n  type: String!\n  context: String!\n  selection: join__FieldValue!\n}\n".into(),
        ));
        blocks.push((
            "join__DirectiveArguments".into(),
            "scalar join__DirectiveArguments\n".into(),
        ));
        blocks.push((
            "join__FieldValue".into(),
            "scalar join__FieldValue\n".into(),
        ));
    }
    if uses_scopes {
        blocks.push((
            "requiresScopes__Scope".into(),
            "scalar requiresScopes__Scope\n".into(),
        ));
    }
    for ty in supergraph.types.values() {
        let mut block = String::new();
        write_type(&mut block, supergraph, ty);
        blocks.push((ty.name.to_string(), block));
    }
    blocks.sort_by(|(a, _), (b, _)| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    let blocks: Vec<String> = blocks.into_iter().map(|(_, block)| block).collect();
    out.push_str(&blocks.join("\n"));
    out
}

fn graph(supergraph: &Supergraph, index: usize) -> &str {
    &supergraph.subgraphs[index].graph
}

/// A GraphQL string literal.
fn string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

fn description(out: &mut String, description: &Option<Node<str>>, indent: &str) {
    if let Some(text) = description {
        let escaped = text.replace("\"\"\"", "\\\"\"\"");
        // One line when short, as graphql-js prints descriptions (it breaks past 70 chars).
        if !escaped.contains('\n') && escaped.chars().count() <= 70 {
            let _ = writeln!(out, "{indent}\"\"\"{escaped}\"\"\"");
            return;
        }
        let _ = writeln!(out, "{indent}\"\"\"");
        for line in escaped.lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                let _ = writeln!(out, "{indent}{line}");
            }
        }
        let _ = writeln!(out, "{indent}\"\"\"");
    }
}

/// Every element's [`Common`]: types, fields, arguments, enum values, input fields.
fn commons(supergraph: &Supergraph) -> Vec<&Common> {
    let mut out = Vec::new();
    for ty in supergraph.types.values() {
        out.push(&ty.common);
        for field in ty.fields.values() {
            out.push(&field.common);
            out.extend(field.arguments.values().map(|a| &a.common));
        }
        out.extend(ty.values.values().map(|v| &v.common));
        out.extend(ty.input_fields.values().map(|f| &f.common));
    }
    out
}

/// `@authenticated`, `@cost`, `@listSize`, `@policy` and `@requiresScopes`, under their spec
/// names.
fn carried_directives(carried: &Carried) -> String {
    let mut out = String::new();
    let requirements = |alternatives: &Vec<Vec<String>>| {
        let lists: Vec<String> = alternatives
            .iter()
            .map(|all| {
                let names: Vec<String> = all.iter().map(|n| string(n)).collect();
                format!("[{}]", names.join(", "))
            })
            .collect();
        format!("[{}]", lists.join(", "))
    };
    if carried.authenticated {
        out.push_str(" @authenticated");
    }
    if let Some(weight) = carried.cost {
        let _ = write!(out, " @cost(weight: {weight})");
    }
    if let Some(list_size) = &carried.list_size {
        let _ = write!(out, " {}", directive_text(list_size));
    }
    if let Some(policies) = &carried.policies {
        let _ = write!(out, " @policy(policies: {})", requirements(policies));
    }
    if let Some(scopes) = &carried.scopes {
        let _ = write!(out, " @requiresScopes(scopes: {})", requirements(scopes));
    }
    out
}

/// `@inaccessible`, `@tag(...)` and the directives kept as written, then the carried ones
/// (for a field, those follow its `@join__field`s instead, as Apollo's composition writes).
fn common_directives(common: &Common) -> String {
    let mut out = element_directives(common);
    out.push_str(&carried_directives(&common.carried));
    out
}

fn element_directives(common: &Common) -> String {
    let mut out = String::new();
    if common.inaccessible {
        out.push_str(" @inaccessible");
    }
    for tag in &common.tags {
        let _ = write!(out, " @tag(name: {})", string(tag));
    }
    for directive in common.directives.iter().chain(&common.composed) {
        let _ = write!(out, " {}", directive_text(directive));
    }
    out
}

fn directive_text(directive: &Node<Directive>) -> String {
    directive.to_string()
}

fn write_type(out: &mut String, supergraph: &Supergraph, ty: &Type) {
    description(out, &ty.common.description, "");
    let keyword = match ty.kind {
        Kind::Object => "type",
        Kind::Interface => "interface",
        Kind::Union => "union",
        Kind::Enum => "enum",
        Kind::InputObject => "input",
        Kind::Scalar => "scalar",
    };
    let _ = write!(out, "{keyword} {}", ty.name);
    if !ty.implements.is_empty() {
        let interfaces: Vec<&str> = ty.implements.keys().map(|n| n.as_str()).collect();
        let _ = write!(out, " implements {}", interfaces.join(" & "));
    }
    out.push('\n');
    // @join__implements, by subgraph.
    let mut implements = BTreeSet::new();
    for (interface, subgraphs) in &ty.implements {
        for (position, subgraph) in subgraphs.iter().enumerate() {
            let order = ty.implements.get_index_of(interface).unwrap_or(position);
            implements.insert((*subgraph, order, interface.clone()));
        }
    }
    for (subgraph, _, interface) in implements {
        let _ = writeln!(
            out,
            "  @join__implements(graph: {}, interface: {})",
            graph(supergraph, subgraph),
            string(&interface)
        );
    }
    for source in &ty.sources {
        let graph = graph(supergraph, source.origin.subgraph);
        let interface_object = if source.interface_object {
            ", isInterfaceObject: true"
        } else {
            ""
        };
        if source.keys.is_empty() {
            let _ = writeln!(out, "  @join__type(graph: {graph}{interface_object})");
        }
        for key in &source.keys {
            let extension = if source.extension {
                ", extension: true"
            } else {
                ""
            };
            let resolvable = match (key.resolvable, key.resolvable_explicit) {
                (false, _) => ", resolvable: false",
                (true, true) => ", resolvable: true",
                (true, false) => "",
            };
            let _ = writeln!(
                out,
                "  @join__type(graph: {graph}, key: {}{extension}{resolvable}{interface_object})",
                string(key.fields.trim())
            );
        }
    }
    if ty.kind == Kind::Union {
        for member in ty.members.keys() {
            for subgraph in &ty.members[member] {
                let _ = writeln!(
                    out,
                    "  @join__unionMember(graph: {}, member: {})",
                    graph(supergraph, *subgraph),
                    string(member)
                );
            }
        }
    }
    for source in &ty.sources {
        for context in &source.contexts {
            let name = format!(
                "{}__{context}",
                supergraph.subgraphs[source.origin.subgraph].name
            );
            let _ = writeln!(out, "  @context(name: {})", string(&name));
        }
    }
    let directives = common_directives(&ty.common);
    if !directives.is_empty() {
        let _ = writeln!(out, "  {}", directives.trim_start());
    }
    match ty.kind {
        Kind::Object | Kind::Interface => {
            out.push_str("{\n");
            for (i, field) in ty.fields.values().enumerate() {
                // A described member gets a blank line before it, as graphql-js prints.
                if i > 0 && field.common.description.is_some() {
                    out.push('\n');
                }
                write_field(out, supergraph, ty, field);
            }
            out.push_str("}\n");
        }
        Kind::InputObject => {
            out.push_str("{\n");
            for (i, field) in ty.input_fields.values().enumerate() {
                if i > 0 && field.common.description.is_some() {
                    out.push('\n');
                }
                description(out, &field.common.description, "  ");
                let default = field
                    .default
                    .as_ref()
                    .map(|d| format!(" = {d}"))
                    .unwrap_or_default();
                // Subgraphs that declare the field with another type than the supergraph's
                // say which, as Apollo's composition writes it.
                let mut joins = String::new();
                if field.types.iter().any(|t| *t != field.ty) {
                    for (origin, ty) in field.origins.iter().zip(&field.types) {
                        let _ = write!(
                            joins,
                            " @join__field(graph: {}, type: {})",
                            graph(supergraph, origin.subgraph),
                            string(&ty.to_string())
                        );
                    }
                }
                let _ = writeln!(
                    out,
                    "  {}: {}{default}{}{joins}",
                    field.name,
                    field.ty,
                    common_directives(&field.common)
                );
            }
            out.push_str("}\n");
        }
        Kind::Enum => {
            out.push_str("{\n");
            for (i, value) in ty.values.values().enumerate() {
                if i > 0 && value.common.description.is_some() {
                    out.push('\n');
                }
                description(out, &value.common.description, "  ");
                let _ = write!(out, "  {}{}", value.name, common_directives(&value.common));
                for origin in &value.origins {
                    let _ = write!(
                        out,
                        " @join__enumValue(graph: {})",
                        graph(supergraph, origin.subgraph)
                    );
                }
                out.push('\n');
            }
            out.push_str("}\n");
        }
        Kind::Union => {
            let members: Vec<&str> = ty.members.keys().map(|n| n.as_str()).collect();
            let _ = writeln!(out, " = {}", members.join(" | "));
        }
        Kind::Scalar => {}
    }
}

fn write_field(out: &mut String, supergraph: &Supergraph, ty: &Type, field: &Field) {
    description(out, &field.common.description, "  ");
    let _ = write!(out, "  {}", field.name);
    if !field.arguments.is_empty() {
        let with_descriptions = field
            .arguments
            .values()
            .any(|a| a.common.description.is_some());
        let arguments: Vec<String> = field
            .arguments
            .values()
            .map(|argument| {
                let mut text = String::new();
                if with_descriptions {
                    description(&mut text, &argument.common.description, "    ");
                    text.push_str("    ");
                }
                let default = argument
                    .default
                    .as_ref()
                    .map(|d| format!(" = {d}"))
                    .unwrap_or_default();
                let _ = write!(
                    text,
                    "{}: {}{default}{}",
                    argument.name,
                    argument.ty,
                    common_directives(&argument.common)
                );
                text
            })
            .collect();
        if with_descriptions {
            let _ = write!(out, "(\n{}\n  )", arguments.join("\n"));
        } else {
            let _ = write!(out, "({})", arguments.join(", "));
        }
    }
    // As Apollo's composition orders them on a field: `@inaccessible` and the directives kept
    // as written, the `@join__field`s, then `@tag`s, composed directives and the carried ones.
    let mut before = String::new();
    if field.common.inaccessible {
        before.push_str(" @inaccessible");
    }
    for directive in &field.common.directives {
        let _ = write!(before, " {}", directive_text(directive));
    }
    let _ = write!(out, ": {}{before}", field.ty);
    for join in join_fields(supergraph, ty, field) {
        let _ = write!(out, " {join}");
    }
    for tag in &field.common.tags {
        let _ = write!(out, " @tag(name: {})", string(tag));
    }
    for directive in &field.common.composed {
        let _ = write!(out, " {}", directive_text(directive));
    }
    out.push_str(&carried_directives(&field.common.carried));
    out.push('\n');
}

/// The `@join__field` directives of a field: none when every subgraph of the type resolves it
/// plainly, otherwise one per subgraph that knows it.
fn join_fields(supergraph: &Supergraph, ty: &Type, field: &Field) -> Vec<String> {
    if field.from_interface_object {
        return vec!["@join__field".into()];
    }
    let kept: Vec<_> = field.sources.iter().filter(|s| !s.overridden).collect();
    let type_subgraphs: BTreeSet<usize> = ty.sources.iter().map(|s| s.origin.subgraph).collect();
    let field_subgraphs: BTreeSet<usize> = kept.iter().map(|s| s.origin.subgraph).collect();
    let types_differ = kept.iter().any(|s| !same_type(&s.ty, &field.ty));
    let needed = type_subgraphs != field_subgraphs
        || types_differ
        || kept.iter().any(|s| {
            s.external
                || s.requires.is_some()
                || s.provides.is_some()
                // An override of a subgraph outside the composition changes nothing: written
                // only when the field needs its @join__fields anyway, as Apollo does.
                || s
                    .override_from
                    .as_ref()
                    .is_some_and(|from| supergraph.subgraphs.iter().any(|e| e.name == *from))
                || s.override_label.is_some()
                || s.used_overridden
                || !s.context_arguments.is_empty()
        });
    if !needed {
        return Vec::new();
    }
    kept.iter()
        .map(|source| {
            let mut text = format!(
                "@join__field(graph: {}",
                graph(supergraph, source.origin.subgraph)
            );
            if let Some(requires) = &source.requires {
                let _ = write!(text, ", requires: {}", string(requires.trim()));
            }
            if let Some(provides) = &source.provides {
                let _ = write!(text, ", provides: {}", string(provides.trim()));
            }
            if types_differ {
                let _ = write!(text, ", type: {}", string(&source.ty.to_string()));
            }
            if source.external {
                text.push_str(", external: true");
            }
            if let Some(from) = &source.override_from {
                let _ = write!(text, ", override: {}", string(from));
            }
            if source.used_overridden {
                text.push_str(", usedOverridden: true");
            }
            if let Some(label) = &source.override_label {
                let _ = write!(text, ", overrideLabel: {}", string(label));
            }
            if !source.context_arguments.is_empty() {
                let subgraph = &supergraph.subgraphs[source.origin.subgraph].name;
                let arguments: Vec<String> = source
                    .context_arguments
                    .iter()
                    .map(|a| {
                        format!(
                            "{{context: {}, name: {}, type: {}, selection: {}}}",
                            string(&format!("{subgraph}__{}", a.context)),
                            string(&a.name),
                            string(&a.ty.to_string()),
                            string(&a.selection)
                        )
                    })
                    .collect();
                let _ = write!(text, ", contextArguments: [{}]", arguments.join(", "));
            }
            text.push(')');
            text
        })
        .collect()
}

fn same_type(a: &AstType, b: &AstType) -> bool {
    a == b
}
