//! `/metrics` after a known set of requests to a real gateway over the demo subgraphs (one
//! subgraph unreachable): request counts by operation and outcome, durations, subgraph
//! requests and errors, document and plan caches; and `telemetry.metrics.listen`'s own
//! listener.

use std::collections::BTreeMap;

use e2e::Stack;
use gateway::config::SubgraphConfig;

/// Every sample of a Prometheus text, by its series (name and labels as written).
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("series and value");
            (series.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no series {series} in {samples:#?}"))
}

/// The sum of the samples whose series starts with `prefix`.
fn sum(samples: &BTreeMap<String, f64>, prefix: &str) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| series.starts_with(prefix))
        .map(|(_, value)| value)
        .sum()
}

#[tokio::test]
async fn metrics_count_a_known_set_of_requests() {
    let stack = Stack::demo_with(|config| {
        // Nothing listens on port 1: every inventory fetch fails to connect.
        config.subgraphs.insert(
            "inventory".into(),
            SubgraphConfig {
                url: Some("http://127.0.0.1:1/graphql".into()),
                ..Default::default()
            },
        );
    })
    .await;
    for _ in 0..3 {
        let response = stack
            .query("query Top { topProducts(first: 2) { name reviews { body } } }")
            .await;
        assert!(response.get("errors").is_none(), "{response}");
    }
    let response = stack
        .query("query Stock { topProducts(first: 1) { upc inStock } }")
        .await;
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "SUBGRAPH_UNREACHABLE",
        "{response}"
    );
    let response = stack.query("query Broken { nope }").await;
    assert!(response.get("data").is_none(), "{response}");

    let text = stack.metrics().await;
    let samples = samples(&text);
    let requests = |name: &str, kind: &str, outcome: &str| {
        value(
            &samples,
            &format!(
                "gateway_graphql_requests_total{{graphql_operation_name=\"{name}\",\
                 graphql_operation_type=\"{kind}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(requests("Top", "query", "success"), 3.0);
    assert_eq!(requests("Stock", "query", "field_errors"), 1.0);
    // The document does not validate: no operation was selected.
    assert_eq!(requests("", "", "request_error"), 1.0);
    assert_eq!(
        value(
            &samples,
            "gateway_graphql_request_duration_seconds_count{graphql_operation_name=\"Top\",\
             graphql_operation_type=\"query\"}"
        ),
        3.0
    );
    assert_eq!(
        sum(&samples, "http_server_request_duration_seconds_count{"),
        5.0
    );
    assert_eq!(value(&samples, "http_server_active_requests"), 0.0);

    // Top: products then reviews, three times; Stock: products, then inventory (refused).
    let subgraph = |name: &str| {
        value(
            &samples,
            &format!("gateway_subgraph_requests_total{{subgraph_name=\"{name}\"}}"),
        )
    };
    assert_eq!(subgraph("products"), 4.0);
    assert_eq!(subgraph("reviews"), 3.0);
    assert_eq!(subgraph("inventory"), 1.0);
    assert_eq!(subgraph("accounts"), 0.0);
    assert_eq!(
        value(
            &samples,
            "gateway_subgraph_request_duration_seconds_count{subgraph_name=\"products\"}"
        ),
        4.0
    );
    assert_eq!(
        value(
            &samples,
            "gateway_subgraph_errors_total{subgraph_name=\"inventory\",\
             error_type=\"SUBGRAPH_UNREACHABLE\"}"
        ),
        1.0
    );
    assert_eq!(
        sum(
            &samples,
            "gateway_subgraph_errors_total{subgraph_name=\"products\""
        ),
        0.0
    );

    // Documents: Top parsed once and found twice, Stock and Broken parsed (an invalid
    // document is not kept). Plans: Top planned once and found twice, Stock planned.
    let cache =
        |name: &str, result: &str| value(&samples, &format!("{name}{{result=\"{result}\"}}"));
    assert_eq!(cache("gateway_document_cache_requests_total", "hit"), 2.0);
    assert_eq!(cache("gateway_document_cache_requests_total", "miss"), 3.0);
    assert_eq!(cache("gateway_plan_cache_requests_total", "hit"), 2.0);
    assert_eq!(cache("gateway_plan_cache_requests_total", "miss"), 2.0);
    assert_eq!(value(&samples, "gateway_plan_cache_entries"), 2.0);
    assert!(value(&samples, "gateway_plan_cache_size_bytes") > 0.0);
    assert_eq!(value(&samples, "gateway_document_cache_entries"), 2.0);
    assert_eq!(
        value(&samples, "gateway_query_planning_duration_seconds_count{}"),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            "gateway_supergraph_reloads_total{source=\"file\",result=\"failure\"}"
        ),
        0.0
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("gateway_supergraph_info{hash=\"") && l.ends_with(" 1")),
        "{text}"
    );
    // Every family is declared once, with its type.
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let family = line.split(' ').nth(2).unwrap();
        assert_eq!(
            text.matches(&format!("# TYPE {family} ")).count(),
            1,
            "{family} declared twice"
        );
    }
}

#[tokio::test]
async fn operation_names_beyond_the_cap_are_counted_together() {
    let stack = Stack::demo_with(|config| {
        config.telemetry.metrics.max_operation_names = 2;
    })
    .await;
    for name in ["A", "B", "C", "D"] {
        stack
            .query(&format!(
                "query {name} {{ topProducts(first: 1) {{ upc }} }}"
            ))
            .await;
    }
    let samples = samples(&stack.metrics().await);
    let series = |name: &str| {
        format!(
            "gateway_graphql_requests_total{{graphql_operation_name=\"{name}\",\
             graphql_operation_type=\"query\",outcome=\"success\"}}"
        )
    };
    assert_eq!(value(&samples, &series("A")), 1.0);
    assert_eq!(value(&samples, &series("B")), 1.0);
    assert_eq!(value(&samples, &series("__other__")), 2.0);
    assert!(!samples.contains_key(&series("C")));
}

#[tokio::test]
async fn metrics_off_records_no_request_series() {
    let stack = Stack::demo_with(|config| {
        config.telemetry.metrics.enabled = false;
    })
    .await;
    stack.query("{ topProducts(first: 1) { upc } }").await;
    let text = stack.metrics().await;
    assert!(!text.contains("gateway_graphql_requests_total"), "{text}");
    assert!(!text.contains("gateway_subgraph_requests_total"), "{text}");
    // The caches' families stay.
    assert!(
        text.contains("gateway_plan_cache_requests_total{result=\"miss\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn with_a_metrics_listener_the_graphql_listener_has_no_metrics() {
    let stack = Stack::demo_with(|config| {
        config.telemetry.metrics.listen = Some("127.0.0.1:0".into());
    })
    .await;
    let url = stack.gateway_url.replace("/graphql", "/metrics");
    let response = stack.client().get(url).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

/// Every metric the Grafana dashboard (docs/grafana/gateway.json) queries is one the gateway
/// exports, and docs/operations.md lists it.
#[tokio::test]
async fn the_dashboard_queries_only_metrics_the_gateway_exports() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{root}/docs/grafana/gateway.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    let operations = std::fs::read_to_string(format!("{root}/docs/operations.md")).unwrap();
    let stack = Stack::demo_with(|config| {
        config.cache.enabled = true;
        config.deduplication.inbound = true;
    })
    .await;
    stack.query("{ topProducts(first: 1) { upc } }").await;
    let text = stack.metrics().await;
    let mut names = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("gateway_") || word.starts_with("http_server_") {
                    let family = ["_bucket", "_count", "_sum"]
                        .iter()
                        .fold(word, |name, suffix| {
                            name.strip_suffix(suffix).unwrap_or(name)
                        });
                    names.push(family.to_string());
                }
            }
        }
    }
    assert!(names.len() > 15, "{names:?}");
    for name in names {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} is not exported"
        );
        assert!(
            operations.contains(&format!("`{name}`")),
            "{name} is not in docs/operations.md"
        );
    }
}
