//! GraphQL over HTTP at the gateway's edge: methods, media types, status codes, and bad input
//! answered with an `errors` array, never a 500.

use e2e::Stack;
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post_raw(
    stack: &Stack,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> (u16, String, Value) {
    let mut request = stack
        .client()
        .post(&stack.gateway_url)
        .body(body.to_string());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, media, body)
}

fn first_message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn post_answers_in_the_media_type_asked_for() {
    let stack = Stack::demo().await;
    let body = r#"{"query":"{ me { name } }"}"#;
    let (status, media, json_body) = post_raw(
        &stack,
        Some("application/json"),
        Some(GRAPHQL_RESPONSE),
        body,
    )
    .await;
    assert_eq!(status, 200);
    assert!(media.starts_with(GRAPHQL_RESPONSE), "{media}");
    assert_eq!(
        json_body,
        json!({ "data": { "me": { "name": "Ada Lovelace" } } })
    );

    let (_, media, _) = post_raw(&stack, Some("application/json"), None, body).await;
    assert!(
        media.starts_with("application/json"),
        "no Accept means application/json"
    );

    let (status, _, json_body) =
        post_raw(&stack, Some("application/json"), Some("text/csv"), body).await;
    assert_eq!(status, 406);
    assert!(first_message(&json_body).contains("media type"));
}

#[tokio::test]
async fn invalid_graphql_is_a_request_error_with_the_spec_status() {
    let stack = Stack::demo().await;
    for query in [
        "{ me { nope } }",
        "{ me {",
        "query A { me { id } } query A { me { id } }",
    ] {
        let body = json!({ "query": query }).to_string();
        let (status, _, response) = post_raw(
            &stack,
            Some("application/json"),
            Some(GRAPHQL_RESPONSE),
            &body,
        )
        .await;
        assert_eq!(status, 400, "{query}");
        assert!(response.get("data").is_none(), "{query}: {response}");
        assert_eq!(
            response["errors"][0]["extensions"]["code"],
            "GRAPHQL_VALIDATION_FAILED"
        );
        // The legacy media type answers 200 with the same errors.
        let (status, _, response) = post_raw(
            &stack,
            Some("application/json"),
            Some("application/json"),
            &body,
        )
        .await;
        assert_eq!(status, 200, "{query}");
        assert!(response["errors"].as_array().is_some_and(|e| !e.is_empty()));
    }
}

#[tokio::test]
async fn malformed_requests_get_4xx_and_a_message() {
    let stack = Stack::demo().await;
    let cases = [
        (Some("application/json"), "{not json", 400, "not valid JSON"),
        (
            Some("application/graphql"),
            r#"{"query":"{ me { id } }"}"#,
            415,
            "content type",
        ),
        (
            Some("application/json"),
            r#"{"variables":{}}"#,
            400,
            "no `query`",
        ),
        (
            Some("application/json"),
            r#"[{"query":"{ me { id } }"}]"#,
            400,
            "batched",
        ),
        (
            Some("application/json"),
            r#"{"query": 42}"#,
            400,
            "invalid GraphQL request",
        ),
    ];
    for (content_type, body, status, needle) in cases {
        let (got, _, response) = post_raw(&stack, content_type, None, body).await;
        assert_eq!(got, status, "{body}");
        assert!(
            first_message(&response).contains(needle),
            "{body}: {response}"
        );
    }
}

#[tokio::test]
async fn a_post_a_form_could_send_is_refused_as_csrf_unless_preflighted() {
    let stack = Stack::demo().await;
    let body = r#"{"query":"{ me { id } }"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let (status, _, response) = post_raw(&stack, content_type, None, body).await;
        assert_eq!(status, 400, "{content_type:?}");
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "CSRF_ERROR",
            "{content_type:?}: {response}"
        );
        // With a preflight header the request is read, and its content type refused.
        let response = stack
            .client()
            .post(&stack.gateway_url)
            .header("content-type", content_type.unwrap_or("text/plain"))
            .header("apollo-require-preflight", "true")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type:?}");
    }
}

#[tokio::test]
async fn a_get_runs_only_with_a_preflight_header() {
    let stack = Stack::demo().await;
    let get = |headers: &[(&str, &str)]| {
        let mut request = stack
            .client()
            .get(&stack.gateway_url)
            .query(&[("query", "{ me { id } }")]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for refused in [
        &[][..],
        &[("apollo-require-preflight", "")],
        &[("content-type", "text/plain")],
    ] {
        let response = get(refused).await.unwrap();
        assert_eq!(response.status(), 400, "{refused:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "CSRF_ERROR");
        assert!(body.get("data").is_none(), "nothing ran: {body}");
    }
    for passed in [
        &[("apollo-require-preflight", "true")][..],
        &[("x-apollo-operation-name", "Me")],
        &[("x-graphql-csrf", "1")],
        &[("content-type", "application/json")],
    ] {
        let response = get(passed).await.unwrap();
        assert_eq!(response.status(), 200, "{passed:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({ "data": { "me": { "id": "1" } } }));
    }
    // Turned off, a plain GET runs.
    let open = Stack::demo_with(|config| config.csrf.enabled = false).await;
    let response = open
        .client()
        .get(&open.gateway_url)
        .query(&[("query", "{ me { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn operation_name_and_variables_are_checked() {
    let stack = Stack::demo().await;
    let document = "query A { me { id } } query B($id: ID!) { user(id: $id) { name } }";
    let response = stack
        .request(json!({ "query": document, "operationName": "C" }))
        .await;
    assert!(first_message(&response).contains("unknown operation named \"C\""));
    let response = stack.request(json!({ "query": document })).await;
    assert!(first_message(&response).contains("operationName is required"));
    let response = stack
        .request(
            json!({ "query": document, "operationName": "B", "variables": { "id": {"x": 1} } }),
        )
        .await;
    assert!(response.get("data").is_none());
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    let response = stack
        .request(json!({ "query": document, "operationName": "B", "variables": { "id": "3" } }))
        .await;
    assert_eq!(
        response,
        json!({ "data": { "user": { "name": "Grace Hopper" } } })
    );
}

#[tokio::test]
async fn get_runs_queries_but_not_mutations() {
    let stack = Stack::demo().await;
    let response = stack
        .client()
        .get(&stack.gateway_url)
        .query(&[
            ("query", "query Me($id: ID!) { user(id: $id) { name } }"),
            ("variables", r#"{"id":"1"}"#),
            ("operationName", "Me"),
        ])
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("accept")),
        "a cache must key GET answers by Accept (the same URL serves the playground)"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "data": { "user": { "name": "Ada Lovelace" } } })
    );

    let response = stack
        .client()
        .get(&stack.gateway_url)
        .query(&[(
            "query",
            r#"mutation { setStock(upc: "1", inStock: false) { upc } }"#,
        )])
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let body: Value = response.json().await.unwrap();
    assert!(first_message(&body).contains("POST"));

    let response = stack
        .client()
        .get(&stack.gateway_url)
        .query(&[("query", "{ me { id } }"), ("variables", "{oops")])
        .header("apollo-require-preflight", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn browsers_get_graphiql_and_health_answers() {
    let stack = Stack::demo().await;
    let page = stack
        .client()
        .get(&stack.gateway_url)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"id="playground-config""#));

    let health_url = stack.gateway_url.replace("/graphql", "/health");
    let health = stack.client().get(health_url).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({ "status": "UP" })
    );
}

#[tokio::test]
async fn introspection_serves_the_api_schema() {
    let stack = Stack::demo().await;
    let response = stack
        .query("{ __schema { queryType { name } mutationType { name } types { name } } }")
        .await;
    let schema = &response["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    assert_eq!(schema["mutationType"]["name"], "Mutation");
    let names: Vec<&str> = schema["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for expected in ["User", "Product", "Review"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("join__") || n.starts_with("link__")),
        "no federation machinery in the API schema: {names:?}"
    );
}
