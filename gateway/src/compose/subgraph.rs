//! One subgraph's schema, read the way federation reads it: Federation v2 (`@link` to the
//! federation spec, with its imports and renames) or Federation 1 (no link, `extend type`,
//! `@extends`). The SDL is validated with apollo-compiler against the federation definitions it
//! may use without declaring them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use apollo_compiler::ast::{self, Definition, Value};
use apollo_compiler::diagnostic::ToCliReport;
use apollo_compiler::parser::SourceMap;
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Node, Schema};
use indexmap::IndexMap;

use super::error::CompositionError;

const FEDERATION_SPEC: &str = "https://specs.apollo.dev/federation/";
const SPECS: &str = "https://specs.apollo.dev/";
/// Specs whose directives the federation spec re-exports.
const OWNED_BY_FEDERATION: &[&str] = &[
    "tag",
    "inaccessible",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
    "join",
];
/// The demand control spec, which Apollo's composition also reads linked on its own (its
/// `@cost` and `@listSize` then take the names this link gives them).
const COST_SPEC: &str = "https://specs.apollo.dev/cost/";
/// The newest federation spec version this composer knows (`v2.x`).
const LATEST_MINOR: u32 = 14;

/// The SDL of one subgraph and where it comes from.
#[derive(Debug, Clone)]
pub struct SubgraphInput {
    pub name: String,
    pub url: String,
    pub sdl: String,
    /// Shown in diagnostics (the schema file, or the URL it was fetched from).
    pub path: PathBuf,
}

/// The federation directives: spec name, the federation `v2.x` minor version that brought it,
/// and its definition (the newest; see [`signature`] for older shapes).
const DIRECTIVES: &[(&str, u32, &str)] = &[
    (
        "key",
        0,
        "(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE",
    ),
    ("requires", 0, "(fields: FieldSet!) on FIELD_DEFINITION"),
    ("provides", 0, "(fields: FieldSet!) on FIELD_DEFINITION"),
    (
        "external",
        0,
        "(reason: String) on OBJECT | FIELD_DEFINITION",
    ),
    ("shareable", 0, " repeatable on OBJECT | FIELD_DEFINITION"),
    ("extends", 0, " on OBJECT | INTERFACE"),
    (
        "override",
        0,
        "(from: String!, label: String) on FIELD_DEFINITION",
    ),
    (
        "inaccessible",
        0,
        " on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION",
    ),
    (
        "tag",
        0,
        "(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA",
    ),
    ("interfaceObject", 3, " on OBJECT"),
    (
        "composeDirective",
        1,
        // Nullable as Apollo defines it: a missing or empty name is refused by composition
        // (`DIRECTIVE_COMPOSITION_ERROR`), not by validation.
        "(name: String) repeatable on SCHEMA",
    ),
    (
        "authenticated",
        5,
        " on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "requiresScopes",
        5,
        "(scopes: [[Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "policy",
        6,
        "(policies: [[Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM",
    ),
    (
        "context",
        8,
        "(name: String!) repeatable on INTERFACE | OBJECT | UNION",
    ),
    (
        "fromContext",
        8,
        "(field: ContextFieldValue) on ARGUMENT_DEFINITION",
    ),
    (
        "cost",
        9,
        "(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR",
    ),
    (
        "listSize",
        9,
        "(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
    ),
    // Apollo Router's response cache tags: importing it is fine (Apollo's test helpers import
    // every federation directive), applying it is refused by `Checker::unsupported` rather
    // than dropped from the supergraph.
    (
        "cacheTag",
        12,
        "(format: String!) repeatable on OBJECT | FIELD_DEFINITION",
    ),
];

/// Scalars the federation directives take, by spec name.
const SCALARS: &[&str] = &["FieldSet", "Scope", "Policy", "ContextFieldValue"];

/// The federation `v2.x` minor version that brought each scalar (imports of it under an older
/// link are refused, as Apollo's composition does).
const SCALAR_SINCE: &[(&str, u32)] = &[
    ("FieldSet", 0),
    ("Scope", 5),
    ("Policy", 6),
    ("ContextFieldValue", 8),
];

/// A directive's definition as `minor` of the federation spec has it: `@override(label:)`
/// came with v2.7.
fn signature(spec_name: &str, definition: &'static str, minor: Option<u32>) -> &'static str {
    match (spec_name, minor) {
        ("override", Some(minor)) if minor < 7 => "(from: String!) on FIELD_DEFINITION",
        _ => definition,
    }
}

/// How this subgraph names the federation machinery.
#[derive(Debug, Clone)]
pub struct FederationNames {
    directives: HashMap<&'static str, Name>,
    /// The linked federation spec's minor version (`v2.x`); `None` for Federation 1.
    minor: Option<u32>,
}

impl FederationNames {
    /// The local name of a federation directive (`key` → `key`, `federation__key`, or an
    /// `as:` rename).
    pub fn directive(&self, spec_name: &str) -> &str {
        self.directives
            .get(spec_name)
            .map(|n| n.as_str())
            .unwrap_or("")
    }
}

/// A parsed, validated subgraph.
#[derive(Debug, Clone)]
pub struct Subgraph {
    pub name: String,
    pub url: String,
    pub schema: Valid<Schema>,
    pub names: FederationNames,
    /// Federation 1: no `@link`; every field shareable, extensions marked by `extend`.
    pub fed1: bool,
    /// Types and directives the prelude added (not part of the subgraph's own schema).
    machinery: HashSet<Name>,
    /// Custom directives named by `@composeDirective`, carried into the supergraph.
    pub composed: Vec<ComposedDirective>,
}

/// A custom directive a subgraph asks composition to keep (`@composeDirective(name: "@x")`),
/// imported from a spec it links.
#[derive(Debug, Clone)]
pub struct ComposedDirective {
    /// Its name in this subgraph (and in the supergraph).
    pub name: Name,
    /// Its name in the spec it comes from (an import may rename it).
    pub original: String,
    /// Where the subgraph's `@composeDirective` names it.
    pub location: Option<apollo_compiler::parser::SourceSpan>,
    /// The URL of the spec it comes from, linked in the supergraph too.
    pub url: String,
    pub definition: Node<ast::DirectiveDefinition>,
}

impl Subgraph {
    /// Whether a type is federation machinery rather than part of the subgraph's API.
    pub fn is_machinery(&self, type_name: &str) -> bool {
        self.machinery.contains(type_name)
            || type_name.starts_with("link__")
            || type_name.starts_with("federation__")
            || matches!(
                type_name,
                "_Any" | "_Entity" | "_Service" | "_FieldSet" | "FieldSet"
            )
    }

    /// The user-defined types of the subgraph, in declaration order.
    pub fn types(&self) -> impl Iterator<Item = &ExtendedType> {
        self.schema
            .types
            .values()
            .filter(|t| !t.is_built_in() && !self.is_machinery(t.name()))
    }

    /// Whether the element carries the federation directive `spec_name`.
    pub fn has(&self, directives: &ast::DirectiveList, spec_name: &str) -> bool {
        directives.has(self.names.directive(spec_name))
    }

    pub fn get<'a>(
        &self,
        directives: &'a ast::DirectiveList,
        spec_name: &str,
    ) -> Option<&'a Node<ast::Directive>> {
        directives.get(self.names.directive(spec_name))
    }

    pub fn has_type_directive(&self, ty: &ExtendedType, spec_name: &str) -> bool {
        ty.directives().has(self.names.directive(spec_name))
    }

    pub fn type_directives<'a>(
        &'a self,
        ty: &'a ExtendedType,
        spec_name: &'a str,
    ) -> impl Iterator<Item = &'a apollo_compiler::schema::Component<ast::Directive>> + 'a {
        ty.directives().get_all(self.names.directive(spec_name))
    }

    /// Where the subgraph links the federation spec, for errors about its imports.
    pub fn federation_link_span(&self) -> Option<apollo_compiler::parser::SourceSpan> {
        self.schema
            .schema_definition
            .directives
            .iter()
            .find(|d| {
                d.name == "link"
                    && d.specified_argument_by_name("url")
                        .and_then(|v| v.as_str())
                        .is_some_and(|url| url.starts_with(FEDERATION_SPEC))
            })
            .and_then(|d| d.location())
    }

    /// The root operation type names, mapped to the standard names (`Query`, ...).
    pub fn root_name(&self, type_name: &str) -> Option<&'static str> {
        let def = &self.schema.schema_definition;
        [
            (&def.query, "Query"),
            (&def.mutation, "Mutation"),
            (&def.subscription, "Subscription"),
        ]
        .into_iter()
        .find(|(root, _)| root.as_ref().is_some_and(|r| r.name == type_name))
        .map(|(_, standard)| standard)
    }
}

/// Reads and validates one subgraph. The source map comes back either way, so errors can be
/// rendered with their snippets.
pub fn parse(input: &SubgraphInput) -> (Result<Subgraph, Vec<CompositionError>>, SourceMap) {
    let invalid = |message: String, span| {
        CompositionError::new("INVALID_GRAPHQL", message).at(&input.name, span)
    };
    let document = match ast::Document::parse(input.sdl.as_str(), &input.path) {
        Ok(document) => document,
        Err(e) => {
            let errors = e
                .errors
                .iter()
                .map(|d| invalid(d.error.to_string(), d.error.location()))
                .collect();
            return (Err(errors), e.partial.sources.clone());
        }
    };
    let sources = document.sources.clone();
    let (names, fed1) = match federation_names(&input.name, &document) {
        Ok(found) => found,
        Err(errors) => return (Err(errors), sources),
    };
    let defined: HashSet<&str> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::DirectiveDefinition(def) => Some(def.name.as_str()),
            other => other.name().map(|n| n.as_str()),
        })
        .collect();
    let (mut prelude, machinery) = prelude(&names, fed1, &defined);
    if !defined.contains("Query") && !names_query_root(&document) {
        // Every subgraph answers `_service`, so every subgraph has a Query type.
        prelude.push_str("type Query { _service: String }\n");
    }
    // A subgraph printed from a built schema defines every federation element itself: then
    // there is nothing to add (and an empty document does not parse).
    let mut builder = Schema::builder()
        .adopt_orphan_extensions()
        .ignore_builtin_redefinitions();
    if !prelude.trim().is_empty() {
        let prelude = ast::Document::parse(prelude, "federation-definitions.graphql")
            .expect("the federation definitions parse");
        builder = builder.add_ast(&prelude);
    }
    let built = match builder.add_ast(&document).build() {
        Ok(schema) => with_default_roots(schema).validate(),
        Err(errors) => Err(errors),
    };
    match built {
        Ok(schema) => {
            let sources = schema.sources.clone();
            let composed = match composed_directives(&input.name, &schema, &names) {
                Ok(composed) => composed,
                Err(errors) => return (Err(errors), sources),
            };
            let subgraph = Subgraph {
                name: input.name.clone(),
                url: input.url.clone(),
                schema,
                names,
                fed1,
                machinery,
                composed,
            };
            (Ok(subgraph), sources)
        }
        Err(e) => {
            let errors = e
                .errors
                .iter()
                .map(|d| invalid(d.error.to_string(), d.error.location()))
                .collect();
            (Err(errors), e.partial.sources.clone())
        }
    }
}

/// Federation directives composition carries into the supergraph by itself: naming them in
/// `@composeDirective` is harmless; naming any other federation directive is an error.
const COMPOSED_BY_DEFAULT: &[&str] = &[
    "tag",
    "inaccessible",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
];

/// The directives `@composeDirective` names: each must be a directive imported from a spec the
/// subgraph links (not federation's own, which composition handles already), so the
/// supergraph can link the same spec.
fn composed_directives(
    subgraph: &str,
    schema: &Schema,
    names: &FederationNames,
) -> Result<Vec<ComposedDirective>, Vec<CompositionError>> {
    let compose_directive = names.directive("composeDirective");
    // Local name → spec name.
    let federation_locals: HashMap<&str, &str> = DIRECTIVES
        .iter()
        .map(|(spec, _, _)| (names.directive(spec), *spec))
        .filter(|(local, _)| !local.is_empty())
        .collect();
    let mut composed = Vec::new();
    let mut errors = Vec::new();
    let links: Vec<&Node<ast::Directive>> = schema
        .schema_definition
        .directives
        .iter()
        .filter(|d| d.name == "link")
        .map(|d| &d.node)
        .collect();
    for application in schema
        .schema_definition
        .directives
        .iter()
        .filter(|d| !compose_directive.is_empty() && d.name == compose_directive)
    {
        let requested = application
            .specified_argument_by_name("name")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let Some(local) = requested.strip_prefix('@') else {
            errors.push(
                CompositionError::new(
                    "DIRECTIVE_COMPOSITION_ERROR",
                    format!("@composeDirective(name: \"{requested}\") in subgraph \"{subgraph}\": the name must start with '@'"),
                )
                .at(subgraph, application.location()),
            );
            continue;
        };
        if let Some(spec) = federation_locals.get(local) {
            // Federation's own directives: those composition carries anyway may be named
            // (Apollo hints that it is not needed), the others cannot be composed.
            if !COMPOSED_BY_DEFAULT.contains(spec) {
                errors.push(
                    CompositionError::new(
                        "DIRECTIVE_COMPOSITION_ERROR",
                        format!("Composing federation directive \"{requested}\" in subgraph \"{subgraph}\" is not supported"),
                    )
                    .at(subgraph, application.location()),
                );
            }
            continue;
        }
        let from_link = links.iter().find_map(|link| {
            let url = link.specified_argument_by_name("url")?.as_str()?;
            if url.starts_with(FEDERATION_SPEC) {
                return None;
            }
            // Not imported: the link's namespace (`as:`, or the spec's name) gives
            // `@spec` for the directive named after the spec and `@spec__name` for the others.
            let namespaced = || {
                let spec = link
                    .specified_argument_by_name("as")
                    .and_then(|v| v.as_str())
                    .or_else(|| url.trim_end_matches('/').rsplit('/').nth(1))?;
                if local == spec {
                    Some(spec.to_string())
                } else {
                    local
                        .strip_prefix(spec)
                        .and_then(|rest| rest.strip_prefix("__"))
                        .map(str::to_string)
                }
            };
            let items: &[Node<Value>] = match link
                .specified_argument_by_name("import")
                .map(|v| v.as_ref())
            {
                Some(Value::List(items)) => items,
                _ => &[],
            };
            // The directive's name in its spec, when the import brings it in as `requested`.
            let original = items.iter().find_map(|item| match item.as_ref() {
                Value::String(name) => (name == requested).then(|| name.to_string()),
                Value::Object(fields) => {
                    let get = |key: &str| {
                        fields
                            .iter()
                            .find(|(k, _)| k == key)
                            .and_then(|(_, v)| v.as_str())
                    };
                    let name = get("name")?;
                    (get("as").unwrap_or(name) == requested).then(|| name.to_string())
                }
                _ => None,
            });
            let original = original.or_else(namespaced)?;
            Some((url.to_string(), original))
        });
        let definition = schema.directive_definitions.get(local);
        match (from_link, definition) {
            (Some((url, original)), Some(definition)) => composed.push(ComposedDirective {
                name: definition.name.clone(),
                original: original.trim_start_matches('@').to_string(),
                location: application.location(),
                url,
                definition: definition.clone(),
            }),
            _ => errors.push(
                CompositionError::new(
                    "DIRECTIVE_COMPOSITION_ERROR",
                    format!("@composeDirective(name: \"{requested}\") in subgraph \"{subgraph}\": the directive must be defined and imported from a spec the subgraph @links (not the federation spec)"),
                )
                .at(subgraph, application.location()),
            ),
        }
    }
    if errors.is_empty() {
        Ok(composed)
    } else {
        Err(errors)
    }
}

/// Whether a schema definition in the document names the query root.
fn names_query_root(document: &ast::Document) -> bool {
    document.definitions.iter().any(|d| match d {
        Definition::SchemaDefinition(def) => def
            .root_operations
            .iter()
            .any(|op| op.0 == ast::OperationType::Query),
        _ => false,
    })
}

/// `extend schema @link(...)` alone makes a schema definition without root operations; the
/// types named `Query`, `Mutation` and `Subscription` are the roots then, as without one.
fn with_default_roots(mut schema: Schema) -> Schema {
    let roots = [
        ("Query", ast::OperationType::Query),
        ("Mutation", ast::OperationType::Mutation),
        ("Subscription", ast::OperationType::Subscription),
    ];
    let present: Vec<_> = roots
        .iter()
        .filter(|(name, _)| schema.types.get(*name).is_some_and(|t| t.is_object()))
        .map(|(name, op)| (Name::new_static(name).expect("a name"), *op))
        .collect();
    let definition = schema.schema_definition.make_mut();
    for (name, operation) in present {
        let slot = match operation {
            ast::OperationType::Query => &mut definition.query,
            ast::OperationType::Mutation => &mut definition.mutation,
            ast::OperationType::Subscription => &mut definition.subscription,
        };
        if slot.is_none() {
            *slot = Some(name.into());
        }
    }
    schema
}

/// Reads the `@link` to the federation spec: which directives are imported under which names.
fn federation_names(
    subgraph: &str,
    document: &ast::Document,
) -> Result<(FederationNames, bool), Vec<CompositionError>> {
    let links = document.definitions.iter().flat_map(|d| match d {
        Definition::SchemaDefinition(def) => def.directives.iter().collect::<Vec<_>>(),
        Definition::SchemaExtension(ext) => ext.directives.iter().collect(),
        _ => Vec::new(),
    });
    let links: Vec<&Node<ast::Directive>> = links.filter(|d| d.name == "link").collect();
    // Specs whose directives federation itself provides are imported from federation: linked
    // on their own they would be read twice, or not at all.
    for link in &links {
        let url = link
            .specified_argument_by_name("url")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let spec = url
            .strip_prefix(SPECS)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or("");
        if OWNED_BY_FEDERATION.contains(&spec) {
            return Err(vec![
                CompositionError::new(
                    "INVALID_LINK_DIRECTIVE_USAGE",
                    format!(
                        "subgraph \"{subgraph}\" links {url} directly: import its directives from https://specs.apollo.dev/federation instead"
                    ),
                )
                .at(subgraph, link.location()),
            ]);
        }
    }
    // `@link(url: ".../cost/v0.1", import: [...])`: local names of `@cost` and `@listSize`.
    let cost_names: Vec<(&'static str, String)> = links
        .iter()
        .filter(|link| {
            link.specified_argument_by_name("url")
                .and_then(|v| v.as_str())
                .is_some_and(|url| url.starts_with(COST_SPEC))
        })
        .flat_map(|link| {
            let prefix = link
                .specified_argument_by_name("as")
                .and_then(|v| v.as_str())
                .unwrap_or("cost")
                .to_string();
            let imported = read_imports(link);
            ["cost", "listSize"].map(|spec_name| {
                let local = match imported.get(&format!("@{spec_name}")) {
                    Some(alias) => alias.trim_start_matches('@').to_string(),
                    None if spec_name == "cost" => prefix.clone(),
                    None => format!("{prefix}__{spec_name}"),
                };
                (spec_name, local)
            })
        })
        .collect();
    for link in links {
        let Some(url) = link
            .specified_argument_by_name("url")
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        let Some(version) = url.strip_prefix(FEDERATION_SPEC) else {
            continue;
        };
        let minor = version
            .strip_prefix("v2.")
            .and_then(|minor| minor.parse::<u32>().ok())
            .filter(|minor| *minor <= LATEST_MINOR);
        let Some(minor) = minor else {
            return Err(vec![
                CompositionError::new(
                    "UNKNOWN_FEDERATION_LINK_VERSION",
                    format!(
                        "subgraph \"{subgraph}\" links federation {version}, which this composer does not know (v2.0 to v2.{LATEST_MINOR})"
                    ),
                )
                .at(subgraph, link.location()),
            ]);
        };
        let prefix = link
            .specified_argument_by_name("as")
            .and_then(|v| v.as_str())
            .unwrap_or("federation")
            .to_string();
        let imported = read_imports(link);
        let import_errors: Vec<CompositionError> = imported
            .keys()
            .filter_map(|element| refused_import(subgraph, element, minor))
            .map(|error| error.at(subgraph, link.location()))
            .collect();
        if !import_errors.is_empty() {
            return Err(import_errors);
        }
        let mut directives = HashMap::new();
        for (spec_name, since, _) in DIRECTIVES {
            if *since > minor {
                continue;
            }
            let local = match imported.get(&format!("@{spec_name}")) {
                Some(alias) => alias.trim_start_matches('@').to_string(),
                None => format!("{prefix}__{spec_name}"),
            };
            if let Ok(name) = Name::new(&local) {
                directives.insert(*spec_name, name);
            }
        }
        for (spec_name, local) in &cost_names {
            if let Ok(name) = Name::new(local) {
                directives.insert(*spec_name, name);
            }
        }
        return Ok((
            FederationNames {
                directives,
                minor: Some(minor),
            },
            false,
        ));
    }
    let directives = DIRECTIVES
        .iter()
        .map(|(spec_name, _, _)| {
            (
                *spec_name,
                Name::new(spec_name).expect("spec names are names"),
            )
        })
        .collect();
    Ok((
        FederationNames {
            directives,
            minor: None,
        },
        true,
    ))
}

/// The `import:` list of a `@link`: element name (`@key`, `FieldSet`) to its local name.
fn read_imports(link: &ast::Directive) -> IndexMap<String, String> {
    let mut imported = IndexMap::new();
    let Some(Value::List(items)) = link
        .specified_argument_by_name("import")
        .map(|v| v.as_ref())
    else {
        return imported;
    };
    for item in items {
        match item.as_ref() {
            Value::String(name) => {
                imported.insert(name.clone(), name.clone());
            }
            Value::Object(fields) => {
                let get = |key: &str| {
                    fields
                        .iter()
                        .find(|(k, _)| k == key)
                        .and_then(|(_, v)| v.as_str().map(str::to_string))
                };
                if let Some(name) = get("name") {
                    let alias = get("as").unwrap_or_else(|| name.clone());
                    imported.insert(name, alias);
                }
            }
            _ => {}
        }
    }
    imported
}

/// Why an element imported from federation `v2.<minor>` cannot be: the version does not have
/// it (Apollo's `INVALID_LINK_DIRECTIVE_USAGE`).
fn refused_import(subgraph: &str, element: &str, minor: u32) -> Option<CompositionError> {
    let since = match element.strip_prefix('@') {
        Some(directive) => DIRECTIVES
            .iter()
            .find(|(name, _, _)| *name == directive)
            .map(|(_, since, _)| *since),
        None => SCALAR_SINCE
            .iter()
            .find(|(name, _)| *name == element)
            .map(|(_, since)| *since),
    };
    match since {
        Some(since) if since <= minor => None,
        Some(_) => Some(unknown_element(subgraph, element)),
        None => Some(unknown_element(subgraph, element)),
    }
}

fn unknown_element(subgraph: &str, element: &str) -> CompositionError {
    CompositionError::new(
        "INVALID_LINK_DIRECTIVE_USAGE",
        format!("[{subgraph}] Cannot import unknown element \"{element}\"."),
    )
}

/// Definitions for the federation directives and scalars the subgraph may use without
/// declaring them, skipping what it declares itself.
fn prelude(
    names: &FederationNames,
    fed1: bool,
    defined: &HashSet<&str>,
) -> (String, HashSet<Name>) {
    let mut text = String::new();
    let mut machinery = HashSet::new();
    let scalar_name = |spec: &str| -> String {
        if fed1 {
            if spec == "FieldSet" {
                "_FieldSet".to_string()
            } else {
                format!("federation__{spec}")
            }
        } else {
            format!("federation__{spec}")
        }
    };
    for scalar in SCALARS {
        let name = scalar_name(scalar);
        if !defined.contains(name.as_str()) {
            text.push_str(&format!("scalar {name}\n"));
        }
        machinery.insert(Name::new(&name).expect("scalar names are names"));
    }
    for (spec_name, _, definition) in DIRECTIVES {
        let local = names.directive(spec_name);
        if local.is_empty() || defined.contains(local) {
            continue;
        }
        let mut signature = signature(spec_name, definition, names.minor).to_string();
        for scalar in SCALARS {
            signature =
                signature.replace(&format!("{scalar}!"), &format!("{}!", scalar_name(scalar)));
            signature =
                signature.replace(&format!("{scalar}]"), &format!("{}]", scalar_name(scalar)));
            signature = signature.replace(
                &format!(": {scalar})"),
                &format!(": {})", scalar_name(scalar)),
            );
        }
        text.push_str(&format!("directive @{local}{signature}\n"));
    }
    for (name, definition) in [
        ("link__Import", "scalar link__Import"),
        ("link__Purpose", "enum link__Purpose { SECURITY EXECUTION }"),
    ] {
        if !defined.contains(name) {
            text.push_str(definition);
            text.push('\n');
        }
        machinery.insert(Name::new(name).expect("a name"));
    }
    if !defined.contains("link") {
        text.push_str(
            "directive @link(url: String!, as: String, import: [link__Import], for: link__Purpose) repeatable on SCHEMA\n",
        );
    }
    (text, machinery)
}
