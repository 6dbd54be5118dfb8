//! Cheap inventory: adds `inStock` and `shippingEstimate` (`@requires(fields: "price weight")`)
//! to products.

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

use super::data::Catalog;

pub type InventorySchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub fn schema() -> InventorySchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

/// A product as the gateway represents it: its key, and `price` and `weight` when
/// `shippingEstimate` needs them.
pub struct Product {
    upc: String,
    in_stock: bool,
    price: Option<i32>,
    weight: Option<i32>,
}

#[Object]
impl Product {
    async fn upc(&self) -> &str {
        &self.upc
    }

    #[graphql(external)]
    async fn weight(&self) -> Option<i32> {
        self.weight
    }

    #[graphql(external)]
    async fn price(&self) -> Option<i32> {
        self.price
    }

    async fn in_stock(&self) -> Option<bool> {
        Some(self.in_stock)
    }

    /// Free above a price of 1000, otherwise half the weight; null without both.
    #[graphql(requires = "price weight")]
    async fn shipping_estimate(&self) -> Option<i32> {
        let (price, weight) = (self.price?, self.weight?);
        Some(if price > 1000 { 0 } else { weight / 2 })
    }
}

pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_product_by_upc(
        &self,
        #[graphql(key)] upc: String,
        price: Option<i32>,
        weight: Option<i32>,
    ) -> Option<Product> {
        let catalog = Catalog::get();
        let in_stock = catalog.products[catalog.product(&upc)?].in_stock;
        Some(Product {
            upc,
            in_stock,
            price,
            weight,
        })
    }
}
