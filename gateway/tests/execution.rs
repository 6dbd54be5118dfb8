//! The executor against canned subgraph answers: representations, merging, errors moved to
//! the client's paths, null propagation, response shaping, and failing subgraphs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use gateway::executor::{FetchError, FetchFuture, FetchRequest, Fetcher, SubgraphResponse};
use gateway::gateway::{Gateway, GraphQLRequest, Outcome, Transport};
use gateway::response::GraphQLError;
use gateway::startup::load_supergraph;
use serde_json::{Value, json};

type Answer = dyn Fn(&FetchRequest) -> Result<SubgraphResponse, FetchError> + Send + Sync;

/// A fetcher that answers from a function and remembers every request.
struct Canned {
    answer: Box<Answer>,
    seen: Mutex<Vec<FetchRequest>>,
}

impl Fetcher for Canned {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        let answer = (self.answer)(&request);
        self.seen.lock().unwrap().push(request);
        Box::pin(async move { answer })
    }
}

impl Canned {
    /// The first request sent to `subgraph`.
    fn request_to(&self, subgraph: &str) -> FetchRequest {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .find(|r| &*r.subgraph_name == subgraph)
            .unwrap_or_else(|| panic!("no request to {subgraph}"))
            .clone()
    }
}

fn data(value: Value) -> Result<SubgraphResponse, FetchError> {
    Ok(SubgraphResponse {
        data: Some(value.into()),
        ..Default::default()
    })
}

fn setup(
    fixture: &str,
    answer: impl Fn(&FetchRequest) -> Result<SubgraphResponse, FetchError> + Send + Sync + 'static,
) -> (Gateway, Arc<Canned>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture)
        .join("supergraph.graphql");
    let supergraph = Arc::new(load_supergraph(&path).unwrap());
    let fetcher = Arc::new(Canned {
        answer: Box::new(answer),
        seen: Mutex::new(Vec::new()),
    });
    let planning = gateway::config::QueryPlanningConfig::default();
    (
        Gateway::new(supergraph, fetcher.clone(), &planning),
        fetcher,
    )
}

async fn run(gateway: &Gateway, query: &str) -> (Outcome, Value) {
    let request = GraphQLRequest {
        query: Some(query.into()),
        ..Default::default()
    };
    let (outcome, response) = gateway
        .execute(request, Transport::Post, Default::default())
        .await;
    (outcome, serde_json::to_value(response).unwrap())
}

fn representations(request: &FetchRequest) -> Vec<Value> {
    request
        .entities
        .as_ref()
        .map(|e| e.representations.iter().map(Value::from).collect())
        .unwrap_or_default()
}

fn warehouse(region: &str, number: u64) -> Value {
    json!({ "region": { "code": region }, "number": number })
}

/// Orders with three items in two warehouses; stock answers each representation in order.
fn orders_and_stock(request: &FetchRequest) -> Result<SubgraphResponse, FetchError> {
    match &*request.subgraph_name {
        "orders" => data(json!({ "order": { "items": [
            { "quantity": 1, "warehouse": warehouse("eu", 1) },
            { "quantity": 2, "warehouse": warehouse("us", 7) },
            { "quantity": 3, "warehouse": warehouse("eu", 1) },
        ] } })),
        "stock" => {
            let entities: Vec<Value> = representations(request)
                .iter()
                .map(|r| {
                    json!({ "address": format!("{} #{}", r["region"]["code"].as_str().unwrap(), r["number"]) })
                })
                .collect();
            data(json!({ "_entities": entities }))
        }
        other => panic!("unexpected subgraph {other}"),
    }
}

#[tokio::test]
async fn one_representation_per_entity_and_results_merged_into_every_occurrence() {
    let (gateway, fetcher) = setup("entities", orders_and_stock);
    let (_, response) = run(
        &gateway,
        r#"{ order(id: "1") { items { quantity warehouse { address } } } }"#,
    )
    .await;
    assert_eq!(
        response,
        json!({ "data": { "order": { "items": [
            { "quantity": 1, "warehouse": { "address": "eu #1" } },
            { "quantity": 2, "warehouse": { "address": "us #7" } },
            { "quantity": 3, "warehouse": { "address": "eu #1" } },
        ] } } })
    );
    let stock = fetcher.request_to("stock");
    assert_eq!(
        representations(&stock),
        vec![
            json!({ "__typename": "Warehouse", "region": { "code": "eu" }, "number": 1 }),
            json!({ "__typename": "Warehouse", "region": { "code": "us" }, "number": 7 }),
        ]
    );
    assert!(
        !stock.variables.contains_key("representations"),
        "representations travel apart from the client's variables"
    );
}

#[tokio::test]
async fn entity_errors_move_to_the_client_path_and_nulls_propagate() {
    let (gateway, _) = setup("entities", |request| match &*request.subgraph_name {
        "stock" => Ok(SubgraphResponse {
            data: Some(json!({ "_entities": [{ "address": "eu #1" }, null] }).into()),
            errors: vec![GraphQLError::new("warehouse closed").with_path(vec![
                gateway::response::PathElement::Key("_entities".into()),
                gateway::response::PathElement::Index(1),
                gateway::response::PathElement::Key("address".into()),
            ])],
            ..Default::default()
        }),
        _ => orders_and_stock(request),
    });
    let (_, response) = run(
        &gateway,
        r#"{ order(id: "1") { items { quantity warehouse { address } } } }"#,
    )
    .await;
    // `address: String!` of item 1 is null: its warehouse and item (non-null) go null with it,
    // then the non-null list, up to the nullable `order`.
    assert_eq!(response["data"], json!({ "order": null }));
    let errors = response["errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        1,
        "the subgraph error explains the null: {errors:?}"
    );
    assert_eq!(errors[0]["message"], "warehouse closed");
    assert_eq!(
        errors[0]["path"],
        json!(["order", "items", 1, "warehouse", "address"])
    );
    assert_eq!(errors[0]["extensions"]["serviceName"], "stock");
}

#[tokio::test]
async fn a_null_without_a_subgraph_error_gets_one() {
    let (gateway, _) = setup("entities", |request| match &*request.subgraph_name {
        "stock" => data(json!({ "_entities": [{ "address": null }, { "address": "us #7" }] })),
        _ => orders_and_stock(request),
    });
    let (_, response) = run(
        &gateway,
        r#"{ order(id: "1") { items { warehouse { address } } } }"#,
    )
    .await;
    assert_eq!(response["data"], json!({ "order": null }));
    assert_eq!(
        response["errors"][0]["message"],
        "Cannot return null for non-nullable field Warehouse.address"
    );
    assert_eq!(
        response["errors"][0]["path"],
        json!(["order", "items", 0, "warehouse", "address"])
    );
}

#[tokio::test]
async fn an_entity_answer_that_does_not_fit_the_representations_is_not_merged() {
    // Two representations sent (two warehouses); each answer below cannot be lined up with
    // them, so none of its items may land in an object.
    for answer in [
        json!({}),
        json!({ "_entities": [{ "address": "eu #1" }] }),
        json!({ "_entities": [{ "address": "eu #1" }, { "address": "us #7" }, { "address": "x" }] }),
    ] {
        let stock = answer.clone();
        let (gateway, _) = setup("entities", move |request| match &*request.subgraph_name {
            "stock" => data(stock.clone()),
            _ => orders_and_stock(request),
        });
        let (_, response) = run(
            &gateway,
            r#"{ order(id: "1") { items { warehouse { address } } } }"#,
        )
        .await;
        assert_eq!(response["data"], json!({ "order": null }), "{answer}");
        let error = &response["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "SUBGRAPH_INVALID_RESPONSE",
            "{answer}"
        );
        assert_eq!(error["extensions"]["serviceName"], "stock");
        assert!(
            error["message"].as_str().unwrap().contains("_entities"),
            "{response}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_subgraph_leaves_partial_data_and_a_located_error() {
    let (gateway, _) = setup("entities", |request| match &*request.subgraph_name {
        "orders" => {
            data(json!({ "order": { "id": "1", "buyer": { "email": "ada@example.com" } } }))
        }
        "users" => Err(FetchError::Unreachable("connection refused".into())),
        other => panic!("unexpected subgraph {other}"),
    });
    let (outcome, response) = run(&gateway, r#"{ order(id: "1") { id buyer { name } } }"#).await;
    assert_eq!(outcome, Outcome::Executed);
    assert_eq!(
        response["data"],
        json!({ "order": { "id": "1", "buyer": { "name": null } } })
    );
    let error = &response["errors"][0];
    assert_eq!(error["extensions"]["code"], "SUBGRAPH_UNREACHABLE");
    assert_eq!(error["extensions"]["serviceName"], "users");
    assert_eq!(error["path"], json!(["order", "buyer"]));
}

#[tokio::test]
async fn response_follows_the_query_order_without_gateway_fields() {
    let (gateway, _) = setup("entities", |request| match &*request.subgraph_name {
        "users" => data(json!({ "me": { "id": "u1", "name": "Ada", "mail": "ada@example.com" } })),
        "reviews" => data(json!({ "_entities": [{ "reviews": [{ "body": "great" }] }] })),
        other => panic!("unexpected subgraph {other}"),
    });
    let request = GraphQLRequest {
        query: Some("{ me { mail: email reviews { body } name } }".into()),
        ..Default::default()
    };
    let (_, response) = gateway
        .execute(request, Transport::Post, Default::default())
        .await;
    let text = String::from_utf8(response.to_bytes()).unwrap();
    assert_eq!(
        text,
        r#"{"data":{"me":{"mail":"ada@example.com","reviews":[{"body":"great"}],"name":"Ada"}}}"#
    );
}

#[tokio::test]
async fn keys_aliased_for_the_subgraph_get_their_client_name_back() {
    let (gateway, fetcher) = setup("aliases", |request| {
        assert!(request.operation.contains("id__alias_0: id"));
        data(json!({ "accounts": [
            { "__typename": "User", "id": "u1", "name": "Ada" },
            { "__typename": "Admin", "id__alias_0": "a1", "name": "Root" },
        ] }))
    });
    let (_, response) = run(
        &gateway,
        "{ accounts { ... on User { id name } ... on Admin { id name } } }",
    )
    .await;
    assert_eq!(
        response,
        json!({ "data": { "accounts": [
            { "id": "u1", "name": "Ada" },
            { "id": "a1", "name": "Root" },
        ] } })
    );
    assert_eq!(fetcher.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn interface_object_representations_use_the_interface_name() {
    let (gateway, fetcher) = setup("interface_object", |request| {
        match &*request.subgraph_name {
            "inventory" => data(json!({ "items": [
            { "__typename": "Book", "id": "b1", "name": "Dune" },
            { "__typename": "Movie", "id": "m1", "name": "Alien" },
        ] })),
            "ratings" => data(json!({ "_entities": [{ "rating": 4.5 }, { "rating": 3.0 }] })),
            other => panic!("unexpected subgraph {other}"),
        }
    });
    let (_, response) = run(&gateway, "{ items { __typename name rating } }").await;
    assert_eq!(
        response["data"],
        json!({ "items": [
            { "__typename": "Book", "name": "Dune", "rating": 4.5 },
            { "__typename": "Movie", "name": "Alien", "rating": 3.0 },
        ] })
    );
    assert_eq!(
        representations(&fetcher.request_to("ratings")),
        vec![
            json!({ "__typename": "Item", "id": "b1" }),
            json!({ "__typename": "Item", "id": "m1" }),
        ]
    );
}

fn rating_of(id: &str) -> f64 {
    match id {
        "b1" => 1.5,
        "m1" => 2.5,
        "m2" => 3.5,
        other => panic!("unexpected representation id {other}"),
    }
}

#[tokio::test]
async fn objects_sharing_a_plain_key_share_one_representation() {
    // `id` is a plain key: representations are looked up from the objects' fields before any
    // is built (the nested warehouse key above takes the general way).
    let (gateway, fetcher) = setup("interface_object", |request| {
        match &*request.subgraph_name {
            "inventory" => data(json!({ "items": [
                { "__typename": "Book", "id": "b1", "name": "Dune" },
                { "__typename": "Movie", "id": "m1", "name": "Alien" },
                { "__typename": "Book", "id": "b1", "name": "Dune" },
                { "__typename": "Movie", "id": "m2", "name": "Aliens" },
                { "__typename": "Movie", "id": "m1", "name": "Alien" },
            ] })),
            "ratings" => {
                let entities: Vec<Value> = representations(request)
                    .iter()
                    .map(|r| json!({ "rating": rating_of(r["id"].as_str().unwrap()) }))
                    .collect();
                data(json!({ "_entities": entities }))
            }
            other => panic!("unexpected subgraph {other}"),
        }
    });
    let (_, response) = run(&gateway, "{ items { name rating } }").await;
    assert_eq!(
        response["data"]["items"],
        json!([
            { "name": "Dune", "rating": 1.5 },
            { "name": "Alien", "rating": 2.5 },
            { "name": "Dune", "rating": 1.5 },
            { "name": "Aliens", "rating": 3.5 },
            { "name": "Alien", "rating": 2.5 },
        ])
    );
    assert_eq!(
        representations(&fetcher.request_to("ratings")),
        vec![
            json!({ "__typename": "Item", "id": "b1" }),
            json!({ "__typename": "Item", "id": "m1" }),
            json!({ "__typename": "Item", "id": "m2" }),
        ]
    );
}

#[tokio::test]
async fn variables_are_coerced_and_forwarded() {
    let (gateway, fetcher) = setup("entities", |_| data(json!({ "order": { "id": "7" } })));
    let request = GraphQLRequest {
        query: Some("query ($id: ID!) { order(id: $id) { id } }".into()),
        variables: Some(json!({ "id": 7 }).as_object().unwrap().clone()),
        ..Default::default()
    };
    let (_, response) = gateway
        .execute(request, Transport::Post, Default::default())
        .await;
    assert_eq!(
        serde_json::to_value(response).unwrap()["data"],
        json!({ "order": { "id": "7" } })
    );
    let seen = fetcher.seen.lock().unwrap();
    assert_eq!(seen[0].variables.get("id"), Some(&json!(7)));
    assert!(seen[0].operation.contains("$id: ID!"));
}

#[tokio::test]
async fn request_errors_have_no_data() {
    let (gateway, fetcher) = setup("entities", |_| panic!("nothing should be fetched"));
    for (query, needle) in [
        ("{ order(id: 1) { nope } }", "nope"),
        ("{ order(", "syntax"),
        ("query ($id: ID!) { order(id: $id) { id } }", "id"),
    ] {
        let (outcome, response) = run(&gateway, query).await;
        assert_eq!(outcome, Outcome::RequestError, "{query}");
        assert!(response.get("data").is_none(), "{query}: {response}");
        let messages = response["errors"].to_string().to_lowercase();
        assert!(messages.contains(needle), "{query}: {messages}");
    }
    assert!(fetcher.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn planning_that_exceeds_its_budget_fails_cleanly() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/entities/supergraph.graphql");
    let supergraph = Arc::new(load_supergraph(&path).unwrap());
    let fetcher = Arc::new(Canned {
        answer: Box::new(|_| panic!("nothing should be fetched")),
        seen: Mutex::new(Vec::new()),
    });
    let planning = gateway::config::QueryPlanningConfig {
        location_budget: 3,
        ..Default::default()
    };
    let gateway = Gateway::new(supergraph, fetcher, &planning);
    let (outcome, response) = run(
        &gateway,
        r#"{ order(id: "1") { buyer { reviews { body } } } }"#,
    )
    .await;
    assert_eq!(outcome, Outcome::Executed);
    assert_eq!(response["data"], Value::Null);
    assert_eq!(
        response["errors"][0]["extensions"]["code"],
        "QUERY_PLANNING_FAILED"
    );
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too complex")
    );
}

#[tokio::test]
async fn typename_and_introspection_are_answered_by_the_gateway() {
    let (gateway, fetcher) = setup("entities", |_| panic!("nothing should be fetched"));
    let (_, response) = run(
        &gateway,
        r#"{ __typename __type(name: "Order") { name fields { name } } }"#,
    )
    .await;
    assert_eq!(response["data"]["__typename"], "Query");
    assert_eq!(response["data"]["__type"]["name"], "Order");
    let fields: Vec<&str> = response["data"]["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id", "buyer", "items"]);
    assert!(fetcher.seen.lock().unwrap().is_empty());
}

/// An `@interfaceObject` subgraph cannot tell an object's concrete type: when the fetch that
/// would (from a subgraph that knows the implementations) fails for an object, the object is
/// null, never answered with the interface's name as `__typename`.
#[tokio::test]
async fn an_interface_object_entity_whose_type_is_unknown_is_null() {
    let (gateway, _) = setup("interface_object", |request| {
        match &*request.subgraph_name {
            "ratings" => data(json!({ "topRated": [
                { "id": "b1", "rating": 4.5 },
                { "id": "x9", "rating": 1.0 },
            ] })),
            // The second item is unknown here: null, with or without an error saying so.
            "inventory" => data(json!({ "_entities": [
                { "__typename": "Book", "pages": 412 },
                null,
            ] })),
            other => panic!("unexpected subgraph {other}"),
        }
    });
    let (_, response) = run(
        &gateway,
        "{ topRated { __typename rating ... on Book { pages } } }",
    )
    .await;
    // `topRated: [Item!]!`: the null item nulls the list, and the list the whole data.
    assert_eq!(response["data"], Value::Null, "{response}");
    let errors = response["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e["path"] == json!(["topRated", 1])
            && e["message"].as_str().unwrap().contains("runtime type")),
        "{response}"
    );
    assert!(!response.to_string().contains(r#""__typename":"Item""#));
}

/// A root field no subgraph can resolve is null with an error at its path; the other root
/// fields are fetched and answered. A non-null one nulls the whole data.
#[tokio::test]
async fn an_unplannable_root_field_is_null_and_the_others_answer() {
    let (gateway, fetcher) = setup("unresolvable", |request| match &*request.subgraph_name {
        "catalog" => data(json!({ "count": 3 })),
        "tags" => data(json!({ "tagged": { "label": "sea" } })),
        other => panic!("unexpected subgraph {other}"),
    });
    let (_, response) = run(&gateway, "{ asset { id label } count tagged { label } }").await;
    assert_eq!(
        response["data"],
        json!({ "asset": null, "count": 3, "tagged": { "label": "sea" } })
    );
    let errors = response["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{response}");
    assert_eq!(errors[0]["path"], json!(["asset"]));
    assert_eq!(errors[0]["extensions"]["code"], "QUERY_PLANNING_FAILED");
    assert_eq!(fetcher.seen.lock().unwrap().len(), 2);

    let (_, response) = run(&gateway, "{ count cover { label } }").await;
    assert_eq!(response["data"], Value::Null, "{response}");
    assert_eq!(response["errors"][0]["path"], json!(["cover"]));
}

async fn run_with(gateway: &Gateway, query: &str, variables: Value) -> Value {
    let request = GraphQLRequest {
        query: Some(query.into()),
        variables: Some(variables.as_object().expect("variables object").clone()),
        ..Default::default()
    };
    let (_, response) = gateway
        .execute(request, Transport::Post, Default::default())
        .await;
    serde_json::to_value(response).unwrap()
}

/// `@skip`/`@include` end to end: a selection emptied by its conditions answers `{}`, a
/// skipped root field or entity field is not fetched at all, and a skipped `@requires` input
/// is still sent in the representation but not answered.
#[tokio::test]
async fn skip_and_include_shape_the_answer_and_the_fetches() {
    let (gateway, fetcher) = setup("entities", |request| match &*request.subgraph_name {
        "users" => data(json!({ "me": { "__typename": "User" } })),
        other => panic!("unexpected subgraph {other}"),
    });
    let response = run_with(
        &gateway,
        "query ($c: Boolean!) { me { name @include(if: $c) } order(id: 1) @skip(if: true) { id } }",
        json!({ "c": false }),
    )
    .await;
    assert_eq!(response, json!({ "data": { "me": {} } }));
    assert_eq!(fetcher.seen.lock().unwrap().len(), 1);

    let (gateway, fetcher) = setup("interface_object", |request| {
        match &*request.subgraph_name {
            "inventory" => {
                data(json!({ "items": [{ "__typename": "Book", "id": "b1", "name": "Dune" }] }))
            }
            other => panic!("unexpected subgraph {other}"),
        }
    });
    let response = run_with(
        &gateway,
        "query ($c: Boolean!) { items { name rating @skip(if: $c) } }",
        json!({ "c": true }),
    )
    .await;
    assert_eq!(
        response,
        json!({ "data": { "items": [{ "name": "Dune" }] } })
    );
    assert_eq!(fetcher.seen.lock().unwrap().len(), 1, "no ratings fetch");

    let (gateway, fetcher) = setup("requires", |request| match &*request.subgraph_name {
        "products" => data(json!({ "products": [
            { "upc": "p1", "weight": 3, "price__b8a9b483": 10 },
        ] })),
        "shipping" => data(json!({ "_entities": [{ "shippingCost": 13 }] })),
        other => panic!("unexpected subgraph {other}"),
    });
    let response = run_with(
        &gateway,
        "query ($c: Boolean!) { products { weight @include(if: $c) shippingCost } }",
        json!({ "c": false }),
    )
    .await;
    assert_eq!(
        response,
        json!({ "data": { "products": [{ "shippingCost": 13 }] } })
    );
    assert_eq!(
        representations(&fetcher.request_to("shipping")),
        vec![json!({ "__typename": "Product", "upc": "p1", "weight": 3, "price": 10 })]
    );
}

/// A merged entity fetch: the reviews of `users`, of `topProducts` and of each product's
/// `addedBy` user go to reviews as one request, each representation once (u1 and u2 are both
/// users and adders); each object gets its own entity's answer, and an error about one
/// entity lands at every path that sent it.
#[tokio::test]
async fn a_merged_entity_fetch_splits_its_answer_back_by_path() {
    let (gateway, fetcher) = setup("merging", |request| match &*request.subgraph_name {
        "accounts" if request.entities.is_some() => {
            let entities: Vec<Value> = representations(request)
                .iter()
                .map(|r| json!({ "name": format!("name of {}", r["id"].as_str().unwrap()) }))
                .collect();
            data(json!({ "_entities": entities }))
        }
        "accounts" => data(json!({ "users": [{ "id": "u1" }, { "id": "u2" }] })),
        "catalog" => data(json!({ "topProducts": [
            { "name": "Lamp", "upc": "p1", "addedBy": { "id": "u2" } },
            { "name": "Desk", "upc": "p2", "addedBy": { "id": "u1" } },
        ] })),
        "reviews" => {
            let mut errors = Vec::new();
            let entities: Vec<Value> = representations(request)
                .iter()
                .enumerate()
                .map(|(i, r)| match (r["__typename"].as_str().unwrap(), r.get("id")) {
                    (_, Some(id)) if id == "u2" => {
                        errors.push(
                            serde_json::from_value::<GraphQLError>(json!({
                                "message": "reviews of u2 are unavailable",
                                "path": ["_entities", i, "reviews"],
                            }))
                            .unwrap(),
                        );
                        json!({ "reviews": null })
                    }
                    ("User", Some(id)) => json!({ "reviews": [{ "body": format!("by {}", id.as_str().unwrap()) }] }),
                    ("Product", _) => json!({ "reviews": [{ "stars": if r["upc"] == "p1" { 5 } else { 3 } }] }),
                    other => panic!("unexpected representation {other:?}"),
                })
                .collect();
            Ok(SubgraphResponse {
                data: Some(json!({ "_entities": entities }).into()),
                errors,
                ..Default::default()
            })
        }
        other => panic!("unexpected subgraph {other}"),
    });
    let (_, response) = run(
        &gateway,
        "{ users { id reviews { body } } topProducts { name reviews { stars } addedBy { name reviews { body } } } }",
    )
    .await;
    assert_eq!(
        response["data"],
        json!({
            "users": [
                { "id": "u1", "reviews": [{ "body": "by u1" }] },
                { "id": "u2", "reviews": null },
            ],
            "topProducts": [
                { "name": "Lamp", "reviews": [{ "stars": 5 }], "addedBy": { "name": "name of u2", "reviews": null } },
                { "name": "Desk", "reviews": [{ "stars": 3 }], "addedBy": { "name": "name of u1", "reviews": [{ "body": "by u1" }] } },
            ],
        }),
        "{response}"
    );
    let mut paths: Vec<String> = response["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["path"].to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            r#"["topProducts",0,"addedBy","reviews"]"#,
            r#"["users",1,"reviews"]"#
        ]
    );
    let seen = fetcher.seen.lock().unwrap();
    let to_reviews: Vec<&FetchRequest> = seen
        .iter()
        .filter(|r| &*r.subgraph_name == "reviews")
        .collect();
    assert_eq!(to_reviews.len(), 1, "one merged request to reviews");
    assert_eq!(
        representations(to_reviews[0]),
        vec![
            json!({ "__typename": "User", "id": "u1" }),
            json!({ "__typename": "User", "id": "u2" }),
            json!({ "__typename": "Product", "upc": "p1" }),
            json!({ "__typename": "Product", "upc": "p2" }),
        ]
    );
}

/// Null propagation through a merged entity fetch: a product whose non-null `reviews` comes
/// back null is itself null (`topProducts: [Product]!`), with the error at its own path,
/// while the users' part of the same request is merged as usual.
#[tokio::test]
async fn a_null_from_a_merged_entity_fetch_propagates_at_its_own_path() {
    let (gateway, _) = setup("merging", |request| match &*request.subgraph_name {
        "accounts" => data(json!({ "users": [{ "id": "u1" }] })),
        "catalog" => data(json!({ "topProducts": [
            { "name": "Lamp", "upc": "p1" },
            { "name": "Desk", "upc": "p2" },
        ] })),
        "reviews" => {
            let mut errors = Vec::new();
            let entities: Vec<Value> = representations(request)
                .iter()
                .enumerate()
                .map(|(i, r)| match r["__typename"].as_str().unwrap() {
                    "User" => json!({ "reviews": [{ "body": "fine" }] }),
                    _ if r["upc"] == "p2" => {
                        errors.push(
                            serde_json::from_value::<GraphQLError>(json!({
                                "message": "no reviews for p2",
                                "path": ["_entities", i, "reviews"],
                            }))
                            .unwrap(),
                        );
                        json!({ "reviews": null })
                    }
                    _ => json!({ "reviews": [{ "stars": 4 }] }),
                })
                .collect();
            Ok(SubgraphResponse {
                data: Some(json!({ "_entities": entities }).into()),
                errors,
                ..Default::default()
            })
        }
        other => panic!("unexpected subgraph {other}"),
    });
    let (_, response) = run(
        &gateway,
        "{ users { id reviews { body } } topProducts { name reviews { stars } } }",
    )
    .await;
    assert_eq!(
        response["data"],
        json!({
            "users": [{ "id": "u1", "reviews": [{ "body": "fine" }] }],
            "topProducts": [{ "name": "Lamp", "reviews": [{ "stars": 4 }] }, null],
        }),
        "{response}"
    );
    assert_eq!(
        response["errors"].as_array().unwrap().len(),
        1,
        "{response}"
    );
    assert_eq!(
        response["errors"][0]["path"],
        json!(["topProducts", 1, "reviews"])
    );
}
