//! The world the checker runs in: a real `redis-server`, the demo services publishing their
//! change events to it, and two gateway instances sharing it (B through a TCP proxy the
//! checker can black-hole); and the traffic: one writer per value, readers on both instances.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use e2e::redis_server::RedisServer;
use e2e::tcp_proxy::TcpProxy;
use e2e::{DEMO_SUPERGRAPH, Stack, Subgraphs};
use gateway::cache::{CacheConfig, Mode, PolicyConfig};
use serde_json::{Value, json};
use subgraphs::events::{Publisher, RedisPublisher};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::history::{History, Instance, Read, Via, Write};
use crate::{Fault, Plan};

const STREAM: &str = "gateway:invalidations";

pub struct World {
    redis: RedisServer,
    /// Between B and Redis.
    proxy: TcpProxy,
    subgraphs: Subgraphs,
    a: Stack,
    b: Stack,
    started: Instant,
    author: String,
}

impl World {
    pub async fn start(plan: &Plan, mode: Mode) -> Self {
        let redis = RedisServer::start();
        let proxy = TcpProxy::start(redis.address()).await;
        let publisher: Publisher = Arc::new(
            RedisPublisher::start(&redis.url(), STREAM.into()).expect("a publisher to redis"),
        );
        let subgraphs = Subgraphs::start(publisher).await;
        let cache = |redis_url: String| CacheConfig {
            enabled: true,
            redis_url: Some(redis_url),
            stream: STREAM.into(),
            disconnected_max_age_ms: plan.disconnected_max_age_ms,
            stream_liveness_ms: plan.stream_liveness_ms,
            defaults: PolicyConfig {
                mode: Some(mode),
                ttl_seconds: Some(plan.ttl_seconds),
                ..Default::default()
            },
            ..Default::default()
        };
        let gateway = async |redis_url: String| {
            let config = gateway::config::Config {
                cache: cache(redis_url),
                ..subgraphs.config()
            };
            Stack::gateway(DEMO_SUPERGRAPH, &config).await
        };
        let a = gateway(redis.url()).await;
        let b = gateway(proxy.redis_url()).await;
        let author = a
            .query("{ topReviews(first: 1) { author { id } } }")
            .await
            .pointer("/data/topReviews/0/author/id")
            .and_then(Value::as_str)
            .expect("the demo has a review with an author")
            .to_string();
        Self {
            redis,
            proxy,
            subgraphs,
            a,
            b,
            started: Instant::now(),
            author,
        }
    }

    pub fn now_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1e3
    }

    /// Starts the writers and readers.
    pub fn traffic(&self, plan: &Plan) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        let endpoints = Endpoints {
            a: self.a.gateway_url.clone(),
            b: self.b.gateway_url.clone(),
            products: self.subgraphs.urls["products"].clone(),
            accounts: self.subgraphs.urls["accounts"].clone(),
        };
        let mut tasks = Vec::new();
        let values = [Tracked::Price, Tracked::Name(self.author.clone())];
        let histories = values
            .clone()
            .map(|_| Arc::new(Mutex::new(History::default())));
        for (value, history) in values.iter().zip(&histories) {
            let context = Context {
                value: value.clone(),
                history: history.clone(),
                client: client.clone(),
                endpoints: endpoints.clone(),
                started: self.started,
                stop: stop.clone(),
            };
            tasks.push(tokio::spawn(context.clone().write(plan.write_every_ms)));
            for instance in [Instance::A, Instance::B] {
                tasks.push(tokio::spawn(
                    context.clone().read(instance, plan.read_every_ms),
                ));
            }
        }
        Traffic {
            stop,
            tasks,
            histories,
        }
    }

    /// Injects `fault` and lifts it (Redis restarted, the link healed) before returning.
    pub async fn inject(&mut self, fault: Fault, plan: &Plan) {
        let partition = Duration::from_millis(plan.partition_ms);
        match fault {
            Fault::None => {}
            Fault::RedisRestart => {
                self.redis.stop();
                tokio::time::sleep(Duration::from_millis(plan.redis_down_ms)).await;
                self.redis.restart();
            }
            Fault::Partition => {
                self.proxy.blackhole();
                tokio::time::sleep(partition).await;
                self.proxy.heal();
            }
            Fault::Trim | Fault::Recreate => {
                self.proxy.blackhole();
                tokio::time::sleep(partition / 2).await;
                let command = if fault == Fault::Trim {
                    redis::cmd("XTRIM").arg(STREAM).arg("MAXLEN").arg(0).clone()
                } else {
                    redis::cmd("DEL").arg(STREAM).clone()
                };
                let mut connection = self.redis.connection();
                let _: redis::Value = command.query(&mut connection).expect("redis answers");
                tokio::time::sleep(partition / 2).await;
                self.proxy.heal();
            }
        }
    }
}

/// The writers and readers, running until stopped.
pub struct Traffic {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    histories: [Arc<Mutex<History>>; 2],
}

impl Traffic {
    /// Stops them; the histories of the price and of the name.
    pub async fn stop(self) -> [History; 2] {
        self.stop.store(true, Ordering::SeqCst);
        for task in self.tasks {
            let _ = task.await;
        }
        let [price, name] = self.histories;
        [price.lock().await.clone(), name.lock().await.clone()]
    }
}

#[derive(Clone)]
struct Endpoints {
    a: String,
    b: String,
    products: String,
    accounts: String,
}

/// A value the checker writes and reads, numbered: write `n` sets the `n`th value.
#[derive(Clone)]
enum Tracked {
    /// Product 2's price, a root-field answer of products: `BASE + n`.
    Price,
    /// The name of the given user (the first review's author), an entity answer of accounts:
    /// `writer-<n>`.
    Name(String),
}

const BASE_PRICE: u64 = 1_000_000;

impl Tracked {
    fn read_query(&self) -> &'static str {
        match self {
            Tracked::Price => r#"{ product(upc: "2") { price } }"#,
            Tracked::Name(_) => "{ topReviews(first: 1) { author { name } } }",
        }
    }

    /// The number of the value a read returned (0: the seeded value); `None` for an error.
    fn number(&self, response: &Value) -> Option<u64> {
        if response.get("errors").is_some() {
            return None;
        }
        match self {
            Tracked::Price => {
                let price = response.pointer("/data/product/price")?.as_u64()?;
                Some(price.saturating_sub(BASE_PRICE))
            }
            Tracked::Name(_) => {
                let name = response
                    .pointer("/data/topReviews/0/author/name")?
                    .as_str()?;
                Some(
                    name.strip_prefix("writer-")
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0),
                )
            }
        }
    }

    /// The mutation that sets the `n`th value, and the service that owns it.
    fn write(&self, n: u64, endpoints: &Endpoints) -> (String, String) {
        match self {
            Tracked::Price => (
                endpoints.products.clone(),
                format!(
                    r#"mutation {{ updateProductPrice(upc: "2", price: {}) {{ price }} }}"#,
                    BASE_PRICE + n
                ),
            ),
            Tracked::Name(user) => (
                endpoints.accounts.clone(),
                format!(
                    r#"mutation {{ updateUserName(id: "{user}", name: "writer-{n}") {{ name }} }}"#
                ),
            ),
        }
    }
}

#[derive(Clone)]
struct Context {
    value: Tracked,
    history: Arc<Mutex<History>>,
    client: reqwest::Client,
    endpoints: Endpoints,
    started: Instant,
    stop: Arc<AtomicBool>,
}

impl Context {
    fn now_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1e3
    }

    async fn post(&self, url: &str, query: &str) -> Option<Value> {
        let response = self
            .client
            .post(url)
            .json(&json!({ "query": query }))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    /// Writes value after value, one in three through gateway A (then reads it back there),
    /// the others straight at the service.
    async fn write(self, every_ms: u64) {
        let mut n = 0;
        while !self.stop.load(Ordering::SeqCst) {
            n += 1;
            let via = if n % 3 == 0 {
                Via::GatewayA
            } else {
                Via::Service
            };
            let (service, mutation) = self.value.write(n, &self.endpoints);
            let url = match via {
                Via::GatewayA => self.endpoints.a.clone(),
                Via::Service => service,
            };
            let answered = self.post(&url, &mutation).await;
            let acked_ms = self.now_ms();
            assert!(
                answered.as_ref().is_some_and(|r| r.get("errors").is_none()),
                "the services never fail in this run, yet write {n} did: {answered:?}"
            );
            self.history.lock().await.writes.push(Write {
                number: n,
                via,
                acked_ms,
            });
            if via == Via::GatewayA {
                self.read_once(Instance::A).await;
            }
            tokio::time::sleep(Duration::from_millis(every_ms)).await;
        }
    }

    async fn read(self, instance: Instance, every_ms: u64) {
        while !self.stop.load(Ordering::SeqCst) {
            self.read_once(instance).await;
            tokio::time::sleep(Duration::from_millis(every_ms)).await;
        }
    }

    async fn read_once(&self, instance: Instance) {
        let url = match instance {
            Instance::A => &self.endpoints.a,
            Instance::B => &self.endpoints.b,
        };
        let started_ms = self.now_ms();
        let response = self.post(url, self.value.read_query()).await;
        let number = response.as_ref().and_then(|r| self.value.number(r));
        let mut history = self.history.lock().await;
        match number {
            Some(number) => history.reads.push(Read {
                instance,
                started_ms,
                number,
            }),
            None => history.failures.push((instance, started_ms)),
        }
    }
}
