//! The hybrid path's benchmark (docs/cache.md): how long after a service publishes a change
//! event both gateway instances stop serving the old answer (p50, p99), and the throughput of a
//! cache-hit query against the same query uncached, as a ratio from one run.
//!
//! `cargo bench -p gateway --bench cache [-- --trials N --seconds S --connections C]`
//!
//! Starts its own `redis-server` on a free port, the four demo services (publishing their
//! change events to it), two cached gateway instances sharing it, and one uncached gateway.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gateway::cache::{CacheConfig, Mode, PolicyConfig};
use gateway::config::{Config, SubgraphConfig};
use gateway::startup::build_gateway;
use gateway::supergraph::Supergraph;
use serde_json::{Value, json};
use subgraphs::events::RedisPublisher;
use tokio::net::TcpListener;

const SUPERGRAPH: &str = include_str!("../../schema/supergraph.graphql");
const STREAM: &str = "gateway:invalidations";
const DEEP: &str = "{ users { id name reviews { id body product { upc name price shippingEstimate reviews { id body author { id name username } } } } } }";
const ONE_PRODUCT: &str = r#"{ product(upc: "1") { name price } }"#;

struct Options {
    trials: usize,
    seconds: u64,
    connections: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Options {
        trials: value("--trials", 200) as usize,
        seconds: value("--seconds", 5),
        connections: value("--connections", 32) as usize,
    }
}

struct Redis {
    child: Child,
    url: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_redis() -> Redis {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed (apt-get install redis-server)");
    let url = format!("redis://127.0.0.1:{port}/");
    let client = redis::Client::open(url.as_str()).expect("a redis url");
    for _ in 0..500 {
        if client.get_connection().is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Redis { child, url }
}

async fn serve(config: &Config) -> String {
    let supergraph = Supergraph::parse(SUPERGRAPH).expect("the demo supergraph loads");
    let gateway = Arc::new(build_gateway(supergraph, config).expect("the gateway builds"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let server = config.server.clone();
    let edge = Arc::new(
        gateway::edge::Edge::new(config)
            .await
            .expect("edge config is valid"),
    );
    tokio::spawn(async move {
        let _ = gateway::server::serve(
            listener,
            gateway::server::router(gateway, edge),
            &server,
            std::future::pending(),
        )
        .await;
    });
    format!("http://{address}/graphql")
}

/// POSTs `query` to a gateway and returns its JSON answer; `cache_debug` asks for
/// `extensions.cache`.
async fn post_query(client: &reqwest::Client, url: &str, query: &str, cache_debug: bool) -> Value {
    let mut request = client.post(url).json(&json!({ "query": query }));
    if cache_debug {
        request = request.header("x-cache-debug", "1");
    }
    request
        .send()
        .await
        .expect("the gateway answers")
        .json()
        .await
        .expect("JSON")
}

/// Whether the query was answered without fetching (a cache hit all the way).
async fn served_from_cache(client: &reqwest::Client, url: &str, query: &str) -> bool {
    let response = post_query(client, url, query, true).await;
    response["extensions"]["cache"]
        .as_array()
        .is_some_and(|reports| reports.iter().all(|r| r["fetched"] == 0))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Requests/s of a closed loop of `connections` clients sending `query` for `seconds`.
async fn throughput(url: &str, query: &str, connections: usize, seconds: u64) -> (f64, u64) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .unwrap();
    let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, url, body) = (client.clone(), url.to_string(), body.clone());
        let (stop, done, errors) = (stop.clone(), done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let sent = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                // The whole answer counts: read to the end, as a client would.
                let ok = match sent {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_ok_and(|body| !body.is_empty())
                    }
                    _ => false,
                };
                if ok {
                    done.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let requests = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for task in tasks {
        let _ = task.await;
    }
    (requests as f64 / elapsed, errors.load(Ordering::Relaxed))
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let redis = start_redis();
        let publisher = Arc::new(RedisPublisher::start(&redis.url, STREAM.into()).unwrap());
        let mut base = Config::default();
        for service in subgraphs::Service::ALL {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap();
            let publisher = publisher.clone();
            tokio::spawn(async move {
                let _ = subgraphs::serve_with(service, listener, publisher).await;
            });
            base.subgraphs.insert(
                service.name().into(),
                SubgraphConfig {
                    url: Some(format!("http://{address}/graphql")),
                    ..Default::default()
                },
            );
        }
        let cached = Config {
            cache: CacheConfig {
                enabled: true,
                redis_url: Some(redis.url.clone()),
                defaults: PolicyConfig {
                    mode: Some(Mode::Events),
                    ..Default::default()
                },
                debug_header: Some("x-cache-debug".into()),
                ..Default::default()
            },
            ..base.clone()
        };
        let a = serve(&cached).await;
        let b = serve(&cached).await;
        let uncached = serve(&base).await;
        let client = reqwest::Client::new();
        tokio::time::sleep(Duration::from_millis(300)).await; // the stream listeners connect

        // Event-to-eviction delay, on both instances: each trial the products service changes
        // the price (and publishes its event); the clock runs from the mutation's answer until
        // both instances serve the new price (evicted, then fetched again).
        let products_url = base.subgraphs["products"].url.clone().unwrap();
        let price_of = |url: String| {
            let client = client.clone();
            async move {
                let response = post_query(&client, &url, ONE_PRODUCT, false).await;
                response["data"]["product"]["price"].as_i64().unwrap_or(-1)
            }
        };
        let mut delays = [Vec::new(), Vec::new()];
        for trial in 0..options.trials {
            for url in [&a, &b] {
                while !served_from_cache(&client, url, ONE_PRODUCT).await {}
            }
            let price = 100 + trial as i64;
            let mutation = format!(r#"mutation {{ updateProductPrice(upc: "1", price: {price}) {{ price }} }}"#);
            client
                .post(&products_url)
                .json(&json!({ "query": mutation }))
                .send()
                .await
                .expect("the products service answers");
            let published = Instant::now();
            let poll = |url: String| {
                let price_of = &price_of;
                async move {
                    while price_of(url.clone()).await != price {}
                    published.elapsed()
                }
            };
            let (delay_a, delay_b) = tokio::join!(poll(a.clone()), poll(b.clone()));
            delays[0].push(delay_a);
            delays[1].push(delay_b);
            if trial == 0 {
                // The first trial connects things; it is not measured.
                delays[0].clear();
                delays[1].clear();
            }
        }
        println!(
            "event-to-eviction delay ({} events; from the service's mutation answer until the instance serves the new value, polled over HTTP):",
            options.trials - 1
        );
        println!("| instance | p50 | p99 | max |");
        println!("|---|--:|--:|--:|");
        for (name, samples) in ["A", "B"].iter().zip(delays.iter_mut()) {
            samples.sort();
            println!(
                "| {name} | {:.2} ms | {:.2} ms | {:.2} ms |",
                percentile(samples, 0.5).as_secs_f64() * 1e3,
                percentile(samples, 0.99).as_secs_f64() * 1e3,
                samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            );
        }

        // Throughput: the deep query, cache hit versus uncached.
        let (warm, _) = throughput(&a, DEEP, options.connections, 1).await;
        let _ = warm;
        let (hit, hit_errors) = throughput(&a, DEEP, options.connections, options.seconds).await;
        let (cold, cold_errors) =
            throughput(&uncached, DEEP, options.connections, options.seconds).await;
        println!();
        println!(
            "deep query, {} connections, {} s each (client, gateways and services share the machine):",
            options.connections, options.seconds
        );
        println!("| gateway | requests/s | errors |");
        println!("|---|--:|--:|");
        println!("| cache hit | {hit:.0} | {hit_errors} |");
        println!("| uncached | {cold:.0} | {cold_errors} |");
        println!("cache hit / uncached = {:.2}x", hit / cold);
        drop(redis);
    });
}
