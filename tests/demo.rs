//! The demo services behind the gateway, end to end: one answer stitched from all four
//! services, and mutations whose effects the next read sees. Expectations come from the
//! services' seed data, so a wrong join shows up as a mismatch.

use e2e::Stack;
use serde_json::{Value, json};
use subgraphs::inventory::shipping_estimate;
use subgraphs::seed;

fn user(id: &str) -> &'static seed::SeedUser {
    seed::USERS
        .iter()
        .find(|u| u.id == id)
        .expect("seeded user")
}

#[tokio::test]
async fn stitches_one_answer_from_all_four_services() {
    let stack = Stack::demo().await;
    let response = stack
        .query(
            "{ topProducts(first: 3) { upc name price inStock shippingEstimate \
               reviews { id body author { id name username } } } }",
        )
        .await;
    let reviews = seed::reviews();
    let expected: Vec<Value> = seed::PRODUCTS[..3]
        .iter()
        .map(|product| {
            let product_reviews: Vec<Value> = reviews
                .iter()
                .filter(|r| r.product_upc == product.upc)
                .map(|r| {
                    let author = user(r.author_id);
                    json!({
                        "id": r.id,
                        "body": r.body,
                        "author": { "id": author.id, "name": author.name, "username": author.username },
                    })
                })
                .collect();
            json!({
                "upc": product.upc,
                "name": product.name,
                "price": product.price,
                "inStock": product.in_stock,
                "shippingEstimate": shipping_estimate(product.price, product.weight),
                "reviews": product_reviews,
            })
        })
        .collect();
    assert_eq!(response, json!({ "data": { "topProducts": expected } }));
}

#[tokio::test]
async fn the_deep_benchmark_query_joins_every_level() {
    let stack = Stack::demo().await;
    let response = stack
        .query(
            "{ users { id name reviews { id body product { upc name price shippingEstimate \
               reviews { id body author { id name username } } } } } }",
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let users = response["data"]["users"].as_array().unwrap();
    assert_eq!(users.len(), 10);
    let reviews = seed::reviews();
    for user_json in users {
        let id = user_json["id"].as_str().unwrap();
        assert_eq!(user_json["name"], user(id).name);
        let written: Vec<&seed::SeedReview> =
            reviews.iter().filter(|r| r.author_id == id).collect();
        let got = user_json["reviews"].as_array().unwrap();
        assert_eq!(got.len(), written.len(), "reviews of user {id}");
        for (review_json, review) in got.iter().zip(written) {
            let product = seed::PRODUCTS
                .iter()
                .find(|p| p.upc == review.product_upc)
                .unwrap();
            assert_eq!(review_json["product"]["name"], product.name);
            assert_eq!(
                review_json["product"]["shippingEstimate"],
                shipping_estimate(product.price, product.weight)
            );
            let nested = review_json["product"]["reviews"].as_array().unwrap();
            assert_eq!(nested.len(), product.review_count);
            for nested_review in nested {
                let author_id = nested_review["author"]["id"].as_str().unwrap();
                assert_eq!(
                    nested_review["author"]["username"],
                    user(author_id).username
                );
                assert_eq!(nested_review["author"]["name"], user(author_id).name);
            }
        }
    }
}

#[tokio::test]
async fn a_mutation_then_a_read_sees_the_write() {
    let stack = Stack::demo().await;
    let product = &seed::PRODUCTS[1];
    let response = stack
        .query(&format!(
            r#"mutation {{ updateProductPrice(upc: "{}", price: 1500) {{ name price shippingEstimate }} }}"#,
            product.upc
        ))
        .await;
    assert_eq!(
        response,
        json!({ "data": { "updateProductPrice": {
            "name": product.name,
            "price": 1500,
            "shippingEstimate": shipping_estimate(1500, product.weight),
        } } })
    );
    let response = stack
        .query(&format!(
            r#"{{ product(upc: "{}") {{ price shippingEstimate }} }}"#,
            product.upc
        ))
        .await;
    assert_eq!(
        response["data"]["product"],
        json!({ "price": 1500, "shippingEstimate": shipping_estimate(1500, product.weight) })
    );
}

#[tokio::test]
async fn a_review_added_through_the_gateway_joins_its_author_and_product() {
    let stack = Stack::demo().await;
    let author = user("2");
    let product = &seed::PRODUCTS[2];
    let response = stack
        .request(json!({
            "query": "mutation Add($upc: String!, $author: ID!, $body: String!) { \
                addReview(productUpc: $upc, authorId: $author, body: $body, rating: 5) { \
                  body author { name username } product { name inStock } } }",
            "variables": { "upc": product.upc, "author": author.id, "body": "Works as promised." },
        }))
        .await;
    assert_eq!(
        response,
        json!({ "data": { "addReview": {
            "body": "Works as promised.",
            "author": { "name": author.name, "username": author.username },
            "product": { "name": product.name, "inStock": product.in_stock },
        } } })
    );
    let response = stack
        .query(&format!(
            r#"{{ user(id: "{}") {{ reviews {{ body }} }} }}"#,
            author.id
        ))
        .await;
    let bodies: Vec<&str> = response["data"]["user"]["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), author.review_count + 1);
    assert_eq!(bodies.last(), Some(&"Works as promised."));
}

#[tokio::test]
async fn mutation_root_fields_run_in_order() {
    let stack = Stack::demo().await;
    let upc = seed::PRODUCTS[0].upc;
    let response = stack
        .query(&format!(
            r#"mutation {{
                low: updateProductPrice(upc: "{upc}", price: 10) {{ price }}
                high: updateProductPrice(upc: "{upc}", price: 20) {{ price }}
                stock: setStock(upc: "{upc}", inStock: false) {{ inStock price }}
            }}"#
        ))
        .await;
    assert_eq!(
        response,
        json!({ "data": {
            "low": { "price": 10 },
            "high": { "price": 20 },
            "stock": { "inStock": false, "price": 20 },
        } })
    );
}

#[tokio::test]
async fn an_object_whose_every_field_is_skipped_is_an_empty_object() {
    // The subgraphs are asked for `__typename` in its place (a composite field needs a
    // selection set); the client gets what it asked for: nothing.
    let stack = Stack::demo().await;
    let response = stack
        .query(
            r#"query($no: Boolean = false) {
                 product(upc: "1") { upc @include(if: $no) }
                 topProducts(first: 1) { upc reviews { body @skip(if: true) } }
               }"#,
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["product"], serde_json::json!({}));
    let reviews = response["data"]["topProducts"][0]["reviews"]
        .as_array()
        .expect("reviews");
    assert!(!reviews.is_empty());
    assert!(
        reviews.iter().all(|r| r == &serde_json::json!({})),
        "{response}"
    );
}

/// Fetch merging over the real services: the reviews of `users` and of `topProducts` go to
/// reviews as one request, and every user and product still gets its own reviews (checked
/// against the seed data). Counted with every service behind a recording proxy: 4 requests
/// for this query (5 without merging), 5 for the load benchmark's `deep` query.
#[tokio::test]
async fn fetches_to_one_service_at_one_depth_go_as_one_request() {
    use e2e::recording_proxy::RecordingProxy;
    use gateway::config::SubgraphConfig;

    let mut proxies = Vec::new();
    for service in subgraphs::Service::ALL {
        proxies.push((service.name().to_string(), RecordingProxy::start().await));
    }
    let stack = Stack::demo_with(|config| {
        for (name, proxy) in &proxies {
            let real = config.subgraphs[name].url.clone().unwrap();
            proxy.forward_to(&real);
            config.subgraphs.insert(
                name.clone(),
                SubgraphConfig {
                    url: Some(proxy.url.clone()),
                    ..Default::default()
                },
            );
        }
    })
    .await;
    let count = |name: &str| {
        proxies
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, p)| p.recorded().len())
    };
    let total = || {
        proxies
            .iter()
            .map(|(_, p)| p.recorded().len())
            .sum::<usize>()
    };

    let response = stack
        .query(
            "{ users(first: 4) { id reviews { id } } \
               topProducts(first: 3) { upc name reviews { id author { id name } } } }",
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let reviews = seed::reviews();
    for user in response["data"]["users"].as_array().unwrap() {
        let id = user["id"].as_str().unwrap();
        let expected: Vec<Value> = reviews
            .iter()
            .filter(|r| r.author_id == id)
            .map(|r| json!({ "id": r.id }))
            .collect();
        assert_eq!(user["reviews"], json!(expected), "reviews of user {id}");
    }
    for product in response["data"]["topProducts"].as_array().unwrap() {
        let upc = product["upc"].as_str().unwrap();
        let expected: Vec<Value> = reviews
            .iter()
            .filter(|r| r.product_upc == upc)
            .map(|r| json!({ "id": r.id, "author": { "id": r.author_id, "name": user(r.author_id).name } }))
            .collect();
        assert_eq!(
            product["reviews"],
            json!(expected),
            "reviews of product {upc}"
        );
    }
    assert_eq!(count("reviews"), 1, "one merged request to reviews");
    // accounts: users, then the authors; products: topProducts.
    assert_eq!(total(), 4);

    let before = total();
    let response = stack
        .query(
            "{ users { id name reviews { id body product { upc name price shippingEstimate \
               reviews { id body author { id name username } } } } } }",
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(total() - before, 5, "the deep query");
}
