//! The `limits:` section: how large an operation may be before the gateway does any work for
//! it. Every limit is on by default with a value far above what applications send, and can be
//! raised or set to 0 to turn it off (docs/config.md).

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Tokens in the document, counted while lexing: a larger document is refused before it
    /// is parsed further (MAX_TOKENS_EXCEEDED).
    pub max_tokens: usize,
    /// Nesting the parser follows (selection sets, lists, objects) before refusing
    /// (MAX_RECURSION_EXCEEDED); it keeps the parser's stack bounded.
    pub max_recursion: usize,
    /// The deepest field nesting, fragments expanded (MAX_DEPTH_EXCEEDED).
    pub max_depth: u64,
    /// Distinct `Type.field` coordinates selected (MAX_HEIGHT_EXCEEDED).
    pub max_height: u64,
    /// Aliased fields, counted in every place a fragment is spread (MAX_ALIASES_EXCEEDED).
    pub max_aliases: u64,
    /// Fields at the root of the operation (MAX_ROOT_FIELDS_EXCEEDED).
    pub max_root_fields: u64,
    /// Fields with every fragment spread expanded: the work of normalising and planning the
    /// operation (MAX_FIELDS_EXCEEDED). This is what refuses fragments that spread each other
    /// twice per level.
    pub max_fields: u64,
    /// Directives on one selection, fragment or operation (MAX_DIRECTIVES_EXCEEDED).
    pub max_directives: u64,
    /// Fragment definitions in the document (MAX_FRAGMENTS_EXCEEDED).
    pub max_fragments: u64,
    /// Errors in one response; the rest are replaced by one TOO_MANY_ERRORS error that says
    /// how many were left out.
    pub max_errors: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            // Apollo Router's parser defaults: GraphiQL's introspection query is ~450 tokens.
            max_tokens: 15_000,
            max_recursion: 500,
            max_depth: 64,
            max_height: 1_000,
            max_aliases: 256,
            max_root_fields: 128,
            max_fields: 20_000,
            max_directives: 16,
            max_fragments: 1_000,
            max_errors: 100,
        }
    }
}

impl LimitsConfig {
    /// Every limit off: for tools (`gateway plan`) and tests that measure the engine itself.
    pub fn unlimited() -> Self {
        Self {
            max_tokens: 0,
            max_recursion: 0,
            max_depth: 0,
            max_height: 0,
            max_aliases: 0,
            max_root_fields: 0,
            max_fields: 0,
            max_directives: 0,
            max_fragments: 0,
            max_errors: 0,
        }
    }
}
