//! Progressive override end to end: two real subgraph servers that both resolve
//! `Account.plan`, `Account.tier` and `Account.balance` (each answers with its own name, so
//! the response says who resolved a field), behind a real gateway over a supergraph where
//! `billing` overrides them from `legacy` under labels: `percent(100)` (always billing),
//! `percent(0)` (never), `beta` (by config or a request header), and `percent(50)` drawn per
//! request.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use e2e::{Stack, listener};
use gateway::config::{Config, SubgraphConfig};
use serde_json::{Value, json};

const LEGACY: &str = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
type Query { account(id: ID!): Account }
type Account @key(fields: "id") {
  id: ID!
  plan: String!
  tier: String!
  balance: String!
  split: String!
}
"#;

const BILLING: &str = r#"
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
type Account @key(fields: "id") {
  id: ID!
  plan: String! @override(from: "legacy", label: "percent(100)")
  tier: String! @override(from: "legacy", label: "beta")
  balance: String! @override(from: "legacy", label: "percent(0)")
  split: String! @override(from: "legacy", label: "percent(50)")
}
"#;

const FIELDS: [&str; 4] = ["plan", "tier", "balance", "split"];

/// A subgraph that answers every field it is asked for with its own name.
struct Fake {
    name: &'static str,
    requests: AtomicUsize,
}

async fn answer(State(fake): State<Arc<Fake>>, Json(body): Json<Value>) -> Json<Value> {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    let query = body["query"].as_str().unwrap_or_default();
    let words: BTreeSet<&str> = query
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .collect();
    let mut object = serde_json::Map::new();
    object.insert("__typename".into(), json!("Account"));
    object.insert("id".into(), json!("1"));
    for field in FIELDS {
        if words.contains(field) {
            object.insert(field.into(), json!(fake.name));
        }
    }
    if words.contains("_entities") {
        let count = body["variables"]["representations"]
            .as_array()
            .map_or(0, Vec::len);
        Json(json!({ "data": { "_entities": vec![Value::Object(object); count] } }))
    } else {
        Json(json!({ "data": { "account": object } }))
    }
}

struct Fixture {
    stack: Stack,
    legacy: Arc<Fake>,
    billing: Arc<Fake>,
    _servers: Vec<tokio::task::JoinHandle<()>>,
}

async fn start(adjust: impl FnOnce(&mut Config)) -> Fixture {
    let mut config = Config::default();
    let mut servers = Vec::new();
    let mut fakes = Vec::new();
    for name in ["legacy", "billing"] {
        let fake = Arc::new(Fake {
            name,
            requests: AtomicUsize::new(0),
        });
        let (listener, address) = listener().await;
        let app = axum::Router::new()
            .route("/graphql", post(answer))
            .with_state(fake.clone());
        servers.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
        config.subgraphs.insert(
            name.to_string(),
            SubgraphConfig {
                url: Some(format!("http://{address}/graphql")),
                ..Default::default()
            },
        );
        fakes.push(fake);
    }
    adjust(&mut config);
    let input = |name: &str, sdl: &str| gateway::compose::SubgraphInput {
        name: name.into(),
        url: format!("http://{name}.invalid/graphql"),
        sdl: sdl.into(),
        path: format!("{name}.graphql").into(),
    };
    let composition =
        gateway::compose::compose(vec![input("legacy", LEGACY), input("billing", BILLING)]);
    let supergraph = composition.supergraph.expect("the subgraphs compose");
    let stack = Stack::gateway(&supergraph, &config).await;
    let billing = fakes.pop().expect("billing");
    let legacy = fakes.pop().expect("legacy");
    Fixture {
        stack,
        legacy,
        billing,
        _servers: servers,
    }
}

async fn account(fixture: &Fixture, fields: &str, headers: &[(&str, &str)]) -> Value {
    let response = fixture
        .stack
        .request_with(
            json!({ "query": format!(r#"{{ account(id: "1") {{ {fields} }} }}"#) }),
            headers,
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    response["data"]["account"].clone()
}

#[tokio::test]
async fn percent_100_and_percent_0_are_deterministic() {
    let fixture = start(|_| {}).await;
    for _ in 0..20 {
        let account = account(&fixture, "plan balance", &[]).await;
        assert_eq!(account, json!({ "plan": "billing", "balance": "legacy" }));
    }
}

#[tokio::test]
async fn a_custom_label_is_off_unless_the_config_turns_it_on() {
    let off = start(|_| {}).await;
    assert_eq!(
        account(&off, "tier", &[]).await,
        json!({ "tier": "legacy" })
    );
    assert_eq!(off.billing.requests.load(Ordering::SeqCst), 0);
    let on = start(|config| config.override_labels.active = vec!["beta".into()]).await;
    assert_eq!(
        account(&on, "tier", &[]).await,
        json!({ "tier": "billing" })
    );
    assert_eq!(on.legacy.requests.load(Ordering::SeqCst), 1);
    assert_eq!(on.billing.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_header_rule_turns_a_label_on_per_request_and_is_ignored_when_off() {
    let header = [("x-override-labels", "other, beta")];
    let without_rule = start(|_| {}).await;
    assert_eq!(
        account(&without_rule, "tier", &header).await,
        json!({ "tier": "legacy" })
    );
    let with_rule =
        start(|config| config.override_labels.header = Some("X-Override-Labels".into())).await;
    assert_eq!(
        account(&with_rule, "tier", &header).await,
        json!({ "tier": "billing" })
    );
    // The same operation without the header: its other plan (the cache keeps both).
    assert_eq!(
        account(&with_rule, "tier", &[]).await,
        json!({ "tier": "legacy" })
    );
    assert_eq!(
        account(&with_rule, "tier", &header).await,
        json!({ "tier": "billing" })
    );
}

#[tokio::test]
async fn percent_50_sends_about_half_of_the_requests_to_each_subgraph() {
    let fixture = start(|_| {}).await;
    let mut billing = 0;
    const REQUESTS: usize = 400;
    for _ in 0..REQUESTS {
        let account = account(&fixture, "split", &[]).await;
        match account["split"].as_str() {
            Some("billing") => billing += 1,
            Some("legacy") => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    // Binomial(400, 0.5): the standard deviation is 10, so 140..260 is 6 of them each side.
    assert!(
        (140..=260).contains(&billing),
        "{billing} of {REQUESTS} from billing"
    );
}
