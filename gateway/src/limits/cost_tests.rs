//! The estimator rule by rule, over a supergraph composed from one subgraph that applies the
//! cost directives everywhere they can go.

use std::sync::Arc;

use apollo_compiler::ExecutableDocument;
use serde_json::{Map, Value, json};

use super::CostCalculator;
use crate::compose::{SubgraphInput, compose};
use crate::supergraph::Supergraph;

const SUBGRAPH: &str = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])

type Query {
  book(id: ID!): Book
  books(first: Int, last: Int): [Book!]! @listSize(slicingArguments: ["first", "last"], requireOneSlicingArgument: false)
  assumed: [Book!]! @listSize(assumedSize: 7)
  page(first: Int, last: Int): [Book!]! @listSize(slicingArguments: ["first", "last"])
  plain: [Book!]!
  expensive: Int @cost(weight: 20)
  search(filter: Filter, limit: Int @cost(weight: 3)): [Book!]! @listSize(assumedSize: 2)
  connection(first: Int!): BookConnection! @listSize(slicingArguments: ["first"], sizedFields: ["edges"])
  node: Node
}

type Mutation {
  addBook(title: String!): Book
}

input Filter {
  title: String @cost(weight: 4)
  year: Int
}

interface Node {
  id: ID!
}

type Book implements Node @key(fields: "id") {
  id: ID!
  title: String
  author: Author
  rating: Rating
}

type Magazine implements Node {
  id: ID!
  editor: Author
}

type Author @cost(weight: 5) {
  name: String
}

enum Rating @cost(weight: 2) {
  GOOD
  BAD
}

type BookConnection {
  edges: [BookEdge!]!
  total: Int
}

type BookEdge {
  node: Book
}
"#;

/// A second subgraph resolving a field with `@requires`: its required selection is part of
/// the field's cost.
const REQUIRING_SUBGRAPH: &str = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@external", "@requires"])

type Book @key(fields: "id") {
  id: ID!
  title: String @external
  rating: Rating @external
  blurb: String @requires(fields: "title rating")
}

enum Rating {
  GOOD
  BAD
}
"#;

fn supergraph() -> Arc<Supergraph> {
    static SUPERGRAPH: std::sync::OnceLock<Arc<Supergraph>> = std::sync::OnceLock::new();
    SUPERGRAPH
        .get_or_init(|| {
            let subgraph = |name: &str, sdl: &str| SubgraphInput {
                name: name.into(),
                url: format!("http://{name}.invalid/graphql"),
                sdl: sdl.into(),
                path: format!("{name}.graphql").into(),
            };
            let composition = compose(vec![
                subgraph("books", SUBGRAPH),
                subgraph("blurbs", REQUIRING_SUBGRAPH),
            ]);
            let sdl = composition
                .supergraph
                .unwrap_or_else(|| panic!("composes: {:?}", composition.report));
            Arc::new(Supergraph::parse(&sdl).expect("the supergraph loads"))
        })
        .clone()
}

/// Runs `check` with a calculator over `query` (validated against the fixture's API schema)
/// and its one operation.
fn with_calculator<T>(
    query: &str,
    variables: Value,
    check: impl FnOnce(&CostCalculator, &apollo_compiler::executable::Operation) -> T,
) -> T {
    let supergraph = supergraph();
    let document =
        ExecutableDocument::parse_and_validate(supergraph.api_schema(), query, "query.graphql")
            .unwrap_or_else(|e| panic!("{query} is valid: {}", e.errors));
    let variables: Map<String, Value> = variables.as_object().cloned().unwrap_or_default();
    let calculator = CostCalculator {
        schema: supergraph.api_schema(),
        rules: supergraph.costs(),
        document: &document,
        variables: &variables,
        default_list_size: 10,
    };
    let operation = document.operations.get(None).expect("one operation");
    check(&calculator, operation)
}

fn calculate(query: &str, variables: Value, data: Option<Value>) -> (f64, Option<f64>) {
    with_calculator(query, variables, |calculator, operation| {
        (
            calculator.estimate(operation),
            data.map(|data| calculator.actual(operation, &data)),
        )
    })
}

fn violations(query: &str, variables: Value) -> Vec<(String, usize)> {
    with_calculator(query, variables, |calculator, operation| {
        calculator
            .slicing_violations(operation)
            .into_iter()
            .map(|v| (v.coordinate, v.given))
            .collect()
    })
}

#[test]
fn a_list_requiring_one_slicing_argument_gets_exactly_one() {
    assert!(violations("{ page(first: 2) { id } }", json!({})).is_empty());
    assert!(violations("{ page(last: 2) { id } }", json!({})).is_empty());
    let page = |given| vec![("Query.page".to_string(), given)];
    assert_eq!(violations("{ page { id } }", json!({})), page(0));
    assert_eq!(
        violations("{ page(first: 1, last: 2) { id } }", json!({})),
        page(2)
    );
    assert_eq!(
        violations("{ page(first: null) { id } }", json!({})),
        page(0)
    );
    // Variables count when they hold a value; in fragments too.
    let query = "query ($n: Int, $m: Int) { ...F } fragment F on Query { page(first: $n, last: $m) { id } }";
    assert!(violations(query, json!({ "n": 3 })).is_empty());
    assert_eq!(violations(query, json!({ "n": 3, "m": 4 })), page(2));
    assert_eq!(violations(query, json!({})), page(0));
    // `requireOneSlicingArgument: false` allows any number.
    assert!(violations("{ books { id } }", json!({})).is_empty());
    assert!(violations("{ books(first: 1, last: 1) { id } }", json!({})).is_empty());
}

fn estimate(query: &str) -> f64 {
    calculate(query, json!({}), None).0
}

#[test]
fn objects_cost_one_and_scalars_nothing() {
    assert_eq!(estimate(r#"{ book(id: "1") { id title } }"#), 1.0);
    assert_eq!(estimate(r#"{ book(id: "1") { __typename } }"#), 1.0);
}

#[test]
fn type_weights_replace_the_defaults_for_objects_and_enums() {
    assert_eq!(estimate(r#"{ book(id: "1") { author { name } } }"#), 6.0);
    assert_eq!(estimate(r#"{ book(id: "1") { rating } }"#), 3.0);
}

#[test]
fn field_weights_replace_the_type_cost() {
    assert_eq!(estimate("{ expensive }"), 20.0);
}

#[test]
fn argument_and_input_field_weights_add_to_the_field() {
    // 2 × Book + limit (3) + the Filter object (1) + its title (4).
    assert_eq!(
        estimate(r#"{ search(limit: 5, filter: { title: "x", year: 1 }) { id } }"#),
        10.0
    );
    assert_eq!(estimate("{ search { id } }"), 2.0);
    // The same input from variables.
    let (cost, _) = calculate(
        "query ($f: Filter, $l: Int) { search(filter: $f, limit: $l) { id } }",
        json!({ "f": { "title": "x" }, "l": 1 }),
        None,
    );
    assert_eq!(cost, 10.0);
}

#[test]
fn lists_multiply_by_assumed_size_or_the_default() {
    assert_eq!(estimate("{ assumed { id } }"), 7.0);
    assert_eq!(estimate("{ plain { id } }"), 10.0);
    assert_eq!(estimate("{ plain { author { name } } }"), 60.0);
}

#[test]
fn slicing_arguments_size_lists_from_literals_and_variables() {
    assert_eq!(estimate("{ books(first: 3) { id } }"), 3.0);
    assert_eq!(estimate("{ books(first: 3, last: 5) { id } }"), 5.0);
    assert_eq!(estimate("{ books { id } }"), 10.0);
    let (cost, _) = calculate(
        "query ($n: Int) { books(first: $n) { id } }",
        json!({ "n": 4 }),
        None,
    );
    assert_eq!(cost, 4.0);
}

#[test]
fn sized_fields_take_the_slicing_size_of_their_parent() {
    // The connection (1) + 3 edges × (edge 1 + node 1).
    assert_eq!(
        estimate("{ connection(first: 3) { total edges { node { id } } } }"),
        7.0
    );
}

#[test]
fn fragments_add_their_selections_and_interfaces_count_every_implementation() {
    assert_eq!(
        estimate(r#"{ book(id: "1") { ...F } } fragment F on Book { author { name } }"#),
        6.0
    );
    assert_eq!(
        estimate(
            "{ node { id ... on Book { author { name } } ... on Magazine { editor { name } } } }"
        ),
        11.0
    );
}

#[test]
fn a_mutation_adds_ten() {
    assert_eq!(estimate(r#"mutation { addBook(title: "x") { id } }"#), 11.0);
}

#[test]
fn the_actual_cost_counts_the_real_lists_and_nothing_under_null() {
    let (estimated, actual) = calculate(
        "{ books(first: 3) { author { name } } }",
        json!({}),
        Some(json!({ "books": [{ "author": { "name": "a" } }, { "author": null }] })),
    );
    assert_eq!(estimated, 18.0);
    assert_eq!(actual, Some(7.0));
    // Fragments apply by `__typename` when the response has it.
    let (_, actual) = calculate(
        "{ node { __typename ... on Book { author { name } } ... on Magazine { editor { name } } } }",
        json!({}),
        Some(json!({ "node": { "__typename": "Magazine", "editor": { "name": "e" } } })),
    );
    assert_eq!(actual, Some(6.0));
}

#[test]
fn a_required_selection_costs_beside_the_field_once_per_value() {
    // blurb: a scalar (0) plus its @requires selection: title (0) and rating (its enum's
    // @cost, 2).
    assert_eq!(
        calculate("{ book(id: 1) { blurb } }", json!({}), None).0,
        1.0 + 2.0
    );
    // Under a list of 4, each book's blurb pays for its own requirement.
    assert_eq!(
        calculate("{ books(first: 4) { blurb } }", json!({}), None).0,
        4.0 * (1.0 + 2.0)
    );
    // The client selecting the required fields itself pays for them as well: the gateway
    // fetches them either way.
    assert_eq!(
        calculate("{ book(id: 1) { rating blurb } }", json!({}), None).0,
        1.0 + 2.0 + 2.0
    );
}
