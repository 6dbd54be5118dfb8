//! The cheap subgraphs' catalogue, built once when the process starts.
//!
//! Sized so that the benchmark's query (`benches/load/scenarios/cheap/query.graphql`: `users`
//! and `topProducts`, each four levels deep) answers about 90 KB through a gateway: six users
//! with two reviews each, twelve reviews over the first four products (three each), review
//! bodies of 250 to 700 characters. Everything a resolver returns is looked up in vectors
//! indexed by id; nothing is computed per request but the answer's serialisation.

/// A user (accounts owns it; reviews knows its username too).
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub name: String,
    pub username: String,
    pub birthday: i32,
}

/// A product (products owns name, price and weight; inventory the stock flag).
#[derive(Clone, Debug)]
pub struct Product {
    pub upc: String,
    pub name: String,
    pub price: i32,
    pub weight: i32,
    pub in_stock: bool,
}

/// A review (reviews owns it).
#[derive(Clone, Debug)]
pub struct Review {
    pub id: String,
    pub body: String,
    /// Index into [`Catalog::users`].
    pub author: usize,
    /// Index into [`Catalog::products`].
    pub product: usize,
}

/// Everything the four subgraphs serve, with the reverse indexes the resolvers need.
#[derive(Debug)]
pub struct Catalog {
    pub users: Vec<User>,
    pub products: Vec<Product>,
    pub reviews: Vec<Review>,
    /// For each user, the indexes of the reviews it wrote.
    pub reviews_by_author: Vec<Vec<usize>>,
    /// For each product, the indexes of its reviews.
    pub reviews_by_product: Vec<Vec<usize>>,
}

const USERS: [(&str, &str); 6] = [
    ("Maren Holt", "maren"),
    ("Ilya Brandt", "ilya"),
    ("Noor Haddad", "noor"),
    ("Tomas Reyes", "tomas"),
    ("Keiko Mori", "keiko"),
    ("Femi Adeyemi", "femi"),
];

/// Name, price, weight.
const PRODUCTS: [(&str, i32, i32); 9] = [
    ("Kettle", 45, 1200),
    ("Desk", 320, 18000),
    ("Lantern", 28, 900),
    ("Backpack", 89, 1100),
    ("Bicycle", 1450, 14000),
    ("Blender", 130, 3200),
    ("Tent", 560, 4100),
    ("Monitor", 2400, 6500),
    ("Armchair", 780, 22000),
];

const REVIEWS: usize = 12;

/// Words review bodies are drawn from.
const WORDS: [&str; 40] = [
    "sturdy",
    "arrived",
    "quickly",
    "although",
    "the",
    "handle",
    "feels",
    "light",
    "and",
    "finish",
    "scratches",
    "easily",
    "after",
    "weeks",
    "of",
    "daily",
    "use",
    "it",
    "still",
    "works",
    "well",
    "packaging",
    "was",
    "generous",
    "instructions",
    "unclear",
    "assembly",
    "took",
    "an",
    "hour",
    "would",
    "buy",
    "again",
    "for",
    "price",
    "colour",
    "matches",
    "photos",
    "neighbours",
    "noticed",
];

static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();

impl Catalog {
    /// The process's catalogue, built on first use (the binary builds it before it listens).
    pub fn get() -> &'static Catalog {
        CATALOG.get_or_init(Catalog::build)
    }

    /// The catalogue: the same every time (a fixed pseudo-random sequence picks the words).
    pub fn build() -> Catalog {
        let users: Vec<User> = USERS
            .iter()
            .enumerate()
            .map(|(i, (name, username))| User {
                id: (i + 1).to_string(),
                name: (*name).to_owned(),
                username: (*username).to_owned(),
                birthday: 19_800_101 + 10_000 * i as i32,
            })
            .collect();
        let products: Vec<Product> = PRODUCTS
            .iter()
            .enumerate()
            .map(|(i, (name, price, weight))| Product {
                upc: (i + 1).to_string(),
                name: (*name).to_owned(),
                price: *price,
                weight: *weight,
                in_stock: i % 2 == 0,
            })
            .collect();
        let mut state: u32 = 0x2545_f491;
        let mut next = move || {
            // xorshift32: fixed, no dependency.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let reviews: Vec<Review> = (0..REVIEWS)
            .map(|i| {
                let length = 250 + (i * 137) % 450;
                let mut body = String::with_capacity(length + 16);
                while body.len() < length {
                    if !body.is_empty() {
                        body.push(' ');
                    }
                    body.push_str(WORDS[next() as usize % WORDS.len()]);
                }
                body.push('.');
                Review {
                    id: (i + 1).to_string(),
                    body,
                    author: i % users.len(),
                    product: i % 4,
                }
            })
            .collect();
        let mut reviews_by_author = vec![Vec::new(); users.len()];
        let mut reviews_by_product = vec![Vec::new(); products.len()];
        for (i, review) in reviews.iter().enumerate() {
            reviews_by_author[review.author].push(i);
            reviews_by_product[review.product].push(i);
        }
        Catalog {
            users,
            products,
            reviews,
            reviews_by_author,
            reviews_by_product,
        }
    }

    /// The index of the user with this id.
    pub fn user(&self, id: &str) -> Option<usize> {
        index(id, self.users.len())
    }

    /// The index of the product with this upc.
    pub fn product(&self, upc: &str) -> Option<usize> {
        index(upc, self.products.len())
    }

    /// The index of the review with this id.
    pub fn review(&self, id: &str) -> Option<usize> {
        index(id, self.reviews.len())
    }
}

/// Ids are 1-based decimal positions.
fn index(id: &str, len: usize) -> Option<usize> {
    let n: usize = id.parse().ok()?;
    (1..=len).contains(&n).then(|| n - 1)
}
