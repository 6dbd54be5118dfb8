//! Cheap products: owns `Product @key(fields: "upc")` with its name, price and weight.

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

use super::data::{self, Catalog};

pub type ProductsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub fn schema() -> ProductsSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

pub struct Product(&'static data::Product);

#[Object]
impl Product {
    async fn upc(&self) -> &str {
        &self.0.upc
    }

    async fn name(&self) -> Option<&str> {
        Some(&self.0.name)
    }

    async fn price(&self) -> Option<i32> {
        Some(self.0.price)
    }

    async fn weight(&self) -> Option<i32> {
        Some(self.0.weight)
    }
}

pub struct Query;

#[Object]
impl Query {
    /// The first `first` products in upc order.
    async fn top_products(
        &self,
        #[graphql(default = 5)] first: Option<i32>,
    ) -> Option<Vec<Option<Product>>> {
        let first = usize::try_from(first.unwrap_or(5)).unwrap_or(0);
        Some(
            Catalog::get()
                .products
                .iter()
                .take(first)
                .map(|p| Some(Product(p)))
                .collect(),
        )
    }

    #[graphql(entity)]
    async fn find_product_by_upc(&self, upc: String) -> Option<Product> {
        let catalog = Catalog::get();
        catalog.product(&upc).map(|i| Product(&catalog.products[i]))
    }
}
