//! `supergraph.url`: polls a schema registry or CDN for the supergraph, as Hive's CDN and
//! Apollo's Uplink are used: a plain GET with the configured headers (an API key), sending
//! back the last `ETag` in `If-None-Match` so that an unchanged supergraph costs a 304 and no
//! body. A failed poll (transport error, timeout, a status other than 200 and 304, a body
//! larger than `max_bytes`) is logged and counted, and the next poll waits twice as long as
//! the last, up to `backoff_max_ms`; the first success goes back to `poll_interval_ms`.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use super::{Reloader, Source, SupergraphConfig};
use crate::telemetry::sdl_hash;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{0}")]
    Config(String),
}

/// Why one poll got no supergraph.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("{0}")]
    Transport(String),
    #[error("the registry answered {0}")]
    Status(StatusCode),
    #[error("the supergraph is larger than supergraph.max_bytes ({0} bytes)")]
    TooLarge(u64),
    #[error("the supergraph is not UTF-8 text")]
    NotText,
}

enum Fetched {
    NotModified,
    New {
        text: String,
        etag: Option<HeaderValue>,
    },
}

/// A running poll; dropping it stops polling.
pub struct UrlPoll {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for UrlPoll {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts polling `config.url` (which must be set) at once, then every `poll_interval_ms`.
/// Call from within a Tokio runtime.
pub fn poll(config: &SupergraphConfig, reloader: Arc<Reloader>) -> Result<UrlPoll, PollError> {
    let url = config
        .url
        .clone()
        .ok_or_else(|| PollError::Config("no supergraph.url".into()))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &config.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PollError::Config(format!("{name:?} is not a header name")))?;
        let mut value = HeaderValue::from_str(value)
            .map_err(|_| PollError::Config(format!("the value of {name} is not a header value")))?;
        // An API key must not show up in debug output of the request.
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let client = reqwest::Client::builder()
        .timeout(config.timeout())
        .default_headers(headers)
        .build()
        .map_err(|e| PollError::Client(e.to_string()))?;
    let poller = Poller {
        client,
        url,
        max_bytes: config.max_bytes,
        interval: config.poll_interval(),
        backoff_max: config.backoff_max(),
    };
    tracing::info!(url = %poller.url, interval_ms = poller.interval.as_millis() as u64, "polling for the supergraph");
    Ok(UrlPoll {
        task: tokio::spawn(poller.run(reloader)),
    })
}

struct Poller {
    client: reqwest::Client,
    url: String,
    max_bytes: u64,
    interval: Duration,
    backoff_max: Duration,
}

impl Poller {
    async fn run(self, reloader: Arc<Reloader>) {
        let mut etag: Option<HeaderValue> = None;
        // A refused supergraph is not offered again (a registry without ETags sends it on
        // every poll): one failure counted and logged per bad supergraph, not per poll.
        let mut refused: Option<String> = None;
        let mut failures: u32 = 0;
        loop {
            match self.fetch(etag.as_ref()).await {
                Ok(Fetched::NotModified) => failures = 0,
                Ok(Fetched::New { text, etag: tag }) => {
                    failures = 0;
                    etag = tag;
                    let hash = sdl_hash(&text);
                    if refused.as_ref() != Some(&hash) {
                        match reloader.offer(text, Source::Url).await {
                            Ok(_) => refused = None,
                            Err(_) => refused = Some(hash),
                        }
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    reloader.live().count_poll_error();
                    tracing::warn!(
                        url = %self.url,
                        consecutive_failures = failures,
                        "cannot fetch the supergraph: {error}"
                    );
                }
            }
            tokio::time::sleep(self.delay(failures)).await;
        }
    }

    /// The interval, doubled per consecutive failure up to the backoff cap.
    fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.min(16);
        self.interval.saturating_mul(factor).min(self.backoff_max)
    }

    async fn fetch(&self, etag: Option<&HeaderValue>) -> Result<Fetched, FetchError> {
        let mut request = self.client.get(&self.url);
        if let Some(etag) = etag {
            request = request.header(http::header::IF_NONE_MATCH, etag.clone());
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.without_url().to_string()))?;
        match response.status() {
            StatusCode::NOT_MODIFIED => return Ok(Fetched::NotModified),
            StatusCode::OK => {}
            status => return Err(FetchError::Status(status)),
        }
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes)
        {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let etag = response.headers().get(http::header::ETAG).cloned();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Transport(e.without_url().to_string()))?
        {
            if (body.len() + chunk.len()) as u64 > self.max_bytes {
                return Err(FetchError::TooLarge(self.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).map_err(|_| FetchError::NotText)?;
        Ok(Fetched::New { text, etag })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_double_the_wait_up_to_the_cap() {
        let poller = Poller {
            client: reqwest::Client::new(),
            url: String::new(),
            max_bytes: 0,
            interval: Duration::from_secs(10),
            backoff_max: Duration::from_secs(300),
        };
        let waits: Vec<u64> = (0..8).map(|n| poller.delay(n).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(poller.delay(u32::MAX).as_secs(), 300);
    }
}
