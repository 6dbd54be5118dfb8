//! Reads the `@link` directives on the schema definition to learn which specs the supergraph
//! uses and under which names: a spec linked `as:` another prefix, and elements imported
//! (`import: ["@requiresScopes", {name: "@inaccessible", as: "@private"}]`) under their own or
//! another name. Every spec the gateway acts on is looked up through these names, so a
//! supergraph written with renames loads and behaves the same.

use apollo_compiler::ast::Value;
use apollo_compiler::{Node, Schema};

use super::error::SupergraphError;

const SPECS: &str = "https://specs.apollo.dev/";
pub const JOIN: &str = "join";
const LINK: &str = "link";
const CORE: &str = "core";
pub const INACCESSIBLE: &str = "inaccessible";
pub const AUTHENTICATED: &str = "authenticated";
pub const REQUIRES_SCOPES: &str = "requiresScopes";
pub const POLICY: &str = "policy";
pub const CONTEXT: &str = "context";

/// One `@link`ed spec.
#[derive(Debug, Clone)]
struct LinkedSpec {
    /// Whether the URL is one of Apollo's (`https://specs.apollo.dev/...`): only those are
    /// looked up by name, any other link (a `@composeDirective`d one) is only removed from
    /// the API schema.
    apollo: bool,
    /// The spec's name in its URL (`https://specs.apollo.dev/<name>/v0.1`).
    name: String,
    /// The prefix of its elements: its name, or `as:`.
    prefix: String,
    /// `(element as the spec names it, name in this schema)`, directives with their `@`.
    imports: Vec<(String, String)>,
}

impl LinkedSpec {
    /// The name of the spec's directive `directive` (without `@`) in this schema.
    fn directive(&self, directive: &str) -> String {
        let spec_name = format!("@{directive}");
        if let Some((_, local)) = self.imports.iter().find(|(name, _)| *name == spec_name) {
            return local.trim_start_matches('@').to_string();
        }
        if directive == self.name {
            self.prefix.clone()
        } else {
            format!("{}__{directive}", self.prefix)
        }
    }

    /// The name of the spec's type `ty` in this schema.
    fn type_name(&self, ty: &str) -> String {
        match self.imports.iter().find(|(name, _)| name == ty) {
            Some((_, local)) => local.clone(),
            None => format!("{}__{ty}", self.prefix),
        }
    }

    /// Whether `name` (a directive's, without `@`, when `directive`) is one of this spec's
    /// elements in this schema: `prefix__element`, the directive named like the spec
    /// (or its `as:`), or an import under its local name.
    fn owns(&self, name: &str, directive: bool) -> bool {
        let prefixed = name
            .strip_prefix(self.prefix.as_str())
            .is_some_and(|rest| rest.starts_with("__"));
        let imported = self
            .imports
            .iter()
            .any(|(_, local)| match local.strip_prefix('@') {
                Some(local) => directive && local == name,
                None => !directive && local == name,
            });
        prefixed || imported || (directive && name == self.prefix)
    }
}

/// The names under which the spec machinery and features appear in this supergraph.
#[derive(Debug, Clone)]
pub struct SpecNames {
    join: LinkedSpec,
    link: LinkedSpec,
    /// Name of the `@inaccessible` directive, when the spec is linked.
    pub inaccessible: Option<String>,
    /// Every linked spec but join and link, Apollo's or not.
    features: Vec<LinkedSpec>,
}

impl SpecNames {
    pub fn read(schema: &Schema) -> Result<Self, SupergraphError> {
        let (link_directive, mut link) = bootstrap(schema);
        let mut join = None;
        let mut features = Vec::new();
        for directive in schema.schema_definition.directives.iter() {
            if directive.name.as_str() != link_directive {
                continue;
            }
            let Some(url) = directive
                .specified_argument_by_name("url")
                .or_else(|| directive.specified_argument_by_name("feature"))
                .and_then(|v| v.as_str())
            else {
                continue;
            };
            let Some((name, version)) = name_and_version(url) else {
                continue;
            };
            let apollo = url.starts_with(SPECS);
            let linked = LinkedSpec {
                apollo,
                name: name.to_string(),
                prefix: directive
                    .specified_argument_by_name("as")
                    .and_then(|v| v.as_str())
                    .unwrap_or(name)
                    .to_string(),
                imports: directive
                    .specified_argument_by_name("import")
                    .map(imports)
                    .unwrap_or_default(),
            };
            match name {
                JOIN if apollo => {
                    let minor = parse_minor(version).ok_or_else(|| {
                        SupergraphError::UnsupportedJoinVersion {
                            version: version.to_string(),
                        }
                    })?;
                    if !(2..=5).contains(&minor) {
                        return Err(SupergraphError::UnsupportedJoinVersion {
                            version: version.to_string(),
                        });
                    }
                    join = Some(linked);
                }
                LINK | CORE if apollo => link = linked,
                _ => features.push(linked),
            }
        }
        let join = join.ok_or(SupergraphError::MissingJoinSpec)?;
        let mut names = Self {
            join,
            link,
            inaccessible: None,
            features,
        };
        names.inaccessible = names.directive(INACCESSIBLE, INACCESSIBLE);
        Ok(names)
    }

    /// The name in this schema of a join directive (`join("type")` → `join__type`) or type
    /// (`join("Graph")` → `join__Graph`): the join spec names its directives in lower and its
    /// types in upper camel case, and either may be imported under another name.
    pub fn join(&self, element: &str) -> String {
        if element.starts_with(|c: char| c.is_ascii_uppercase()) {
            self.join.type_name(element)
        } else {
            self.join.directive(element)
        }
    }

    /// The name in this schema of the directive `directive` of the spec `spec` (by the name
    /// in its URL), if the spec is linked.
    pub fn directive(&self, spec: &str, directive: &str) -> Option<String> {
        self.feature(spec).map(|linked| linked.directive(directive))
    }

    /// Whether a directive (without `@`) belongs to a linked feature: its definition and
    /// every application are not part of the API schema, as in Apollo's API schema (the
    /// security features say who may see what and are the gateway's to enforce; `@tag`,
    /// `@cost` and the rest are metadata for tools, not for clients).
    pub fn is_feature_directive(&self, name: &str) -> bool {
        self.features.iter().any(|linked| linked.owns(name, true))
    }

    /// Whether a type belongs to a linked feature (`policy__Policy`, `requiresScopes__Scope`,
    /// or an imported `Policy`).
    pub fn is_feature_type(&self, name: &str) -> bool {
        self.features.iter().any(|linked| linked.owns(name, false))
    }

    fn feature(&self, spec: &str) -> Option<&LinkedSpec> {
        self.features
            .iter()
            .find(|linked| linked.apollo && linked.name == spec)
    }

    /// Whether a type or directive name belongs to the join or link machinery.
    pub fn is_machinery(&self, name: &str) -> bool {
        [&self.join, &self.link]
            .iter()
            .any(|spec| spec.owns(name, true) || spec.owns(name, false))
    }
}

/// The name of the directive that links specs in this schema, and the link spec itself:
/// `@link` unless the link spec is linked `as:` another name
/// (`@mylink(url: "https://specs.apollo.dev/link/v1.0", as: "mylink")`), or Federation 1's
/// `@core`. Reading links under the wrong name would miss every feature, `@inaccessible`
/// included.
fn bootstrap(schema: &Schema) -> (String, LinkedSpec) {
    let default = |name: &str| LinkedSpec {
        apollo: true,
        name: name.to_string(),
        prefix: name.to_string(),
        imports: Vec::new(),
    };
    for directive in schema.schema_definition.directives.iter() {
        for (argument, spec) in [("url", LINK), ("feature", CORE)] {
            let Some(url) = directive
                .specified_argument_by_name(argument)
                .and_then(|v| v.as_str())
            else {
                continue;
            };
            if url.starts_with(&format!("{SPECS}{spec}/")) {
                let prefix = directive
                    .specified_argument_by_name("as")
                    .and_then(|v| v.as_str())
                    .unwrap_or(spec);
                if prefix == directive.name.as_str() {
                    let mut linked = default(spec);
                    linked.prefix = prefix.to_string();
                    return (prefix.to_string(), linked);
                }
            }
        }
    }
    (LINK.to_string(), default(LINK))
}

/// Whether a schema links the join spec, under whatever name it links specs.
pub fn links_join_spec(schema: &Schema) -> bool {
    let (link_directive, _) = bootstrap(schema);
    schema
        .schema_definition
        .directives
        .iter()
        .filter(|directive| directive.name.as_str() == link_directive)
        .filter_map(|directive| {
            directive
                .specified_argument_by_name("url")
                .or_else(|| directive.specified_argument_by_name("feature"))
                .and_then(|url| url.as_str())
        })
        .any(|url| url.starts_with(&format!("{SPECS}{JOIN}/")))
}

/// `https://host/path/<name>/v<version>` as `(name, version)`.
fn name_and_version(url: &str) -> Option<(&str, &str)> {
    let url = url.split(['?', '#']).next()?.trim_end_matches('/');
    let (rest, version) = url.rsplit_once('/')?;
    let name = rest.rsplit_once('/').map_or(rest, |(_, name)| name);
    (version.starts_with('v') && !name.is_empty()).then_some((name, version))
}

/// `import: ["@a", "T", {name: "@b", as: "@c"}]` as `(name, local name)` pairs.
fn imports(value: &Node<Value>) -> Vec<(String, String)> {
    let Value::List(items) = value.as_ref() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item.as_ref() {
            Value::String(name) => Some((name.clone(), name.clone())),
            Value::Object(fields) => {
                let field = |key: &str| {
                    fields
                        .iter()
                        .find(|(name, _)| name == key)
                        .and_then(|(_, v)| v.as_str())
                        .map(str::to_string)
                };
                let name = field("name")?;
                Some((name.clone(), field("as").unwrap_or(name)))
            }
            _ => None,
        })
        .collect()
}

fn parse_minor(version: &str) -> Option<u32> {
    let (major, minor) = version.strip_prefix('v')?.split_once('.')?;
    (major == "0").then_some(())?;
    minor.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(links: &str) -> SpecNames {
        let sdl = format!(
            "schema @link(url: \"https://specs.apollo.dev/link/v1.0\") \
             @link(url: \"https://specs.apollo.dev/join/v0.5\", for: EXECUTION) {links} \
             {{ query: Query }} type Query {{ a: Int }}"
        );
        SpecNames::read(&Schema::parse(sdl, "s.graphql").unwrap_or_else(|e| e.partial)).unwrap()
    }

    #[test]
    fn linked_features_are_found_under_their_names() {
        let plain = names(
            "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY) \
             @link(url: \"https://specs.apollo.dev/requiresScopes/v0.1\", for: SECURITY)",
        );
        assert_eq!(plain.inaccessible.as_deref(), Some("inaccessible"));
        assert_eq!(
            plain.directive(REQUIRES_SCOPES, REQUIRES_SCOPES).as_deref(),
            Some("requiresScopes")
        );
        assert_eq!(plain.directive(POLICY, POLICY), None);
        assert!(plain.is_feature_directive("requiresScopes"));
        assert!(plain.is_feature_type("requiresScopes__Scope"));
        assert!(plain.is_feature_directive("inaccessible"));
        assert!(!plain.is_feature_directive("policy"));
        assert!(!plain.is_feature_type("Scope"));
    }

    #[test]
    fn imports_and_aliases_rename_elements() {
        // As @apollo/composition 2.9 and later write a renamed import, and 2.8 an alias.
        let renamed = names(
            "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY, \
               import: [{name: \"@inaccessible\", as: \"@private\"}]) \
             @link(url: \"https://specs.apollo.dev/authenticated/v0.1\", for: SECURITY, \
               import: [{name: \"@authenticated\", as: \"@auth\"}]) \
             @link(url: \"https://specs.apollo.dev/requiresScopes/v0.1\", as: \"scopes\") \
             @link(url: \"https://specs.apollo.dev/policy/v0.1\", import: [\"@policy\", \"Policy\"])",
        );
        assert_eq!(renamed.inaccessible.as_deref(), Some("private"));
        assert_eq!(
            renamed.directive(AUTHENTICATED, AUTHENTICATED).as_deref(),
            Some("auth")
        );
        assert_eq!(
            renamed
                .directive(REQUIRES_SCOPES, REQUIRES_SCOPES)
                .as_deref(),
            Some("scopes")
        );
        assert_eq!(renamed.directive(POLICY, POLICY).as_deref(), Some("policy"));
        for directive in ["private", "auth", "scopes", "policy"] {
            assert!(renamed.is_feature_directive(directive), "{directive}");
        }
        for ty in ["scopes__Scope", "Policy"] {
            assert!(renamed.is_feature_type(ty), "{ty}");
        }
        // A spec linked `as:` another prefix leaves its own name to the schema.
        assert!(!renamed.is_feature_type("requiresScopes__Scope"));
        assert!(!renamed.is_feature_directive("requiresScopes"));
    }

    #[test]
    fn a_renamed_link_spec_still_finds_every_feature() {
        let sdl = "schema @l(url: \"https://specs.apollo.dev/link/v1.0\", as: \"l\") \
             @l(url: \"https://specs.apollo.dev/join/v0.3\", as: \"j\", \
               import: [{name: \"@field\", as: \"@jf\"}, {name: \"Graph\", as: \"G\"}]) \
             @l(url: \"https://specs.apollo.dev/inaccessible/v0.2\", import: [{name: \"@inaccessible\", as: \"@hidden\"}]) \
             @l(url: \"https://example.com/custom/v1.0\", import: [\"@custom\"]) \
             { query: Query } type Query { a: Int }";
        let schema = Schema::parse(sdl, "s.graphql").unwrap_or_else(|e| e.partial);
        assert!(links_join_spec(&schema));
        let names = SpecNames::read(&schema).unwrap();
        assert_eq!(names.inaccessible.as_deref(), Some("hidden"));
        assert_eq!(names.join("field"), "jf");
        assert_eq!(names.join("type"), "j__type");
        assert_eq!(names.join("Graph"), "G");
        assert!(names.is_machinery("l") && names.is_machinery("l__Import"));
        assert!(names.is_machinery("jf") && names.is_machinery("G"));
        assert!(!names.is_machinery("link"));
        // A link outside Apollo's specs is still a feature (kept out of the API schema) but
        // never mistaken for one of Apollo's.
        assert!(names.is_feature_directive("custom"));
        assert_eq!(names.directive("custom", "custom"), None);
    }
}
