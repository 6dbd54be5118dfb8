//! The reviews subgraph: owns reviews and adds `reviews` to `User` and
//! `Product`.
//!
//! Each review stores its author's username next to the author id. That
//! denormalised copy is what lets `Review.author` declare
//! `@provides(fields: "username")`, so a gateway can show review authors'
//! handles without a round trip to accounts.

use crate::events::ChangeEvent;
use std::{collections::HashMap, sync::Arc};

use async_graphql::futures_util::{Stream, StreamExt};
use async_graphql::{Context, ID, Object, Result, Schema, Subscription};
use tokio::sync::RwLock;

use crate::feed::Feed;
use crate::{limit, seed};

/// The executable reviews schema.
pub type ReviewsSchema = Schema<Query, Mutation, Subscription>;

/// A stored review.
#[derive(Clone, Debug)]
pub struct Review {
    id: ID,
    body: String,
    rating: i32,
    author_id: ID,
    /// Denormalised from accounts; served through `@provides`.
    author_username: String,
    product_upc: String,
}

#[Object]
impl Review {
    async fn id(&self) -> &ID {
        &self.id
    }

    async fn body(&self) -> &str {
        &self.body
    }

    async fn rating(&self) -> i32 {
        self.rating
    }

    #[graphql(provides = "username")]
    async fn author(&self) -> User {
        User {
            id: self.author_id.clone(),
            username: Some(self.author_username.clone()),
        }
    }

    async fn product(&self) -> Product {
        Product {
            upc: self.product_upc.clone(),
        }
    }
}

/// A user owned by accounts, extended with its reviews.
#[derive(Clone, Debug)]
pub struct User {
    id: ID,
    /// Set when reached through `Review.author` (the `@provides` path).
    username: Option<String>,
}

#[Object]
impl User {
    async fn id(&self) -> &ID {
        &self.id
    }

    // External: a gateway only asks for it on the `@provides` path, but it is
    // answered from the denormalised directory elsewhere too rather than failing.
    #[graphql(external)]
    async fn username(&self, ctx: &Context<'_>) -> Result<String> {
        if let Some(username) = &self.username {
            return Ok(username.clone());
        }
        db(ctx)?
            .read()
            .await
            .usernames
            .get(self.id.as_str())
            .cloned()
            .ok_or_else(|| {
                format!(
                    "the username of user {} is unknown to reviews",
                    self.id.as_str()
                )
                .into()
            })
    }

    /// This user's reviews, oldest first.
    async fn reviews(&self, ctx: &Context<'_>) -> Result<Vec<Review>> {
        let store = db(ctx)?.read().await;
        Ok(store.matching(|r| r.author_id == self.id))
    }
}

/// A product owned by products, extended with its reviews.
#[derive(Clone, Debug)]
pub struct Product {
    upc: String,
}

#[Object]
impl Product {
    async fn upc(&self) -> &str {
        &self.upc
    }

    /// This product's reviews, oldest first.
    async fn reviews(&self, ctx: &Context<'_>) -> Result<Vec<Review>> {
        let store = db(ctx)?.read().await;
        Ok(store.matching(|r| r.product_upc == self.upc))
    }
}

/// Reviews in creation order, plus the usernames of the authors reviews knows.
#[derive(Debug)]
struct Store {
    reviews: Vec<Review>,
    /// Author id → username, as accounts had it when the data was seeded.
    usernames: HashMap<String, String>,
}

impl Store {
    fn seeded() -> Self {
        let usernames: HashMap<String, String> = seed::USERS
            .iter()
            .map(|u| (u.id.to_owned(), u.username.to_owned()))
            .collect();
        let reviews = seed::reviews()
            .into_iter()
            .map(|r| Review {
                id: ID::from(r.id),
                body: r.body,
                rating: r.rating,
                author_id: ID::from(r.author_id),
                author_username: usernames.get(r.author_id).cloned().unwrap_or_default(),
                product_upc: r.product_upc.to_owned(),
            })
            .collect();
        Store { reviews, usernames }
    }

    fn matching(&self, keep: impl Fn(&Review) -> bool) -> Vec<Review> {
        self.reviews.iter().filter(|r| keep(r)).cloned().collect()
    }

    fn get(&self, id: &str) -> Option<&Review> {
        self.reviews.iter().find(|r| r.id.as_str() == id)
    }

    fn next_id(&self) -> ID {
        let max = self
            .reviews
            .iter()
            .filter_map(|r| r.id.parse::<u64>().ok())
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
pub fn schema() -> ReviewsSchema {
    schema_with(std::sync::Arc::new(crate::events::Nowhere))
}

/// Builds the schema over freshly seeded data, publishing a change event for each mutation.
pub fn schema_with(publisher: crate::events::Publisher) -> ReviewsSchema {
    Schema::build(Query, Mutation, Subscription)
        .enable_federation()
        // Subscription fields in the SDL, for composition (async-graphql leaves them out else).
        .enable_subscription_in_federation()
        .data::<Db>(Arc::new(RwLock::new(Store::seeded())))
        .data(Feed::<Review>::default())
        .data(publisher)
        .finish()
}

pub struct Query;

#[Object]
impl Query {
    /// The first `first` reviews in creation order.
    async fn top_reviews(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 5)] first: Option<i32>,
    ) -> Result<Vec<Review>> {
        let first = limit(first, 5)?;
        Ok(db(ctx)?
            .read()
            .await
            .reviews
            .iter()
            .take(first)
            .cloned()
            .collect())
    }

    async fn review(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Review>> {
        Ok(db(ctx)?.read().await.get(&id).cloned())
    }

    /// Entity resolver for reviews; unknown ids resolve to `null`.
    #[graphql(entity)]
    async fn find_review_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Review>> {
        Ok(db(ctx)?.read().await.get(&id).cloned())
    }

    /// Entity resolver for users: any id resolves, with its (maybe empty) reviews.
    #[graphql(entity)]
    async fn find_user_by_id(&self, id: ID) -> User {
        User { id, username: None }
    }

    /// Entity resolver for products: any upc resolves, with its (maybe empty) reviews.
    #[graphql(entity)]
    async fn find_product_by_upc(&self, upc: String) -> Product {
        Product { upc }
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Adds a review by a known author; the rating must be 1 to 5.
    // The product upc is not checked (products owns the catalogue), but the
    // author must be one whose username reviews knows, since `Review.author`
    // promises to provide it.
    async fn add_review(
        &self,
        ctx: &Context<'_>,
        product_upc: String,
        author_id: ID,
        body: String,
        rating: i32,
    ) -> Result<Review> {
        if !(1..=5).contains(&rating) {
            return Err("rating must be between 1 and 5".into());
        }
        if body.trim().is_empty() || product_upc.trim().is_empty() {
            return Err("body and productUpc must not be empty".into());
        }
        let mut store = db(ctx)?.write().await;
        let Some(author_username) = store.usernames.get(author_id.as_str()).cloned() else {
            return Err(format!("author {} is unknown to reviews", author_id.as_str()).into());
        };
        let review = Review {
            id: store.next_id(),
            body,
            rating,
            author_id,
            author_username,
            product_upc,
        };
        store.reviews.push(review.clone());
        ctx.data::<Feed<Review>>()?.publish(review.clone());
        // A new review: the author's and the product's review lists changed.
        crate::events::publish(
            ctx,
            vec![
                ChangeEvent::of_type("reviews", "Review"),
                ChangeEvent::entity(
                    "reviews",
                    "User",
                    serde_json::json!({ "id": review.author_id.as_str() }),
                ),
                ChangeEvent::entity(
                    "reviews",
                    "Product",
                    serde_json::json!({ "upc": review.product_upc }),
                ),
            ],
        );
        Ok(review)
    }
}

pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Every review added from now on; only those of product `upc` when it is given.
    async fn review_added(
        &self,
        ctx: &Context<'_>,
        upc: Option<String>,
    ) -> Result<impl Stream<Item = Review> + use<>> {
        let reviews = ctx.data::<Feed<Review>>()?.stream();
        Ok(reviews.filter(move |review| {
            let wanted = upc.as_ref().is_none_or(|upc| *upc == review.product_upc);
            std::future::ready(wanted)
        }))
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{Request, Variables};
    use serde_json::{Value, json};

    use super::*;

    async fn run(schema: &ReviewsSchema, query: &str, variables: Value) -> Value {
        let request = Request::new(query).variables(Variables::from_json(variables));
        let response = schema.execute(request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data.into_json().expect("data is JSON")
    }

    fn len(value: &Value) -> usize {
        value.as_array().map(Vec::len).unwrap_or(usize::MAX)
    }

    #[tokio::test]
    async fn root_queries_read_the_seed() {
        let schema = schema();
        let data = run(
            &schema,
            r#"{ topReviews { id } all: topReviews(first: 1000) { id } review(id: "1") { id body rating author { id username } product { upc } } missing: review(id: "0") { id } }"#,
            json!({}),
        )
        .await;
        assert_eq!(len(&data["topReviews"]), 5);
        assert_eq!(len(&data["all"]), seed::REVIEW_COUNT);
        let first = &seed::reviews()[0];
        assert_eq!(data["review"]["body"], first.body.as_str());
        assert_eq!(data["review"]["author"]["id"], first.author_id);
        assert_eq!(data["review"]["author"]["username"], "@ada");
        assert_eq!(data["review"]["product"]["upc"], first.product_upc);
        assert_eq!(data["missing"], Value::Null);
    }

    #[tokio::test]
    async fn entities_extend_users_and_products() {
        let schema = schema();
        let data = run(
            &schema,
            r#"query($r: [_Any!]!) { _entities(representations: $r) {
                __typename
                ... on User { id reviews { id author { id } } }
                ... on Product { upc reviews { id product { upc } } }
                ... on Review { id rating }
            } }"#,
            json!({"r": [
                {"__typename": "User", "id": "7"},
                {"__typename": "Product", "upc": "1"},
                {"__typename": "User", "id": "500"},
                {"__typename": "Review", "id": "2"},
                {"__typename": "Review", "id": "nope"}
            ]}),
        )
        .await;
        let entities = &data["_entities"];
        assert_eq!(entities[0]["id"], "7");
        assert_eq!(len(&entities[0]["reviews"]), 8);
        assert!(
            entities[0]["reviews"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|r| r["author"]["id"] == "7")
        );
        assert_eq!(len(&entities[1]["reviews"]), 6);
        assert!(
            entities[1]["reviews"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|r| r["product"]["upc"] == "1")
        );
        assert_eq!(entities[2]["__typename"], "User");
        assert_eq!(entities[2]["reviews"], json!([]));
        assert_eq!(entities[3]["id"], "2");
        assert_eq!(entities[4], Value::Null);
    }

    #[tokio::test]
    async fn added_review_is_visible_to_later_queries() {
        let schema = schema();
        let added = run(
            &schema,
            r#"mutation { addReview(productUpc: "3", authorId: "2", body: "Sharp and bright.", rating: 4) { id author { username } product { upc } } }"#,
            json!({}),
        )
        .await;
        assert_eq!(
            added["addReview"],
            json!({"id": "73", "author": {"username": "@alan"}, "product": {"upc": "3"}})
        );
        let data = run(
            &schema,
            r#"query($r: [_Any!]!) { review(id: "73") { body rating } _entities(representations: $r) { ... on Product { reviews { id } } } }"#,
            json!({"r": [{"__typename": "Product", "upc": "3"}]}),
        )
        .await;
        assert_eq!(
            data["review"],
            json!({"body": "Sharp and bright.", "rating": 4})
        );
        let ids = &data["_entities"][0]["reviews"];
        assert_eq!(
            ids.as_array().and_then(|a| a.last()),
            Some(&json!({"id": "73"}))
        );
    }

    #[tokio::test]
    async fn review_added_streams_new_reviews_of_the_product_asked_for() {
        use async_graphql::futures_util::StreamExt;
        let schema = schema();
        let mut all = schema.execute_stream("subscription { reviewAdded { id product { upc } } }");
        let mut of_two =
            schema.execute_stream(r#"subscription { reviewAdded(upc: "2") { id body } }"#);
        // Polled once so that both subscribe before the mutations publish.
        let pending = futures_poll_once(&mut all).await;
        assert!(pending.is_none());
        assert!(futures_poll_once(&mut of_two).await.is_none());
        for (upc, body) in [("1", "one"), ("2", "two")] {
            let query = format!(
                r#"mutation {{ addReview(productUpc: "{upc}", authorId: "1", body: "{body}", rating: 5) {{ id }} }}"#
            );
            run(&schema, &query, json!({})).await;
        }
        let first = all
            .next()
            .await
            .expect("an event")
            .data
            .into_json()
            .unwrap();
        assert_eq!(first["reviewAdded"]["product"]["upc"], "1");
        let second = all
            .next()
            .await
            .expect("an event")
            .data
            .into_json()
            .unwrap();
        assert_eq!(second["reviewAdded"]["product"]["upc"], "2");
        let only = of_two
            .next()
            .await
            .expect("an event")
            .data
            .into_json()
            .unwrap();
        assert_eq!(only["reviewAdded"]["body"], "two");
    }

    /// Polls a stream once without waiting: `None` when it has nothing yet.
    async fn futures_poll_once<S: async_graphql::futures_util::Stream + Unpin>(
        stream: &mut S,
    ) -> Option<S::Item> {
        use async_graphql::futures_util::StreamExt;
        tokio::time::timeout(std::time::Duration::from_millis(50), stream.next())
            .await
            .ok()
            .flatten()
    }

    #[tokio::test]
    async fn add_review_rejects_bad_input() {
        let schema = schema();
        let bad_rating = schema
            .execute(r#"mutation { addReview(productUpc: "1", authorId: "1", body: "x", rating: 9) { id } }"#)
            .await;
        assert!(bad_rating.errors[0].message.contains("rating"));
        let unknown_author = schema
            .execute(r#"mutation { addReview(productUpc: "1", authorId: "99", body: "x", rating: 3) { id } }"#)
            .await;
        assert!(unknown_author.errors[0].message.contains("unknown"));
        let data = run(&schema, "{ all: topReviews(first: 100) { id } }", json!({})).await;
        assert_eq!(len(&data["all"]), seed::REVIEW_COUNT);
    }
}
