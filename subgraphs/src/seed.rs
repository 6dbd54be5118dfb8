//! Deterministic seed data shared by the four subgraphs.
//!
//! Every service copies the part it owns into its own store when its schema is
//! built, so the services never share mutable state. Keeping the catalogue in
//! one place is what keeps the cross-service references consistent: the review
//! authors exist in accounts, the reviewed upcs exist in products, and the
//! usernames that reviews denormalises match the ones accounts owns.
//!
//! The data is sized for the gateway benchmark: through a gateway, the nested
//! `users → reviews → product → reviews → author` query returns 62 reviews of
//! the first 10 users, each with its product and that product's reviews (291
//! nested reviews), about 68 KB of JSON. That is why there are 72 reviews:
//! with 64 the same query returned only about 55 KB. The `benchmark_size`
//! test below keeps the figure between 60 and 100 KB.

/// A user as owned by the accounts subgraph.
#[derive(Clone, Copy, Debug)]
pub struct SeedUser {
    pub id: &'static str,
    pub name: &'static str,
    pub username: &'static str,
    /// How many seeded reviews this user wrote (between 4 and 8).
    pub review_count: usize,
}

/// A product as owned by the products subgraph.
#[derive(Clone, Copy, Debug)]
pub struct SeedProduct {
    pub upc: &'static str,
    pub name: &'static str,
    /// Price in whole currency units; above 1000 ships for free.
    pub price: i32,
    pub weight: i32,
    /// Seeded stock level, owned by the inventory subgraph.
    pub in_stock: bool,
    /// How many seeded reviews this product receives (between 3 and 6).
    pub review_count: usize,
    /// The short noun review bodies use for the product ("chair").
    pub noun: &'static str,
    /// Product-specific observations the review bodies are built from.
    pub aspects: [&'static str; 3],
}

/// A review as owned by the reviews subgraph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedReview {
    pub id: String,
    pub body: String,
    pub rating: i32,
    pub author_id: &'static str,
    pub product_upc: &'static str,
}

/// The twelve seeded users; review counts add up to [`REVIEW_COUNT`].
pub const USERS: [SeedUser; 12] = [
    user("1", "Ada Lovelace", "@ada", 7),
    user("2", "Alan Turing", "@alan", 6),
    user("3", "Grace Hopper", "@grace", 7),
    user("4", "Edsger Dijkstra", "@edsger", 5),
    user("5", "Barbara Liskov", "@barbara", 6),
    user("6", "Donald Knuth", "@donald", 6),
    user("7", "Margaret Hamilton", "@margaret", 8),
    user("8", "Dennis Ritchie", "@dennis", 5),
    user("9", "Frances Allen", "@frances", 6),
    user("10", "Ken Thompson", "@ken", 6),
    user("11", "Radia Perlman", "@radia", 5),
    user("12", "John McCarthy", "@john", 5),
];

/// The sixteen seeded products; review counts add up to [`REVIEW_COUNT`].
pub const PRODUCTS: [SeedProduct; 16] = [
    SeedProduct {
        upc: "1",
        name: "Ergonomic Office Chair",
        price: 349,
        weight: 18,
        in_stock: true,
        review_count: 6,
        noun: "chair",
        aspects: [
            "the lumbar support adjusts in seconds",
            "the mesh back stays cool all afternoon",
            "the armrests move in four directions",
        ],
    },
    SeedProduct {
        upc: "2",
        name: "Mechanical Keyboard",
        price: 129,
        weight: 2,
        in_stock: true,
        review_count: 5,
        noun: "keyboard",
        aspects: [
            "the switches feel crisp and even",
            "the keycaps show no shine after months",
            "the backlight is bright but never glaring",
        ],
    },
    SeedProduct {
        upc: "3",
        name: "27-inch 4K Monitor",
        price: 449,
        weight: 7,
        in_stock: true,
        review_count: 4,
        noun: "monitor",
        aspects: [
            "text looks razor sharp at full scale",
            "the colours were accurate out of the box",
            "the stand tilts and swivels smoothly",
        ],
    },
    SeedProduct {
        upc: "4",
        name: "Noise-Cancelling Headphones",
        price: 299,
        weight: 1,
        in_stock: false,
        review_count: 4,
        noun: "headset",
        aspects: [
            "the cancelling silences a busy train",
            "the battery easily lasts a long week",
            "the ear cushions stay comfortable for hours",
        ],
    },
    SeedProduct {
        upc: "5",
        name: "Standing Desk",
        price: 1199,
        weight: 40,
        in_stock: true,
        review_count: 6,
        noun: "desk",
        aspects: [
            "the motors are quiet and quick",
            "the top does not wobble at full height",
            "the memory presets save a lot of fiddling",
        ],
    },
    SeedProduct {
        upc: "6",
        name: "Espresso Machine",
        price: 1499,
        weight: 12,
        in_stock: true,
        review_count: 5,
        noun: "machine",
        aspects: [
            "the crema comes out thick and even",
            "the steam wand froths milk in seconds",
            "it heats up before the grinder is done",
        ],
    },
    SeedProduct {
        upc: "7",
        name: "Cast Iron Skillet",
        price: 45,
        weight: 4,
        in_stock: true,
        review_count: 4,
        noun: "skillet",
        aspects: [
            "it holds heat for a perfect sear",
            "the seasoning was good from day one",
            "it moves from hob to oven without fuss",
        ],
    },
    SeedProduct {
        upc: "8",
        name: "Chef's Knife",
        price: 89,
        weight: 1,
        in_stock: false,
        review_count: 4,
        noun: "knife",
        aspects: [
            "the edge glides through ripe tomatoes",
            "the handle is balanced and secure",
            "it keeps its edge after weeks of use",
        ],
    },
    SeedProduct {
        upc: "9",
        name: "Road Bicycle",
        price: 1899,
        weight: 9,
        in_stock: true,
        review_count: 6,
        noun: "bike",
        aspects: [
            "the frame is light enough to carry upstairs",
            "the gears shift cleanly under load",
            "the disc brakes bite even in the rain",
        ],
    },
    SeedProduct {
        upc: "10",
        name: "Hiking Backpack",
        price: 159,
        weight: 2,
        in_stock: true,
        review_count: 4,
        noun: "pack",
        aspects: [
            "the hip belt carries the load well",
            "the side pockets are easy to reach",
            "the rain cover tucks into its own pouch",
        ],
    },
    SeedProduct {
        upc: "11",
        name: "Camping Tent",
        price: 249,
        weight: 5,
        in_stock: true,
        review_count: 4,
        noun: "tent",
        aspects: [
            "it pitches in under ten minutes",
            "it stayed dry through a stormy night",
            "there is room for two plus the gear",
        ],
    },
    SeedProduct {
        upc: "12",
        name: "Trail Running Shoes",
        price: 139,
        weight: 1,
        in_stock: true,
        review_count: 3,
        noun: "pair",
        aspects: [
            "the grip is superb on wet rock",
            "they needed no breaking in at all",
            "the toe cap shrugs off roots and stones",
        ],
    },
    SeedProduct {
        upc: "13",
        name: "Paperback Novel",
        price: 12,
        weight: 1,
        in_stock: true,
        review_count: 5,
        noun: "novel",
        aspects: [
            "the plot twists kept me up late",
            "the characters feel like old friends",
            "the ending is quiet and earned",
        ],
    },
    SeedProduct {
        upc: "14",
        name: "Board Game Collection",
        price: 79,
        weight: 3,
        in_stock: false,
        review_count: 4,
        noun: "set",
        aspects: [
            "the rules are quick to teach",
            "the pieces are sturdy and well made",
            "every game plays well with four people",
        ],
    },
    SeedProduct {
        upc: "15",
        name: "Smartphone Gimbal",
        price: 119,
        weight: 1,
        in_stock: true,
        review_count: 4,
        noun: "gimbal",
        aspects: [
            "it smooths out every step of a walk",
            "it folds small enough for a jacket",
            "the app pairs on the first try",
        ],
    },
    SeedProduct {
        upc: "16",
        name: "Drone with 4K Camera",
        price: 1049,
        weight: 2,
        in_stock: true,
        review_count: 4,
        noun: "drone",
        aspects: [
            "it holds position well in a breeze",
            "the footage is stable and detailed",
            "the return-home feature works reliably",
        ],
    },
];

/// Number of seeded reviews.
pub const REVIEW_COUNT: usize = 72;

const fn user(
    id: &'static str,
    name: &'static str,
    username: &'static str,
    review_count: usize,
) -> SeedUser {
    SeedUser {
        id,
        name,
        username,
        review_count,
    }
}

/// The rating of the n-th review; a fixed cycle so every rating occurs.
const RATINGS: [i32; 8] = [5, 4, 3, 5, 4, 2, 5, 1];

/// The email address accounts derives from a username ("@ada" → "ada@example.com").
pub fn email_for(username: &str) -> String {
    format!("{}@example.com", username.trim_start_matches('@'))
}

/// The seeded reviews, ids "1".."72".
///
/// Each user in turn is given the products with the most reviews still to
/// receive (ties going to the upcs after the previous pick, to spread them);
/// Ryser's construction guarantees this meets every product's count without
/// anyone reviewing a product twice. The reviews are then numbered taking
/// the users round-robin, so consecutive ids have different authors.
pub fn reviews() -> Vec<SeedReview> {
    let mut remaining: Vec<usize> = PRODUCTS.iter().map(|p| p.review_count).collect();
    let mut cursor = 0;
    let picks: Vec<Vec<usize>> = USERS
        .iter()
        .map(|user| {
            let mut order: Vec<usize> = (0..PRODUCTS.len())
                .map(|offset| (cursor + offset) % PRODUCTS.len())
                .collect();
            // Stable sort: equal counts keep the rotated order.
            order.sort_by_key(|&p| std::cmp::Reverse(remaining[p]));
            let chosen: Vec<usize> = order.into_iter().take(user.review_count).collect();
            for &p in &chosen {
                remaining[p] = remaining[p].saturating_sub(1);
            }
            cursor = chosen.last().map_or(cursor, |&p| p + 1);
            chosen
        })
        .collect();

    let authors = round_robin(USERS.iter().map(|u| (u.id, u.review_count)));
    let mut next_pick = vec![0usize; USERS.len()];
    let mut seen_per_product = vec![0usize; PRODUCTS.len()];
    let mut out = Vec::with_capacity(authors.len());
    for author_id in authors {
        let Some(user_index) = USERS.iter().position(|u| u.id == author_id) else {
            continue;
        };
        let Some(&product_index) = picks[user_index].get(next_pick[user_index]) else {
            continue;
        };
        next_pick[user_index] += 1;
        let product = &PRODUCTS[product_index];
        let nth_on_product = seen_per_product[product_index];
        seen_per_product[product_index] += 1;
        let index = out.len();
        let rating = RATINGS[index % RATINGS.len()];
        out.push(SeedReview {
            id: (index + 1).to_string(),
            body: review_body(product, rating, nth_on_product, product_index),
            rating,
            author_id,
            product_upc: product.upc,
        });
    }
    out
}

/// Lays out `count` copies of each item, taking one of each in turn until all
/// are used up, so that consecutive entries differ.
fn round_robin(items: impl Iterator<Item = (&'static str, usize)>) -> Vec<&'static str> {
    let mut remaining: Vec<(&'static str, usize)> = items.collect();
    let mut out = Vec::new();
    while remaining.iter().any(|(_, left)| *left > 0) {
        for (item, left) in remaining.iter_mut().filter(|(_, left)| *left > 0) {
            out.push(*item);
            *left -= 1;
        }
    }
    out
}

/// Builds a readable review body whose tone matches the rating.
///
/// A product's reviews cycle through its three aspects; the fourth to sixth
/// switch to the other template of their rating, so no two bodies are equal.
fn review_body(
    product: &SeedProduct,
    rating: i32,
    nth_on_product: usize,
    product_index: usize,
) -> String {
    let noun = product.noun;
    let aspect = product.aspects[nth_on_product % product.aspects.len()];
    let variant = (nth_on_product / product.aspects.len() + product_index) % 2;
    match (rating, variant) {
        (5, 0) => format!("Excellent {noun}: {aspect}. I would happily buy it again, no question."),
        (5, _) => {
            format!("Best purchase this year. Honestly, {aspect}, and that alone sold me on it.")
        }
        (4, 0) => {
            format!("Solid {noun} overall and {aspect}. A few rough edges, but I recommend it.")
        }
        (4, _) => {
            format!("Very good {noun}; {aspect}. Delivery was quick and it came well packed.")
        }
        (3, 0) => format!("A decent {noun}. Yes, {aspect}, though it feels pricey for what it is."),
        (3, _) => {
            format!("It does the job. In fairness {aspect}, but I expected more at this price.")
        }
        (2, 0) => {
            format!("Mixed feelings. Sure, {aspect}, but mine developed a fault within a month.")
        }
        (2, _) => format!(
            "Not convinced by this {noun}. Granted, {aspect}, yet support was slow to reply."
        ),
        (_, 0) => format!("Returned this {noun}. Reviews said {aspect}, yet mine arrived damaged."),
        _ => format!("Very disappointing. Others say {aspect}; mine stopped working after a week."),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn review_counts_match_the_catalogue() {
        let reviews = reviews();
        assert_eq!(reviews.len(), REVIEW_COUNT);
        assert_eq!(
            USERS.iter().map(|u| u.review_count).sum::<usize>(),
            REVIEW_COUNT
        );
        assert_eq!(
            PRODUCTS.iter().map(|p| p.review_count).sum::<usize>(),
            REVIEW_COUNT
        );

        let mut per_user: HashMap<&str, usize> = HashMap::new();
        let mut per_product: HashMap<&str, usize> = HashMap::new();
        for review in &reviews {
            *per_user.entry(review.author_id).or_default() += 1;
            *per_product.entry(review.product_upc).or_default() += 1;
        }
        for user in &USERS {
            let count = per_user.get(user.id).copied().unwrap_or_default();
            assert!(
                (4..=8).contains(&count),
                "user {} has {count} reviews",
                user.id
            );
            assert_eq!(count, user.review_count);
        }
        for product in &PRODUCTS {
            let count = per_product.get(product.upc).copied().unwrap_or_default();
            assert!(
                (3..=6).contains(&count),
                "product {} has {count}",
                product.upc
            );
            assert_eq!(count, product.review_count);
        }
    }

    #[test]
    fn nobody_reviews_the_same_product_twice() {
        let mut pairs = HashSet::new();
        for review in reviews() {
            assert!(
                pairs.insert((review.author_id, review.product_upc)),
                "user {} reviews product {} twice",
                review.author_id,
                review.product_upc
            );
        }
    }

    #[test]
    fn bodies_are_sentences_of_60_to_120_characters() {
        for review in reviews() {
            let len = review.body.chars().count();
            assert!(
                (60..=120).contains(&len),
                "review {} is {len} chars: {}",
                review.id,
                review.body
            );
            assert!(review.body.ends_with('.'));
            assert!((1..=5).contains(&review.rating));
        }
    }

    #[test]
    fn catalogue_values_are_in_range_and_unique() {
        let ids: HashSet<_> = USERS.iter().map(|u| u.id).collect();
        let usernames: HashSet<_> = USERS.iter().map(|u| u.username).collect();
        assert_eq!(ids.len(), USERS.len());
        assert_eq!(usernames.len(), USERS.len());
        assert!(USERS.iter().all(|u| u.username.starts_with('@')));
        let upcs: HashSet<_> = PRODUCTS.iter().map(|p| p.upc).collect();
        assert_eq!(upcs.len(), PRODUCTS.len());
        for product in &PRODUCTS {
            assert!((10..=2000).contains(&product.price), "{}", product.name);
            assert!((1..=40).contains(&product.weight), "{}", product.name);
        }
        assert_eq!(email_for("@ada"), "ada@example.com");
    }

    #[test]
    fn bodies_are_unique() {
        let bodies: HashSet<String> = reviews().into_iter().map(|r| r.body).collect();
        assert_eq!(bodies.len(), REVIEW_COUNT);
    }

    #[test]
    fn seed_is_deterministic() {
        assert_eq!(reviews(), reviews());
    }
}

/// Checks the seed against the size the gateway benchmark is meant to move.
#[cfg(test)]
mod benchmark_size {
    use serde_json::{Value, json};

    use super::*;
    use crate::inventory::shipping_estimate;

    /// What a gateway answers for the benchmark query
    /// `{ users { id name reviews { id body product { upc name price
    /// shippingEstimate reviews { id body author { id name username } } } } } }`,
    /// built by joining the seed directly (`users` defaults to 10).
    fn benchmark_response() -> Value {
        let reviews = reviews();
        let user = |id: &str| USERS.iter().find(|u| u.id == id);
        let inner = |r: &SeedReview| {
            let author = user(r.author_id)
                .map(|u| json!({"id": u.id, "name": u.name, "username": u.username}));
            json!({"id": r.id, "body": r.body, "author": author})
        };
        let users: Vec<Value> = USERS
            .iter()
            .take(10)
            .map(|u| {
                let own: Vec<Value> = reviews
                    .iter()
                    .filter(|r| r.author_id == u.id)
                    .map(|r| {
                        let product = PRODUCTS.iter().find(|p| p.upc == r.product_upc).map(|p| {
                            let product_reviews: Vec<Value> = reviews
                                .iter()
                                .filter(|pr| pr.product_upc == p.upc)
                                .map(inner)
                                .collect();
                            json!({
                                "upc": p.upc,
                                "name": p.name,
                                "price": p.price,
                                "shippingEstimate": shipping_estimate(p.price, p.weight),
                                "reviews": product_reviews,
                            })
                        });
                        json!({"id": r.id, "body": r.body, "product": product})
                    })
                    .collect();
                json!({"id": u.id, "name": u.name, "reviews": own})
            })
            .collect();
        json!({"data": {"users": users}})
    }

    #[test]
    fn benchmark_query_moves_60_to_100_kb() {
        let size = serde_json::to_string(&benchmark_response())
            .map(|s| s.len())
            .unwrap_or_default();
        println!("benchmark response: {size} bytes");
        assert!((60_000..=100_000).contains(&size), "{size} bytes");
    }
}
