//! A subgraph stand-in that forwards every request to the real one and records what it was
//! sent (headers and body), to check what the gateway asked a subgraph for.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use tokio::task::JoinHandle;

/// One request the proxy forwarded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub headers: HeaderMap,
    pub body: String,
}

pub struct RecordingProxy {
    pub url: String,
    target: Arc<Mutex<String>>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingProxy {
    /// A proxy on a free port; it forwards to nothing until [`RecordingProxy::forward_to`].
    pub async fn start() -> Self {
        let target = Arc::new(Mutex::new(String::new()));
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::new();
        let (forward, record) = (target.clone(), recorded.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let url = forward.lock().unwrap().clone();
            record.lock().unwrap().push(Recorded {
                headers: headers.clone(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let client = client.clone();
            async move {
                let response = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("the real subgraph answers");
                let bytes = response.bytes().await.expect("its body");
                ([("content-type", "application/json")], bytes)
            }
        });
        let (listener, address) = crate::listener().await;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{address}/graphql"),
            target,
            recorded,
            task,
        }
    }

    pub fn forward_to(&self, url: &str) {
        *self.target.lock().unwrap() = url.to_string();
    }

    /// What was forwarded so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }
}
