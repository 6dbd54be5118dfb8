//! The inventory subgraph: extends `Product` with stock and shipping.
//!
//! It owns only the stock flags. `shippingEstimate` `@requires` the product's
//! `price` and `weight`, which the gateway fetches from products and passes in
//! the `_entities` representation; this service never stores them. It has no
//! root query fields of its own: async-graphql accepts a `Query` whose only
//! member is the entity resolver (the exported SDL then has no `Query` type).

use crate::events::ChangeEvent;
use std::{collections::HashMap, sync::Arc};

use async_graphql::futures_util::{Stream, StreamExt};
use async_graphql::{Context, Object, Result, Schema, Subscription};
use tokio::sync::RwLock;

use crate::feed::Feed;
use crate::seed;

/// The executable inventory schema.
pub type InventorySchema = Schema<Query, Mutation, Subscription>;

/// Orders above this price ship for free.
const FREE_SHIPPING_ABOVE: i32 = 1000;

/// The shipping estimate for a product: free above [`FREE_SHIPPING_ABOVE`],
/// otherwise half the weight.
pub fn shipping_estimate(price: i32, weight: i32) -> i32 {
    if price > FREE_SHIPPING_ABOVE {
        0
    } else {
        weight / 2
    }
}

/// Inventory's view of a product: its stock flag plus whatever external
/// fields the gateway supplied in the representation.
#[derive(Clone, Debug)]
pub struct Product {
    upc: String,
    price: Option<i32>,
    weight: Option<i32>,
    in_stock: bool,
}

impl Product {
    fn external(value: Option<i32>, field: &str, upc: &str) -> Result<i32> {
        value.ok_or_else(|| {
            format!(
                "`{field}` of product {upc} is external: pass it in the _entities representation"
            )
            .into()
        })
    }
}

#[Object]
impl Product {
    async fn upc(&self) -> &str {
        &self.upc
    }

    // Owned by products; known here only when the representation carries it.
    #[graphql(external)]
    async fn weight(&self) -> Result<i32> {
        Product::external(self.weight, "weight", &self.upc)
    }

    // Owned by products; known here only when the representation carries it.
    #[graphql(external)]
    async fn price(&self) -> Result<i32> {
        Product::external(self.price, "price", &self.upc)
    }

    async fn in_stock(&self) -> bool {
        self.in_stock
    }

    /// Free above a price of 1000, otherwise half the weight.
    #[graphql(requires = "price weight")]
    async fn shipping_estimate(&self) -> Result<i32> {
        let price = Product::external(self.price, "price", &self.upc)?;
        let weight = Product::external(self.weight, "weight", &self.upc)?;
        Ok(shipping_estimate(price, weight))
    }
}

/// Stock flags by upc; upcs never set are out of stock.
#[derive(Debug)]
struct Store {
    in_stock: HashMap<String, bool>,
}

impl Store {
    fn seeded() -> Self {
        let in_stock = seed::PRODUCTS
            .iter()
            .map(|p| (p.upc.to_owned(), p.in_stock))
            .collect();
        Store { in_stock }
    }

    fn in_stock(&self, upc: &str) -> bool {
        self.in_stock.get(upc).copied().unwrap_or(false)
    }
}

type Db = Arc<RwLock<Store>>;

fn db<'a>(ctx: &Context<'a>) -> Result<&'a Db> {
    ctx.data::<Db>()
}

/// Builds the schema over freshly seeded data.
pub fn schema() -> InventorySchema {
    schema_with(std::sync::Arc::new(crate::events::Nowhere))
}

/// Builds the schema over freshly seeded data, publishing a change event for each mutation.
pub fn schema_with(publisher: crate::events::Publisher) -> InventorySchema {
    Schema::build(Query, Mutation, Subscription)
        .enable_federation()
        // Subscription fields in the SDL, for composition (async-graphql leaves them out else).
        .enable_subscription_in_federation()
        .data::<Db>(Arc::new(RwLock::new(Store::seeded())))
        .data(Feed::<Product>::default())
        .data(publisher)
        .finish()
}

pub struct Query;

#[Object]
impl Query {
    /// Federation entity resolver. Only `upc` is the key; `price` and
    /// `weight` are the `@requires` fields, absent when the gateway did not
    /// need `shippingEstimate`. Every upc resolves (unknown ones out of stock)
    /// because products may be created after inventory was seeded.
    #[graphql(entity)]
    async fn find_product_by_upc(
        &self,
        ctx: &Context<'_>,
        #[graphql(key)] upc: String,
        price: Option<i32>,
        weight: Option<i32>,
    ) -> Result<Product> {
        let in_stock = db(ctx)?.read().await.in_stock(&upc);
        Ok(Product {
            upc,
            price,
            weight,
            in_stock,
        })
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Records whether a product is in stock; any upc is accepted.
    // Upcs inventory has not seen before are accepted because products may be
    // created after inventory was seeded. The returned product has no
    // `price`/`weight`, so asking it for `shippingEstimate` directly (not via a
    // gateway) is an error.
    async fn set_stock(
        &self,
        ctx: &Context<'_>,
        upc: String,
        in_stock: bool,
    ) -> Result<Option<Product>> {
        if upc.trim().is_empty() {
            return Err("upc must not be empty".into());
        }
        db(ctx)?
            .write()
            .await
            .in_stock
            .insert(upc.clone(), in_stock);
        crate::events::publish(
            ctx,
            vec![ChangeEvent::entity(
                "inventory",
                "Product",
                serde_json::json!({ "upc": upc }),
            )],
        );
        let product = Product {
            upc,
            price: None,
            weight: None,
            in_stock,
        };
        ctx.data::<Feed<Product>>()?.publish(product.clone());
        Ok(Some(product))
    }
}

pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every stock change from now on (each `setStock`, changed or not); only those of
    /// product `upc` when it is given.
    async fn stock_changed(
        &self,
        ctx: &Context<'_>,
        upc: Option<String>,
    ) -> Result<impl Stream<Item = Product> + use<>> {
        let changes = ctx.data::<Feed<Product>>()?.stream();
        Ok(changes.filter(move |product| {
            let wanted = upc.as_ref().is_none_or(|upc| *upc == product.upc);
            std::future::ready(wanted)
        }))
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};
    use serde_json::{Value, json};

    use super::*;

    const ENTITIES: &str = r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc inStock } } }"#;

    async fn run(schema: &InventorySchema, query: &str, variables: Value) -> Value {
        let request = Request::new(query).variables(Variables::from_json(variables));
        let response = schema.execute(request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data.into_json().expect("data is JSON")
    }

    #[test]
    fn shipping_is_free_above_1000_else_half_the_weight() {
        assert_eq!(shipping_estimate(1001, 40), 0);
        assert_eq!(shipping_estimate(1000, 40), 20);
        assert_eq!(shipping_estimate(10, 7), 3);
    }

    #[tokio::test]
    async fn entities_compute_shipping_from_the_representation() {
        let schema = schema();
        let data = run(
            &schema,
            r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc price weight inStock shippingEstimate } } }"#,
            json!({"r": [
                {"__typename": "Product", "upc": "1", "price": 349, "weight": 18},
                {"__typename": "Product", "upc": "5", "price": 1199, "weight": 40},
                {"__typename": "Product", "upc": "4", "price": 299, "weight": 1},
                {"__typename": "Product", "upc": "unknown", "price": 20, "weight": 9}
            ]}),
        )
        .await;
        assert_eq!(
            data["_entities"],
            json!([
                {"upc": "1", "price": 349, "weight": 18, "inStock": true, "shippingEstimate": 9},
                {"upc": "5", "price": 1199, "weight": 40, "inStock": true, "shippingEstimate": 0},
                {"upc": "4", "price": 299, "weight": 1, "inStock": false, "shippingEstimate": 0},
                {"upc": "unknown", "price": 20, "weight": 9, "inStock": false, "shippingEstimate": 4}
            ])
        );
    }

    #[tokio::test]
    async fn stock_needs_only_the_key_but_shipping_needs_the_requires_fields() {
        let schema = schema();
        let data = run(
            &schema,
            ENTITIES,
            json!({"r": [{"__typename": "Product", "upc": "2"}]}),
        )
        .await;
        assert_eq!(data["_entities"], json!([{"upc": "2", "inStock": true}]));

        let response = schema
            .execute(
                Request::new(r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { shippingEstimate } } }"#)
                    .variables(Variables::from_json(json!({"r": [{"__typename": "Product", "upc": "2"}]}))),
            )
            .await;
        assert!(
            response.errors[0].message.contains("external"),
            "{:?}",
            response.errors
        );
    }

    #[tokio::test]
    async fn set_stock_is_visible_to_later_entity_lookups() {
        let schema = schema();
        let changed = run(
            &schema,
            r#"mutation { a: setStock(upc: "1", inStock: false) { upc inStock } b: setStock(upc: "99", inStock: true) { inStock } }"#,
            json!({}),
        )
        .await;
        assert_eq!(changed["a"], json!({"upc": "1", "inStock": false}));
        let data = run(
            &schema,
            ENTITIES,
            json!({"r": [{"__typename": "Product", "upc": "1"}, {"__typename": "Product", "upc": "99"}]}),
        )
        .await;
        assert_eq!(
            data["_entities"],
            json!([{"upc": "1", "inStock": false}, {"upc": "99", "inStock": true}])
        );
    }
}
