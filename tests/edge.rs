//! Hostile clients at the connection layer: slow headers, too many connections, idle
//! keep-alives, large headers and bodies, slow subgraphs and clients that leave. Each limit is
//! tried just below and just above, against a real gateway on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use e2e::{Stack, listener};
use gateway::config::SubgraphConfig;
use gateway::edge::ServerConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a slow subgraph saw: requests that began, that it answered, and that were dropped
/// before it could (the gateway gave up on them and closed the connection).
#[derive(Default)]
struct Seen {
    started: AtomicUsize,
    answered: AtomicUsize,
    dropped: AtomicUsize,
}

/// Counts a request as dropped unless it was answered.
struct Answering(Arc<Seen>, bool);

impl Drop for Answering {
    fn drop(&mut self) {
        let counter = if self.1 {
            &self.0.answered
        } else {
            &self.0.dropped
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

/// An accounts subgraph that answers `{ me { id } }` after `delay`.
async fn slow_accounts(delay: Duration) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let counters = seen.clone();
    let router = Router::new().route(
        "/graphql",
        post(move || {
            let seen = counters.clone();
            async move {
                seen.started.fetch_add(1, Ordering::SeqCst);
                let mut answering = Answering(seen, false);
                tokio::time::sleep(delay).await;
                answering.1 = true;
                axum::Json(json!({ "data": { "me": { "id": "1" } } }))
            }
        }),
    );
    let (listener, address) = listener().await;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{address}/graphql"), seen)
}

/// The demo stack with `server` settings, and accounts at `accounts` when given.
async fn stack(server: ServerConfig, accounts: Option<String>) -> Stack {
    Stack::demo_with(|config| {
        config.server = server;
        // Each test's identical concurrent queries must each hold a subgraph request.
        config.subgraph_defaults.deduplicate = false;
        if let Some(url) = accounts {
            config.subgraphs.insert(
                "accounts".into(),
                SubgraphConfig {
                    url: Some(url),
                    ..Default::default()
                },
            );
        }
    })
    .await
}

fn address(stack: &Stack) -> SocketAddr {
    let authority = stack
        .gateway_url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql");
    authority.parse().expect("a socket address")
}

async fn health(stack: &Stack) -> reqwest::StatusCode {
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        reqwest::Client::new()
            .get(stack.gateway_url.replace("/graphql", "/health"))
            .send(),
    )
    .await
    .expect("served without hanging")
    .expect("gateway answers");
    response.status()
}

/// An HTTP/1.1 response read off a raw socket: the status line, and the body by its
/// Content-Length (`None` if the connection closed before a whole response).
async fn read_response(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buffer.len() < end + 4 + length {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return None,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                }
            }
            let body = String::from_utf8_lossy(&buffer[end + 4..end + 4 + length]).into_owned();
            return Some((head, body));
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Waits until the peer closes `stream` (EOF or reset), up to `limit`; returns how long it took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

async fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < Duration::from_secs(10), "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn slow_headers_are_cut_off_by_the_header_timeout_while_others_are_served() {
    let stack = stack(
        ServerConfig {
            header_read_timeout_ms: 1000,
            ..Default::default()
        },
        None,
    )
    .await;
    let address = address(&stack);
    let request = b"GET /health HTTP/1.1\r\nhost: gateway\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    // Slowloris: a header byte every 200 ms, never done within the timeout.
    let mut slow = Vec::new();
    for _ in 0..5 {
        slow.push(tokio::spawn(async move {
            let stream = TcpStream::connect(address).await.unwrap();
            let (mut reader, mut writer) = stream.into_split();
            let started = Instant::now();
            let drip = async {
                for byte in request {
                    if writer.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                std::future::pending::<()>().await;
            };
            let mut sink = [0u8; 1024];
            tokio::select! {
                () = drip => unreachable!(),
                read = reader.read(&mut sink) => {
                    // Nothing is ever answered to them, they are just closed.
                    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
                }
            }
            started.elapsed()
        }));
    }
    // Just below: the same request in 4 pieces, 150 ms apart, is complete in time.
    let mut patient = TcpStream::connect(address).await.unwrap();
    for piece in request.chunks(request.len().div_ceil(4)) {
        patient.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let (head, _) = read_response(&mut patient).await.expect("answered");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        health(&stack).await,
        200,
        "a normal client is served meanwhile"
    );
    for task in slow {
        let closed_after = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("closed, not left hanging")
            .unwrap();
        assert!(
            closed_after >= Duration::from_millis(900) && closed_after < Duration::from_secs(4),
            "closed after {closed_after:?}"
        );
    }
}

#[tokio::test]
async fn past_the_connection_cap_the_longest_idle_connections_make_room() {
    let stack = stack(
        ServerConfig {
            max_connections: Some(20),
            ..Default::default()
        },
        None,
    )
    .await;
    let address = address(&stack);
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(address).await.unwrap());
        // Accepted in this order, so idle in this order.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Just at the cap: nobody is closed.
    for stream in &mut idle {
        assert_eq!(
            closed_within(stream, Duration::from_millis(20)).await,
            None,
            "at the cap, no connection is closed"
        );
    }
    for _ in 0..10 {
        idle.push(TcpStream::connect(address).await.unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Ten above: the ten oldest idle ones were closed to admit the new ones.
    for (i, stream) in idle.iter_mut().enumerate().take(10) {
        assert!(
            closed_within(stream, Duration::from_secs(2))
                .await
                .is_some(),
            "idle connection {i} was evicted"
        );
    }
    for stream in idle.iter_mut().skip(10) {
        assert_eq!(
            closed_within(stream, Duration::from_millis(20)).await,
            None,
            "newer ones stay"
        );
    }
    assert_eq!(health(&stack).await, 200, "a real client still gets in");
    let response = stack.query("{ me { id } }").await;
    assert_eq!(response["data"]["me"]["id"], "1", "{response}");
}

#[tokio::test]
async fn when_every_connection_is_busy_the_next_one_gets_a_503_at_once() {
    let (accounts, seen) = slow_accounts(Duration::from_secs(3)).await;
    let stack = stack(
        ServerConfig {
            max_connections: Some(5),
            ..Default::default()
        },
        Some(accounts),
    )
    .await;
    let address = address(&stack);
    let busy_request = || {
        let url = stack.gateway_url.clone();
        tokio::spawn(async move {
            // A client each: a connection each.
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "query": "{ me { id } }" }))
                .send()
                .await
                .expect("answered")
                .json::<Value>()
                .await
                .expect("JSON")
        })
    };
    let mut busy: Vec<_> = (0..4).map(|_| busy_request()).collect();
    wait_for("4 requests in flight", || {
        seen.started.load(Ordering::SeqCst) == 4
    })
    .await;
    // Just below: a fifth connection is served (and then stays, idle).
    assert_eq!(health(&stack).await, 200);
    // The idle one makes room for a fifth busy one.
    busy.push(busy_request());
    wait_for("5 requests in flight", || {
        seen.started.load(Ordering::SeqCst) == 5
    })
    .await;
    // Just above: every connection busy, the sixth is refused, quickly and in GraphQL.
    let started = Instant::now();
    let mut refused = TcpStream::connect(address).await.unwrap();
    refused
        .write_all(b"GET /health HTTP/1.1\r\nhost: gateway\r\n\r\n")
        .await
        .unwrap();
    let (head, body) = tokio::time::timeout(Duration::from_secs(2), read_response(&mut refused))
        .await
        .expect("no hang")
        .expect("a whole response");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(head.to_ascii_lowercase().contains("connection: close"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "TOO_MANY_CONNECTIONS"
    );
    assert!(
        closed_within(&mut refused, Duration::from_secs(2))
            .await
            .is_some()
    );
    for request in busy {
        let response = request.await.unwrap();
        assert_eq!(response["data"]["me"]["id"], "1", "{response}");
    }
    assert_eq!(health(&stack).await, 200, "served again once they are done");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let stack = stack(
        ServerConfig {
            keep_alive_timeout_ms: 600,
            header_read_timeout_ms: 5000,
            ..Default::default()
        },
        None,
    )
    .await;
    let mut stream = TcpStream::connect(address(&stack)).await.unwrap();
    let request = b"GET /health HTTP/1.1\r\nhost: gateway\r\n\r\n";
    stream.write_all(request).await.unwrap();
    let (head, _) = read_response(&mut stream).await.expect("answered");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // Just below: a next request 300 ms later is served on the same connection.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(request).await.unwrap();
    let (head, _) = read_response(&mut stream).await.expect("kept alive");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // Just above: idle for longer, it is closed, about the timeout after the last response.
    let closed_after = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("closed");
    assert!(
        closed_after >= Duration::from_millis(500) && closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}"
    );
}

/// A raw request with `headers` headers of `bytes_each` bytes each; the response's status line.
async fn with_headers(address: SocketAddr, headers: usize, bytes_each: usize) -> String {
    let mut request = String::from("GET /health HTTP/1.1\r\nhost: gateway\r\n");
    for i in 0..headers {
        request.push_str(&format!("x-filler-{i}: {}\r\n", "a".repeat(bytes_each)));
    }
    request.push_str("\r\n");
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let (head, _) = tokio::time::timeout(Duration::from_secs(5), read_response(&mut stream))
        .await
        .expect("no hang")
        .expect("an answer");
    head.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn headers_past_their_limits_get_431() {
    let stack = stack(
        ServerConfig {
            max_header_bytes: 16 << 10,
            max_headers: 20,
            ..Default::default()
        },
        None,
    )
    .await;
    let address = address(&stack);
    // Bytes: one header of 15 KiB fits in 16 KiB, one of 17 KiB does not.
    assert_eq!(with_headers(address, 1, 15 << 10).await, "HTTP/1.1 200 OK");
    let status = with_headers(address, 1, 17 << 10).await;
    assert!(status.starts_with("HTTP/1.1 431"), "{status}");
    // Count: 18 fillers and `host` make 19 of 20; 25 are too many.
    assert_eq!(with_headers(address, 18, 10).await, "HTTP/1.1 200 OK");
    let status = with_headers(address, 25, 10).await;
    assert!(status.starts_with("HTTP/1.1 431"), "{status}");
    assert_eq!(health(&stack).await, 200);
}

/// A POST body of exactly `size` bytes: a query padded with spaces.
fn body_of(size: usize) -> String {
    let body = r#"{"query":"{ me { id } }"}"#;
    format!("{body}{}", " ".repeat(size - body.len()))
}

#[tokio::test]
async fn a_body_past_max_request_bytes_gets_413_with_a_graphql_error() {
    let stack = stack(
        ServerConfig {
            max_request_bytes: 4096,
            ..Default::default()
        },
        None,
    )
    .await;
    let post = |body: String, accept: &'static str| {
        stack
            .client()
            .post(&stack.gateway_url)
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(body)
            .send()
    };
    let response = post(body_of(4096), "application/json").await.unwrap();
    assert_eq!(response.status(), 200);
    let data: Value = response.json().await.unwrap();
    assert_eq!(data["data"]["me"]["id"], "1", "{data}");

    for (accept, content_type) in [
        ("application/json", "application/json; charset=utf-8"),
        (
            "application/graphql-response+json",
            "application/graphql-response+json; charset=utf-8",
        ),
    ] {
        let response = post(body_of(4097), accept).await.unwrap();
        assert_eq!(response.status(), 413);
        assert_eq!(response.headers()["content-type"], content_type);
        let error: Value = response.json().await.unwrap();
        assert_eq!(
            error["errors"][0]["extensions"]["code"], "REQUEST_TOO_LARGE",
            "{error}"
        );
    }

    // GET: the query string counts, against the same limit.
    let get = |padding: usize| {
        let query = format!("{{ me {{ id }} }}{}", " ".repeat(padding));
        stack
            .client()
            .get(&stack.gateway_url)
            .query(&[("query", query)])
            .header("apollo-require-preflight", "true")
            .send()
    };
    let response = get(3000).await.unwrap();
    assert_eq!(response.status(), 200);
    let response = get(4200).await.unwrap();
    assert_eq!(response.status(), 413);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error["errors"][0]["extensions"]["code"],
        "REQUEST_TOO_LARGE"
    );
}

#[tokio::test]
async fn a_request_past_its_timeout_gets_504_and_its_subgraph_fetch_is_dropped() {
    let (accounts, seen) = slow_accounts(Duration::from_secs(20)).await;
    let stack = stack(
        ServerConfig {
            request_timeout_ms: 700,
            ..Default::default()
        },
        Some(accounts),
    )
    .await;
    let started = Instant::now();
    let response = stack
        .client()
        .post(&stack.gateway_url)
        .json(&json!({ "query": "{ me { id } }" }))
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 504);
    assert!(
        elapsed >= Duration::from_millis(650) && elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["errors"][0]["extensions"]["code"], "GATEWAY_TIMEOUT");
    wait_for("the subgraph request is dropped", || {
        seen.dropped.load(Ordering::SeqCst) == 1
    })
    .await;
    // Just below: what the other subgraphs serve comes back in time.
    let response = stack.query(r#"{ product(upc: "1") { name } }"#).await;
    assert!(
        response["data"]["product"]["name"].is_string(),
        "{response}"
    );
    assert_eq!(health(&stack).await, 200);
}

#[tokio::test]
async fn a_client_that_leaves_mid_request_stops_the_work() {
    let (accounts, seen) = slow_accounts(Duration::from_secs(20)).await;
    let stack = stack(ServerConfig::default(), Some(accounts)).await;
    let body = r#"{"query":"{ me { id } }"}"#;
    let mut stream = TcpStream::connect(address(&stack)).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    wait_for("the subgraph request began", || {
        seen.started.load(Ordering::SeqCst) == 1
    })
    .await;
    drop(stream);
    let left = Instant::now();
    wait_for("the subgraph request is dropped", || {
        seen.dropped.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(left.elapsed() < Duration::from_secs(2));
    assert_eq!(seen.answered.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn http2_clients_are_served_with_prior_knowledge() {
    let stack = stack(ServerConfig::default(), None).await;
    let tcp = TcpStream::connect(address(&stack)).await.unwrap();
    let (mut client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2");
    tokio::spawn(connection);
    let request = http::Request::post(&stack.gateway_url)
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    send.send_data(
        bytes::Bytes::from_static(br#"{"query":"{ me { id } }"}"#),
        true,
    )
    .unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut data = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let data: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(data["data"]["me"]["id"], "1", "{data}");
}
