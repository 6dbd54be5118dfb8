//! Hot reload, health and readiness end to end: the demo subgraphs, a gateway started as
//! `gateway serve` starts it (a watched file or a polled registry URL), real HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use e2e::redis_server::RedisServer;
use e2e::{DEMO_SUPERGRAPH, Subgraphs, listener};
use gateway::config::Config;
use gateway::reload::{LiveGateway, Reloader, Sources, StartError};
use gateway::server::Readiness;
use gateway::startup::SharedParts;
use serde_json::{Value, json};
use subgraphs::events::Nowhere;

/// The demo supergraph without `Product.inStock`: the "old" schema of these tests.
fn without_in_stock() -> String {
    let line = "  inStock: Boolean! @join__field(graph: INVENTORY)\n";
    assert!(
        DEMO_SUPERGRAPH.contains(line),
        "the demo supergraph changed"
    );
    DEMO_SUPERGRAPH.replace(line, "")
}

const STEADY: &str = "{ topProducts { upc name price } }";
const NEW_FIELD: &str = "{ topProducts { upc inStock } }";

/// A gateway serving as `gateway serve` does, on a free port, until dropped.
struct Live {
    base: String,
    client: reqwest::Client,
    live: Arc<LiveGateway>,
    _sources: Sources,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Live {
    async fn start(config: Config) -> Result<Live, StartError> {
        Self::start_watching(config, None).await
    }

    /// As `gateway serve --config FILE --hot-reload` does: `config` read from `config_file`,
    /// which is watched.
    async fn start_watching(
        config: Config,
        config_file: Option<PathBuf>,
    ) -> Result<Live, StartError> {
        let config = Arc::new(config);
        let shared = SharedParts::start(&config).expect("shared parts start");
        let live = LiveGateway::empty();
        let reloader = Reloader::new(config.clone(), shared, live.clone());
        let sources = gateway::reload::start(&reloader, config_file).await?;
        let readiness = Readiness::new(&config).expect("readiness config");
        let edge = Arc::new(gateway::edge::Edge::new(&config).await.expect("edge"));
        let router = gateway::server::live_router(live.clone(), readiness, edge, false);
        let (listener, address) = listener().await;
        let server_config = config.server.clone();
        let server = tokio::spawn(async move {
            let _ =
                gateway::server::serve(listener, router, &server_config, std::future::pending())
                    .await;
        });
        Ok(Live {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
            live,
            _sources: sources,
            server,
        })
    }

    /// Status and JSON body of a query.
    async fn query(&self, query: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("gateway answers");
        let status = response.status();
        (status, response.json().await.expect("JSON"))
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("gateway answers");
        let status = response.status();
        (status, response.text().await.expect("text"))
    }

    /// One sample of `name{labels}` from `/metrics`.
    async fn metric(&self, sample: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
    }

    async fn schema_hash(&self) -> String {
        self.live.current().expect("loaded").hash.clone()
    }
}

/// Whether `NEW_FIELD` answers with data (the new schema is served).
fn answers_new_field(body: &Value) -> bool {
    body["errors"].is_null() && body["data"]["topProducts"][0]["inStock"].is_boolean()
}

async fn demo_subgraphs() -> (Subgraphs, Config) {
    let subgraphs = Subgraphs::start(Arc::new(Nowhere)).await;
    let config = subgraphs.config();
    (subgraphs, config)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gateway-reload-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes `text` to `path` as editors and deployment tools do: another file, renamed over.
fn replace_file(path: &Path, text: &str) {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text).expect("write");
    std::fs::rename(&temporary, path).expect("rename");
}

/// Polls `check` every 20 ms until it holds or `limit` passes; how long it took.
async fn wait_until<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Sends `STEADY` over and over until stopped; counts answers that are not full successes.
struct SteadyStream {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<tokio::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SteadyStream {
    fn start(base: &str, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let mut workers = Vec::new();
        for _ in 0..clients {
            let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
            let url = format!("{base}/graphql");
            workers.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let result = client
                        .post(&url)
                        .json(&json!({ "query": STEADY }))
                        .send()
                        .await;
                    let problem = match result {
                        Err(e) => Some(format!("transport: {e}")),
                        Ok(response) => {
                            let status = response.status();
                            let body: Value = response.json().await.unwrap_or(Value::Null);
                            let good = status == StatusCode::OK
                                && body["errors"].is_null()
                                && body["data"]["topProducts"]
                                    .as_array()
                                    .is_some_and(|p| !p.is_empty());
                            (!good).then(|| format!("{status}: {body}"))
                        }
                    };
                    match problem {
                        None => ok.fetch_add(1, Ordering::Relaxed),
                        Some(problem) => {
                            failed.lock().await.push(problem);
                            0
                        }
                    };
                }
            }));
        }
        let task = tokio::spawn(async move {
            for worker in workers {
                let _ = worker.await;
            }
        });
        Self {
            stop,
            ok,
            failed,
            task,
        }
    }

    /// Stops; (successes, failures).
    async fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        let failed = self.failed.lock().await.clone();
        (self.ok.load(Ordering::Relaxed), failed)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_file_is_served_without_failing_a_request_and_a_bad_one_is_refused() {
    let (_subgraphs, mut config) = demo_subgraphs().await;
    let dir = temp_dir("file");
    let path = dir.join("supergraph.graphql");
    std::fs::write(&path, without_in_stock()).unwrap();
    let debounce = Duration::from_millis(200);
    config.supergraph.path = Some(path.clone());
    config.supergraph.watch = true;
    config.supergraph.debounce_ms = debounce.as_millis() as u64;
    let gateway = Live::start(config).await.expect("starts");
    assert_eq!(gateway.get("/ready").await.0, StatusCode::OK);

    let (status, body) = gateway.query(NEW_FIELD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "the old schema has no inStock: {body}"
    );
    let old_hash = gateway.schema_hash().await;
    // Plans of the old schema, for the warm-up to carry over.
    assert_eq!(gateway.query(STEADY).await.0, StatusCode::OK);

    let steady = SteadyStream::start(&gateway.base, 4);
    tokio::time::sleep(Duration::from_millis(300)).await;
    replace_file(&path, DEMO_SUPERGRAPH);
    let took = wait_until(Duration::from_secs(10), || async {
        answers_new_field(&gateway.query(NEW_FIELD).await.1)
    })
    .await
    .expect("the new field answers after the file is replaced");
    eprintln!("new field answered {took:?} after the file was replaced (debounce {debounce:?})");
    // The debounce, then loading and planning: well under a few seconds even on a busy machine.
    assert!(took < debounce + Duration::from_secs(3), "took {took:?}");
    let new_hash = gateway.schema_hash().await;
    assert_ne!(new_hash, old_hash);
    assert_eq!(
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"file\",result=\"success\"}")
            .await,
        Some(2.0),
        "the first load and the reload"
    );
    let info = gateway.get("/metrics").await.1;
    assert!(
        info.contains(&format!(
            "gateway_supergraph_info{{hash=\"{new_hash}\",generation=\"2\"}} 1"
        )),
        "{info}"
    );

    // A broken file: refused, counted, and the schema in service stays.
    replace_file(&path, "type Query { this is not a supergraph");
    let refused = wait_until(Duration::from_secs(10), || async {
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"file\",result=\"failure\"}")
            .await
            == Some(1.0)
    })
    .await;
    assert!(refused.is_some(), "the failure is counted");
    // A valid SDL that is not a supergraph is refused too.
    replace_file(&path, "type Query { a: Int }");
    let refused = wait_until(Duration::from_secs(10), || async {
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"file\",result=\"failure\"}")
            .await
            == Some(2.0)
    })
    .await;
    assert!(refused.is_some(), "the second failure is counted");
    // Neither the reload's own reads nor other files in the directory (a log written next to
    // it) make it read the file again: the refusal is not repeated.
    for line in 0..5 {
        std::fs::write(dir.join("gateway.log"), format!("line {line}\n")).unwrap();
        tokio::time::sleep(debounce / 2).await;
    }
    tokio::time::sleep(debounce * 3).await;
    assert_eq!(
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"file\",result=\"failure\"}")
            .await,
        Some(2.0)
    );
    assert_eq!(gateway.schema_hash().await, new_hash);
    assert!(answers_new_field(&gateway.query(NEW_FIELD).await.1));
    assert_eq!(gateway.get("/ready").await.0, StatusCode::OK);

    // Back to the old schema: the field goes away again.
    replace_file(&path, &without_in_stock());
    wait_until(Duration::from_secs(10), || async {
        !answers_new_field(&gateway.query(NEW_FIELD).await.1)
    })
    .await
    .expect("the old schema is back");

    let (ok, failed) = steady.finish().await;
    assert!(
        failed.is_empty(),
        "{} requests failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(3)]
    );
    assert!(ok > 20, "the stream kept going: {ok} answers");
    let _ = std::fs::remove_dir_all(dir);
}

/// Kubernetes mounts a ConfigMap as `name -> ..data/name`, `..data -> ..2024_xx`, and updates
/// it by pointing `..data` at a new directory with one rename: the file itself is never
/// written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configmap_style_symlink_swap_is_noticed() {
    let (_subgraphs, mut config) = demo_subgraphs().await;
    let dir = temp_dir("symlink");
    let first = dir.join("..2026_01");
    std::fs::create_dir(&first).unwrap();
    std::fs::write(first.join("supergraph.graphql"), without_in_stock()).unwrap();
    std::os::unix::fs::symlink("..2026_01", dir.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/supergraph.graphql", dir.join("supergraph.graphql"))
        .unwrap();
    config.supergraph.path = Some(dir.join("supergraph.graphql"));
    config.supergraph.watch = true;
    config.supergraph.debounce_ms = 100;
    let gateway = Live::start(config).await.expect("starts");
    assert!(!answers_new_field(&gateway.query(NEW_FIELD).await.1));

    let second = dir.join("..2026_02");
    std::fs::create_dir(&second).unwrap();
    std::fs::write(second.join("supergraph.graphql"), DEMO_SUPERGRAPH).unwrap();
    std::os::unix::fs::symlink("..2026_02", dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    wait_until(Duration::from_secs(10), || async {
        answers_new_field(&gateway.query(NEW_FIELD).await.1)
    })
    .await
    .expect("the swapped ConfigMap is loaded");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_at_start_stops_the_start() {
    let (_subgraphs, mut config) = demo_subgraphs().await;
    let dir = temp_dir("bad-start");
    let path = dir.join("supergraph.graphql");
    std::fs::write(&path, "type Query { a: Int }").unwrap();
    config.supergraph.path = Some(path);
    config.supergraph.watch = true;
    let error = Live::start(config).await.err().expect("refused");
    assert!(error.to_string().contains("supergraph"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A schema registry as the test controls it: the supergraph it serves (none: 503), its
/// ETag, and what it saw.
#[derive(Default)]
struct Registry {
    supergraph: std::sync::Mutex<Option<String>>,
    requests: AtomicU64,
    not_modified: AtomicU64,
    unauthorized: AtomicU64,
}

const KEY: &str = "cdn-key-1";

async fn registry_handler(State(registry): State<Arc<Registry>>, headers: HeaderMap) -> Response {
    registry.requests.fetch_add(1, Ordering::Relaxed);
    if headers.get("x-hive-cdn-key").and_then(|v| v.to_str().ok()) != Some(KEY) {
        registry.unauthorized.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    let Some(text) = registry.supergraph.lock().unwrap().clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not published yet").into_response();
    };
    let etag = format!("\"{}\"", &gateway::telemetry::sdl_hash(&text)[..16]);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        registry.not_modified.fetch_add(1, Ordering::Relaxed);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([(header::ETAG, etag)], text).into_response()
}

async fn start_registry() -> (Arc<Registry>, String, tokio::task::JoinHandle<()>) {
    let registry = Arc::new(Registry::default());
    let app = axum::Router::new()
        .route(
            "/artifacts/v1/supergraph",
            axum::routing::get(registry_handler),
        )
        .with_state(registry.clone());
    let (listener, address) = listener().await;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (
        registry,
        format!("http://{address}/artifacts/v1/supergraph"),
        task,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_url_is_polled_with_its_key_and_etags() {
    let (_subgraphs, mut config) = demo_subgraphs().await;
    let (registry, url, registry_task) = start_registry().await;
    config.supergraph.url = Some(url.clone());
    config
        .supergraph
        .headers
        .insert("X-Hive-CDN-Key".into(), KEY.into());
    config.supergraph.poll_interval_ms = 100;
    config.supergraph.backoff_max_ms = 400;
    let gateway = Live::start(config.clone()).await.expect("starts");

    // Nothing published yet: alive, not ready, GraphQL says so.
    let (status, body) = gateway.get("/health").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"status":"UP"}"#)
    );
    let (status, body) = gateway.get("/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("no supergraph is loaded yet"), "{body}");
    let (status, body) = gateway.query(STEADY).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "SUPERGRAPH_NOT_LOADED"
    );
    wait_until(Duration::from_secs(10), || async {
        gateway
            .metric("gateway_supergraph_poll_errors_total")
            .await
            .is_some_and(|n| n >= 2.0)
    })
    .await
    .expect("failed polls are counted");

    // Published: loaded within the backoff, then only 304s while it does not change.
    *registry.supergraph.lock().unwrap() = Some(without_in_stock());
    wait_until(Duration::from_secs(10), || async {
        gateway.get("/ready").await.0 == StatusCode::OK
    })
    .await
    .expect("ready once the registry serves a supergraph");
    let (status, body) = gateway.query(STEADY).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let before = registry.not_modified.load(Ordering::Relaxed);
    wait_until(Duration::from_secs(10), || async {
        registry.not_modified.load(Ordering::Relaxed) >= before + 2
    })
    .await
    .expect("unchanged polls are answered 304");
    assert_eq!(
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"url\",result=\"success\"}")
            .await,
        Some(1.0),
        "a 304 is not a reload"
    );

    // A new version: served at the next poll.
    *registry.supergraph.lock().unwrap() = Some(DEMO_SUPERGRAPH.to_string());
    wait_until(Duration::from_secs(10), || async {
        answers_new_field(&gateway.query(NEW_FIELD).await.1)
    })
    .await
    .expect("the new version is served");

    // A broken version: refused once (not once per poll), the last good one keeps serving.
    *registry.supergraph.lock().unwrap() = Some("type Query { a: Int }".into());
    wait_until(Duration::from_secs(10), || async {
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"url\",result=\"failure\"}")
            .await
            == Some(1.0)
    })
    .await
    .expect("the refusal is counted");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"url\",result=\"failure\"}")
            .await,
        Some(1.0)
    );
    assert!(answers_new_field(&gateway.query(NEW_FIELD).await.1));
    assert_eq!(
        registry.unauthorized.load(Ordering::Relaxed),
        0,
        "every poll carried the key"
    );

    // Without the key the registry refuses, and that gateway never becomes ready.
    config.supergraph.headers.clear();
    let keyless = Live::start(config).await.expect("starts");
    wait_until(Duration::from_secs(10), || async {
        registry.unauthorized.load(Ordering::Relaxed) >= 2
    })
    .await
    .expect("polled without the key");
    assert_eq!(
        keyless.get("/ready").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    registry_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_redis_when_it_is_required() {
    let (_subgraphs, mut config) = demo_subgraphs().await;
    let mut redis = RedisServer::start();
    let dir = temp_dir("ready");
    let path = dir.join("supergraph.graphql");
    std::fs::write(&path, DEMO_SUPERGRAPH).unwrap();
    config.supergraph.path = Some(path);
    config.cache.enabled = true;
    config.cache.redis_url = Some(redis.url());
    config.cache.redis_required_for_readiness = true;
    let gateway = Live::start(config.clone()).await.expect("starts");
    let (status, body) = gateway.get("/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, r#"{"status":"READY"}"#);

    redis.stop();
    let (status, body) = gateway.get("/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("Redis does not answer"), "{body}");
    // Alive all the same, and still answering from the subgraphs.
    assert_eq!(gateway.get("/health").await.0, StatusCode::OK);
    let (status, body) = gateway.query(STEADY).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["errors"].is_null(), "{body}");

    redis.restart();
    wait_until(Duration::from_secs(10), || async {
        gateway.get("/ready").await.0 == StatusCode::OK
    })
    .await
    .expect("ready again once Redis is back");

    // Not required (the default): Redis down does not make the gateway unready.
    config.cache.redis_required_for_readiness = false;
    let relaxed = Live::start(config).await.expect("starts");
    redis.stop();
    assert_eq!(relaxed.get("/ready").await.0, StatusCode::OK);
    let _ = std::fs::remove_dir_all(dir);
}

/// `--hot-reload` with `--config`: the config file's reloadable parts follow the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_config_file_applies_without_a_restart() {
    let (subgraphs, _) = demo_subgraphs().await;
    let dir = temp_dir("config");
    let supergraph = dir.join("supergraph.graphql");
    std::fs::write(&supergraph, DEMO_SUPERGRAPH).unwrap();
    let config_path = dir.join("gateway.yaml");
    let config_text = |introspection: bool| {
        let mut text = format!(
            "supergraph:\n  path: {}\n  watch: true\n  debounce_ms: 100\nintrospection: {introspection}\nsubgraphs:\n",
            supergraph.display()
        );
        for (name, url) in &subgraphs.urls {
            text.push_str(&format!("  {name}:\n    url: {url}\n"));
        }
        text
    };
    std::fs::write(&config_path, config_text(true)).unwrap();
    let config = Config::load(&config_path).expect("config loads");
    let gateway = Live::start_watching(config, Some(config_path.clone()))
        .await
        .expect("starts");
    let introspect = "{ __schema { queryType { name } } }";
    let (_, body) = gateway.query(introspect).await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );

    replace_file(&config_path, &config_text(false));
    wait_until(Duration::from_secs(10), || async {
        gateway.query(introspect).await.1["errors"][0]["extensions"]["code"]
            == "INTROSPECTION_DISABLED"
    })
    .await
    .expect("introspection turned off by the config file");
    assert!(gateway.query(STEADY).await.1["errors"].is_null());
    assert_eq!(
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"config\",result=\"success\"}")
            .await,
        Some(1.0)
    );

    // A broken config file is refused; the last good one stays.
    replace_file(&config_path, "introspection: maybe\n");
    wait_until(Duration::from_secs(10), || async {
        gateway
            .metric("gateway_supergraph_reloads_total{source=\"config\",result=\"failure\"}")
            .await
            == Some(1.0)
    })
    .await
    .expect("the refusal is counted");
    assert_eq!(
        gateway.query(introspect).await.1["errors"][0]["extensions"]["code"],
        "INTROSPECTION_DISABLED"
    );
    assert!(gateway.query(STEADY).await.1["errors"].is_null());
    let _ = std::fs::remove_dir_all(dir);
}

/// Per service, (answers from the cache, answers fetched) of one query with the cache debug
/// header.
async fn cache_report(
    gateway: &Live,
    query: &str,
) -> std::collections::BTreeMap<String, (u64, u64)> {
    let response: Value = gateway
        .client
        .post(format!("{}/graphql", gateway.base))
        .header("x-cache-debug", "1")
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("JSON");
    assert!(response["errors"].is_null(), "{response}");
    let mut out = std::collections::BTreeMap::new();
    for report in response["extensions"]["cache"]
        .as_array()
        .expect("cache report")
    {
        let entry: &mut (u64, u64) = out
            .entry(report["service"].as_str().unwrap().to_string())
            .or_default();
        entry.0 += report["l1"].as_u64().unwrap_or(0) + report["l2"].as_u64().unwrap_or(0);
        entry.1 += report["fetched"].as_u64().unwrap_or(0);
    }
    out
}

/// A reload that changes one subgraph's part of the supergraph: that subgraph's cache entries
/// are not served under the new schema; the untouched subgraph's still are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_entries_of_a_changed_subgraph_are_not_served_across_the_swap() {
    let (_subgraphs, mut config) = demo_subgraphs().await;
    let dir = temp_dir("cache");
    let path = dir.join("supergraph.graphql");
    std::fs::write(&path, DEMO_SUPERGRAPH).unwrap();
    config.supergraph.path = Some(path.clone());
    config.supergraph.watch = true;
    config.supergraph.debounce_ms = 100;
    config.cache.enabled = true;
    config.cache.debug_header = Some("x-cache-debug".into());
    config.cache.defaults.mode = Some(gateway::cache::Mode::Ttl);
    config.cache.defaults.ttl_seconds = Some(60);
    let gateway = Live::start(config).await.expect("starts");
    // products answers topProducts, inventory the shipping estimates (an entity fetch).
    let query = "{ topProducts { upc shippingEstimate } }";
    let first = cache_report(&gateway, query).await;
    assert!(
        first["products"].1 > 0 && first["inventory"].1 > 0,
        "{first:?}"
    );
    let second = cache_report(&gateway, query).await;
    assert_eq!(second["products"].1, 0, "cached: {second:?}");
    assert_eq!(second["inventory"].1, 0, "cached: {second:?}");

    // The new supergraph drops inventory's inStock: inventory changed, products did not.
    replace_file(&path, &without_in_stock());
    wait_until(Duration::from_secs(10), || async {
        !answers_new_field(&gateway.query(NEW_FIELD).await.1)
    })
    .await
    .expect("the new supergraph is served");
    let after = cache_report(&gateway, query).await;
    assert!(
        after["products"].0 > 0 && after["products"].1 == 0,
        "products still cached: {after:?}"
    );
    assert!(
        after["inventory"].0 == 0 && after["inventory"].1 > 0,
        "inventory fetched again: {after:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
