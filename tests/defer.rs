//! `@defer` end to end: the demo subgraphs, a real gateway, and a real HTTP client (reqwest)
//! reading the `multipart/mixed` body part by part, in both formats: Apollo's
//! (`deferSpec=20220824`) and the incremental delivery RFC's (`incrementalDeliverySpec`).
//! Each payload is checked as exact JSON.

use std::sync::Arc;

use e2e::recording_proxy::RecordingProxy;
use e2e::{DEMO_SUPERGRAPH, Stack, Subgraphs};
use gateway::config::SubgraphConfig;
use serde_json::{Value, json};

const APOLLO: &str = "multipart/mixed;deferSpec=20220824, application/json";
const RFC: &str = "multipart/mixed;incrementalDeliverySpec=3283f8a, application/json";

/// What a multipart answer was: its content type and each part's JSON, in order, and how many
/// reads of the body it took (parts sent apart arrive apart).
struct Multipart {
    content_type: String,
    parts: Vec<Value>,
}

/// POSTs `query` with `accept` and parses the `multipart/mixed` body as RFC 2046 says: the
/// boundary from the content type, parts between delimiter lines, each with its headers, the
/// closing delimiter last.
async fn defer(stack: &Stack, accept: &str, body: Value) -> Multipart {
    defer_with(stack, accept, body, &[]).await
}

/// [`defer`] with these request headers besides `Accept`.
async fn defer_with(
    stack: &Stack,
    accept: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> Multipart {
    let mut request = stack
        .client()
        .post(&stack.gateway_url)
        .header("accept", accept)
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("gateway answers");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .expect("a boundary")
        .trim_matches('"')
        .to_string();
    let body = response.bytes().await.expect("a body");
    let text = std::str::from_utf8(&body).expect("UTF-8");
    let delimiter = format!("\r\n--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut closed = false;
    // The body starts with CRLF and a delimiter (an empty preamble).
    for chunk in text.split(&delimiter).skip(1) {
        assert!(!closed, "nothing after the closing delimiter: {text:?}");
        if chunk.starts_with("--") {
            // `--boundary--`: the close delimiter (the split ate `--boundary`).
            assert_eq!(format!("--{boundary}{chunk}").trim_end(), close);
            closed = true;
            continue;
        }
        let chunk = chunk.strip_prefix("\r\n").expect("CRLF after a delimiter");
        let (head, json) = chunk.split_once("\r\n\r\n").expect("headers then a body");
        assert!(
            head.to_ascii_lowercase()
                .starts_with("content-type: application/json"),
            "{head}"
        );
        parts.push(serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}")));
    }
    assert!(closed, "the body ends with the close delimiter: {text:?}");
    Multipart {
        content_type,
        parts,
    }
}

fn query(text: &str) -> Value {
    json!({ "query": text })
}

/// Parts are delivered in the order their fetches finish: for the assertions, sort the
/// items of each payload after the first by path, and the payloads by their first path.
fn sorted_tail(parts: &[Value]) -> Vec<Value> {
    let mut tail: Vec<Value> = parts[1..].to_vec();
    let key =
        |v: &Value| v["incremental"][0]["path"].to_string() + &v["pending"][0]["path"].to_string();
    tail.sort_by_key(key);
    tail
}

#[tokio::test]
async fn a_deferred_entity_field_comes_in_a_second_part_in_apollo_format() {
    let stack = Stack::demo().await;
    let answer = defer(
        &stack,
        APOLLO,
        query(r#"{ product(upc: "1") { name ... @defer(label: "stock") { inStock } } }"#),
    )
    .await;
    assert_eq!(
        answer.content_type,
        r#"multipart/mixed;boundary="-";deferSpec=20220824"#
    );
    assert_eq!(
        answer.parts,
        [
            json!({ "data": { "product": { "name": "Ergonomic Office Chair" } }, "hasNext": true }),
            json!({
                "incremental": [
                    { "data": { "inStock": true }, "path": ["product"], "label": "stock" }
                ],
                "hasNext": false
            }),
        ]
    );
}

#[tokio::test]
async fn the_same_in_the_rfc_format() {
    let stack = Stack::demo().await;
    let answer = defer(
        &stack,
        RFC,
        query(r#"{ product(upc: "1") { name ... @defer(label: "stock") { inStock } } }"#),
    )
    .await;
    assert_eq!(
        answer.content_type,
        r#"multipart/mixed;boundary="-";incrementalDeliverySpec=3283f8a"#
    );
    assert_eq!(
        answer.parts,
        [
            json!({
                "data": { "product": { "name": "Ergonomic Office Chair" } },
                "pending": [{ "id": "0", "path": ["product"], "label": "stock" }],
                "hasNext": true
            }),
            json!({
                "incremental": [{ "id": "0", "data": { "inStock": true } }],
                "completed": [{ "id": "0" }],
                "hasNext": false
            }),
        ]
    );
}

const NESTED: &str = r#"{
    product(upc: "1") {
        name
        ... @defer(label: "outer") {
            price
            reviews { body ... @defer(label: "inner") { author { name } } }
        }
    }
}"#;

#[tokio::test]
async fn nested_defers_in_apollo_format() {
    let stack = Stack::demo().await;
    let answer = defer(&stack, APOLLO, query(NESTED)).await;
    let reviews = stack
        .query(r#"{ product(upc: "1") { reviews { body author { name } } } }"#)
        .await;
    let reviews = reviews["data"]["product"]["reviews"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!reviews.is_empty());
    let bodies: Vec<Value> = reviews
        .iter()
        .map(|r| json!({ "body": r["body"] }))
        .collect();
    assert_eq!(answer.parts.len(), 3, "{:?}", answer.parts);
    assert_eq!(
        answer.parts[0],
        json!({ "data": { "product": { "name": "Ergonomic Office Chair" } }, "hasNext": true })
    );
    assert_eq!(
        answer.parts[1],
        json!({
            "incremental": [{
                "data": { "price": 349, "reviews": bodies },
                "path": ["product"],
                "label": "outer"
            }],
            "hasNext": true
        })
    );
    // One part per review, in order.
    let inner: Vec<Value> = reviews
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "data": { "author": { "name": r["author"]["name"] } },
                "path": ["product", "reviews", i],
                "label": "inner"
            })
        })
        .collect();
    assert_eq!(
        answer.parts[2],
        json!({ "incremental": inner, "hasNext": false })
    );
}

#[tokio::test]
async fn nested_defers_in_the_rfc_format_announce_inner_parts_with_the_outer_one() {
    let stack = Stack::demo().await;
    let answer = defer(&stack, RFC, query(NESTED)).await;
    let reviews = stack
        .query(r#"{ product(upc: "1") { reviews { body author { name } } } }"#)
        .await;
    let reviews = reviews["data"]["product"]["reviews"]
        .as_array()
        .unwrap()
        .clone();
    let bodies: Vec<Value> = reviews
        .iter()
        .map(|r| json!({ "body": r["body"] }))
        .collect();
    assert_eq!(answer.parts.len(), 3, "{:?}", answer.parts);
    assert_eq!(
        answer.parts[0],
        json!({
            "data": { "product": { "name": "Ergonomic Office Chair" } },
            "pending": [{ "id": "0", "path": ["product"], "label": "outer" }],
            "hasNext": true
        })
    );
    let pending: Vec<Value> = (0..reviews.len())
        .map(|i| json!({ "id": (i + 1).to_string(), "path": ["product", "reviews", i], "label": "inner" }))
        .collect();
    assert_eq!(
        answer.parts[1],
        json!({
            "pending": pending,
            "incremental": [{ "id": "0", "data": { "price": 349, "reviews": bodies } }],
            "completed": [{ "id": "0" }],
            "hasNext": true
        })
    );
    let incremental: Vec<Value> = reviews
        .iter()
        .enumerate()
        .map(|(i, r)| json!({ "id": (i + 1).to_string(), "data": { "author": { "name": r["author"]["name"] } } }))
        .collect();
    let completed: Vec<Value> = (0..reviews.len())
        .map(|i| json!({ "id": (i + 1).to_string() }))
        .collect();
    assert_eq!(
        answer.parts[2],
        json!({ "incremental": incremental, "completed": completed, "hasNext": false })
    );
}

const CONDITIONAL: &str = r#"query ($defer: Boolean!) {
    topProducts(first: 2) {
        name
        ... @defer(if: $defer, label: "price") { price }
    }
}"#;

#[tokio::test]
async fn conditional_defer_in_both_formats() {
    let stack = Stack::demo().await;
    // `if: true`: one part per product of the list.
    let on = json!({ "query": CONDITIONAL, "variables": { "defer": true } });
    let answer = defer(&stack, APOLLO, on.clone()).await;
    assert_eq!(
        answer.parts[0],
        json!({
            "data": { "topProducts": [{ "name": "Ergonomic Office Chair" }, { "name": "Mechanical Keyboard" }] },
            "hasNext": true
        })
    );
    let mut items = Vec::new();
    for part in &answer.parts[1..] {
        items.extend(part["incremental"].as_array().unwrap().iter().cloned());
    }
    items.sort_by_key(|i| i["path"].to_string());
    assert_eq!(
        items,
        [
            json!({ "data": { "price": 349 }, "path": ["topProducts", 0], "label": "price" }),
            json!({ "data": { "price": 129 }, "path": ["topProducts", 1], "label": "price" }),
        ]
    );
    assert_eq!(answer.parts.last().unwrap()["hasNext"], false);

    let answer = defer(&stack, RFC, on).await;
    assert_eq!(
        answer.parts[0]["pending"],
        json!([
            { "id": "0", "path": ["topProducts", 0], "label": "price" },
            { "id": "1", "path": ["topProducts", 1], "label": "price" }
        ])
    );
    let tail = sorted_tail(&answer.parts);
    let mut incremental = Vec::new();
    let mut completed = Vec::new();
    for part in &tail {
        incremental.extend(part["incremental"].as_array().unwrap().iter().cloned());
        completed.extend(part["completed"].as_array().unwrap().iter().cloned());
    }
    incremental.sort_by_key(|i| i["id"].to_string());
    completed.sort_by_key(|i| i["id"].to_string());
    assert_eq!(
        incremental,
        [
            json!({ "id": "0", "data": { "price": 349 } }),
            json!({ "id": "1", "data": { "price": 129 } })
        ]
    );
    assert_eq!(completed, [json!({ "id": "0" }), json!({ "id": "1" })]);

    // `if: false`: not deferred, and nothing to stream: one plain JSON response.
    let off = json!({ "query": CONDITIONAL, "variables": { "defer": false } });
    let response = stack
        .client()
        .post(&stack.gateway_url)
        .header("accept", APOLLO)
        .json(&off)
        .send()
        .await
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "data": { "topProducts": [
            { "name": "Ergonomic Office Chair", "price": 349 },
            { "name": "Mechanical Keyboard", "price": 129 }
        ] } })
    );
}

#[tokio::test]
async fn a_deferred_root_field() {
    let stack = Stack::demo().await;
    let answer = defer(
        &stack,
        APOLLO,
        query(r#"{ me { name } ... @defer(label: "top") { topProducts(first: 1) { name } } }"#),
    )
    .await;
    let me = stack.query("{ me { name } }").await;
    assert_eq!(
        answer.parts,
        [
            json!({ "data": me["data"], "hasNext": true }),
            json!({
                "incremental": [{
                    "data": { "topProducts": [{ "name": "Ergonomic Office Chair" }] },
                    "path": [],
                    "label": "top"
                }],
                "hasNext": false
            }),
        ]
    );
}

#[tokio::test]
async fn errors_in_a_deferred_part_stay_in_that_part() {
    // Inventory is down: the primary part is whole, the deferred `inStock` (non-null) fails,
    // and its null reaches the fragment's object: the part's data is null.
    let stack = Stack::demo_with(|config| {
        config.subgraphs.insert(
            "inventory".into(),
            SubgraphConfig {
                url: Some("http://127.0.0.1:9/graphql".into()),
                ..Default::default()
            },
        );
    })
    .await;
    let text = r#"{ product(upc: "1") { name ... @defer(label: "stock") { inStock } } }"#;
    let answer = defer(&stack, APOLLO, query(text)).await;
    assert_eq!(
        answer.parts[0],
        json!({ "data": { "product": { "name": "Ergonomic Office Chair" } }, "hasNext": true })
    );
    let item = &answer.parts[1]["incremental"][0];
    assert_eq!(item["data"], Value::Null);
    assert_eq!(item["path"], json!(["product"]));
    assert_eq!(item["label"], "stock");
    let errors = item["errors"].as_array().unwrap();
    assert_eq!(errors[0]["extensions"]["serviceName"], "inventory");
    assert_eq!(errors[0]["path"], json!(["product"]));
    assert_eq!(answer.parts[1]["hasNext"], false);

    // A null that propagates in the primary part above the fragment's object: no part.
    let answer = defer(
        &stack,
        APOLLO,
        query(r#"{ product(upc: "1") { inStock ... @defer(label: "name") { name } } }"#),
    )
    .await;
    assert_eq!(answer.parts.len(), 1, "{:?}", answer.parts);
    assert_eq!(answer.parts[0]["data"], json!({ "product": null }));
    assert_eq!(answer.parts[0]["hasNext"], false);
    assert_eq!(
        answer.parts[0]["errors"][0]["extensions"]["serviceName"],
        "inventory"
    );

    // The RFC format: no `incremental` item, the errors on `completed`.
    let answer = defer(&stack, RFC, query(text)).await;
    let last = &answer.parts[1];
    assert!(last.get("incremental").is_none(), "{last}");
    assert_eq!(last["completed"][0]["id"], "0");
    assert_eq!(
        last["completed"][0]["errors"][0]["extensions"]["serviceName"],
        "inventory"
    );
}

#[tokio::test]
async fn a_client_that_does_not_accept_multipart_is_refused_as_apollo_router_refuses_it() {
    let stack = Stack::demo().await;
    let text = r#"{ product(upc: "1") { name ... @defer { inStock } } }"#;
    for accept in ["application/json", "application/graphql-response+json"] {
        let response = stack
            .client()
            .post(&stack.gateway_url)
            .header("accept", accept)
            .json(&query(text))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 406);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "DEFER_BAD_HEADER");
        assert!(body.get("data").is_none());
    }
    // `if: false` defers nothing: served as any query.
    let answer = stack
        .query(r#"{ product(upc: "1") { name ... @defer(if: false) { inStock } } }"#)
        .await;
    assert_eq!(
        answer,
        json!({ "data": { "product": { "name": "Ergonomic Office Chair", "inStock": true } } })
    );
}

#[tokio::test]
async fn introspection_shows_the_defer_directive() {
    let stack = Stack::demo().await;
    let answer = stack
        .query("{ __schema { directives { name locations args { name type { kind name ofType { name } } defaultValue } } } }")
        .await;
    let defer = answer["data"]["__schema"]["directives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "defer")
        .cloned()
        .expect("@defer is introspectable");
    assert_eq!(
        defer,
        json!({
            "name": "defer",
            "locations": ["FRAGMENT_SPREAD", "INLINE_FRAGMENT"],
            "args": [
                { "name": "label", "type": { "kind": "SCALAR", "name": "String", "ofType": null }, "defaultValue": null },
                { "name": "if", "type": { "kind": "NON_NULL", "name": null, "ofType": { "name": "Boolean" } }, "defaultValue": "true" }
            ]
        })
    );
}

#[tokio::test]
async fn a_deferred_part_answered_from_the_entity_cache_follows_the_initial_payload_at_once() {
    let subgraphs = Subgraphs::start(Arc::new(subgraphs::events::Nowhere)).await;
    let mut config = subgraphs.config();
    config.cache = gateway::cache::CacheConfig {
        enabled: true,
        defaults: gateway::cache::PolicyConfig {
            mode: Some(gateway::cache::Mode::Events),
            ..Default::default()
        },
        ..Default::default()
    };
    let supergraph = gateway::supergraph::Supergraph::parse(DEMO_SUPERGRAPH).unwrap();
    let gateway = Arc::new(gateway::startup::build_gateway(supergraph, &config).unwrap());
    let request = || gateway::gateway::GraphQLRequest {
        query: Some(r#"{ product(upc: "2") { name ... @defer { inStock } } }"#.into()),
        ..Default::default()
    };
    let run = |warm: bool| {
        let gateway = gateway.clone();
        let request = request();
        async move {
            let context = gateway.request_context(&http::HeaderMap::new(), None);
            let incremental = gateway
                .execute_incremental(request, gateway::gateway::Transport::Post, context)
                .await;
            let gateway::gateway::Incremental::Stream(mut payloads) = incremental else {
                panic!("deferred");
            };
            let first = payloads.recv().await.expect("the initial payload");
            assert!(first.initial.is_some() && first.has_next);
            if warm {
                // Sent with it: no subgraph round trip stands between them.
                let next = payloads.try_recv().expect("the part is already there");
                assert_eq!(next.parts.len(), 1);
                assert_eq!(
                    next.parts[0].data.as_ref().unwrap().to_value(),
                    json!({ "inStock": true })
                );
                assert!(!next.has_next);
            } else {
                let next = payloads.recv().await.expect("the part");
                assert_eq!(next.parts.len(), 1);
            }
        }
    };
    run(false).await;
    run(true).await;
}

/// The `next` payloads of `body` sent as GraphQL over SSE, read until `complete`.
async fn over_sse(stack: &Stack, body: Value) -> Vec<Value> {
    let response = stack
        .client()
        .post(&stack.gateway_url)
        .header("accept", "text/event-stream")
        .json(&body)
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(response.status(), 200);
    // The body ends after `complete`.
    let text = response.text().await.expect("a body");
    let mut payloads = Vec::new();
    let mut completed = false;
    for block in text.split("\n\n").filter(|b| !b.is_empty() && *b != ":") {
        assert!(!completed, "nothing after complete: {text:?}");
        let event = block.lines().find_map(|l| l.strip_prefix("event: "));
        let data = block.lines().find_map(|l| l.strip_prefix("data:"));
        match event {
            Some("next") => payloads.push(serde_json::from_str(data.unwrap().trim()).unwrap()),
            Some("complete") => completed = true,
            other => panic!("unexpected event {other:?} in {text:?}"),
        }
    }
    assert!(completed, "{text:?}");
    payloads
}

/// The `next` payloads of `body` sent as one `subscribe` over `graphql-transport-ws`, read
/// until its `complete`.
async fn over_websocket(stack: &Stack, body: Value) -> Vec<Value> {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = stack
        .gateway_url
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut send = async |message: Value| {
        socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap()
    };
    send(json!({ "type": "connection_init" })).await;
    send(json!({ "id": "d", "type": "subscribe", "payload": body })).await;
    let mut payloads = Vec::new();
    loop {
        let message = socket.next().await.expect("open").unwrap();
        let Message::Text(text) = message else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        match message["type"].as_str().unwrap() {
            "connection_ack" | "ping" => {}
            "next" => {
                assert_eq!(message["id"], "d");
                payloads.push(message["payload"].clone());
            }
            "complete" => return payloads,
            other => panic!("unexpected {other}: {message}"),
        }
    }
}

#[tokio::test]
async fn over_sse_and_websocket_each_payload_is_a_next_message_then_complete() {
    let stack = Stack::demo().await;
    let multipart = defer(&stack, APOLLO, query(NESTED)).await.parts;
    assert_eq!(multipart.len(), 3, "{multipart:?}");
    for payloads in [
        over_sse(&stack, query(NESTED)).await,
        over_websocket(&stack, query(NESTED)).await,
    ] {
        // The initial payload first, then each later one as the multipart answer has it
        // (Apollo's format), `hasNext: false` on the last.
        assert_eq!(payloads[0], multipart[0]);
        assert_eq!(payloads[0]["hasNext"], true);
        assert_eq!(sorted_tail(&payloads), sorted_tail(&multipart));
        assert_eq!(payloads.last().unwrap()["hasNext"], false);
    }

    // Nothing deferred (`if: false`): one ordinary result, no `hasNext`.
    let off = json!({
        "query": r#"query ($d: Boolean!) { product(upc: "1") { name ... @defer(if: $d) { inStock } } }"#,
        "variables": { "d": false },
    });
    for payloads in [
        over_sse(&stack, off.clone()).await,
        over_websocket(&stack, off.clone()).await,
    ] {
        assert_eq!(
            payloads,
            [
                json!({ "data": { "product": { "name": "Ergonomic Office Chair", "inStock": true } } })
            ]
        );
    }
}

const SECURED: &str =
    include_str!("../gateway/tests/rover-supergraphs/demo-secured/supergraph.graphql");
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateway/tests/jwt-keys");

/// A token for user 1 with these scopes, signed with the key the gateway trusts.
fn token(scope: &str) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({ "iss": "https://issuer.test", "aud": "gateway", "sub": "1", "exp": exp,
        "scope": scope });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa".into());
    let key = EncodingKey::from_rsa_pem(&std::fs::read(format!("{KEYS}/rsa.pem")).unwrap());
    encode(&header, &claims, &key.unwrap()).unwrap()
}

/// The demo subgraphs behind the gateway over the secured supergraph (tests/auth.rs:
/// `User.email` needs a signed-in request, `Review.rating` the `reviews:read` scope), tokens
/// checked against the test keys, accounts behind a recording proxy.
async fn secured_stack() -> (Stack, RecordingProxy) {
    use gateway::edge::auth::{JwksConfig, JwtConfig};
    let proxy = RecordingProxy::start().await;
    let stack = Stack::demo_over(SECURED, |config| {
        config.authentication.jwt = Some(JwtConfig {
            jwks: vec![JwksConfig {
                url: None,
                file: Some(format!("{KEYS}/rsa.jwks.json").into()),
                poll_interval_seconds: 3600,
                headers: Default::default(),
            }],
            issuers: vec!["https://issuer.test".into()],
            audiences: vec!["gateway".into()],
            ..Default::default()
        });
        proxy.forward_to(config.subgraphs["accounts"].url.as_deref().unwrap());
        config.subgraphs.insert(
            "accounts".into(),
            SubgraphConfig {
                url: Some(proxy.url.clone()),
                ..Default::default()
            },
        );
    })
    .await;
    (stack, proxy)
}

#[tokio::test]
async fn with_authorization_deferred_parts_obey_the_same_rules() {
    let (stack, accounts) = secured_stack().await;
    let me = query(r#"{ me { name ... @defer(label: "contact") { username email } } }"#);

    // Anonymous: `email` (String!, signed-in only) is null in its part, with its error there;
    // the null goes up to the part's object (its `data` is null), never into the initial
    // payload. Accounts is never asked for it.
    let answer = defer(&stack, APOLLO, me.clone()).await;
    assert_eq!(
        answer.parts,
        [
            json!({ "data": { "me": { "name": "Ada Lovelace" } }, "hasNext": true }),
            json!({
                "incremental": [{
                    "data": null,
                    "path": ["me"],
                    "label": "contact",
                    "errors": [{
                        "message": "Unauthorized field or type",
                        "path": ["me", "email"],
                        "extensions": { "code": "UNAUTHORIZED_FIELD_OR_TYPE" }
                    }]
                }],
                "hasNext": false
            }),
        ],
        "{:?}",
        answer.parts
    );
    let asked = accounts.recorded();
    assert!(
        asked.iter().all(|r| !r.body.contains("email")),
        "accounts was asked for email: {asked:?}"
    );

    // Signed in: the part carries it (RFC format this time).
    let signed_in = format!("Bearer {}", token("profile"));
    let answer = defer_with(&stack, RFC, me, &[("authorization", &signed_in)]).await;
    assert_eq!(answer.parts.len(), 2, "{:?}", answer.parts);
    assert_eq!(
        answer.parts[0]["data"],
        json!({ "me": { "name": "Ada Lovelace" } })
    );
    let item = &answer.parts[1]["incremental"][0];
    assert_eq!(item["id"], "0");
    assert!(item["data"]["email"].is_string(), "{:?}", answer.parts);
    assert_eq!(answer.parts[1]["completed"], json!([{ "id": "0" }]));

    // Nested: a fragment deferred inside a deferred one, selecting what only readers may
    // see. (A fragment under a protected object field is not planned at all:
    // gateway/tests/authorization.rs.)
    let ratings = query(
        r#"{ product(upc: "1") { name ... @defer { reviews { body ... @defer { rating } } } } }"#,
    );
    let anonymous = defer(&stack, APOLLO, ratings.clone()).await;
    let reader = format!("Bearer {}", token("reviews:read"));
    let allowed = defer_with(&stack, APOLLO, ratings, &[("authorization", &reader)]).await;
    // The reader gets a part per review with its rating.
    let parts: Vec<&Value> = allowed.parts[1..]
        .iter()
        .flat_map(|p| p["incremental"].as_array().unwrap())
        .collect();
    assert!(
        parts.iter().any(|p| p["data"]["rating"].is_number()),
        "{:?}",
        allowed.parts
    );
    // The anonymous request: each review's rating part is null with its error.
    let parts: Vec<&Value> = anonymous.parts[1..]
        .iter()
        .flat_map(|p| p["incremental"].as_array().unwrap())
        .collect();
    let rating_parts: Vec<&&Value> = parts
        .iter()
        .filter(|p| p["path"].as_array().unwrap().len() == 3)
        .collect();
    assert!(!rating_parts.is_empty(), "{:?}", anonymous.parts);
    for part in rating_parts {
        assert_eq!(part["data"], Value::Null, "{part}");
        assert_eq!(
            part["errors"][0]["extensions"]["code"],
            "UNAUTHORIZED_FIELD_OR_TYPE"
        );
        let mut at = part["path"].as_array().unwrap().clone();
        at.push(json!("rating"));
        assert_eq!(part["errors"][0]["path"], Value::Array(at));
    }
}
