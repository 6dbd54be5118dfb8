use apollo_compiler::{ExecutableDocument, Schema};

use super::*;

const SCHEMA: &str = r#"
type Query { me: User, user(id: ID!): User, version: String }
type User { id: ID!, name: String, friends: [User], best: User }
"#;

fn document(query: &str) -> ExecutableDocument {
    let schema = Schema::parse_and_validate(SCHEMA, "schema.graphql").expect("valid schema");
    ExecutableDocument::parse_and_validate(&schema, query, "query.graphql")
        .expect("valid query")
        .into_inner()
}

fn measures(query: &str) -> OperationMeasures {
    let document = document(query);
    let operation = document.operations.iter().next().expect("one operation");
    measure(&document, operation)
}

/// `levels` fragments, each spreading the one before it twice.
fn doubling_fragments(levels: usize) -> String {
    let mut query = format!("query {{ ...F{levels} }}\nfragment F0 on Query {{ version }}\n");
    for level in 1..=levels {
        let previous = level - 1;
        query.push_str(&format!(
            "fragment F{level} on Query {{ ...F{previous} ...F{previous} }}\n"
        ));
    }
    query
}

#[test]
fn fields_depth_aliases_and_root_fields_count_every_spread_of_a_fragment() {
    let measured = measures(
        "{ me { ...Friend friends { ...Friend } } a: version b: version }
         fragment Friend on User { id n: name best { id } }",
    );
    assert_eq!(
        measured,
        OperationMeasures {
            // me → friends → best → id
            depth: 4,
            // Query.me, User.friends, User.id, User.name, User.best, Query.version
            height: 6,
            // n twice (one per spread), a, b
            aliases: 4,
            root_fields: 3,
            // me, friends, 2 × (id, n, best, best.id), a, b
            fields: 12,
        }
    );
}

#[test]
fn inline_fragments_and_fragments_on_the_root_count_as_root_fields() {
    let measured = measures(
        "{ ... on Query { me { id } } ...Root }
         fragment Root on Query { version v: version }",
    );
    assert_eq!(measured.root_fields, 3);
    assert_eq!(measured.depth, 2);
    assert_eq!(measured.aliases, 1);
}

#[test]
fn doubling_fragments_are_measured_without_being_expanded() {
    let measured = measures(&doubling_fragments(40));
    // 2⁴⁰ fields stand behind these 41 fragments; measuring them visits each fragment once.
    assert_eq!(measured.fields, 1 << 40);
    assert_eq!(measured.root_fields, 1 << 40);
    assert_eq!(measured.height, 1);
    assert_eq!(measured.depth, 1);
    let refused = LimitsConfig::default()
        .check_operation(&measured)
        .expect_err("over the limits");
    assert_eq!(refused.limit, Limit::RootFields);
}

#[test]
fn counts_saturate_instead_of_overflowing() {
    let measured = measures(&doubling_fragments(70));
    assert_eq!(measured.fields, u64::MAX);
}

#[test]
fn each_operation_limit_allows_its_value_and_refuses_one_more() {
    let measured = OperationMeasures {
        depth: 5,
        height: 6,
        aliases: 7,
        root_fields: 8,
        fields: 9,
    };
    type Setter = fn(&mut LimitsConfig, u64);
    let cases: [(Limit, Setter); 5] = [
        (Limit::Depth, |c, v| c.max_depth = v),
        (Limit::Height, |c, v| c.max_height = v),
        (Limit::Aliases, |c, v| c.max_aliases = v),
        (Limit::RootFields, |c, v| c.max_root_fields = v),
        (Limit::Fields, |c, v| c.max_fields = v),
    ];
    let values = [5, 6, 7, 8, 9];
    for ((limit, set), value) in cases.into_iter().zip(values) {
        let mut config = LimitsConfig::default();
        set(&mut config, value);
        assert_eq!(
            config.check_operation(&measured),
            Ok(()),
            "{limit:?} at its value"
        );
        set(&mut config, value - 1);
        let refused = config.check_operation(&measured).expect_err("one over");
        assert_eq!(
            refused,
            LimitExceeded {
                limit,
                value,
                max: value - 1
            }
        );
        set(&mut config, 0);
        assert_eq!(config.check_operation(&measured), Ok(()), "{limit:?} off");
    }
}

#[test]
fn fragments_and_directives_are_limited_per_document() {
    let query = "query { me @include(if: true) @skip(if: false) { ...A ...B } }
                 fragment A on User { id }
                 fragment B on User { name }";
    let document = document(query);
    assert_eq!(max_directives(&document), 2);
    let mut config = LimitsConfig {
        max_fragments: 2,
        max_directives: 2,
        ..LimitsConfig::default()
    };
    assert_eq!(config.check_document(&document), Ok(()));
    config.max_fragments = 1;
    assert_eq!(
        config.check_document(&document).map_err(|e| e.limit),
        Err(Limit::Fragments)
    );
    config.max_fragments = 2;
    config.max_directives = 1;
    assert_eq!(
        config.check_document(&document).map_err(|e| e.limit),
        Err(Limit::Directives)
    );
}

#[test]
fn the_error_names_the_limit_and_both_values() {
    let error = LimitExceeded {
        limit: Limit::Depth,
        value: 70,
        max: 64,
    }
    .to_graphql_error();
    assert_eq!(
        error.message,
        "the operation's depth: 70 is over the limit of 64 (limits.max_depth)"
    );
    assert_eq!(error.extensions["code"], "MAX_DEPTH_EXCEEDED");
    assert_eq!(error.extensions["limit"], "max_depth");
    assert_eq!(error.extensions["max"], 64);
    assert_eq!(error.extensions["value"], 70);
}

#[test]
fn errors_are_capped_with_one_that_counts_the_rest() {
    let config = LimitsConfig {
        max_errors: 3,
        ..LimitsConfig::default()
    };
    let errors = |n: usize| -> Vec<GraphQLError> {
        (0..n)
            .map(|i| GraphQLError::new(format!("error {i}")))
            .collect()
    };
    let mut at_limit = errors(3);
    config.cap_errors(&mut at_limit);
    assert_eq!(at_limit, errors(3));
    let mut over = errors(10);
    config.cap_errors(&mut over);
    assert_eq!(over.len(), 3);
    assert_eq!(over[1].message, "error 1");
    assert_eq!(over[2].extensions["code"], "TOO_MANY_ERRORS");
    assert_eq!(
        over[2].message,
        "8 more errors were left out (limits.max_errors is 3)"
    );
}
