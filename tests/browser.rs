//! The gateway in a real browser: headless Debian Chromium (see `e2e::browser`), with every
//! address but loopback blocked.
//!
//! - The playground, used as a person would: it renders from the gateway's own files (no
//!   CDN), under its Content-Security-Policy with nothing blocked, opens with the example
//!   operation made from the schema, runs a typed query, lists the Query fields in the docs
//!   explorer (introspection), and sends the headers typed into its headers editor.
//!   Screenshots are kept under `$CARGO_TARGET_DIR/browser-artifacts/` (else
//!   `target/browser-artifacts/`): `playground-opened.png` (the example and the docs) and
//!   `playground.png` (the typed query and its result).
//! - A page on another loopback origin calling the gateway as a frontend app would (a JSON
//!   POST with `Authorization`, so Chromium preflights it): allowed by `cors`, refused
//!   without it or from another origin, and any origin as `gateway demo` allows.
//!
//! Needs `/usr/bin/chromium`, node and npm (tests/run installs them).

use e2e::browser::{self, Fetch, PageServer};
use e2e::{DEMO_SUPERGRAPH, Stack};
use gateway::edge::cors::CorsConfig;
use gateway::server::playground;
use gateway::supergraph::Supergraph;
use serde_json::Value;

/// What the test types into the playground, and the header it types into the headers editor.
const QUERY: &str = "{ topProducts(first: 2) { name price } }";
const HEADER: (&str, &str) = ("x-playground-check", "typed-in-the-headers-editor");

#[tokio::test]
async fn the_playground_runs_a_subscription_in_chromium() {
    let stack = Stack::demo().await;
    let screenshot = browser::artifacts_dir().join("playground-subscription.png");
    let _ = std::fs::remove_file(&screenshot);
    let query = r#"subscription { reviewAdded(upc: "1") { body product { name inStock } } }"#;
    let mutation = serde_json::json!({
        "query": r#"mutation { addReview(productUpc: "1", authorId: "1", body: "Seen live in GraphiQL", rating: 5) { id } }"#,
    })
    .to_string();
    let report =
        browser::playground_subscription(&stack.gateway_url, &screenshot, query, &mutation).await;
    println!("{report}");
    assert!(report.ok(), "the scenario failed:\n{report}");
    assert!(
        report.blocked().is_empty(),
        "requests beyond loopback:\n{report}"
    );
    assert!(report.csp_violations().is_empty(), "{report}");
    // The event, with what products and inventory add to it, in the result pane.
    let result: Value = serde_json::from_str(report.str("result")).expect("the pane holds JSON");
    let review = &result["data"]["reviewAdded"];
    assert_eq!(review["body"], "Seen live in GraphiQL", "{report}");
    assert!(review["product"]["name"].is_string(), "{report}");
    assert!(review["product"]["inStock"].is_boolean(), "{report}");
    // Sent as GraphQL over SSE.
    let sent = report.json["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| {
            r["body"]
                .as_str()
                .is_some_and(|b| b.contains("reviewAdded"))
        })
        .expect("GraphiQL sent the subscription");
    assert_eq!(sent["headers"]["accept"], "text/event-stream", "{report}");
}

#[tokio::test]
async fn the_playground_runs_a_live_query_in_chromium() {
    // With the entity cache, as `gateway demo` runs: its invalidations re-run live queries.
    let stack = Stack::demo_with(|config| {
        config.cache = gateway::cache::CacheConfig {
            enabled: true,
            defaults: gateway::cache::PolicyConfig {
                mode: Some(gateway::cache::Mode::Events),
                ..Default::default()
            },
            ..Default::default()
        };
    })
    .await;
    let screenshot = browser::artifacts_dir().join("playground-live.png");
    let _ = std::fs::remove_file(&screenshot);
    let query = "query @live { topProducts { upc name price } }";
    let mutation = serde_json::json!({
        "query": r#"mutation { updateProductPrice(upc: "1", price: 4242) { upc price } }"#,
    })
    .to_string();
    let report =
        browser::playground_live(&stack.gateway_url, &screenshot, query, &mutation, "4242").await;
    println!("{report}");
    assert!(report.ok(), "the scenario failed:\n{report}");
    assert!(
        report.blocked().is_empty(),
        "requests beyond loopback:\n{report}"
    );
    assert!(report.csp_violations().is_empty(), "{report}");
    // The first result, then the one the mutation made the gateway push, in the same pane.
    let before: Value = serde_json::from_str(report.str("before")).expect("the pane holds JSON");
    assert_eq!(before["data"]["topProducts"][0]["upc"], "1", "{report}");
    assert_ne!(before["data"]["topProducts"][0]["price"], 4242, "{report}");
    let result: Value = serde_json::from_str(report.str("result")).expect("the pane holds JSON");
    assert_eq!(result["data"]["topProducts"][0]["price"], 4242, "{report}");
    // Sent as GraphQL over SSE, once: the update came over the same stream.
    let sent: Vec<&Value> = report.json["requests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["body"].as_str().is_some_and(|b| b.contains("@live")))
        .collect();
    assert_eq!(sent.len(), 1, "{report}");
    assert_eq!(
        sent[0]["headers"]["accept"], "text/event-stream",
        "{report}"
    );
}

#[tokio::test]
async fn the_playground_runs_a_typed_query_in_chromium_with_no_network() {
    let stack = Stack::demo().await;
    let screenshot = browser::artifacts_dir().join("playground.png");
    let _ = std::fs::remove_file(&screenshot);
    let report = browser::playground(&stack.gateway_url, &screenshot, QUERY, HEADER).await;
    println!("{report}");
    assert!(report.ok(), "the scenario failed:\n{report}");

    // Offline and under the page's policy: nothing left loopback, nothing was refused.
    assert!(
        report.blocked().is_empty(),
        "requests beyond loopback:\n{report}"
    );
    assert_eq!(
        report.str("csp"),
        playground::CONTENT_SECURITY_POLICY,
        "{report}"
    );
    assert!(
        report.csp_violations().is_empty(),
        "CSP violations:\n{report}"
    );
    let errors: Vec<&str> = report
        .console()
        .into_iter()
        .filter(|m| m.starts_with("error") || m.starts_with("pageerror"))
        .collect();
    assert!(
        errors.is_empty(),
        "errors in the console: {errors:?}\n{report}"
    );

    // The editor opens with the example made from the served schema.
    let supergraph = Supergraph::parse(DEMO_SUPERGRAPH).unwrap();
    let api = supergraph.api_schema();
    let example = playground::example_operation(api).expect("the demo has an example");
    assert_eq!(report.str("example"), example, "{report}");

    // The typed query ran, and the result pane shows what the gateway answers to it.
    assert_eq!(
        report.str("typed"),
        QUERY,
        "the editor changed what was typed:\n{report}"
    );
    let shown: Value = serde_json::from_str(report.str("result"))
        .unwrap_or_else(|e| panic!("the result pane is not JSON ({e}):\n{report}"));
    let expected = stack.query(QUERY).await;
    assert_eq!(
        expected["data"]["topProducts"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(shown, expected, "{report}");

    // The docs explorer lists every Query field of the API schema (introspection works).
    let query_fields: Vec<String> = api
        .get_object("Query")
        .unwrap()
        .fields
        .keys()
        .map(|name| name.to_string())
        .collect();
    let listed: Vec<String> = report.json["docsFields"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(report.str("docsTitle"), "Query", "{report}");
    assert_eq!(listed, query_fields, "{report}");

    // The header typed into the headers editor went with the operation, a JSON POST.
    assert_eq!(
        report.str("headersTyped"),
        format!(r#"{{"{}":"{}"}}"#, HEADER.0, HEADER.1),
        "{report}"
    );
    let requests = report.json["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sent = requests.iter().find(|request| {
        serde_json::from_str::<Value>(request["body"].as_str().unwrap_or(""))
            .is_ok_and(|body| body["query"] == QUERY)
    });
    let sent = sent.unwrap_or_else(|| panic!("no request carried the query:\n{report}"));
    assert_eq!(sent["method"], "POST");
    assert_eq!(sent["headers"]["content-type"], "application/json");
    assert_eq!(sent["headers"][HEADER.0], HEADER.1, "{report}");
    assert_eq!(report.str("resultWithHeaders"), report.str("result"));

    assert!(
        screenshot.exists(),
        "no screenshot at {}",
        screenshot.display()
    );
    println!(
        "screenshots: {} and {}",
        report.str("openedScreenshot"),
        screenshot.display()
    );
}

/// A frontend app's page: the helper fetches from it, so it needs no script of its own.
const APP_PAGE: &str = "<!doctype html><title>another origin</title><p>a frontend app</p>";

/// The origin of a page served by [`PageServer`] at `url` (`http://127.0.0.1:port`).
fn origin(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

/// A GraphQL POST from a page on another origin, as Apollo Client sends one with a token.
fn app_fetch(credentials: &'static str) -> Fetch {
    Fetch {
        body: serde_json::json!({ "query": "{ me { name } }" }).to_string(),
        headers: vec![("authorization".into(), "Bearer not-checked-here".into())],
        credentials,
        ..Fetch::default()
    }
}

#[tokio::test]
async fn a_page_on_an_allowed_origin_reads_the_answer_after_a_real_preflight() {
    let page = PageServer::start(APP_PAGE).await;
    let app_origin = origin(&page.url);
    let stack = Stack::demo_with(|config| {
        config.cors = CorsConfig {
            origins: vec![app_origin.clone()],
            allow_credentials: true,
            ..Default::default()
        };
    })
    .await;
    // `authorization` and `content-type: application/json` make Chromium preflight; with
    // credentials it also checks Access-Control-Allow-Credentials.
    let report =
        browser::cross_origin_fetch(&page.url, &stack.gateway_url, &app_fetch("include")).await;
    println!("{report}");
    assert!(report.ok(), "the scenario failed:\n{report}");
    assert!(
        report.blocked().is_empty(),
        "requests beyond loopback:\n{report}"
    );
    let fetch = &report.json["fetch"];
    assert_eq!(
        fetch["ok"], true,
        "the browser refused the answer:\n{report}"
    );
    assert_eq!(fetch["status"], 200, "{report}");
    let body: Value = serde_json::from_str(fetch["body"].as_str().unwrap_or("")).unwrap();
    assert_eq!(body["data"]["me"]["name"], "Ada Lovelace", "{report}");
}

#[tokio::test]
async fn a_page_on_another_origin_cannot_read_the_gateway() {
    let page = PageServer::start(APP_PAGE).await;
    // CORS off (the default), and CORS allowing some other origin: both refuse this page.
    let other = Stack::demo_with(|config| {
        config.cors = CorsConfig {
            origins: vec!["http://127.0.0.1:1".into()],
            ..Default::default()
        };
    })
    .await;
    for stack in [Stack::demo().await, other] {
        let report =
            browser::cross_origin_fetch(&page.url, &stack.gateway_url, &app_fetch("omit")).await;
        println!("{report}");
        assert!(report.ok(), "the scenario failed:\n{report}");
        assert!(
            report.blocked().is_empty(),
            "requests beyond loopback:\n{report}"
        );
        assert_eq!(report.json["pageStatus"], 200, "{report}");
        let fetch = &report.json["fetch"];
        assert_eq!(
            fetch["ok"], false,
            "the page read a cross-origin answer:\n{report}"
        );
        assert_eq!(fetch["error"]["name"], "TypeError", "{report}");
        // The preflight reached the gateway, and the browser refused it (playwright
        // intercepting requests would have answered it itself: the scenario does not).
        assert!(
            report
                .console()
                .iter()
                .any(|m| m.contains("CORS policy") && m.contains("preflight")),
            "the console does not name a refused CORS preflight:\n{report}"
        );
    }
}

#[tokio::test]
async fn any_origin_as_gateway_demo_allows() {
    let page = PageServer::start(APP_PAGE).await;
    let stack = Stack::demo_with(|config| config.cors = CorsConfig::any_origin()).await;
    let report =
        browser::cross_origin_fetch(&page.url, &stack.gateway_url, &app_fetch("omit")).await;
    println!("{report}");
    let fetch = &report.json["fetch"];
    assert_eq!(
        fetch["ok"], true,
        "the browser refused the answer:\n{report}"
    );
    assert_eq!(fetch["status"], 200, "{report}");
}
