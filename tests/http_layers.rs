//! The edge's HTTP layers over real HTTP: CORS (preflight and actual request, from allowed and
//! other origins), response compression by `Accept-Encoding`, request decompression by
//! `Content-Encoding` (and a zip bomb refused at the size limit), and compressed subgraph
//! answers.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use e2e::memory::PeakMemory;
use e2e::{Stack, listener};
use gateway::config::SubgraphConfig;
use gateway::edge::cors::CorsConfig;
use reqwest::Method;
use serde_json::{Value, json};

const APP_ORIGIN: &str = "http://127.0.0.1:5173";
const OTHER_ORIGIN: &str = "http://127.0.0.1:6666";

/// An answer of several kilobytes from three subgraphs.
const LARGE_QUERY: &str =
    "{ topProducts(first: 5) { upc name price reviews { body author { username name } } } }";

fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

async fn preflight(stack: &Stack, origin: &str) -> reqwest::Response {
    stack
        .client()
        .request(Method::OPTIONS, &stack.gateway_url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .send()
        .await
        .unwrap()
}

async fn post_from(stack: &Stack, origin: &str, query: &str) -> reqwest::Response {
    stack
        .client()
        .post(&stack.gateway_url)
        .header("origin", origin)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_allowed_origin_is_preflighted_and_answered_with_cors_headers() {
    let stack = Stack::demo_with(|config| {
        config.cors = CorsConfig {
            origins: vec![APP_ORIGIN.into()],
            allow_credentials: true,
            expose_headers: vec!["content-encoding".into()],
            max_age_seconds: Some(600),
            ..Default::default()
        }
    })
    .await;
    let response = preflight(&stack, APP_ORIGIN).await;
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], APP_ORIGIN);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["access-control-max-age"], "600");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("authorization"), "{allowed}");
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    assert!(
        headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("origin")),
        "{headers:?}"
    );

    let response = post_from(&stack, APP_ORIGIN, "{ me { id } }").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        APP_ORIGIN
    );
    assert_eq!(
        response.headers()["access-control-expose-headers"],
        "content-encoding"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "data": { "me": { "id": "1" } } }));
}

#[tokio::test]
async fn another_origin_gets_no_cors_header_and_its_preflight_is_refused() {
    let stack = Stack::demo_with(|config| {
        config.cors = CorsConfig {
            origins: vec![APP_ORIGIN.into()],
            match_origins: vec![r"http://localhost:\d+".into()],
            ..Default::default()
        }
    })
    .await;
    let response = preflight(&stack, "http://localhost:3000").await;
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://localhost:3000",
        "matched by the pattern"
    );
    for origin in [OTHER_ORIGIN, "http://localhost:3000.evil.example", "null"] {
        let response = preflight(&stack, origin).await;
        assert_eq!(response.status(), 403, "{origin}");
        assert!(cors_headers(response.headers()).is_empty(), "{origin}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "CORS_ORIGIN_NOT_ALLOWED"
        );

        let response = post_from(&stack, origin, "{ me { id } }").await;
        assert!(cors_headers(response.headers()).is_empty(), "{origin}");
    }
}

#[tokio::test]
async fn by_default_no_origin_is_allowed() {
    let stack = Stack::demo().await;
    let response = preflight(&stack, APP_ORIGIN).await;
    assert!(!response.status().is_success());
    assert!(cors_headers(response.headers()).is_empty());
    let response = post_from(&stack, APP_ORIGIN, "{ me { id } }").await;
    assert!(cors_headers(response.headers()).is_empty());
}

#[tokio::test]
async fn the_gateways_own_refusals_carry_cors_headers_so_pages_can_read_them() {
    let stack = Stack::demo_with(|config| {
        config.cors = CorsConfig {
            origins: vec![APP_ORIGIN.into()],
            ..Default::default()
        };
        config.server.max_request_bytes = 1024;
    })
    .await;
    let response = post_from(&stack, APP_ORIGIN, &"x".repeat(2000)).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        APP_ORIGIN
    );
}

/// A client that leaves bodies as they come, so the test sees the encoding.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .no_deflate()
        .build()
        .unwrap()
}

fn decode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map(drop),
        "deflate" => flate2::read::ZlibDecoder::new(bytes)
            .read_to_end(&mut out)
            .map(drop),
        "br" => brotli::Decompressor::new(bytes, 4096)
            .read_to_end(&mut out)
            .map(drop),
        "zstd" => zstd::stream::read::Decoder::new(bytes)
            .unwrap()
            .read_to_end(&mut out)
            .map(drop),
        other => panic!("unknown encoding {other}"),
    }
    .unwrap_or_else(|e| panic!("{encoding}: {e}"));
    out
}

fn encode(encoding: &str, bytes: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        }
        "deflate" => {
            let mut encoder =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
            encoder.write_all(bytes).unwrap();
            drop(encoder);
            out
        }
        "zstd" => zstd::encode_all(bytes, 1).unwrap(),
        other => panic!("unknown encoding {other}"),
    }
}

async fn post_encoded(
    url: &str,
    query: &str,
    accept_encoding: Option<&str>,
) -> (Option<String>, Vec<u8>) {
    let mut request = raw_client().post(url).json(&json!({ "query": query }));
    if let Some(accept) = accept_encoding {
        request = request.header("accept-encoding", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    (encoding, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn answers_are_compressed_in_the_encoding_the_client_accepts() {
    let stack = Stack::demo().await;
    let (encoding, plain) = post_encoded(&stack.gateway_url, LARGE_QUERY, None).await;
    assert_eq!(encoding, None);
    assert!(plain.len() > 4096, "a large answer: {} bytes", plain.len());
    for accepted in ["gzip", "br", "zstd", "deflate"] {
        let (encoding, bytes) = post_encoded(&stack.gateway_url, LARGE_QUERY, Some(accepted)).await;
        assert_eq!(encoding.as_deref(), Some(accepted));
        assert!(
            bytes.len() * 3 < plain.len(),
            "{accepted}: {} of {} bytes",
            bytes.len(),
            plain.len()
        );
        assert_eq!(decode(accepted, &bytes), plain, "{accepted}");
    }
    // The client's preference decides between several.
    let (encoding, _) = post_encoded(
        &stack.gateway_url,
        LARGE_QUERY,
        Some("gzip;q=0.5, br;q=1.0"),
    )
    .await;
    assert_eq!(encoding.as_deref(), Some("br"));
    // A small answer is not worth it.
    let (encoding, bytes) =
        post_encoded(&stack.gateway_url, "{ me { id } }", Some("gzip, br")).await;
    assert_eq!(encoding, None);
    assert_eq!(bytes, br#"{"data":{"me":{"id":"1"}}}"#);
}

#[tokio::test]
async fn response_compression_can_be_turned_off() {
    let stack = Stack::demo_with(|config| config.compression.responses = false).await;
    let (encoding, _) = post_encoded(&stack.gateway_url, LARGE_QUERY, Some("gzip, br")).await;
    assert_eq!(encoding, None);
}

async fn post_compressed(url: &str, encoding: &str, body: Vec<u8>) -> (u16, Value) {
    let response = raw_client()
        .post(url)
        .header("content-type", "application/json")
        .header("content-encoding", encoding)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn compressed_requests_are_decompressed() {
    let stack = Stack::demo().await;
    let body = serde_json::to_vec(&json!({ "query": "{ me { id } }" })).unwrap();
    for encoding in ["gzip", "br", "zstd", "deflate"] {
        let (status, answer) =
            post_compressed(&stack.gateway_url, encoding, encode(encoding, &body)).await;
        assert_eq!(status, 200, "{encoding}: {answer}");
        assert_eq!(
            answer,
            json!({ "data": { "me": { "id": "1" } } }),
            "{encoding}"
        );
    }

    let (status, answer) = post_compressed(&stack.gateway_url, "compress", body.clone()).await;
    assert_eq!(status, 415);
    assert_eq!(
        answer["errors"][0]["extensions"]["code"],
        "UNSUPPORTED_CONTENT_ENCODING"
    );
    let (status, answer) =
        post_compressed(&stack.gateway_url, "gzip", b"not gzip at all".to_vec()).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_REQUEST");

    let off = Stack::demo_with(|config| config.compression.requests = false).await;
    let (status, answer) = post_compressed(&off.gateway_url, "gzip", encode("gzip", &body)).await;
    assert_eq!(status, 415, "{answer}");
}

/// 512 MiB of zeros as 512 zstd frames of 1 MiB each (a stream may hold several frames):
/// about 20 KB on the wire.
fn zstd_bomb() -> Vec<u8> {
    let frame = zstd::encode_all(&vec![0u8; 1 << 20][..], 1).unwrap();
    frame.repeat(512)
}

#[tokio::test]
async fn a_zip_bomb_is_refused_at_the_size_limit_without_being_held() {
    let stack = Stack::demo().await;
    let bomb = zstd_bomb();
    assert!(bomb.len() < 64 << 10, "{} bytes", bomb.len());
    let gzip_bomb = encode("gzip", &vec![b' '; 64 << 20]);
    let peak = PeakMemory::start();
    let before = e2e::memory::resident_bytes();
    for (encoding, body) in [("zstd", bomb), ("gzip", gzip_bomb)] {
        let started = std::time::Instant::now();
        let (status, answer) = post_compressed(&stack.gateway_url, encoding, body).await;
        assert_eq!(status, 413, "{encoding}: {answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["code"],
            "REQUEST_TOO_LARGE"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{encoding}: refused as soon as the limit passed, not after unpacking it all"
        );
    }
    let grown = peak.stop().saturating_sub(before);
    assert!(
        grown < 32 << 20,
        "the gateway held {} MiB for bombs of 512 and 64 MiB",
        grown >> 20
    );
}

/// A subgraph standing in for inventory that answers gzip when asked for it, recording the
/// `Accept-Encoding` it was sent.
async fn gzip_inventory(answer: Vec<u8>) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    let compressed = encode("gzip", &answer);
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(move |headers: HeaderMap| {
            let accept = headers
                .get("accept-encoding")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            recorded.lock().unwrap().push(accept.clone());
            let (encoding, body) = if accept.contains("gzip") {
                ("gzip", compressed.clone())
            } else {
                ("identity", answer.clone())
            };
            async move {
                (
                    [
                        ("content-type", "application/json"),
                        ("content-encoding", encoding),
                    ],
                    body,
                )
            }
        }),
    );
    let (listener, address) = listener().await;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}/graphql"), seen)
}

#[tokio::test]
async fn subgraphs_are_asked_for_compressed_answers() {
    let (url, seen) =
        gzip_inventory(br#"{"data":{"_entities":[{"inStock":true}]}}"#.to_vec()).await;
    let stack = Stack::demo_with(|config| {
        config.subgraphs.insert(
            "inventory".into(),
            SubgraphConfig {
                url: Some(url.clone()),
                ..Default::default()
            },
        );
    })
    .await;
    let answer = stack
        .query(r#"{ product(upc: "1") { name inStock } }"#)
        .await;
    assert_eq!(answer["data"]["product"]["inStock"], true, "{answer}");
    let accepted = seen.lock().unwrap().clone();
    assert!(
        accepted
            .iter()
            .all(|a| a.contains("gzip") && a.contains("br")),
        "{accepted:?}"
    );

    let plain = Stack::demo_with(|config| {
        config.compression.subgraph_responses = false;
        config.subgraphs.insert(
            "inventory".into(),
            SubgraphConfig {
                url: Some(url),
                ..Default::default()
            },
        );
    })
    .await;
    seen.lock().unwrap().clear();
    let answer = plain
        .query(r#"{ product(upc: "1") { name inStock } }"#)
        .await;
    assert_eq!(answer["data"]["product"]["inStock"], true, "{answer}");
    assert_eq!(seen.lock().unwrap().clone(), vec![String::new()]);
}

#[tokio::test]
async fn a_compressed_subgraph_answer_counts_its_decompressed_bytes_against_the_limit() {
    // 8 MiB of spaces inside a valid answer: about 8 KB gzipped.
    let mut answer = br#"{"data":{"_entities":[{"inStock":true}]}"#.to_vec();
    answer.extend(std::iter::repeat_n(b' ', 8 << 20));
    answer.push(b'}');
    let (url, _) = gzip_inventory(answer).await;
    let stack = Stack::demo_with(|config| {
        config.subgraphs.insert(
            "inventory".into(),
            SubgraphConfig {
                url: Some(url),
                max_response_bytes: Some(1 << 20),
                ..Default::default()
            },
        );
    })
    .await;
    let answer = stack
        .query(r#"{ product(upc: "1") { name inStock } }"#)
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "SUBGRAPH_RESPONSE_TOO_LARGE",
        "{answer}"
    );
}
