//! Contextual arguments end to end (`@context` / `@fromContext`, issue #12): two small
//! async-graphql subgraphs on free ports, their SDL (gateway/tests/fixtures/contexts) composed by
//! `gateway compose`'s code, a real gateway, real HTTP. A child field reads a value from the
//! nearest ancestor that sets its context: through nested lists, from two different contexts
//! at once, from an interface context, and with the same entity under ancestors with different
//! values (each gets its own). The contextual argument is not part of the API schema.

use std::sync::{Arc, Mutex};

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, ID, Interface, Object, Schema, SimpleObject,
};
use async_graphql_axum::GraphQL;
use e2e::{Stack, listener};
use gateway::compose::{SubgraphInput, compose};
use gateway::config::Config;
use serde_json::{Value, json};

const MAIN_SDL: &str = include_str!("../gateway/tests/fixtures/contexts/main.graphql");
const CATALOG_SDL: &str = include_str!("../gateway/tests/fixtures/contexts/catalog.graphql");

/// What the subgraphs were asked, to check how the gateway sends contextual values.
#[derive(Default, Clone)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    fn record(&self, call: String) {
        self.0.lock().unwrap().push(call);
    }
    fn all(&self) -> Vec<String> {
        let mut calls = self.0.lock().unwrap().clone();
        calls.sort();
        calls
    }
}

// ---- the `main` subgraph: users, orgs, items with a contextual `price`; nodes and leaves.

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
struct User {
    id: ID,
    locale: String,
}

#[async_graphql::ComplexObject]
impl User {
    async fn orgs(&self) -> Vec<Org> {
        let ids: &[&str] = match self.id.as_str() {
            "u1" => &["o1", "o2"],
            "u2" => &["o1"],
            _ => &[],
        };
        ids.iter().map(|id| org(id)).collect()
    }
}

fn user(id: &str) -> User {
    User {
        id: ID::from(id),
        locale: if id == "u1" { "en" } else { "fr" }.into(),
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
struct Org {
    id: ID,
    currency: String,
}

#[async_graphql::ComplexObject]
impl Org {
    async fn items(&self) -> Vec<Item> {
        let ids: &[&str] = match self.id.as_str() {
            "o1" => &["i1", "i2"],
            "o2" => &["i1"],
            _ => &[],
        };
        ids.iter().map(|id| Item { id: ID::from(*id) }).collect()
    }
}

fn org(id: &str) -> Org {
    Org {
        id: ID::from(id),
        currency: if id == "o1" { "EUR" } else { "USD" }.into(),
    }
}

struct Item {
    id: ID,
}

#[Object]
impl Item {
    async fn id(&self) -> &ID {
        &self.id
    }

    /// Answers with what it was given, so the test sees which context reached it.
    async fn price(
        &self,
        ctx: &Context<'_>,
        currency: Option<String>,
        locale: Option<String>,
    ) -> String {
        let answer = format!(
            "{}:{}:{}",
            self.id.as_str(),
            currency.as_deref().unwrap_or("-"),
            locale.as_deref().unwrap_or("-")
        );
        ctx.data_unchecked::<Calls>()
            .record(format!("price {answer}"));
        answer
    }
}

#[derive(SimpleObject, Clone)]
struct Doc {
    id: ID,
    tag: String,
    leaf: Leaf,
}

#[derive(SimpleObject, Clone)]
struct Note {
    id: ID,
    tag: String,
    leaf: Leaf,
}

#[derive(Interface)]
#[graphql(field(name = "id", ty = "&ID"), field(name = "tag", ty = "&String"))]
enum Node {
    Doc(Doc),
    Note(Note),
}

#[derive(Clone)]
struct Leaf {
    id: ID,
}

#[Object]
impl Leaf {
    async fn id(&self) -> &ID {
        &self.id
    }

    async fn label(&self, tag: Option<String>) -> String {
        format!("{}:{}", self.id.as_str(), tag.as_deref().unwrap_or("-"))
    }
}

struct MainQuery;

#[Object]
impl MainQuery {
    async fn users(&self) -> Vec<User> {
        vec![user("u1"), user("u2")]
    }

    async fn nodes(&self) -> Vec<Node> {
        // The same leaf under two nodes with different tags.
        let leaf = Leaf { id: ID::from("l1") };
        vec![
            Node::Doc(Doc {
                id: ID::from("d1"),
                tag: "alpha".into(),
                leaf: leaf.clone(),
            }),
            Node::Note(Note {
                id: ID::from("n1"),
                tag: "beta".into(),
                leaf,
            }),
        ]
    }

    #[graphql(entity)]
    async fn find_user(&self, id: ID) -> User {
        user(id.as_str())
    }

    #[graphql(entity)]
    async fn find_org(&self, id: ID) -> Org {
        org(id.as_str())
    }

    #[graphql(entity)]
    async fn find_item(&self, id: ID) -> Item {
        Item { id }
    }

    #[graphql(entity)]
    async fn find_leaf(&self, id: ID) -> Leaf {
        Leaf { id }
    }
}

// ---- the `catalog` subgraph: items reached without any context.

#[derive(SimpleObject)]
struct CatalogItem {
    id: ID,
    name: String,
}

struct CatalogQuery;

#[Object]
impl CatalogQuery {
    async fn top_items(&self) -> Vec<CatalogItem> {
        vec![CatalogItem {
            id: ID::from("i2"),
            name: "second".into(),
        }]
    }

    #[graphql(entity)]
    async fn find_item(&self, id: ID) -> CatalogItem {
        CatalogItem {
            name: format!("item {}", id.as_str()),
            id,
        }
    }
}

/// Starts a schema as a subgraph on a free port; returns its URL and the server task.
async fn serve<Q, M, S>(schema: Schema<Q, M, S>) -> (String, tokio::task::JoinHandle<()>)
where
    Q: async_graphql::ObjectType + 'static,
    M: async_graphql::ObjectType + 'static,
    S: async_graphql::SubscriptionType + 'static,
{
    let (listener, address) = listener().await;
    let router = axum::Router::new().route_service("/graphql", GraphQL::new(schema));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{address}/graphql"), task)
}

struct Running {
    stack: Stack,
    calls: Calls,
    _subgraphs: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self._subgraphs {
            task.abort();
        }
    }
}

async fn start() -> Running {
    start_with(Config::default()).await
}

async fn start_with(config: Config) -> Running {
    let calls = Calls::default();
    let main = Schema::build(MainQuery, EmptyMutation, EmptySubscription)
        .data(calls.clone())
        .register_output_type::<Node>()
        .enable_federation()
        .finish();
    let catalog = Schema::build(CatalogQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    let (main_url, main_task) = serve(main).await;
    let (catalog_url, catalog_task) = serve(catalog).await;
    let composition = compose(vec![
        SubgraphInput {
            name: "main".into(),
            url: main_url,
            sdl: MAIN_SDL.into(),
            path: "main.graphql".into(),
        },
        SubgraphInput {
            name: "catalog".into(),
            url: catalog_url,
            sdl: CATALOG_SDL.into(),
            path: "catalog.graphql".into(),
        },
    ]);
    let supergraph = composition
        .supergraph
        .unwrap_or_else(|| panic!("composes: {:?}", composition.report.errors));
    let stack = Stack::gateway(&supergraph, &config).await;
    Running {
        stack,
        calls,
        _subgraphs: vec![main_task, catalog_task],
    }
}

fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response:#}"
    );
    &response["data"]
}

#[tokio::test]
async fn a_child_reads_two_contexts_through_nested_lists() {
    let running = start().await;
    let response = running
        .stack
        .query("{ users { id orgs { id items { id price } } } }")
        .await;
    assert_eq!(
        *data(&response),
        json!({ "users": [
            { "id": "u1", "orgs": [
                { "id": "o1", "items": [
                    { "id": "i1", "price": "i1:EUR:en" },
                    { "id": "i2", "price": "i2:EUR:en" } ] },
                { "id": "o2", "items": [
                    { "id": "i1", "price": "i1:USD:en" } ] } ] },
            { "id": "u2", "orgs": [
                { "id": "o1", "items": [
                    { "id": "i1", "price": "i1:EUR:fr" },
                    { "id": "i2", "price": "i2:EUR:fr" } ] } ] } ] })
    );
    // The same item under parents with different values: each value asked once per entity.
    assert_eq!(
        running.calls.all(),
        [
            "price i1:EUR:en",
            "price i1:EUR:fr",
            "price i1:USD:en",
            "price i2:EUR:en",
            "price i2:EUR:fr",
        ]
    );
    // The context's selection stays internal: no key leaks into the answer.
    assert!(!response.to_string().contains("contextualArgument"));
}

#[tokio::test]
async fn an_interface_sets_the_context_of_the_same_entity_twice() {
    let running = start().await;
    let response = running
        .stack
        .query(
            "{ nodes { id ... on Doc { leaf { id label } } ... on Note { leaf { id label } } } }",
        )
        .await;
    assert_eq!(
        *data(&response),
        json!({ "nodes": [
            { "id": "d1", "leaf": { "id": "l1", "label": "l1:alpha" } },
            { "id": "n1", "leaf": { "id": "l1", "label": "l1:beta" } } ] })
    );
    let fragments = running
        .stack
        .query("{ nodes { ... on Doc { tag leaf { label } } ... on Note { leaf { label } } } }")
        .await;
    assert_eq!(
        *data(&fragments),
        json!({ "nodes": [
            { "tag": "alpha", "leaf": { "label": "l1:alpha" } },
            { "leaf": { "label": "l1:beta" } } ] })
    );
}

#[tokio::test]
async fn without_an_ancestor_setting_the_context_the_argument_is_null() {
    let running = start().await;
    let response = running.stack.query("{ topItems { id name price } }").await;
    assert_eq!(
        *data(&response),
        json!({ "topItems": [ { "id": "i2", "name": "second", "price": "i2:-:-" } ] })
    );
}

#[tokio::test]
async fn clients_cannot_see_or_pass_the_contextual_argument() {
    let running = start().await;
    let introspection = running
        .stack
        .query(r#"{ __type(name: "Item") { fields { name args { name } } } }"#)
        .await;
    let fields = &data(&introspection)["__type"]["fields"];
    let price = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "price")
        .expect("price is in the API schema");
    assert_eq!(price["args"], json!([]));
    let leaf = running
        .stack
        .query(r#"{ __type(name: "Leaf") { fields { name args { name } } } }"#)
        .await;
    assert!(!leaf.to_string().contains("\"tag\""), "{leaf}");
    // Passing it is a validation error, not a way to override the context.
    let passed = running
        .stack
        .query(r#"{ users { orgs { items { price(currency: "GBP") } } } }"#)
        .await;
    assert!(
        passed["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("currency")
    );
    assert!(passed.get("data").is_none_or(Value::is_null));
}

/// With the entity cache on, an entity cached under one context value never answers for
/// another: the values are variables of the fetch, which cache keys include.
#[tokio::test]
async fn cached_entities_keep_their_context() {
    use gateway::cache::{CacheConfig, Mode, PolicyConfig};
    let config = Config {
        cache: CacheConfig {
            enabled: true,
            defaults: PolicyConfig {
                mode: Some(Mode::Events),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Config::default()
    };
    let running = start_with(config).await;
    let query = "{ users { orgs { items { price } } } }";
    let first = running.stack.query(query).await;
    let asked = running.calls.all().len();
    let second = running.stack.query(query).await;
    assert_eq!(data(&first), data(&second));
    assert_eq!(
        data(&second)["users"][0]["orgs"][1]["items"][0]["price"],
        "i1:USD:en"
    );
    assert_eq!(
        data(&second)["users"][1]["orgs"][0]["items"][0]["price"],
        "i1:EUR:fr"
    );
    // The second answer came from the cache, each entity under its own values.
    assert_eq!(
        running.calls.all().len(),
        asked,
        "{:?}",
        running.calls.all()
    );
}
