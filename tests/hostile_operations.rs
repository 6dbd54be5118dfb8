//! Hostile operations against the real gateway over the demo services: each is refused before
//! any planning with a coded error, the gateway stays responsive meanwhile, and the memory its
//! caches keep stays bounded whatever documents arrive.

use std::time::Duration;

use e2e::{Stack, listener};
use gateway::config::SubgraphConfig;
use serde_json::{Value, json};

/// The allocator the `gateway` binary uses, so that the memory measured here is the memory
/// the gateway keeps, not the system allocator's fragmentation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Fragments that spread the one before twice: about 1.3 KB for 2³⁰ fields.
fn fragment_explosion(levels: usize) -> String {
    let mut query = format!("{{ ...F{levels} }}\nfragment F0 on Query {{ me {{ id }} }}\n");
    for level in 1..=levels {
        let previous = level - 1;
        query.push_str(&format!(
            "fragment F{level} on Query {{ ...F{previous} ...F{previous} }}\n"
        ));
    }
    query
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

/// POSTs `body` and returns the JSON answer, whatever its status.
async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Value {
    client
        .post(url)
        .json(body)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON")
}

/// The test process's resident memory (the gateway runs in it), in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_explosion_is_refused_while_health_keeps_answering() {
    let stack = Stack::demo().await;
    let explosion = fragment_explosion(30);
    assert!(explosion.len() < 1_500, "{} bytes", explosion.len());
    // Several at once, again and again, while /health is asked: every /health answers, and
    // every explosion gets its coded error. (Before the limits, two of these took the
    // gateway down for minutes.)
    let attackers: Vec<_> = (0..6)
        .map(|_| {
            let client = stack.client().clone();
            let url = stack.gateway_url.clone();
            let body = json!({ "query": explosion });
            tokio::spawn(async move {
                let mut codes = Vec::new();
                for _ in 0..20 {
                    let response = post(&client, &url, &body).await;
                    codes.push(code(&response).to_string());
                }
                codes
            })
        })
        .collect();
    let health = stack.gateway_url.replace("/graphql", "/health");
    for _ in 0..20 {
        let answered =
            tokio::time::timeout(Duration::from_secs(10), stack.client().get(&health).send())
                .await
                .expect("/health answers while explosions are in flight")
                .expect("HTTP");
        assert!(answered.status().is_success());
    }
    for attacker in attackers {
        let codes = attacker.await.expect("attacker");
        assert!(
            codes.iter().all(|c| c == "MAX_ROOT_FIELDS_EXCEEDED"),
            "{codes:?}"
        );
    }
    // The gateway still serves ordinary queries.
    let response = stack.query("{ me { id } }").await;
    assert_eq!(response["data"]["me"]["id"], "1", "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_aliases_and_nested_aliases_are_refused_before_any_fetch() {
    let stack = Stack::demo().await;
    // 10,000 aliases of a list with reviews (559 KB): it once built an 87 MB answer.
    let fields: String = (0..10_000)
        .map(|i| format!("a{i}: topProducts(first: 16) {{ name reviews {{ body }} }} "))
        .collect();
    let response = stack.query(&format!("{{ {fields}}}")).await;
    assert_eq!(code(&response), "MAX_TOKENS_EXCEEDED", "{response}");
    assert!(response.get("data").is_none());
    // Within the token limit, nested aliases multiply the answer: refused by the alias count,
    // which counts each alias where it is used.
    let inner: String = (0..20)
        .map(|i| format!("r{i}: reviews {{ body }} "))
        .collect();
    let outer: String = (0..20)
        .map(|i| format!("p{i}: topProducts(first: 16) {{ {inner}}} "))
        .collect();
    let response = stack.query(&format!("{{ {outer}}}")).await;
    assert_eq!(code(&response), "MAX_ALIASES_EXCEEDED", "{response}");
    assert_eq!(response["errors"][0]["extensions"]["value"], 420);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_distinct_documents_leave_the_caches_within_their_bytes() {
    const CACHE_BYTES: u64 = 8 << 20;
    let stack = Stack::demo_with(|config| {
        config.query_planning.document_cache_bytes = CACHE_BYTES;
        config.query_planning.plan_cache_bytes = CACHE_BYTES;
    })
    .await;
    let send = |query: String| {
        let client = stack.client().clone();
        let url = stack.gateway_url.clone();
        async move { post(&client, &url, &json!({ "query": query })).await }
    };
    // Warm up the allocator and the connection pools first.
    for i in 0..20 {
        send(format!("{{ me {{ id }} }} # {i}")).await;
    }
    let before = resident_bytes();
    // Three kinds of distinct documents, that once were all kept whole:
    // - valid, each with a 1 MB comment (one token): 150 MB of text;
    // - valid, each near the token limit (7,000 fields);
    // - invalid, each with 2,000 errors (kept with the document before).
    let comment = "#".repeat(1 << 20);
    let fields = "id ".repeat(7_000);
    let unknown: String = (0..2_000).map(|i| format!("x{i} ")).collect();
    for i in 0..150 {
        let big = send(format!("{{ __typename }} # {i}\n{comment}")).await;
        assert_eq!(big["data"]["__typename"], "Query", "{big}");
        if i % 5 == 0 {
            let many = send(format!("{{ me {{ {fields} }} }} # {i}")).await;
            assert_eq!(many["data"]["me"]["id"], "1");
        }
        let invalid = send(format!("{{ {unknown} }} # {i}")).await;
        let errors = invalid["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 100, "capped at limits.max_errors");
    }
    // And two thousand more small distinct documents, half valid, half not.
    for i in 0..1_000 {
        let valid = send(format!("{{ me {{ id }} t{i}: __typename }}")).await;
        assert_eq!(valid["data"][format!("t{i}")], "Query", "{valid}");
        let invalid = send(format!("{{ me {{ y{i} }} }}")).await;
        assert_eq!(code(&invalid), "GRAPHQL_VALIDATION_FAILED", "{invalid}");
    }
    let grown = resident_bytes().saturating_sub(before);
    // Both caches full (16 MiB) and the allocator's slack; before the byte bounds, the 1 MB
    // documents alone grew it by 1.1 MB each.
    assert!(
        grown < 64 << 20,
        "resident memory grew by {} MB",
        grown >> 20
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masked_subgraph_errors_keep_their_code_and_subgraph_but_not_their_message() {
    let (closed, address) = listener().await;
    drop(closed);
    let stack = Stack::demo_with(|config| {
        config.subgraph_errors.mask = true;
        config.subgraphs.insert(
            "inventory".into(),
            SubgraphConfig {
                url: Some(format!("http://{address}/graphql")),
                ..Default::default()
            },
        );
    })
    .await;
    // A connection failure: its reason names the host and the OS error.
    let response = stack.query(r#"{ product(upc: "1") { inStock } }"#).await;
    let error = &response["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "SUBGRAPH_UNREACHABLE",
        "{response}"
    );
    assert_eq!(error["extensions"]["serviceName"], "inventory");
    assert_eq!(error["path"], json!(["product"]));
    let message = error["message"].as_str().expect("message");
    assert!(message.contains("masked"), "{message}");
    assert!(!message.contains("127.0.0.1") && !message.contains("refused"));
    // An error the subgraph itself reported.
    let response = stack
        .query(r#"mutation { createUser(name: "X", username: "@ada") { id } }"#)
        .await;
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["serviceName"], "accounts", "{response}");
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("masked"),
        "{response}"
    );
    // Errors of the gateway's own stay as they are.
    let response = stack.query("{ nope }").await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .expect("message")
            .contains("nope"),
        "{response}"
    );
}
