//! Every subgraph through its real axum router on a port-0 listener, the way
//! the gateway reaches it: JSON POSTs to `/graphql`.

use serde_json::{Value, json};
use subgraphs::Service;

/// A running subgraph; the server task ends with the test's runtime.
struct Server {
    url: String,
    client: reqwest::Client,
}

impl Server {
    async fn start(service: Service) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("listener address");
        tokio::spawn(subgraphs::serve(service, listener));
        Server {
            url: format!("http://{addr}"),
            client: reqwest::Client::new(),
        }
    }

    /// POSTs a request and returns the HTTP status and JSON body.
    async fn post(&self, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/graphql", self.url))
            .json(body)
            .send()
            .await
            .expect("request reaches the server");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON response"))
    }

    /// Runs a query that must succeed and returns its `data`.
    async fn data(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post(&json!({"query": query, "variables": variables}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    async fn sdl(&self) -> String {
        let data = self.data("{ _service { sdl } }", json!({})).await;
        data["_service"]["sdl"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

const ENTITIES_USER: &str = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name username email } } }";

#[tokio::test]
async fn accounts_over_http() {
    let server = Server::start(Service::Accounts).await;
    assert_eq!(server.sdl().await, Service::Accounts.sdl());

    let data = server
        .data("{ me { id username } users(first: 3) { name } }", json!({}))
        .await;
    assert_eq!(data["me"], json!({"id": "1", "username": "@ada"}));
    assert_eq!(
        data["users"],
        json!([{"name": "Ada Lovelace"}, {"name": "Alan Turing"}, {"name": "Grace Hopper"}])
    );

    let created = server
        .data(
            "mutation($name: String!, $username: String!) { createUser(name: $name, username: $username) { id } }",
            json!({"name": "Tim Berners-Lee", "username": "@timbl"}),
        )
        .await;
    let id = created["createUser"]["id"].clone();
    assert_eq!(id, "13");
    server
        .data(
            r#"mutation { updateUserName(id: "2", name: "A. M. Turing") { id } }"#,
            json!({}),
        )
        .await;

    let data = server
        .data(
            ENTITIES_USER,
            json!({"r": [{"__typename": "User", "id": "2"}, {"__typename": "User", "id": id}]}),
        )
        .await;
    assert_eq!(
        data["_entities"],
        json!([
            {"id": "2", "name": "A. M. Turing", "username": "@alan", "email": "alan@example.com"},
            {"id": "13", "name": "Tim Berners-Lee", "username": "@timbl", "email": "timbl@example.com"}
        ])
    );
}

#[tokio::test]
async fn products_over_http() {
    let server = Server::start(Service::Products).await;
    assert_eq!(server.sdl().await, Service::Products.sdl());

    let data = server
        .data(
            "{ topProducts(first: 2) { upc name price weight } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["topProducts"],
        json!([
            {"upc": "1", "name": "Ergonomic Office Chair", "price": 349, "weight": 18},
            {"upc": "2", "name": "Mechanical Keyboard", "price": 129, "weight": 2}
        ])
    );

    server
        .data(
            r#"mutation { createProduct(upc: "20", name: "Desk Lamp", price: 35, weight: 2) { upc } updateProductPrice(upc: "2", price: 99) { upc } }"#,
            json!({}),
        )
        .await;
    let data = server
        .data(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc name price } } }",
            json!({"r": [{"__typename": "Product", "upc": "2"}, {"__typename": "Product", "upc": "20"}]}),
        )
        .await;
    assert_eq!(
        data["_entities"],
        json!([
            {"upc": "2", "name": "Mechanical Keyboard", "price": 99},
            {"upc": "20", "name": "Desk Lamp", "price": 35}
        ])
    );
}

#[tokio::test]
async fn reviews_over_http() {
    let server = Server::start(Service::Reviews).await;
    assert_eq!(server.sdl().await, Service::Reviews.sdl());

    let data = server
        .data(
            "{ topReviews(first: 2) { id rating author { id username } product { upc } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["topReviews"][0]["author"],
        json!({"id": "1", "username": "@ada"})
    );
    assert_eq!(
        data["topReviews"][1]["author"],
        json!({"id": "2", "username": "@alan"})
    );

    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { reviews { id body } } ... on Product { reviews { id author { username } } } } }";
    let representations =
        json!({"r": [{"__typename": "User", "id": "4"}, {"__typename": "Product", "upc": "16"}]});
    let before = server.data(query, representations.clone()).await;
    let user_reviews = before["_entities"][0]["reviews"]
        .as_array()
        .map_or(0, Vec::len);
    let product_reviews = before["_entities"][1]["reviews"]
        .as_array()
        .map_or(0, Vec::len);
    assert!((4..=8).contains(&user_reviews), "{before}");
    assert!((3..=6).contains(&product_reviews), "{before}");

    let added = server
        .data(
            r#"mutation { addReview(productUpc: "16", authorId: "4", body: "Steady footage, even on a gusty beach.", rating: 5) { id } }"#,
            json!({}),
        )
        .await;
    let after = server.data(query, representations).await;
    let user_list = after["_entities"][0]["reviews"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(user_list.len(), user_reviews + 1);
    assert_eq!(
        user_list.last(),
        Some(
            &json!({"id": added["addReview"]["id"], "body": "Steady footage, even on a gusty beach."})
        )
    );
    let product_list = after["_entities"][1]["reviews"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(product_list.len(), product_reviews + 1);
    assert_eq!(
        product_list.last(),
        Some(&json!({"id": added["addReview"]["id"], "author": {"username": "@edsger"}}))
    );
}

#[tokio::test]
async fn inventory_over_http() {
    let server = Server::start(Service::Inventory).await;
    assert_eq!(server.sdl().await, Service::Inventory.sdl());

    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc inStock shippingEstimate } } }";
    let representations = json!({"r": [
        {"__typename": "Product", "upc": "1", "price": 349, "weight": 18},
        {"__typename": "Product", "upc": "9", "price": 1899, "weight": 9}
    ]});
    let data = server.data(query, representations.clone()).await;
    assert_eq!(
        data["_entities"],
        json!([
            {"upc": "1", "inStock": true, "shippingEstimate": 9},
            {"upc": "9", "inStock": true, "shippingEstimate": 0}
        ])
    );

    let set = server
        .data(
            r#"mutation { setStock(upc: "9", inStock: false) { upc inStock } }"#,
            json!({}),
        )
        .await;
    assert_eq!(set["setStock"], json!({"upc": "9", "inStock": false}));
    let data = server.data(query, representations).await;
    assert_eq!(data["_entities"][1]["inStock"], false);
}

#[tokio::test]
async fn health_and_malformed_requests() {
    let server = Server::start(Service::Accounts).await;
    let health = server
        .client
        .get(format!("{}/health", server.url))
        .send()
        .await
        .expect("health answers");
    assert_eq!(health.status().as_u16(), 200);

    for body in ["{not json", "[1, 2", "42", ""] {
        let response = server
            .client
            .post(format!("{}/graphql", server.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request reaches the server");
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let content_type = response.headers().get("content-type").cloned();
        assert_eq!(
            content_type.as_ref().and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let json: Value = response.json().await.expect("JSON error body");
        assert!(
            json["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{json}"
        );
    }

    // Invalid GraphQL is a normal GraphQL error response, not a transport error.
    let (status, body) = server.post(&json!({"variables": {}})).await;
    assert_eq!(status, 200);
    assert!(body["errors"].is_array(), "{body}");
    let (status, body) = server.post(&json!({"query": "{ nope }"})).await;
    assert_eq!(status, 200);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nope")),
        "{body}"
    );
    let (status, body) = server
        .post(&json!({"query": "query($id: ID!) { user(id: $id) { id } }", "variables": {"id": {"bad": true}}}))
        .await;
    assert_eq!(status, 200);
    assert!(body["errors"].is_array(), "{body}");
}

#[tokio::test]
async fn operation_name_and_batches() {
    let server = Server::start(Service::Products).await;
    let (status, body) = server
        .post(&json!({
            "query": r#"query A { product(upc: "1") { name } } query B { product(upc: "2") { name } }"#,
            "operationName": "B"
        }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["product"]["name"], "Mechanical Keyboard");

    let (status, body) = server
        .post(&json!([
            {"query": r#"{ product(upc: "3") { upc } }"#},
            {"query": r#"{ product(upc: "4") { upc } }"#}
        ]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"data": {"product": {"upc": "3"}}}, {"data": {"product": {"upc": "4"}}}])
    );
}

#[tokio::test]
async fn every_router_has_fresh_state() {
    let first = Server::start(Service::Inventory).await;
    first
        .data(
            r#"mutation { setStock(upc: "1", inStock: false) { upc } }"#,
            json!({}),
        )
        .await;
    let second = Server::start(Service::Inventory).await;
    let data = second
        .data(
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { inStock } } }",
            json!({"r": [{"__typename": "Product", "upc": "1"}]}),
        )
        .await;
    assert_eq!(data["_entities"], json!([{"inStock": true}]));
}
