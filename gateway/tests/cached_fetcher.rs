//! The caching fetcher between the executor and canned subgraphs (the demo supergraph, no
//! network): entities cached one by one, what is never stored (errors, `no-store`, private
//! data without a user), invalidation by key, per-user scopes, and concurrent misses sharing
//! one subgraph request.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gateway::cache::{Cache, CacheConfig, Invalidation, Mode, PolicyConfig, SubgraphPolicyConfig};
use gateway::executor::{
    FetchError, FetchFuture, FetchRequest, Fetcher, RequestContext, SubgraphResponse,
};
use gateway::fetch::CachedFetcher;
use gateway::gateway::{Gateway, GraphQLRequest, Transport};
use gateway::response::{GraphQLError, PathElement};
use gateway::startup::load_supergraph;
use serde_json::{Value, json};

/// How the canned reviews service answers one product.
#[derive(Clone, Copy, PartialEq)]
enum Reviews {
    Fine,
    /// An error at `_entities.<i>.reviews`, and `null` for the entity.
    Failing,
}

/// The products service lists `listed` at once; the reviews service answers every product, as
/// `answer` says, after `delay`. Every `_entities` request to reviews is recorded (the upcs).
struct Services {
    listed: Mutex<Vec<&'static str>>,
    answer: Mutex<fn(&str) -> Reviews>,
    cache_control: Mutex<Option<&'static str>>,
    /// Appended to every review body: what a change to the reviews looks like.
    edition: Mutex<&'static str>,
    /// Every request to reviews fails (unreachable).
    down: std::sync::atomic::AtomicBool,
    delay: Duration,
    reviews_asked: Mutex<Vec<Vec<String>>>,
}

impl Services {
    fn new(listed: &[&'static str]) -> Arc<Self> {
        Self::with_delay(listed, Duration::ZERO)
    }

    fn with_delay(listed: &[&'static str], delay: Duration) -> Arc<Self> {
        Arc::new(Services {
            listed: Mutex::new(listed.to_vec()),
            answer: Mutex::new(|_| Reviews::Fine),
            cache_control: Mutex::new(None),
            edition: Mutex::new(""),
            down: std::sync::atomic::AtomicBool::new(false),
            delay,
            reviews_asked: Mutex::new(Vec::new()),
        })
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// The upcs each reviews request asked for, since the last call.
    fn asked(&self) -> Vec<Vec<String>> {
        std::mem::take(&mut *self.reviews_asked.lock().unwrap())
    }

    fn answer(&self, request: &FetchRequest) -> Result<SubgraphResponse, FetchError> {
        match &*request.subgraph_name {
            "products" => {
                let listed = self.listed.lock().unwrap().clone();
                let products: Vec<Value> = listed
                    .iter()
                    .map(|upc| json!({ "__typename": "Product", "upc": upc }))
                    .collect();
                Ok(SubgraphResponse {
                    data: Some(json!({ "topProducts": products }).into()),
                    ..Default::default()
                })
            }
            "reviews" => {
                let representations = &request.entities.as_ref().unwrap().representations;
                let upcs: Vec<String> = representations
                    .iter()
                    .map(|r| r["upc"].as_str().unwrap().to_string())
                    .collect();
                if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                    self.reviews_asked.lock().unwrap().push(upcs);
                    return Err(FetchError::Unreachable("reviews is down".into()));
                }
                let answer = *self.answer.lock().unwrap();
                let edition = *self.edition.lock().unwrap();
                let mut errors = Vec::new();
                let entities: Vec<Value> = upcs
                    .iter()
                    .enumerate()
                    .map(|(i, upc)| match answer(upc) {
                        Reviews::Fine => {
                            json!({ "reviews": [{ "body": format!("about {upc}{edition}") }] })
                        }
                        Reviews::Failing => {
                            let mut error = GraphQLError::new(format!("no reviews for {upc}"));
                            error.path = Some(vec![
                                PathElement::Key("_entities".into()),
                                PathElement::Index(i),
                                PathElement::Key("reviews".into()),
                            ]);
                            errors.push(error);
                            Value::Null
                        }
                    })
                    .collect();
                self.reviews_asked.lock().unwrap().push(upcs);
                Ok(SubgraphResponse {
                    data: Some(json!({ "_entities": entities }).into()),
                    errors,
                    cache_control: self.cache_control.lock().unwrap().map(String::from),
                    ..Default::default()
                })
            }
            other => panic!("the query does not reach {other}"),
        }
    }
}

impl Fetcher for Services {
    fn fetch(&self, request: FetchRequest) -> FetchFuture<'_> {
        Box::pin(async move {
            if request.subgraph_name.as_ref() == "reviews" {
                tokio::time::sleep(self.delay).await;
            }
            self.answer(&request)
        })
    }
}

/// A gateway over the demo supergraph with reviews cached by `reviews_policy` (products is
/// never cached, so the list always comes from the canned service).
fn gateway(services: Arc<Services>, reviews_policy: PolicyConfig) -> (Gateway, Arc<Cache>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema/supergraph.graphql");
    let supergraph = Arc::new(load_supergraph(&path).unwrap());
    let config = CacheConfig {
        enabled: true,
        subgraphs: [(
            "reviews".to_string(),
            SubgraphPolicyConfig {
                policy: reviews_policy,
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    let cache = Cache::new(config).unwrap();
    let fetcher = CachedFetcher::new(services, cache.clone(), supergraph.clone());
    let planning = gateway::config::QueryPlanningConfig::default();
    (
        Gateway::new(supergraph, fetcher.into_shared(), &planning),
        cache,
    )
}

fn mode(mode: Mode) -> PolicyConfig {
    PolicyConfig {
        mode: Some(mode),
        ..Default::default()
    }
}

const QUERY: &str = "{ topProducts { upc reviews { body } } }";

async fn run_as(gateway: &Gateway, user: Option<&str>) -> Value {
    let request = GraphQLRequest {
        query: Some(QUERY.into()),
        ..Default::default()
    };
    let context = Arc::new(RequestContext {
        user: user.map(String::from),
        ..Default::default()
    });
    let (_, response) = gateway.execute(request, Transport::Post, context).await;
    serde_json::to_value(response).unwrap()
}

async fn run(gateway: &Gateway) -> Value {
    run_as(gateway, None).await
}

fn bodies(response: &Value) -> Vec<String> {
    response["data"]["topProducts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reviews"][0]["body"].as_str().unwrap_or("-").to_string())
        .collect()
}

fn upcs(list: &[&str]) -> Vec<Vec<String>> {
    vec![list.iter().map(|s| s.to_string()).collect()]
}

#[tokio::test]
async fn a_fetch_asks_the_subgraph_only_for_the_entities_it_lacks() {
    let services = Services::new(&["1", "2", "3"]);
    let (gateway, _) = gateway(services.clone(), mode(Mode::Events));
    let first = run(&gateway).await;
    assert_eq!(bodies(&first), ["about 1", "about 2", "about 3"]);
    assert_eq!(services.asked(), upcs(&["1", "2", "3"]));

    *services.listed.lock().unwrap() = vec!["3", "4", "1"];
    let second = run(&gateway).await;
    assert_eq!(bodies(&second), ["about 3", "about 4", "about 1"]);
    assert_eq!(services.asked(), upcs(&["4"]), "only the new product");

    let third = run(&gateway).await;
    assert_eq!(third, second);
    assert!(services.asked().is_empty(), "everything cached");
}

#[tokio::test]
async fn mode_none_never_caches() {
    let services = Services::new(&["1", "2"]);
    let (gateway, _) = gateway(services.clone(), mode(Mode::None));
    run(&gateway).await;
    run(&gateway).await;
    assert_eq!(services.asked().len(), 2);
}

#[tokio::test]
async fn entities_that_failed_are_not_stored() {
    let services = Services::new(&["1", "2", "3"]);
    *services.answer.lock().unwrap() = |upc| match upc {
        "2" => Reviews::Failing,
        _ => Reviews::Fine,
    };
    let (gateway, _) = gateway(services.clone(), mode(Mode::Events));
    let first = run(&gateway).await;
    assert_eq!(
        first["errors"][0]["path"],
        json!(["topProducts", 1, "reviews"]),
        "{first}"
    );
    assert_eq!(services.asked(), upcs(&["1", "2", "3"]));

    *services.answer.lock().unwrap() = |_| Reviews::Fine;
    let second = run(&gateway).await;
    assert_eq!(bodies(&second), ["about 1", "about 2", "about 3"]);
    assert!(second.get("errors").is_none(), "{second}");
    assert_eq!(services.asked(), upcs(&["2"]), "only the one that failed");
}

#[tokio::test]
async fn no_store_answers_are_not_stored() {
    let services = Services::new(&["1"]);
    *services.cache_control.lock().unwrap() = Some("no-store");
    let (gateway, _) = gateway(services.clone(), mode(Mode::Events));
    run(&gateway).await;
    run(&gateway).await;
    assert_eq!(services.asked().len(), 2);
}

/// What a change event of the reviews service about products does.
fn invalidate_products(cache: &Cache, keys: Vec<Value>) {
    let invalidation = Invalidation {
        subgraph: "reviews".into(),
        type_name: Some("Product".into()),
        keys: keys.into_iter().map(Into::into).collect(),
    };
    cache.invalidate(&invalidation, cache.local_version());
}

#[tokio::test]
async fn an_invalidation_by_key_refetches_that_entity_alone() {
    let services = Services::new(&["1", "2", "3"]);
    let (gateway, cache) = gateway(services.clone(), mode(Mode::Events));
    run(&gateway).await;
    services.asked();
    invalidate_products(&cache, vec![json!({ "upc": "2" })]);
    run(&gateway).await;
    assert_eq!(services.asked(), upcs(&["2"]));
    // A whole-type invalidation refetches them all.
    invalidate_products(&cache, vec![]);
    run(&gateway).await;
    assert_eq!(services.asked(), upcs(&["1", "2", "3"]));
}

#[tokio::test]
async fn private_data_is_cached_per_user_and_never_without_one() {
    let services = Services::new(&["1"]);
    let policy = PolicyConfig {
        mode: Some(Mode::Events),
        private: Some(true),
        ..Default::default()
    };
    let (gateway, _) = gateway(services.clone(), policy);
    run(&gateway).await;
    run(&gateway).await;
    assert_eq!(services.asked().len(), 2, "no user: not cached");

    run_as(&gateway, Some("ada")).await;
    run_as(&gateway, Some("ada")).await;
    assert_eq!(services.asked().len(), 1, "cached for ada");
    run_as(&gateway, Some("grace")).await;
    assert_eq!(services.asked().len(), 1, "grace does not see ada's entry");
}

#[tokio::test]
async fn concurrent_misses_share_one_subgraph_request() {
    let services = Services::with_delay(&["1", "2"], Duration::from_millis(100));
    let (gateway, _) = gateway(services.clone(), mode(Mode::Events));
    let responses = futures::future::join_all((0..4).map(|_| run(&gateway))).await;
    for response in &responses {
        assert_eq!(bodies(response), ["about 1", "about 2"]);
    }
    assert_eq!(
        services.asked(),
        upcs(&["1", "2"]),
        "one request for four clients"
    );
}

fn stale_policy(while_revalidate: u64, if_error: u64) -> PolicyConfig {
    PolicyConfig {
        mode: Some(Mode::Events),
        stale_while_revalidate_seconds: Some(while_revalidate),
        stale_if_error_seconds: Some(if_error),
        ..Default::default()
    }
}

/// Waits until the reviews service has been asked something; what it was asked.
async fn asked_eventually(services: &Services) -> Vec<Vec<String>> {
    for _ in 0..200 {
        let asked = services.asked();
        if !asked.is_empty() {
            return asked;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the reviews service was never asked");
}

#[tokio::test]
async fn a_stale_entity_is_served_at_once_and_refreshed_in_the_background() {
    let services = Services::with_delay(&["1", "2"], Duration::from_millis(50));
    let (gateway, cache) = gateway(services.clone(), stale_policy(60, 0));
    run(&gateway).await;
    services.asked();
    *services.edition.lock().unwrap() = " (edited)";
    invalidate_products(&cache, vec![json!({ "upc": "1" })]);

    let stale = run(&gateway).await;
    assert_eq!(
        bodies(&stale),
        ["about 1", "about 2"],
        "stale, not waited for"
    );
    assert!(stale.get("errors").is_none(), "{stale}");
    assert_eq!(
        asked_eventually(&services).await,
        upcs(&["1"]),
        "one refresh"
    );

    let refreshed = run(&gateway).await;
    assert_eq!(bodies(&refreshed), ["about 1 (edited)", "about 2"]);
    assert!(services.asked().is_empty(), "the refresh was stored");
    assert_eq!(
        cache
            .stats()
            .get("reviews", "Product", gateway::cache::Outcome::Stale),
        1
    );
}

#[tokio::test]
async fn concurrent_readers_of_a_stale_entity_start_one_refresh() {
    let services = Services::with_delay(&["1"], Duration::from_millis(100));
    let (gateway, cache) = gateway(services.clone(), stale_policy(60, 0));
    run(&gateway).await;
    services.asked();
    invalidate_products(&cache, vec![]);
    let responses = futures::future::join_all((0..8).map(|_| run(&gateway))).await;
    for response in &responses {
        assert_eq!(bodies(response), ["about 1"]);
    }
    assert_eq!(asked_eventually(&services).await, upcs(&["1"]));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(services.asked().is_empty(), "one refresh for eight readers");
}

#[tokio::test]
async fn without_stale_while_revalidate_a_stale_entity_is_waited_for() {
    let services = Services::new(&["1"]);
    let (gateway, cache) = gateway(services.clone(), stale_policy(0, 60));
    run(&gateway).await;
    *services.edition.lock().unwrap() = " (edited)";
    invalidate_products(&cache, vec![]);
    assert_eq!(bodies(&run(&gateway).await), ["about 1 (edited)"]);
}

#[tokio::test]
async fn a_failing_subgraph_is_answered_from_entries_within_stale_if_error() {
    let services = Services::new(&["1", "2"]);
    let (gateway, cache) = gateway(services.clone(), stale_policy(0, 60));
    run(&gateway).await;
    services.asked();
    invalidate_products(&cache, vec![]);
    services.set_down(true);

    let rescued = run(&gateway).await;
    assert_eq!(bodies(&rescued), ["about 1", "about 2"]);
    assert!(rescued.get("errors").is_none(), "{rescued}");
    assert_eq!(
        services.asked(),
        upcs(&["1", "2"]),
        "the subgraph was tried"
    );
    assert_eq!(
        cache
            .stats()
            .get("reviews", "Product", gateway::cache::Outcome::Stale),
        2
    );

    services.set_down(false);
    *services.edition.lock().unwrap() = " (edited)";
    let healed = run(&gateway).await;
    assert_eq!(bodies(&healed), ["about 1 (edited)", "about 2 (edited)"]);
}

#[tokio::test]
async fn an_entity_that_failed_is_answered_from_its_stale_entry_and_its_error_dropped() {
    let services = Services::new(&["1", "2"]);
    let (gateway, cache) = gateway(services.clone(), stale_policy(0, 60));
    run(&gateway).await;
    invalidate_products(&cache, vec![]);
    *services.edition.lock().unwrap() = " (edited)";
    *services.answer.lock().unwrap() = |upc| match upc {
        "2" => Reviews::Failing,
        _ => Reviews::Fine,
    };
    let response = run(&gateway).await;
    assert_eq!(bodies(&response), ["about 1 (edited)", "about 2"]);
    assert!(response.get("errors").is_none(), "{response}");
}

#[tokio::test]
async fn a_failure_with_an_entity_lacking_a_stale_entry_is_an_error() {
    let services = Services::new(&["1"]);
    let (gateway, cache) = gateway(services.clone(), stale_policy(0, 60));
    run(&gateway).await;
    invalidate_products(&cache, vec![]);
    *services.listed.lock().unwrap() = vec!["1", "3"];
    services.set_down(true);
    assert_unreachable(&run(&gateway).await);
}

#[tokio::test]
async fn past_stale_if_error_a_failing_subgraph_is_an_error() {
    let services = Services::new(&["1"]);
    let (gateway, cache) = gateway(services.clone(), stale_policy(0, 1));
    run(&gateway).await;
    invalidate_products(&cache, vec![]);
    services.set_down(true);
    assert!(
        run(&gateway).await.get("errors").is_none(),
        "within the window"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_unreachable(&run(&gateway).await);
}

#[tokio::test]
async fn entries_without_a_stale_window_are_never_served_stale() {
    let services = Services::new(&["1"]);
    let (gateway, cache) = gateway(services.clone(), mode(Mode::Events));
    run(&gateway).await;
    invalidate_products(&cache, vec![]);
    services.set_down(true);
    assert_unreachable(&run(&gateway).await);
}

fn assert_unreachable(response: &Value) {
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "SUBGRAPH_UNREACHABLE",
        "{response}"
    );
}

/// Versions come from the event stream's clock, which can run ahead of this instance's: an
/// entry invalidated "in the future" is stale now, not stale for a negative time.
#[tokio::test]
async fn an_invalidation_dated_ahead_of_the_clock_is_not_served_stale() {
    for policy in [mode(Mode::Events), stale_policy(0, 0), stale_policy(0, 60)] {
        let services = Services::new(&["1"]);
        let (gateway, cache) = gateway(services.clone(), policy);
        run(&gateway).await;
        *services.edition.lock().unwrap() = " (edited)";
        let ahead_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 5_000;
        let invalidation = Invalidation {
            subgraph: "reviews".into(),
            type_name: Some("Product".into()),
            keys: Vec::new(),
        };
        cache.invalidate(&invalidation, ahead_ms << 64);
        assert_eq!(bodies(&run(&gateway).await), ["about 1 (edited)"]);
    }
}

/// A request that started before an invalidation may answer with what the invalidation
/// replaced: a miss after the invalidation (a read after a write) must not join it.
#[tokio::test]
async fn a_miss_after_an_invalidation_does_not_join_a_request_started_before_it() {
    let services = Services::with_delay(&["1"], Duration::from_millis(200));
    let (gateway, cache) = gateway(services.clone(), mode(Mode::Events));
    let before = run(&gateway);
    let after = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        invalidate_products(&cache, vec![json!({ "upc": "1" })]);
        run(&gateway).await
    };
    let (before, after) = futures::join!(before, after);
    assert_eq!(bodies(&before), ["about 1"]);
    assert_eq!(bodies(&after), ["about 1"]);
    assert_eq!(
        services.asked(),
        [upcs(&["1"]), upcs(&["1"])].concat(),
        "two requests: the second started after the invalidation"
    );
}
