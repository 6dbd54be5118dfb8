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

/// One `@link`ed spec.
#[derive(Debug, Clone)]
struct LinkedSpec {
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
}

/// The names under which the spec machinery and features appear in this supergraph.
#[derive(Debug, Clone)]
pub struct SpecNames {
    /// Prefix of the join directives and types: `join` unless linked `as:` something else.
    pub join: String,
    /// Prefix of the link spec's own types (`link__Import`, `link__Purpose`).
    pub link: String,
    /// Name of the `@inaccessible` directive, when the spec is linked.
    pub inaccessible: Option<String>,
    /// Every linked `https://specs.apollo.dev/` spec but join and link.
    features: Vec<LinkedSpec>,
}

impl SpecNames {
    pub fn read(schema: &Schema) -> Result<Self, SupergraphError> {
        let mut join = None;
        let mut link = LINK.to_string();
        let mut features = Vec::new();
        for directive in schema.schema_definition.directives.iter() {
            if directive.name != LINK && directive.name != CORE {
                continue;
            }
            let Some(url) = directive
                .specified_argument_by_name("url")
                .or_else(|| directive.specified_argument_by_name("feature"))
                .and_then(|v| v.as_str())
            else {
                continue;
            };
            let Some((name, version)) = url
                .strip_prefix(SPECS)
                .and_then(|rest| rest.trim_end_matches('/').split_once('/'))
            else {
                continue;
            };
            let alias = directive
                .specified_argument_by_name("as")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            match name {
                JOIN => {
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
                    join = Some(alias.unwrap_or_else(|| JOIN.into()));
                }
                LINK | CORE => {
                    if let Some(alias) = alias {
                        link = alias;
                    }
                }
                _ => features.push(LinkedSpec {
                    name: name.to_string(),
                    prefix: alias.unwrap_or_else(|| name.to_string()),
                    imports: directive
                        .specified_argument_by_name("import")
                        .map(imports)
                        .unwrap_or_default(),
                }),
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

    /// The name of a join directive or type, e.g. `join("type")` → `join__type`.
    pub fn join(&self, element: &str) -> String {
        format!("{}__{element}", self.join)
    }

    /// The name in this schema of the directive `directive` of the spec `spec` (by the name
    /// in its URL), if the spec is linked.
    pub fn directive(&self, spec: &str, directive: &str) -> Option<String> {
        self.feature(spec).map(|linked| linked.directive(directive))
    }

    /// Every directive and type name of a linked feature that is not part of the API: the
    /// security features' definitions (`@authenticated`, `@requiresScopes` and its
    /// `requiresScopes__Scope`, `@policy`, `policy__Policy`), which say who may see what and
    /// are the gateway's to enforce, not the clients' to see.
    pub fn hidden_feature_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (spec, types) in [
            (AUTHENTICATED, &[][..]),
            (REQUIRES_SCOPES, &["Scope"][..]),
            (POLICY, &["Policy"][..]),
        ] {
            if let Some(linked) = self.feature(spec) {
                names.push(linked.directive(spec));
                names.extend(types.iter().map(|ty| linked.type_name(ty)));
            }
        }
        names
    }

    fn feature(&self, spec: &str) -> Option<&LinkedSpec> {
        self.features.iter().find(|linked| linked.name == spec)
    }

    /// Whether a type or directive name belongs to the join or link machinery.
    pub fn is_machinery(&self, name: &str) -> bool {
        let prefixed = |prefix: &str| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with("__"))
        };
        prefixed(&self.join) || prefixed(&self.link) || name == LINK || name == CORE
    }
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
        assert_eq!(
            plain.hidden_feature_names(),
            ["requiresScopes", "requiresScopes__Scope"]
        );
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
        assert_eq!(
            renamed.hidden_feature_names(),
            ["auth", "scopes", "scopes__Scope", "policy", "Policy"]
        );
    }
}
