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
    answer_headers: Arc<Mutex<Vec<(String, String)>>>,
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
        let answer_headers = Arc::new(Mutex::new(Vec::new()));
        let (forward, record, extra) = (target.clone(), recorded.clone(), answer_headers.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let url = forward.lock().unwrap().clone();
            let extra: Vec<(String, String)> = extra.lock().unwrap().clone();
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
                let mut answer = axum::response::Response::new(axum::body::Body::from(bytes));
                let headers = answer.headers_mut();
                headers.insert("content-type", "application/json".parse().unwrap());
                for (name, value) in extra {
                    headers.append(
                        axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                        value.parse().unwrap(),
                    );
                }
                answer
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
            answer_headers,
            task,
        }
    }

    /// Headers every answer from now on carries besides the real subgraph's.
    pub fn answer_with_headers(&self, headers: &[(&str, &str)]) {
        *self.answer_headers.lock().unwrap() = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
    }

    pub fn forward_to(&self, url: &str) {
        *self.target.lock().unwrap() = url.to_string();
    }

    /// Where it forwards to.
    pub fn target(&self) -> String {
        self.target.lock().unwrap().clone()
    }

    /// What was forwarded so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }
}
