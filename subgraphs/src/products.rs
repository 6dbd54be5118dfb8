//! The products subgraph: owns the catalogue (`Product @key(fields: "upc")`),
//! including the `price` and `weight` that inventory `@requires`.

use crate::events::ChangeEvent;
use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Object, Result, Schema, SimpleObject};
use tokio::sync::RwLock;

use crate::{limit, seed};

/// The executable products schema.
pub type ProductsSchema = Schema<Query, Mutation, EmptySubscription>;

/// A catalogue entry.
#[derive(Clone, Debug, SimpleObject)]
pub struct Product {
    pub upc: String,
    pub name: String,
    pub price: i32,
    pub weight: i32,
}

/// The catalogue, in creation order (which is also `topProducts` order).
#[derive(Debug)]
struct Store {
    products: Vec<Product>,
}

impl Store {
    fn seeded() -> Self {
        let products = seed::PRODUCTS
            .iter()
            .map(|p| Product {
                upc: p.upc.to_owned(),
                name: p.name.to_owned(),
                price: p.price,
                weight: p.weight,
            })
            .collect();
        Store { products }
    }

    fn get(&self, upc: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.upc == upc)
    }
}

type Db = Arc<RwLock<Store>>;

fn db<'a>(ctx: &Context<'a>) -> Result<&'a Db> {
    ctx.data::<Db>()
}

/// Builds the schema over freshly seeded data.
pub fn schema() -> ProductsSchema {
    schema_with(std::sync::Arc::new(crate::events::Nowhere))
}

/// Builds the schema over freshly seeded data, publishing a change event for each mutation.
pub fn schema_with(publisher: crate::events::Publisher) -> ProductsSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .data::<Db>(Arc::new(RwLock::new(Store::seeded())))
        .data(publisher)
        .finish()
}

pub struct Query;

#[Object]
impl Query {
    /// The first `first` products of the catalogue.
    async fn top_products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5)] first: Option<i32>,
    ) -> Result<Vec<Product>> {
        let first = limit(first, 5)?;
        Ok(db(ctx)?
            .read()
            .await
            .products
            .iter()
            .take(first)
            .cloned()
            .collect())
    }

    async fn product(&self, ctx: &Context<'_>, upc: String) -> Result<Option<Product>> {
        Ok(db(ctx)?.read().await.get(&upc).cloned())
    }

    /// Federation entity resolver; unknown upcs resolve to `null`.
    #[graphql(entity)]
    async fn find_product_by_upc(&self, ctx: &Context<'_>, upc: String) -> Result<Option<Product>> {
        Ok(db(ctx)?.read().await.get(&upc).cloned())
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds a product; the upc must be new, price and weight non-negative.
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        upc: String,
        name: String,
        price: i32,
        weight: i32,
    ) -> Result<Product> {
        if upc.trim().is_empty() || name.trim().is_empty() {
            return Err("upc and name must not be empty".into());
        }
        if price < 0 || weight < 0 {
            return Err("price and weight must not be negative".into());
        }
        let mut store = db(ctx)?.write().await;
        if store.get(&upc).is_some() {
            return Err(format!("a product with upc {upc} already exists").into());
        }
        let product = Product {
            upc,
            name,
            price,
            weight,
        };
        store.products.push(product.clone());
        crate::events::publish(ctx, vec![ChangeEvent::of_type("products", "Product")]);
        Ok(product)
    }

    /// Reprices a product; `null` when the upc is unknown.
    async fn update_product_price(
        &self,
        ctx: &Context<'_>,
        upc: String,
        price: i32,
    ) -> Result<Option<Product>> {
        if price < 0 {
            return Err("price must not be negative".into());
        }
        let mut store = db(ctx)?.write().await;
        let repriced = store
            .products
            .iter_mut()
            .find(|p| p.upc == upc)
            .map(|product| {
                product.price = price;
                product.clone()
            });
        if repriced.is_some() {
            crate::events::publish(
                ctx,
                vec![ChangeEvent::entity(
                    "products",
                    "Product",
                    serde_json::json!({ "upc": upc }),
                )],
            );
        }
        Ok(repriced)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};
    use serde_json::{Value, json};

    use super::*;

    async fn run(schema: &ProductsSchema, query: &str, variables: Value) -> Value {
        let request = Request::new(query).variables(Variables::from_json(variables));
        let response = schema.execute(request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data.into_json().expect("data is JSON")
    }

    #[tokio::test]
    async fn root_queries_read_the_seed() {
        let schema = schema();
        let data = run(
            &schema,
            r#"{ topProducts { upc } all: topProducts(first: 50) { upc } product(upc: "5") { upc name price weight } missing: product(upc: "nope") { upc } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            data["topProducts"],
            json!([{"upc": "1"}, {"upc": "2"}, {"upc": "3"}, {"upc": "4"}, {"upc": "5"}])
        );
        assert_eq!(data["all"].as_array().map(Vec::len), Some(16));
        assert_eq!(
            data["product"],
            json!({"upc": "5", "name": "Standing Desk", "price": 1199, "weight": 40})
        );
        assert_eq!(data["missing"], Value::Null);
    }

    #[tokio::test]
    async fn entities_resolve_by_upc() {
        let schema = schema();
        let data = run(
            &schema,
            r#"query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Product { upc name price } } }"#,
            json!({"r": [{"__typename": "Product", "upc": "9"}, {"__typename": "Product", "upc": "x"}]}),
        )
        .await;
        assert_eq!(
            data["_entities"],
            json!([{"__typename": "Product", "upc": "9", "name": "Road Bicycle", "price": 1899}, null])
        );
    }

    #[tokio::test]
    async fn mutations_are_visible_to_later_queries() {
        let schema = schema();
        run(
            &schema,
            r#"mutation { createProduct(upc: "17", name: "Desk Lamp", price: 35, weight: 2) { upc } updateProductPrice(upc: "1", price: 299) { price } }"#,
            json!({}),
        )
        .await;
        let data = run(
            &schema,
            r#"{ product(upc: "17") { name price weight } chair: product(upc: "1") { price } all: topProducts(first: 100) { upc } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            data["product"],
            json!({"name": "Desk Lamp", "price": 35, "weight": 2})
        );
        assert_eq!(data["chair"]["price"], 299);
        assert_eq!(data["all"].as_array().map(Vec::len), Some(17));

        let missing = run(
            &schema,
            r#"mutation { updateProductPrice(upc: "404", price: 1) { upc } }"#,
            json!({}),
        )
        .await;
        assert_eq!(missing["updateProductPrice"], Value::Null);

        let duplicate = schema
            .execute(r#"mutation { createProduct(upc: "1", name: "Again", price: 1, weight: 1) { upc } }"#)
            .await;
        assert!(duplicate.errors[0].message.contains("already exists"));
        let negative = schema
            .execute(r#"mutation { updateProductPrice(upc: "1", price: -5) { upc } }"#)
            .await;
        assert_eq!(negative.errors.len(), 1);
    }
}
