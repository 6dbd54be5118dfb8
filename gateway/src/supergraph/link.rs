//! Reads the `@link` directives on the schema definition to learn which specs the supergraph
//! uses and under which names, so that a supergraph written with `as:` renames still loads.

use apollo_compiler::Schema;

use super::error::SupergraphError;

const JOIN_SPEC: &str = "https://specs.apollo.dev/join/";
const LINK_SPEC: &str = "https://specs.apollo.dev/link/";
const CORE_SPEC: &str = "https://specs.apollo.dev/core/";
const INACCESSIBLE_SPEC: &str = "https://specs.apollo.dev/inaccessible/";

/// The names under which the spec machinery appears in this supergraph.
#[derive(Debug, Clone)]
pub struct SpecNames {
    /// Prefix of the join directives and types: `join` unless linked `as:` something else.
    pub join: String,
    /// Prefix of the link spec's own types (`link__Import`, `link__Purpose`).
    pub link: String,
    /// Name of the `@inaccessible` directive, when the spec is linked.
    pub inaccessible: Option<String>,
}

impl SpecNames {
    pub fn read(schema: &Schema) -> Result<Self, SupergraphError> {
        let mut join = None;
        let mut link = "link".to_string();
        let mut inaccessible = None;
        for directive in schema.schema_definition.directives.iter() {
            if directive.name != "link" && directive.name != "core" {
                continue;
            }
            let Some(url) = directive
                .specified_argument_by_name("url")
                .or_else(|| directive.specified_argument_by_name("feature"))
                .and_then(|v| v.as_str())
            else {
                continue;
            };
            let alias = directive
                .specified_argument_by_name("as")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            if let Some(version) = url.strip_prefix(JOIN_SPEC) {
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
                join = Some(alias.unwrap_or_else(|| "join".into()));
            } else if url.starts_with(LINK_SPEC) || url.starts_with(CORE_SPEC) {
                if let Some(alias) = alias {
                    link = alias;
                }
            } else if url.starts_with(INACCESSIBLE_SPEC) {
                inaccessible = Some(alias.unwrap_or_else(|| "inaccessible".into()));
            }
        }
        let join = join.ok_or(SupergraphError::MissingJoinSpec)?;
        Ok(Self {
            join,
            link,
            inaccessible,
        })
    }

    /// The name of a join directive or type, e.g. `join("type")` → `join__type`.
    pub fn join(&self, element: &str) -> String {
        format!("{}__{element}", self.join)
    }

    /// Whether a type or directive name belongs to the join or link machinery.
    pub fn is_machinery(&self, name: &str) -> bool {
        let prefixed = |prefix: &str| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with("__"))
        };
        prefixed(&self.join) || prefixed(&self.link) || name == "link" || name == "core"
    }
}

fn parse_minor(version: &str) -> Option<u32> {
    let (major, minor) = version.strip_prefix('v')?.split_once('.')?;
    (major == "0").then_some(())?;
    minor.parse().ok()
}
