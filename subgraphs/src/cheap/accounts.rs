//! Cheap accounts: owns `User @key(fields: "id")`, serves `users`, `user` and `me`.

use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema};

use super::data::{self, Catalog};

pub type AccountsSchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub fn schema() -> AccountsSchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish()
}

pub struct User(&'static data::User);

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    async fn name(&self) -> Option<&str> {
        Some(&self.0.name)
    }

    /// Shareable: reviews serves it too, through `@provides` on `Review.author`.
    #[graphql(shareable)]
    async fn username(&self) -> Option<&str> {
        Some(&self.0.username)
    }

    async fn birthday(&self) -> Option<i32> {
        Some(self.0.birthday)
    }
}

fn user(id: &str) -> Option<User> {
    let catalog = Catalog::get();
    catalog.user(id).map(|i| User(&catalog.users[i]))
}

pub struct Query;

#[Object]
impl Query {
    /// Always the first user: there is no authentication here.
    async fn me(&self) -> Option<User> {
        user("1")
    }

    async fn user(&self, id: ID) -> Option<User> {
        user(&id)
    }

    /// Every user, in id order.
    async fn users(&self) -> Option<Vec<Option<User>>> {
        Some(Catalog::get().users.iter().map(|u| Some(User(u))).collect())
    }

    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> Option<User> {
        user(&id)
    }
}
