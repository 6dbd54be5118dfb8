//! Header rules and the client response's `Cache-Control`, end to end: the demo subgraphs
//! behind recording proxies (which show what each subgraph was sent, and can add headers to
//! its answers), and a gateway configured from YAML as a user writes it.

use e2e::Stack;
use e2e::recording_proxy::RecordingProxy;
use gateway::config::{Config, SubgraphConfig};
use serde_json::{Value, json};

/// A product's name from `products` (a root fetch), then its stock from `inventory` (an
/// entity fetch): two subgraphs, one after the other.
const STOCK: &str = r#"query Stock($upc: String!) { product(upc: $upc) { upc name inStock } }"#;

struct Proxied {
    stack: Stack,
    products: RecordingProxy,
    inventory: RecordingProxy,
}

/// The demo behind a gateway whose config is `yaml`, `products` and `inventory` reached
/// through recording proxies.
async fn proxied(yaml: &str) -> Proxied {
    let products = RecordingProxy::start().await;
    let inventory = RecordingProxy::start().await;
    let parsed = Config::parse(yaml).expect("the config parses");
    let stack = Stack::demo_with(|config| {
        let urls = config.subgraphs.clone();
        *config = Config {
            subgraphs: urls,
            ..parsed
        };
        for (name, proxy) in [("products", &products), ("inventory", &inventory)] {
            let real = config.subgraphs[name].url.clone().unwrap();
            proxy.forward_to(&real);
            config.subgraphs.insert(
                name.into(),
                SubgraphConfig {
                    url: Some(proxy.url.clone()),
                    ..Default::default()
                },
            );
        }
    })
    .await;
    Proxied {
        stack,
        products,
        inventory,
    }
}

impl Proxied {
    async fn send(&self, body: Value, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self
            .stack
            .client()
            .post(&self.stack.gateway_url)
            .json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("the gateway answers")
    }

    async fn stock(&self, headers: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .send(
                json!({ "query": STOCK, "variables": { "upc": "1" } }),
                headers,
            )
            .await;
        assert_eq!(response.status(), 200);
        response
    }
}

fn sent(proxy: &RecordingProxy, name: &str) -> Vec<String> {
    let recorded = proxy.recorded();
    let last = recorded.last().expect("the subgraph was called");
    last.headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn all(response: &reqwest::Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

const REQUEST_RULES: &str = r#"
headers:
  propagate: [x-plain]
  all:
    request:
      - propagate: { named: x-tenant, rename: x-tenant-id, default: none }
      - propagate: { matching: "x-b3-.*" }
      - propagate: { matching: ".*" }
      - remove: { matching: "x-secret-.*" }
      - insert: { name: x-gateway, value: gw-1 }
  subgraphs:
    inventory:
      request:
        - remove: { named: x-plain }
        - insert: { name: x-only-inventory, value: "yes" }
        - propagate: { named: X-Tenant }
"#;

#[tokio::test]
async fn request_rules_build_what_each_subgraph_is_sent() {
    let proxied = proxied(REQUEST_RULES).await;
    let body: Value = proxied
        .stock(&[
            ("x-plain", "p"),
            ("x-tenant", "t1"),
            ("x-b3-traceid", "abc"),
            ("x-secret-token", "s"),
        ])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["product"]["upc"], "1", "{body}");
    assert!(body["data"]["product"]["inStock"].is_boolean(), "{body}");

    let products = &proxied.products;
    assert_eq!(sent(products, "x-plain"), ["p"]);
    assert_eq!(sent(products, "x-tenant-id"), ["t1"]);
    // Matched by `x-b3-.*` and by `.*`: sent once, as the client sent it.
    assert_eq!(sent(products, "x-b3-traceid"), ["abc"]);
    assert!(sent(products, "x-secret-token").is_empty(), "removed");
    assert_eq!(sent(products, "x-gateway"), ["gw-1"]);
    assert!(sent(products, "x-only-inventory").is_empty());
    // `.*` never forwards what describes the client's own connection or body.
    let recorded = products.recorded();
    let last = &recorded.last().unwrap().headers;
    assert_ne!(
        last["host"],
        proxied.stack.gateway_url.trim_start_matches("http://")
    );
    assert_eq!(last["content-type"], "application/json");

    let inventory = &proxied.inventory;
    assert!(
        sent(inventory, "x-plain").is_empty(),
        "its own rule removed it"
    );
    assert_eq!(sent(inventory, "x-only-inventory"), ["yes"]);
    assert_eq!(sent(inventory, "x-tenant-id"), ["t1"]);
    assert_eq!(sent(inventory, "x-tenant"), ["t1"], "`.*` and its own rule");
    assert_eq!(sent(inventory, "x-gateway"), ["gw-1"]);

    // Without the header, its default.
    proxied.stock(&[]).await;
    assert_eq!(sent(&proxied.products, "x-tenant-id"), ["none"]);
    assert!(sent(&proxied.products, "x-plain").is_empty());
}

const RESPONSE_RULES: &str = r#"
headers:
  all:
    response:
      - propagate: { named: x-rate, algorithm: append }
      - propagate: { named: x-first, algorithm: first }
      - propagate: { named: x-last }
  subgraphs:
    inventory:
      response:
        - propagate: { named: x-version, rename: x-inventory-version, default: unknown }
"#;

#[tokio::test]
async fn subgraph_answer_headers_reach_the_client_by_rule() {
    let proxied = proxied(RESPONSE_RULES).await;
    proxied.products.answer_with_headers(&[
        ("x-rate", "5"),
        ("x-first", "products"),
        ("x-last", "products"),
        ("x-secret", "s"),
        ("x-version", "p9"),
    ]);
    proxied.inventory.answer_with_headers(&[
        ("x-rate", "7"),
        ("x-first", "inventory"),
        ("x-last", "inventory"),
        ("x-version", "i3"),
    ]);
    let response = proxied.stock(&[]).await;
    // `products` answers first (inventory needs its answer).
    assert_eq!(all(&response, "x-rate"), ["5", "7"]);
    assert_eq!(all(&response, "x-first"), ["products"]);
    assert_eq!(all(&response, "x-last"), ["inventory"]);
    assert_eq!(all(&response, "x-inventory-version"), ["i3"]);
    assert!(all(&response, "x-version").is_empty(), "renamed");
    assert!(all(&response, "x-secret").is_empty(), "no rule names it");

    proxied.inventory.answer_with_headers(&[]);
    let response = proxied.stock(&[]).await;
    assert_eq!(all(&response, "x-inventory-version"), ["unknown"]);
    assert_eq!(all(&response, "x-rate"), ["5"]);
}

#[tokio::test]
async fn cache_control_is_the_strictest_of_the_parts() {
    let proxied = proxied("").await;
    let cache_control = |response: &reqwest::Response| all(response, "cache-control");

    // Nothing said: nothing may be kept.
    let response = proxied.stock(&[]).await;
    assert_eq!(cache_control(&response), ["no-store"]);

    proxied
        .products
        .answer_with_headers(&[("cache-control", "public, max-age=60")]);
    proxied
        .inventory
        .answer_with_headers(&[("cache-control", "max-age=30")]);
    assert_eq!(
        cache_control(&proxied.stock(&[]).await),
        ["max-age=30, public"]
    );

    proxied
        .inventory
        .answer_with_headers(&[("cache-control", "private, max-age=90")]);
    assert_eq!(
        cache_control(&proxied.stock(&[]).await),
        ["max-age=60, private"]
    );

    // One part that may not be kept makes the whole answer so.
    for inventory in ["no-store", "max-age=0", "no-cache, max-age=60"] {
        proxied
            .inventory
            .answer_with_headers(&[("cache-control", inventory)]);
        assert_eq!(
            cache_control(&proxied.stock(&[]).await),
            ["no-store"],
            "{inventory}"
        );
    }

    // Errors and mutations are never kept.
    proxied
        .inventory
        .answer_with_headers(&[("cache-control", "max-age=30")]);
    // Inventory's requests go to products, which has no `inStock`: an error for that part.
    proxied.inventory.forward_to(&proxied.products.target());
    let response = proxied
        .send(json!({ "query": STOCK, "variables": { "upc": "1" } }), &[])
        .await;
    let cache = cache_control(&response);
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"].is_array(), "{body}");
    assert_eq!(cache, ["no-store"]);
    let response = proxied
        .send(
            json!({ "query": r#"mutation { updateProductPrice(upc: "2", price: 5) { upc } }"# }),
            &[],
        )
        .await;
    assert_eq!(cache_control(&response), ["no-store"]);
}

#[tokio::test]
async fn answers_from_the_cache_say_how_long_they_have_left() {
    let proxied = proxied(
        r#"
cache:
  enabled: true
  defaults: { mode: ttl, ttl_seconds: 120 }
"#,
    )
    .await;
    let max_age =
        |response: &reqwest::Response| -> String { all(response, "cache-control").join("|") };
    proxied
        .products
        .answer_with_headers(&[("cache-control", "max-age=60")]);
    proxied
        .inventory
        .answer_with_headers(&[("cache-control", "max-age=45")]);
    assert_eq!(max_age(&proxied.stock(&[]).await), "max-age=45, public");
    let calls = proxied.products.recorded().len() + proxied.inventory.recorded().len();

    // Both parts from the cache now: what is left of the shorter life.
    let response = proxied.stock(&[]).await;
    assert_eq!(
        proxied.products.recorded().len() + proxied.inventory.recorded().len(),
        calls,
        "answered from the cache"
    );
    let header = max_age(&response);
    let seconds: u64 = header
        .strip_prefix("max-age=")
        .and_then(|rest| rest.strip_suffix(", public"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{header}"));
    assert!((43..=45).contains(&seconds), "{header}");
}

#[tokio::test]
async fn an_entry_the_subgraph_gave_no_lifetime_is_not_for_clients_to_keep() {
    let proxied = proxied(
        r#"
cache:
  enabled: true
  defaults: { mode: ttl, ttl_seconds: 120 }
"#,
    )
    .await;
    proxied.stock(&[]).await;
    let response = proxied.stock(&[]).await;
    assert_eq!(proxied.products.recorded().len(), 1, "from the cache");
    // The gateway's own TTL is the gateway's business: clients get no lifetime from it.
    assert_eq!(all(&response, "cache-control"), ["no-store"]);
}

#[test]
fn rules_that_cannot_work_are_refused_at_start_with_their_place() {
    let cases = [
        (
            "headers: { all: { request: [ { propagate: { named: a, matching: b } } ] } }",
            "headers.all.request[0]: give exactly one of `named` and `matching`",
        ),
        (
            "headers: { all: { request: [ { propagate: { matching: 'x-.*', rename: y } } ] } }",
            "headers.all.request[0]: `rename` and `default` go with `named`",
        ),
        (
            "headers: { subgraphs: { products: { request: [ { insert: { name: content-length, value: '1' } } ] } } }",
            "headers.subgraphs.products.request[0]: \"content-length\" describes one connection",
        ),
        (
            "headers: { subgraphs: { nowhere: { request: [] } } }",
            "headers.subgraphs.nowhere: the supergraph has no such subgraph",
        ),
        (
            "headers: { all: { response: [ { propagate: { matching: '(' } } ] } }",
            "headers.all.response[0]: `matching` is not a regular expression",
        ),
        (
            "headers: { all: { request: [ { insert: { name: x-a } } ] } }",
            "headers.all.request[0]: give exactly one of `value` and `claim`",
        ),
    ];
    for (yaml, expected) in cases {
        let config = Config::parse(yaml).expect("parses");
        let supergraph =
            gateway::supergraph::Supergraph::parse(e2e::DEMO_SUPERGRAPH).expect("supergraph");
        let error = gateway::startup::build_gateway(supergraph, &config)
            .err()
            .unwrap_or_else(|| panic!("{yaml} was accepted"))
            .to_string();
        assert!(error.contains(expected), "{yaml}: {error}");
    }
    // Unknown keys, with where they are.
    let error = Config::parse("headers:\n  all:\n    request:\n      - propagate: { nmed: a }\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("nmed") && error.contains("line 4"),
        "{error}"
    );
}

#[tokio::test]
async fn surrogate_keys_name_the_answers_entities_as_change_events_do() {
    let proxied = proxied(
        r#"
cache:
  enabled: true
  defaults: { mode: ttl, ttl_seconds: 120 }
  surrogate_key_header: Surrogate-Key
"#,
    )
    .await;
    let words = |response: &reqwest::Response| -> Vec<String> {
        let lines = all(response, "surrogate-key");
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines[0].split(' ').map(str::to_string).collect()
    };
    let fetched = words(&proxied.stock(&[]).await);
    for expected in [
        "products:Product",
        r#"products:Product:{"upc":"1"}"#,
        "inventory:Product",
        r#"inventory:Product:{"upc":"1"}"#,
    ] {
        assert!(
            fetched.iter().any(|w| w == expected),
            "{expected} in {fetched:?}"
        );
    }
    // From the cache: the same words.
    let cached = words(&proxied.stock(&[]).await);
    assert_eq!(
        proxied.products.recorded().len(),
        1,
        "answered from the cache"
    );
    assert_eq!(cached, fetched);

    // A list names every entity in it.
    let response = proxied
        .send(
            json!({ "query": "{ topProducts(first: 3) { upc name } }" }),
            &[],
        )
        .await;
    let listed = words(&response);
    let keyed = listed
        .iter()
        .filter(|w| w.starts_with("products:Product:{"))
        .count();
    assert_eq!(keyed, 3, "{listed:?}");
}

#[tokio::test]
async fn without_the_setting_no_surrogate_keys_are_sent() {
    let proxied =
        proxied("cache: { enabled: true, defaults: { mode: ttl, ttl_seconds: 60 } }").await;
    let response = proxied.stock(&[]).await;
    assert!(all(&response, "surrogate-key").is_empty());
}
