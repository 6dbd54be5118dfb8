//! Subgraphs that are hostile rather than merely broken: an endless answer, an answer that
//! announces a gigabyte, a server that takes connections and never answers, one that refuses
//! them, and entity answers that do not fit the request. The gateway bounds what each can
//! cost it (memory, sockets, client latency) and names the subgraph in the error.
//!
//! Each hostile subgraph is a raw TCP server written here (so that it can count sockets and
//! stream without buffering), standing in for inventory in the demo stack: the query
//! `{ product(upc: "1") { name inStock } }` asks products for the name, then inventory for
//! `inStock` in an entity fetch of one representation.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e::memory::{PeakMemory, resident_bytes};
use e2e::{Stack, listener};
use futures::future::{BoxFuture, join_all};
use gateway::config::SubgraphConfig;
use gateway::fetch::CircuitBreakerOverrides;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const QUERY: &str = r#"{ product(upc: "1") { name inStock } }"#;
const ANSWER: &str = r#"{"data":{"_entities":[{"inStock":true}]}}"#;

/// What a hostile server saw.
#[derive(Default)]
struct Stats {
    accepted: AtomicUsize,
    requests: AtomicUsize,
    open: AtomicUsize,
    max_open: AtomicUsize,
    body_bytes_sent: AtomicU64,
}

type Handler = Arc<dyn Fn(TcpStream, Arc<Stats>) -> BoxFuture<'static, ()> + Send + Sync>;

/// A TCP server on a free loopback port; each connection is served by `handler`.
struct Hostile {
    url: String,
    stats: Arc<Stats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hostile {
    async fn start<F, Fut>(handler: F) -> Hostile
    where
        F: Fn(TcpStream, Arc<Stats>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |stream, stats| Box::pin(handler(stream, stats)));
        let (listener, address) = listener().await;
        let stats = Arc::new(Stats::default());
        let counted = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let stats = counted.clone();
                stats.accepted.fetch_add(1, Ordering::SeqCst);
                let open = stats.open.fetch_add(1, Ordering::SeqCst) + 1;
                stats.max_open.fetch_max(open, Ordering::SeqCst);
                let handler = handler.clone();
                tokio::spawn(async move {
                    handler(stream, stats.clone()).await;
                    stats.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Hostile {
            url: format!("http://{address}/graphql"),
            stats,
            task,
        }
    }

    fn count(&self, counter: fn(&Stats) -> &AtomicUsize) -> usize {
        counter(&self.stats).load(Ordering::SeqCst)
    }
}

/// Reads one HTTP/1.1 request (head and `Content-Length` body); false when the client
/// closed the connection instead.
async fn read_request(stream: &mut TcpStream, stats: &Stats) -> bool {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                stats.requests.fetch_add(1, Ordering::SeqCst);
                return true;
            }
        }
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => data.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Holds the connection, answering nothing, until the client closes it.
async fn hold(mut stream: TcpStream) {
    let mut buffer = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buffer).await {
        if n == 0 {
            return;
        }
    }
}

async fn answer(stream: &mut TcpStream, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await
}

/// The demo stack with inventory at `url`, with `adjust` applied to its config.
async fn stack_with_inventory(url: &str, adjust: impl FnOnce(&mut SubgraphConfig)) -> Stack {
    let mut inventory = SubgraphConfig {
        url: Some(url.to_string()),
        ..Default::default()
    };
    adjust(&mut inventory);
    Stack::demo_with(|config| {
        config.subgraphs.insert("inventory".into(), inventory);
    })
    .await
}

/// The error of a response where inventory failed, checked to name inventory; returns its
/// code.
fn inventory_error(response: &Value) -> String {
    assert_eq!(response["data"], json!({ "product": null }), "{response}");
    // First the error saying why; then the shaping's own "Cannot return null" for
    // `inStock: Boolean!`.
    let error = &response["errors"][0];
    assert_eq!(
        error["extensions"]["serviceName"], "inventory",
        "{response}"
    );
    assert_eq!(error["path"], json!(["product"]), "{response}");
    let code = error["extensions"]["code"].as_str().expect("a code");
    // The gateway's own errors name the subgraph in the message too.
    if code.starts_with("SUBGRAPH_") {
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("\"inventory\"")),
            "{response}"
        );
    }
    code.to_string()
}

fn assert_served(response: &Value) {
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["product"]["inStock"], true, "{response}");
}

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn a_200_mb_answer_is_cut_off_at_the_limit_without_being_held() {
    const TOTAL: u64 = 200 * MIB;
    const LIMIT: u64 = 16 * MIB;
    // A chunked answer generated on the fly: a plausible start, then padding, 64 KiB a chunk.
    let hostile = Hostile::start(|mut stream, stats| async move {
        if !read_request(&mut stream, &stats).await {
            return;
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let mut chunk = br#"{"data":{"_entities":[{"inStock":true,"padding":""#.to_vec();
        chunk.resize(64 * 1024, b'x');
        let frame = [
            format!("{:x}\r\n", chunk.len()).into_bytes(),
            chunk,
            b"\r\n".to_vec(),
        ]
        .concat();
        let mut sent = 0;
        while sent < TOTAL {
            if stream.write_all(&frame).await.is_err() {
                return; // The gateway hung up.
            }
            sent += 64 * 1024;
            stats.body_bytes_sent.fetch_add(64 * 1024, Ordering::SeqCst);
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    })
    .await;
    let stack = stack_with_inventory(&hostile.url, |inventory| {
        inventory.max_response_bytes = Some(LIMIT);
        inventory.timeout_ms = Some(60_000);
    })
    .await;
    // Warm up (connections, plan cache) before the baseline.
    let _ = stack.query(r#"{ product(upc: "1") { name } }"#).await;

    let before = resident_bytes();
    let peak = PeakMemory::start();
    let response = stack.query(QUERY).await;
    let peak = peak.stop();

    assert_eq!(inventory_error(&response), "SUBGRAPH_RESPONSE_TOO_LARGE");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(&LIMIT.to_string()), "{message}");
    let growth = peak.saturating_sub(before);
    assert!(
        growth < LIMIT + 50 * MIB,
        "resident memory grew by {} MiB while refusing the answer",
        growth / MIB
    );
    // The gateway stopped reading near the limit: what the server got out is the limit plus
    // what the sockets' buffers took, far from the whole answer.
    let sent = hostile.stats.body_bytes_sent.load(Ordering::SeqCst);
    assert!(
        (LIMIT..100 * MIB).contains(&sent),
        "{} MiB sent",
        sent / MIB
    );
}

#[tokio::test]
async fn answers_of_exactly_the_limit_pass_and_one_byte_more_is_refused() {
    const LIMIT: usize = 4096;
    // The answer padded with trailing whitespace (still valid JSON) to the size asked for,
    // with a Content-Length or, when `chunked`, in two chunks without one.
    let size = Arc::new(AtomicUsize::new(0));
    let chunked = Arc::new(AtomicBool::new(false));
    let (wanted, framing) = (size.clone(), chunked.clone());
    let hostile = Hostile::start(move |mut stream, stats| {
        let (wanted, framing) = (wanted.clone(), framing.clone());
        async move {
            while read_request(&mut stream, &stats).await {
                let size = wanted.load(Ordering::SeqCst);
                let body = format!("{ANSWER:<size$}");
                assert_eq!(body.len(), size);
                let written = if framing.load(Ordering::SeqCst) {
                    let (a, b) = body.split_at(size / 2);
                    let text = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         transfer-encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                        a.len(),
                        b.len()
                    );
                    stream.write_all(text.as_bytes()).await
                } else {
                    answer(&mut stream, &body).await
                };
                if written.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    let stack = stack_with_inventory(&hostile.url, |inventory| {
        inventory.max_response_bytes = Some(LIMIT as u64);
    })
    .await;
    for framed_by_chunks in [false, true] {
        chunked.store(framed_by_chunks, Ordering::SeqCst);
        size.store(LIMIT, Ordering::SeqCst);
        assert_served(&stack.query(QUERY).await);
        size.store(LIMIT + 1, Ordering::SeqCst);
        let response = stack.query(QUERY).await;
        assert_eq!(inventory_error(&response), "SUBGRAPH_RESPONSE_TOO_LARGE");
    }
    // An answer too large says nothing about the subgraph being down: the breaker stays
    // closed, and the next answer is served.
    size.store(LIMIT, Ordering::SeqCst);
    assert_served(&stack.query(QUERY).await);
    assert_eq!(circuit_open(&stack, "inventory").await, Some(false));
}

#[tokio::test]
async fn a_content_length_above_the_limit_is_refused_before_reading_the_body() {
    // Announces a gigabyte, then sends nothing: reading the body would wait out the timeout.
    let hostile = Hostile::start(|mut stream, stats| async move {
        if read_request(&mut stream, &stats).await {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                        content-length: 1000000000\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            hold(stream).await;
        }
    })
    .await;
    let stack = stack_with_inventory(&hostile.url, |inventory| {
        inventory.max_response_bytes = Some(MIB);
        inventory.timeout_ms = Some(30_000);
    })
    .await;
    let started = Instant::now();
    let response = stack.query(QUERY).await;
    assert_eq!(inventory_error(&response), "SUBGRAPH_RESPONSE_TOO_LARGE");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "refused at once, not after the 30 s timeout: {:?}",
        started.elapsed()
    );
    // The gateway hung up on it rather than keeping a connection with a gigabyte pending.
    wait_until("the connection is closed", || {
        hostile.count(|s| &s.open) == 0
    })
    .await;
}

/// Polls `condition` for up to 10 s.
async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_subgraph_that_never_answers_gets_at_most_max_connections() {
    const MAX: usize = 3;
    let hostile = Hostile::start(|mut stream, stats| async move {
        if read_request(&mut stream, &stats).await {
            hold(stream).await;
        }
    })
    .await;
    let stack = stack_with_inventory(&hostile.url, |inventory| {
        inventory.max_connections = Some(MAX);
        inventory.timeout_ms = Some(1_500);
        inventory.circuit_breaker.enabled = Some(false);
    })
    .await;
    for round in 0..2 {
        let started = Instant::now();
        let responses = join_all((0..30).map(|_| stack.query(QUERY))).await;
        // Waiting for a connection counts in the timeout: nobody waits much past it.
        assert!(started.elapsed() < Duration::from_secs(10), "round {round}");
        for response in &responses {
            assert_eq!(
                inventory_error(response),
                "SUBGRAPH_TIMEOUT",
                "round {round}"
            );
        }
        let max_open = hostile.count(|s| &s.max_open);
        assert!(
            (1..=MAX).contains(&max_open),
            "{max_open} connections open at once (cap {MAX})"
        );
        // Given-up requests close their connections, so the next round starts from zero.
        wait_until("the connections are closed", || {
            hostile.count(|s| &s.open) == 0
        })
        .await;
    }
}

#[tokio::test]
async fn the_breaker_opens_on_timeouts_fails_fast_and_closes_after_a_probe() {
    const TIMEOUT: Duration = Duration::from_millis(2_000);
    const OPEN: Duration = Duration::from_millis(3_000);
    let healthy = Arc::new(AtomicBool::new(false));
    let up = healthy.clone();
    let hostile = Hostile::start(move |mut stream, stats| {
        let up = up.clone();
        async move {
            while read_request(&mut stream, &stats).await {
                if !up.load(Ordering::SeqCst) {
                    return hold(stream).await;
                }
                if answer(&mut stream, ANSWER).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    let stack = stack_with_inventory(&hostile.url, |inventory| {
        inventory.timeout_ms = Some(TIMEOUT.as_millis() as u64);
        inventory.circuit_breaker = CircuitBreakerOverrides {
            failure_threshold: Some(2),
            open_ms: Some(OPEN.as_millis() as u64),
            ..Default::default()
        };
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            inventory_error(&stack.query(QUERY).await),
            "SUBGRAPH_TIMEOUT"
        );
    }
    let opened = Instant::now();
    let seen = hostile.count(|s| &s.requests);
    assert_eq!(seen, 2);
    for _ in 0..5 {
        let started = Instant::now();
        let response = stack.query(QUERY).await;
        assert_eq!(inventory_error(&response), "SUBGRAPH_UNAVAILABLE");
        assert!(
            started.elapsed() < TIMEOUT / 2,
            "failed fast: {:?}",
            started.elapsed()
        );
    }
    assert!(
        opened.elapsed() < OPEN,
        "the machine is too slow for this test's timing"
    );
    assert_eq!(
        hostile.count(|s| &s.requests),
        seen,
        "an open breaker does not contact the subgraph"
    );
    assert_eq!(circuit_open(&stack, "inventory").await, Some(true));
    assert_eq!(circuit_open(&stack, "products").await, Some(false));

    // The subgraph recovers; after the open delay one probe goes through and closes it.
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(OPEN.saturating_sub(opened.elapsed()) + Duration::from_millis(500)).await;
    assert_served(&stack.query(QUERY).await);
    assert_eq!(hostile.count(|s| &s.requests), seen + 1, "one probe");
    for _ in 0..3 {
        assert_served(&stack.query(QUERY).await);
    }
    assert_eq!(circuit_open(&stack, "inventory").await, Some(false));
}

#[tokio::test]
async fn refused_connections_trip_the_breaker_too() {
    // A socket bound but not listening: connections to its port are refused, and the port
    // stays taken (a dropped listener's port could go to a server another test starts).
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().unwrap())
        .expect("bind loopback");
    let address = socket.local_addr().expect("local address");
    let stack = stack_with_inventory(&format!("http://{address}/graphql"), |inventory| {
        inventory.circuit_breaker.failure_threshold = Some(2);
        inventory.circuit_breaker.open_ms = Some(60_000);
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            inventory_error(&stack.query(QUERY).await),
            "SUBGRAPH_UNREACHABLE"
        );
    }
    assert_eq!(
        inventory_error(&stack.query(QUERY).await),
        "SUBGRAPH_UNAVAILABLE"
    );
    assert_eq!(circuit_open(&stack, "inventory").await, Some(true));
    // What inventory does not own is still served.
    let response = stack.query(r#"{ product(upc: "1") { name } }"#).await;
    assert!(
        response["data"]["product"]["name"].is_string(),
        "{response}"
    );
}

#[tokio::test]
async fn entity_answers_that_do_not_fit_the_request_name_the_subgraph() {
    let body = Arc::new(Mutex::new(String::new()));
    let current = body.clone();
    let hostile = Hostile::start(move |mut stream, stats| {
        let current = current.clone();
        async move {
            while read_request(&mut stream, &stats).await {
                let body = current.lock().unwrap().clone();
                if answer(&mut stream, &body).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    let stack = stack_with_inventory(&hostile.url, |_| {}).await;
    let answering = |text: &str| *body.lock().unwrap() = text.to_string();
    for invalid in [
        r#"{"data":{}}"#,
        r#"{"data":null}"#,
        r#"{"data":{"_entities":null}}"#,
        r#"{"data":{"_entities":[]}}"#,
        r#"{"data":{"_entities":[{"inStock":true},{"inStock":false}]}}"#,
        r#"{"data":{"_entities":{"inStock":true}}}"#,
    ] {
        answering(invalid);
        let response = stack.query(QUERY).await;
        assert_eq!(
            inventory_error(&response),
            "SUBGRAPH_INVALID_RESPONSE",
            "{invalid}"
        );
        // `"data": null` without errors is no GraphQL response at all, whatever was asked.
        let why = if invalid == r#"{"data":null}"# {
            "neither `data` nor `errors`"
        } else {
            "_entities"
        };
        assert!(
            response["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(why),
            "{response}"
        );
    }
    // No `_entities` with errors that say why is a GraphQL answer: its errors are relayed.
    answering(r#"{"data":null,"errors":[{"message":"inventory is closed"}]}"#);
    let response = stack.query(QUERY).await;
    assert_eq!(inventory_error(&response), "DOWNSTREAM_SERVICE_ERROR");
    assert_eq!(response["errors"][0]["message"], "inventory is closed");
    answering(ANSWER);
    assert_served(&stack.query(QUERY).await);
}

/// Whether `/metrics` says the breaker of `subgraph` is open (`None`: no such line).
async fn circuit_open(stack: &Stack, subgraph: &str) -> Option<bool> {
    let metrics = stack.metrics().await;
    let line = format!("gateway_subgraph_circuit_open{{subgraph=\"{subgraph}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .map(|value| value == "1")
}
