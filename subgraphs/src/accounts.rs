//! The accounts subgraph: owns users (`User @key(fields: "id")`).
//!
//! `username` is `@shareable` because reviews denormalises it and serves it
//! through `@provides` on `Review.author`.

use crate::events::ChangeEvent;
use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, ID, Object, Result, Schema, SimpleObject};
use tokio::sync::RwLock;

use crate::{limit, seed};

/// The executable accounts schema.
pub type AccountsSchema = Schema<Query, Mutation, EmptySubscription>;

/// The id `me` resolves to: the demo has no authentication.
const ME: &str = "1";

/// A user account.
#[derive(Clone, Debug, SimpleObject)]
pub struct User {
    pub id: ID,
    pub name: String,
    #[graphql(shareable)]
    pub username: String,
    pub email: String,
}

/// The users this subgraph owns, in creation order.
#[derive(Debug)]
struct Store {
    users: Vec<User>,
}

impl Store {
    fn seeded() -> Self {
        let users = seed::USERS
            .iter()
            .map(|u| User {
                id: ID::from(u.id),
                name: u.name.to_owned(),
                username: u.username.to_owned(),
                email: seed::email_for(u.username),
            })
            .collect();
        Store { users }
    }

    fn get(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id.as_str() == id)
    }

    /// Ids are decimal strings; new ones continue after the largest so they
    /// never collide with seeded or earlier created users.
    fn next_id(&self) -> ID {
        let max = self
            .users
            .iter()
            .filter_map(|u| u.id.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        ID::from((max + 1).to_string())
    }
}

type Db = Arc<RwLock<Store>>;

fn db<'a>(ctx: &Context<'a>) -> Result<&'a Db> {
    ctx.data::<Db>()
}

/// Builds the schema over freshly seeded data.
pub fn schema() -> AccountsSchema {
    schema_with(std::sync::Arc::new(crate::events::Nowhere))
}

/// Builds the schema over freshly seeded data, publishing a change event for each mutation.
pub fn schema_with(publisher: crate::events::Publisher) -> AccountsSchema {
    Schema::build(Query, Mutation, EmptySubscription)
        .enable_federation()
        .data::<Db>(Arc::new(RwLock::new(Store::seeded())))
        .data(publisher)
        .finish()
}

pub struct Query;

#[Object]
impl Query {
    /// The signed-in user; always user "1" in the demo.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(db(ctx)?.read().await.get(ME).cloned())
    }

    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        Ok(db(ctx)?.read().await.get(&id).cloned())
    }

    /// The first `first` users in creation order.
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: Option<i32>,
    ) -> Result<Vec<User>> {
        let first = limit(first, 10)?;
        Ok(db(ctx)?
            .read()
            .await
            .users
            .iter()
            .take(first)
            .cloned()
            .collect())
    }

    /// Federation entity resolver; unknown ids resolve to `null`.
    #[graphql(entity)]
    async fn find_user_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        Ok(db(ctx)?.read().await.get(&id).cloned())
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Creates a user with the next free id; the username must be unused.
    // Usernames must be unique because other subgraphs display them as handles.
    async fn create_user(&self, ctx: &Context<'_>, name: String, username: String) -> Result<User> {
        if name.trim().is_empty() || username.trim().is_empty() {
            return Err("name and username must not be empty".into());
        }
        let mut store = db(ctx)?.write().await;
        if store.users.iter().any(|u| u.username == username) {
            return Err(format!("username {username} is already taken").into());
        }
        let user = User {
            id: store.next_id(),
            email: seed::email_for(&username),
            name,
            username,
        };
        store.users.push(user.clone());
        // A new user: lists of users changed.
        crate::events::publish(ctx, vec![ChangeEvent::of_type("accounts", "User")]);
        Ok(user)
    }

    /// Renames a user; `null` when the id is unknown.
    async fn update_user_name(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: String,
    ) -> Result<Option<User>> {
        if name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        let mut store = db(ctx)?.write().await;
        let renamed = store.users.iter_mut().find(|u| u.id == id).map(|user| {
            user.name = name;
            user.clone()
        });
        if let Some(user) = &renamed {
            crate::events::publish(
                ctx,
                vec![ChangeEvent::entity(
                    "accounts",
                    "User",
                    serde_json::json!({ "id": user.id.as_str() }),
                )],
            );
        }
        Ok(renamed)
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};
    use serde_json::{Value, json};

    use super::*;

    async fn run(schema: &AccountsSchema, query: &str, variables: Value) -> Value {
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
            r#"{ me { id name username email } user(id: "3") { name } users { id } all: users(first: 100) { id } none: users(first: 0) { id } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            data["me"],
            json!({"id": "1", "name": "Ada Lovelace", "username": "@ada", "email": "ada@example.com"})
        );
        assert_eq!(data["user"]["name"], "Grace Hopper");
        assert_eq!(data["users"].as_array().map(Vec::len), Some(10));
        assert_eq!(data["users"][9]["id"], "10");
        assert_eq!(data["all"].as_array().map(Vec::len), Some(12));
        assert_eq!(data["none"], json!([]));
    }

    #[tokio::test]
    async fn unknown_user_is_null_and_negative_first_is_an_error() {
        let schema = schema();
        let data = run(&schema, r#"{ user(id: "999") { id } }"#, json!({})).await;
        assert_eq!(data["user"], Value::Null);
        let response = schema.execute("{ users(first: -1) { id } }").await;
        assert_eq!(response.errors.len(), 1);
    }

    #[tokio::test]
    async fn entities_resolve_by_id() {
        let schema = schema();
        let data = run(
            &schema,
            r#"query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name username } } }"#,
            json!({"r": [
                {"__typename": "User", "id": "2"},
                {"__typename": "User", "id": "404"},
                {"__typename": "User", "id": "12"}
            ]}),
        )
        .await;
        assert_eq!(
            data["_entities"],
            json!([
                {"id": "2", "name": "Alan Turing", "username": "@alan"},
                null,
                {"id": "12", "name": "John McCarthy", "username": "@john"}
            ])
        );
    }

    #[tokio::test]
    async fn mutations_are_visible_to_later_queries() {
        let schema = schema();
        let created = run(
            &schema,
            r#"mutation { createUser(name: "Linus Torvalds", username: "@linus") { id email } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            created["createUser"],
            json!({"id": "13", "email": "linus@example.com"})
        );

        let renamed = run(
            &schema,
            r#"mutation { updateUserName(id: "1", name: "Augusta Ada King") { id name } missing: updateUserName(id: "77", name: "x") { id } }"#,
            json!({}),
        )
        .await;
        assert_eq!(renamed["updateUserName"]["name"], "Augusta Ada King");
        assert_eq!(renamed["missing"], Value::Null);

        let data = run(
            &schema,
            r#"{ me { name } user(id: "13") { username } users(first: 20) { id } }"#,
            json!({}),
        )
        .await;
        assert_eq!(data["me"]["name"], "Augusta Ada King");
        assert_eq!(data["user"]["username"], "@linus");
        assert_eq!(data["users"].as_array().map(Vec::len), Some(13));

        let duplicate = schema
            .execute(r#"mutation { createUser(name: "Ada Again", username: "@ada") { id } }"#)
            .await;
        assert!(duplicate.errors[0].message.contains("already taken"));
    }

    #[tokio::test]
    async fn each_schema_has_its_own_state() {
        let first = schema();
        run(
            &first,
            r#"mutation { updateUserName(id: "2", name: "Changed") { id } }"#,
            json!({}),
        )
        .await;
        let data = run(&schema(), r#"{ user(id: "2") { name } }"#, json!({})).await;
        assert_eq!(data["user"]["name"], "Alan Turing");
    }
}
