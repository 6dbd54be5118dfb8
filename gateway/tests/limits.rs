//! Operation limits over the demo supergraph: each limit lets an operation at its value
//! through to planning and refuses one just above with its coded error, before any planning.

use gateway::config::Config;
use gateway::gateway::{Gateway, GraphQLRequest};
use gateway::limits::LimitsConfig;
use gateway::response::GraphQLError;
use gateway::startup::build_gateway;
use gateway::supergraph::Supergraph;

const DEMO: &str = include_str!("../../schema/supergraph.graphql");

fn gateway(limits: LimitsConfig) -> Gateway {
    let config = Config {
        limits,
        ..Config::default()
    };
    build_gateway(Supergraph::parse(DEMO).expect("demo loads"), &config).expect("builds")
}

fn request(query: &str) -> GraphQLRequest {
    GraphQLRequest {
        query: Some(query.to_string()),
        ..Default::default()
    }
}

/// The errors planning `query` gives, or none when it plans.
fn errors(gateway: &Gateway, query: &str) -> Vec<GraphQLError> {
    gateway.plan(&request(query)).err().unwrap_or_default()
}

fn codes(gateway: &Gateway, query: &str) -> Vec<String> {
    errors(gateway, query)
        .iter()
        .map(|e| {
            e.extensions["code"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// `me { reviews { author { reviews { … __typename } } } }` with exactly `depth` levels.
fn nested(depth: usize) -> String {
    let mut fields = vec!["me"];
    for level in 1..depth - 1 {
        fields.push(if level % 2 == 1 { "reviews" } else { "author" });
    }
    let mut query = String::from("{ ");
    for field in &fields {
        query.push_str(field);
        query.push_str(" { ");
    }
    query.push_str("__typename");
    query.push_str(&" }".repeat(fields.len() + 1));
    query
}

/// `count` aliased root fields.
fn aliases(count: usize) -> String {
    let fields: String = (0..count).map(|i| format!("a{i}: me {{ id }} ")).collect();
    format!("{{ {fields}}}")
}

/// Fragments on `User` that spread the one before twice, `levels` deep, under `me`.
fn doubling(levels: usize) -> String {
    let mut query = format!("{{ me {{ ...F{levels} }} }}\nfragment F0 on User {{ id }}\n");
    for level in 1..=levels {
        let previous = level - 1;
        query.push_str(&format!(
            "fragment F{level} on User {{ ...F{previous} ...F{previous} }}\n"
        ));
    }
    query
}

fn only(set: impl FnOnce(&mut LimitsConfig)) -> LimitsConfig {
    let mut limits = LimitsConfig::unlimited();
    set(&mut limits);
    limits
}

fn assert_at_limit_and_over(
    limits: impl Fn(u64) -> LimitsConfig,
    at: u64,
    query: &str,
    code: &str,
) {
    let at_limit = errors(&gateway(limits(at)), query);
    assert!(at_limit.is_empty(), "{code} at its value: {at_limit:?}");
    let over = errors(&gateway(limits(at - 1)), query);
    assert_eq!(over.len(), 1, "{over:?}");
    assert_eq!(over[0].extensions["code"], code, "{over:?}");
    assert_eq!(over[0].extensions["max"], at - 1);
    assert_eq!(over[0].extensions["value"], at);
}

#[test]
fn depth() {
    assert_at_limit_and_over(
        |v| only(|l| l.max_depth = v),
        7,
        &nested(7),
        "MAX_DEPTH_EXCEEDED",
    );
}

#[test]
fn depth_counts_through_fragments() {
    let query = "{ me { ...R } } fragment R on User { reviews { author { id } } }";
    assert_at_limit_and_over(
        |v| only(|l| l.max_depth = v),
        4,
        query,
        "MAX_DEPTH_EXCEEDED",
    );
}

#[test]
fn aliases_and_root_fields() {
    assert_at_limit_and_over(
        |v| only(|l| l.max_aliases = v),
        40,
        &aliases(40),
        "MAX_ALIASES_EXCEEDED",
    );
    assert_at_limit_and_over(
        |v| only(|l| l.max_root_fields = v),
        40,
        &aliases(40),
        "MAX_ROOT_FIELDS_EXCEEDED",
    );
}

#[test]
fn height_counts_distinct_fields() {
    // Query.me, User.id, User.name, User.username; `id` twice counts once.
    let query = "{ me { id name username again: id } }";
    assert_at_limit_and_over(
        |v| only(|l| l.max_height = v),
        4,
        query,
        "MAX_HEIGHT_EXCEEDED",
    );
}

#[test]
fn fields_count_every_spread_expanded() {
    // me + 2⁶ × id
    assert_at_limit_and_over(
        |v| only(|l| l.max_fields = v),
        65,
        &doubling(6),
        "MAX_FIELDS_EXCEEDED",
    );
}

#[test]
fn directives_and_fragments() {
    let query = "query { me @include(if: true) @skip(if: false) { ...A ...B } }
                 fragment A on User { id }
                 fragment B on User { name }";
    assert_at_limit_and_over(
        |v| only(|l| l.max_directives = v),
        2,
        query,
        "MAX_DIRECTIVES_EXCEEDED",
    );
    assert_at_limit_and_over(
        |v| only(|l| l.max_fragments = v),
        2,
        query,
        "MAX_FRAGMENTS_EXCEEDED",
    );
}

#[test]
fn tokens_are_counted_while_parsing() {
    // Six tokens and the end of input. Whitespace and comments count too, as in Apollo
    // Router, whose parser this is: the limit bounds the lexer's work, not the grammar.
    let query = "{me{id}}";
    let tokens = |max_tokens| only(|l| l.max_tokens = max_tokens);
    assert!(errors(&gateway(tokens(7)), query).is_empty());
    let over = errors(&gateway(tokens(6)), query);
    assert_eq!(over.len(), 1, "{over:?}");
    assert_eq!(over[0].extensions["code"], "MAX_TOKENS_EXCEEDED");
    assert_eq!(over[0].extensions["max"], 6);
}

#[test]
fn nesting_is_limited_while_parsing() {
    let recursion = |max| only(|l| l.max_recursion = max);
    let deep = nested(40);
    assert!(errors(&gateway(recursion(100)), &deep).is_empty());
    assert_eq!(
        codes(&gateway(recursion(20)), &deep),
        ["MAX_RECURSION_EXCEEDED"]
    );
}

#[test]
fn the_defaults_refuse_a_fragment_explosion_with_one_error() {
    let gateway = gateway(LimitsConfig::default());
    // 2³⁰ fields behind 31 small fragments: refused from its measure, never expanded.
    assert_eq!(codes(&gateway, &doubling(30)), ["MAX_FIELDS_EXCEEDED"]);
    let mut on_root = String::from("{ ...R30 }\nfragment R0 on Query { me { id } }\n");
    for level in 1..=30 {
        let previous = level - 1;
        on_root.push_str(&format!(
            "fragment R{level} on Query {{ ...R{previous} ...R{previous} }}\n"
        ));
    }
    assert_eq!(codes(&gateway, &on_root), ["MAX_ROOT_FIELDS_EXCEEDED"]);
}

#[test]
fn the_defaults_refuse_huge_and_deep_documents_cheaply_and_briefly() {
    let gateway = gateway(LimitsConfig::default());
    // 28,000 distinct aliases: far over the token limit, refused while lexing.
    assert_eq!(codes(&gateway, &aliases(28_000)), ["MAX_TOKENS_EXCEEDED"]);
    // A megabyte of nesting that would give one error per level.
    let deep = format!("{}{}", "{ me ".repeat(200_000), "}".repeat(200_000));
    assert_eq!(codes(&gateway, &deep), ["MAX_TOKENS_EXCEEDED"]);
    // Nesting within the token limit but over the parser's recursion limit.
    let deep = format!("{}{}", "{a".repeat(3_000), "}".repeat(3_000));
    assert_eq!(codes(&gateway, &deep), ["MAX_RECURSION_EXCEEDED"]);
}

#[test]
fn the_defaults_let_ordinary_operations_through() {
    let gateway = gateway(LimitsConfig::default());
    let introspection = "query IntrospectionQuery { __schema { queryType { name } mutationType { name }
        types { ...FullType } directives { name description locations args { ...InputValue } } } }
      fragment FullType on __Type { kind name description
        fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef }
          isDeprecated deprecationReason }
        inputFields { ...InputValue } interfaces { ...TypeRef }
        enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
        possibleTypes { ...TypeRef } }
      fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
      fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    for query in [introspection, &nested(40), &aliases(100), &doubling(10)] {
        assert_eq!(errors(&gateway, query), [], "{query}");
    }
}

#[test]
fn validation_errors_are_capped() {
    let gateway = gateway(LimitsConfig {
        max_errors: 10,
        ..LimitsConfig::default()
    });
    let unknown: String = (0..300).map(|i| format!("x{i} ")).collect();
    let errors = errors(&gateway, &format!("{{ {unknown}}}"));
    assert_eq!(errors.len(), 10);
    assert_eq!(errors[0].extensions["code"], "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(errors[9].extensions["code"], "TOO_MANY_ERRORS");
    assert!(
        errors[9].message.starts_with("291 more errors"),
        "{errors:?}"
    );
}

#[test]
fn thousands_of_aliases_merge_in_linear_time_with_the_limits_off() {
    // Normalising merges fields by response key through an index: 28,000 aliases plan.
    let gateway = gateway(LimitsConfig::unlimited());
    let fields: String = (0..28_000).map(|i| format!("a{i}: __typename ")).collect();
    assert_eq!(errors(&gateway, &format!("{{ {fields}}}")), []);
}

#[test]
fn introspection_can_be_turned_off() {
    let config = Config {
        introspection: false,
        ..Config::default()
    };
    let gateway = build_gateway(Supergraph::parse(DEMO).expect("loads"), &config).expect("builds");
    for query in [
        "{ __schema { queryType { name } } }",
        "{ __type(name: \"User\") { name } }",
        "{ me { id } ...I } fragment I on Query { __schema { types { name } } }",
    ] {
        assert_eq!(
            codes(&gateway, query),
            ["INTROSPECTION_DISABLED"],
            "{query}"
        );
    }
    assert_eq!(errors(&gateway, "{ __typename me { __typename id } }"), []);
}
