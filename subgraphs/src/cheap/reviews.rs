//! Cheap reviews: owns `Review @key(fields: "id")`, adds `reviews` to `User` and `Product`,
//! and provides authors' usernames (`@provides(fields: "username")`).

use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema};

use super::data::{self, Catalog};

pub type ReviewsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub fn schema() -> ReviewsSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

pub struct Review(&'static data::Review);

fn reviews(indexes: &[usize]) -> Option<Vec<Option<Review>>> {
    let catalog = Catalog::get();
    Some(
        indexes
            .iter()
            .map(|&i| Some(Review(&catalog.reviews[i])))
            .collect(),
    )
}

#[Object]
impl Review {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn body(&self) -> Option<&str> {
        Some(&self.0.body)
    }

    #[graphql(provides = "username")]
    async fn author(&self) -> Option<User> {
        Some(User(self.0.author))
    }

    async fn product(&self) -> Option<Product> {
        Some(Product(self.0.product))
    }
}

/// A user, by its index in the catalogue.
pub struct User(usize);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(Catalog::get().users[self.0].id.clone())
    }

    #[graphql(external)]
    async fn username(&self) -> Option<&str> {
        Some(&Catalog::get().users[self.0].username)
    }

    async fn reviews(&self) -> Option<Vec<Option<Review>>> {
        reviews(&Catalog::get().reviews_by_author[self.0])
    }
}

/// A product, by its index in the catalogue.
pub struct Product(usize);

#[Object]
impl Product {
    async fn upc(&self) -> &str {
        &Catalog::get().products[self.0].upc
    }

    async fn reviews(&self) -> Option<Vec<Option<Review>>> {
        reviews(&Catalog::get().reviews_by_product[self.0])
    }
}

pub struct Query;

#[Object]
impl Query {
    #[graphql(entity)]
    async fn find_review_by_id(&self, id: ID) -> Option<Review> {
        let catalog = Catalog::get();
        catalog.review(&id).map(|i| Review(&catalog.reviews[i]))
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        Catalog::get().user(&id).map(User)
    }

    #[graphql(entity)]
    async fn find_product_by_upc(&self, upc: String) -> Option<Product> {
        Catalog::get().product(&upc).map(Product)
    }
}
