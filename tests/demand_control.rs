//! Demand control end to end: the demo subgraphs behind a gateway over the demo supergraph
//! with `@listSize(slicingArguments: ["first"])` on `Query.topProducts` and `@cost(weight: 5)`
//! on `Product.reviews`. In enforce mode an operation estimated over the maximum is refused
//! with COST_ESTIMATED_TOO_EXPENSIVE before any subgraph is contacted; in measure mode it
//! runs, and `/metrics` shows its estimated and actual costs. A list whose `@listSize` requires
//! one slicing argument and gets none is refused in enforce mode (COST_QUERY_PARSE_FAILURE).

use e2e::{DEMO_SUPERGRAPH, Stack};
use gateway::limits::{DemandControlConfig, DemandControlMode};
use serde_json::json;

/// The demo supergraph with the cost spec linked and applied.
fn supergraph() -> String {
    let linked = DEMO_SUPERGRAPH.replacen(
        "  @link(url: \"https://specs.apollo.dev/join/v0.3\", for: EXECUTION)\n",
        "  @link(url: \"https://specs.apollo.dev/join/v0.3\", for: EXECUTION)\n  @link(url: \"https://specs.apollo.dev/cost/v0.1\", import: [\"@listSize\"])\n",
        1,
    );
    assert_ne!(
        linked, DEMO_SUPERGRAPH,
        "the join link is where the test expects it"
    );
    let defined = format!(
        "directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR\n\n\
         directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION\n\n{linked}"
    );
    let sized = defined.replacen(
        "topProducts(first: Int = 5): [Product!]! @join__field(graph: PRODUCTS)",
        "topProducts(first: Int = 5): [Product!]! @join__field(graph: PRODUCTS) @listSize(slicingArguments: [\"first\"], requireOneSlicingArgument: false)",
        1,
    );
    assert_ne!(sized, defined);
    let weighted = sized.replacen(
        "  reviews: [Review!]! @join__field(graph: REVIEWS)\n",
        "  reviews: [Review!]! @join__field(graph: REVIEWS) @cost(weight: 5)\n",
        1,
    );
    assert_ne!(weighted, sized);
    weighted
}

const QUERY: &str = "query Top($n: Int) { topProducts(first: $n) { name reviews { body } } }";

/// `topProducts(first: 3)`: 3 × (1 + reviews (5 each, default list size 10 → 50)) = 153.
const ESTIMATE: f64 = 153.0;

fn demand_control(mode: DemandControlMode, max: f64) -> DemandControlConfig {
    DemandControlConfig {
        enabled: true,
        mode,
        max,
        list_size: 10,
    }
}

fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn enforce_refuses_an_operation_over_the_maximum_before_any_subgraph_is_called() {
    let stack = Stack::demo_over(&supergraph(), |config| {
        config.demand_control = demand_control(DemandControlMode::Enforce, 100.0);
    })
    .await;
    let response = stack
        .request(json!({ "query": QUERY, "variables": { "n": 3 } }))
        .await;
    assert!(response.get("data").is_none(), "{response}");
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["code"], "COST_ESTIMATED_TOO_EXPENSIVE");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("153") && message.contains("100"),
        "{message}"
    );
    let metrics = stack.metrics().await;
    assert_eq!(
        sample(&metrics, "gateway_operation_cost_refused_total"),
        Some(1.0)
    );
    let subgraph_requests: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("gateway_subgraph_requests_total{"))
        .collect();
    assert!(!subgraph_requests.is_empty(), "{metrics}");
    assert!(
        subgraph_requests.iter().all(|line| line.ends_with(" 0")),
        "no subgraph was called: {subgraph_requests:?}"
    );
    // A cheaper one (a single product) runs.
    let response = stack
        .request(json!({ "query": QUERY, "variables": { "n": 1 } }))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["topProducts"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn measure_runs_every_operation_and_exports_estimated_and_actual_costs() {
    let stack = Stack::demo_over(&supergraph(), |config| {
        config.demand_control = demand_control(DemandControlMode::Measure, 100.0);
    })
    .await;
    let response = stack
        .request(json!({ "query": QUERY, "variables": { "n": 3 } }))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let products = response["data"]["topProducts"].as_array().unwrap();
    assert_eq!(products.len(), 3);
    let reviews: usize = products
        .iter()
        .map(|p| p["reviews"].as_array().unwrap().len())
        .sum();
    let actual = 3.0 + 5.0 * reviews as f64;
    let metrics = stack.metrics().await;
    assert_eq!(
        sample(&metrics, "gateway_operation_cost_estimated_sum"),
        Some(ESTIMATE),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "gateway_operation_cost_estimated_count"),
        Some(1.0)
    );
    assert_eq!(
        sample(&metrics, "gateway_operation_cost_actual_sum"),
        Some(actual),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, "gateway_operation_cost_refused_total"),
        Some(0.0)
    );
}

#[tokio::test]
async fn demand_control_off_exports_nothing() {
    let stack = Stack::demo_over(&supergraph(), |_| {}).await;
    let response = stack
        .request(json!({ "query": QUERY, "variables": { "n": 3 } }))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert!(!stack.metrics().await.contains("gateway_operation_cost"));
}

#[tokio::test]
async fn enforce_refuses_a_list_without_the_one_slicing_argument_its_list_size_requires() {
    let required = supergraph().replacen(
        "@listSize(slicingArguments: [\"first\"], requireOneSlicingArgument: false)",
        "@listSize(slicingArguments: [\"first\"])",
        1,
    );
    assert_ne!(required, supergraph());
    let stack = Stack::demo_over(&required, |config| {
        config.demand_control = demand_control(DemandControlMode::Enforce, 1000.0);
    })
    .await;
    // Without the argument (its schema default does not count), or with a null for it.
    for variables in [json!({}), json!({ "n": null })] {
        let response = stack
            .request(json!({ "query": QUERY, "variables": variables }))
            .await;
        assert!(response.get("data").is_none(), "{response}");
        let error = &response["errors"][0];
        assert_eq!(error["extensions"]["code"], "COST_QUERY_PARSE_FAILURE");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("\"Query.topProducts\""),
            "{error}"
        );
    }
    let response = stack
        .request(json!({ "query": QUERY, "variables": { "n": 2 } }))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["topProducts"].as_array().unwrap().len(), 2);
    // Measure mode runs it.
    let stack = Stack::demo_over(&required, |config| {
        config.demand_control = demand_control(DemandControlMode::Measure, 1000.0);
    })
    .await;
    let response = stack.request(json!({ "query": QUERY })).await;
    assert!(response.get("errors").is_none(), "{response}");
}
