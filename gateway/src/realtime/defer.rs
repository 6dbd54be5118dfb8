//! `@defer` over HTTP: incremental delivery as `multipart/mixed` with boundary `-`, one JSON
//! part per payload of the executor's incremental API, in the format the `Accept` header asks
//! for:
//! - `multipart/mixed;deferSpec=20220824` (what Apollo Client, Apollo Kotlin and iOS send; a
//!   bare `multipart/mixed` too): Apollo's format, `{data, hasNext}` then `{incremental:
//!   [{data, path, label, errors}], hasNext}`;
//! - `multipart/mixed;incrementalDeliverySpec=3283f8a` (Apollo Server's name for the format of
//!   graphql-js 17.0.0-alpha.9) or any `incrementalSpec=`: the incremental delivery RFC's,
//!   `{data, pending: [{id, path, label}], hasNext}` then `{pending, incremental: [{id, data,
//!   errors}], completed: [{id, errors}], hasNext}`.
//!
//! See docs/realtime.md.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response as HttpResponse;
use bytes::Bytes;
use futures::stream;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::executor::{IncrementalPart, IncrementalPayload, Pending};
use crate::gateway::Gateway;
use crate::response::{GraphQLError, PathElement};

/// The incremental delivery format a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferFormat {
    /// Apollo's (`deferSpec=20220824`).
    Apollo,
    /// The incremental delivery RFC's (`pending`/`incremental`/`completed`).
    Rfc,
}

impl DeferFormat {
    /// The format `Accept` asks for: the first `multipart/mixed` that is not a subscription's
    /// (`subscriptionSpec`, see [`super::HttpStream`]). `None`: the client does not accept
    /// incremental delivery.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        for value in headers.get_all(http::header::ACCEPT) {
            let Ok(value) = value.to_str() else { continue };
            for media in value.split(',') {
                let media = media.trim();
                if !super::starts_with_ignore_case(media, "multipart/mixed") {
                    continue;
                }
                let has = |name: &str| {
                    media
                        .as_bytes()
                        .windows(name.len())
                        .any(|w| w.eq_ignore_ascii_case(name.as_bytes()))
                };
                if has("subscriptionspec") || has("q=0,") || media.ends_with("q=0") {
                    continue;
                }
                if has("incrementaldeliveryspec") || has("incrementalspec") {
                    return Some(DeferFormat::Rfc);
                }
                return Some(DeferFormat::Apollo);
            }
        }
        None
    }

    fn content_type(self) -> &'static str {
        match self {
            DeferFormat::Apollo => r#"multipart/mixed;boundary="-";deferSpec=20220824"#,
            DeferFormat::Rfc => r#"multipart/mixed;boundary="-";incrementalDeliverySpec=3283f8a"#,
        }
    }
}

const PART_HEAD: &[u8] = b"\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n";
const END: &[u8] = b"\r\n-----\r\n";

/// The multipart response for `payloads`, in `format`.
pub fn respond(
    gateway: Arc<Gateway>,
    payloads: mpsc::Receiver<IncrementalPayload>,
    format: DeferFormat,
) -> HttpResponse {
    let parts = stream::unfold(
        (payloads, gateway, false),
        move |(mut payloads, gateway, done)| async move {
            if done {
                return None;
            }
            let bytes = match payloads.recv().await {
                Some(mut payload) => {
                    cap(&gateway, &mut payload);
                    let last = !payload.has_next;
                    let mut out = PART_HEAD.to_vec();
                    out.extend_from_slice(&encode(&payload, format));
                    if last {
                        out.extend_from_slice(END);
                    }
                    (Bytes::from(out), last)
                }
                // The execution ended without its last payload (it cannot, short of a panic):
                // the body ends properly all the same.
                None => (Bytes::from_static(END), true),
            };
            Some((
                Ok::<_, std::convert::Infallible>(bytes.0),
                (payloads, gateway, bytes.1),
            ))
        },
    );
    let mut http = HttpResponse::new(Body::from_stream(parts));
    http.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(format.content_type()),
    );
    http.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    http.headers_mut()
        .insert("x-accel-buffering", http::HeaderValue::from_static("no"));
    http
}

/// The payloads as messages of a streaming transport (GraphQL over SSE, WebSocket): each one
/// a result in Apollo's format, the first the initial payload; the receiver ends after the
/// last (`hasNext: false`), and the transport sends `complete`.
pub(crate) fn messages(
    gateway: Arc<Gateway>,
    mut payloads: mpsc::Receiver<IncrementalPayload>,
) -> mpsc::Receiver<super::Message> {
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(mut payload) = payloads.recv().await {
            cap(&gateway, &mut payload);
            let last = !payload.has_next;
            let message = super::Message::Incremental(encode(&payload, DeferFormat::Apollo));
            if sender.send(message).await.is_err() || last {
                return;
            }
        }
    });
    receiver
}

/// Masks and caps every part's errors as a response's are.
fn cap(gateway: &Gateway, payload: &mut IncrementalPayload) {
    if let Some(initial) = &mut payload.initial {
        gateway.cap_errors(&mut initial.errors);
    }
    for part in &mut payload.parts {
        gateway.cap_errors(&mut part.errors);
    }
}

/// One payload as JSON, in `format`.
pub fn encode(payload: &IncrementalPayload, format: DeferFormat) -> Vec<u8> {
    let mut out = match &payload.initial {
        Some(initial) => {
            // `{"data":…,"errors":…}` with more members before its closing brace.
            let mut out = initial.to_bytes();
            out.pop();
            out
        }
        None => b"{".to_vec(),
    };
    let member = |out: &mut Vec<u8>, name: &str, value: &dyn erased::Json| {
        if out.len() > 1 {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"{name}\":").as_bytes());
        value.write(out);
    };
    match format {
        DeferFormat::Apollo => {
            if !payload.parts.is_empty() {
                let items: Vec<ApolloItem> = payload.parts.iter().map(ApolloItem::new).collect();
                member(&mut out, "incremental", &items);
            }
        }
        DeferFormat::Rfc => {
            if !payload.pending.is_empty() {
                let pending: Vec<RfcPending> =
                    payload.pending.iter().map(RfcPending::new).collect();
                member(&mut out, "pending", &pending);
            }
            let incremental: Vec<RfcItem> = payload
                .parts
                .iter()
                .filter(|p| p.data.is_some())
                .map(RfcItem::new)
                .collect();
            if !incremental.is_empty() {
                member(&mut out, "incremental", &incremental);
            }
            if !payload.parts.is_empty() {
                let completed: Vec<RfcCompleted> =
                    payload.parts.iter().map(RfcCompleted::new).collect();
                member(&mut out, "completed", &completed);
            }
        }
    }
    member(&mut out, "hasNext", &payload.has_next);
    out.push(b'}');
    out
}

mod erased {
    /// Anything serialisable, behind one pointer type.
    pub trait Json {
        fn write(&self, out: &mut Vec<u8>);
    }

    impl<T: serde::Serialize> Json for T {
        fn write(&self, out: &mut Vec<u8>) {
            let _ = serde_json::to_writer(out, self);
        }
    }
}

fn raw(part: &IncrementalPart) -> Option<&RawValue> {
    part.data
        .as_ref()
        .and_then(|data| serde_json::from_str::<&RawValue>(data.as_str()).ok())
}

/// An item of Apollo's `incremental`: `data` null when a null propagated to the fragment.
#[derive(Serialize)]
struct ApolloItem<'a> {
    data: Option<&'a RawValue>,
    path: &'a [PathElement],
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [GraphQLError],
}

impl<'a> ApolloItem<'a> {
    fn new(part: &'a IncrementalPart) -> Self {
        ApolloItem {
            data: raw(part),
            path: &part.path,
            label: part.label.as_deref(),
            errors: &part.errors,
        }
    }
}

#[derive(Serialize)]
struct RfcPending<'a> {
    id: String,
    path: &'a [PathElement],
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
}

impl<'a> RfcPending<'a> {
    fn new(pending: &'a Pending) -> Self {
        RfcPending {
            id: pending.id.to_string(),
            path: &pending.path,
            label: pending.label.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct RfcItem<'a> {
    id: String,
    data: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [GraphQLError],
}

impl<'a> RfcItem<'a> {
    fn new(part: &'a IncrementalPart) -> Self {
        RfcItem {
            id: part.id.to_string(),
            data: raw(part),
            errors: &part.errors,
        }
    }
}

/// `completed`: a part whose data is null completes with its errors instead of an item.
#[derive(Serialize)]
struct RfcCompleted<'a> {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [GraphQLError]>,
}

impl<'a> RfcCompleted<'a> {
    fn new(part: &'a IncrementalPart) -> Self {
        RfcCompleted {
            id: part.id.to_string(),
            errors: part.data.is_none().then_some(&part.errors[..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<DeferFormat> {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::ACCEPT, value.parse().unwrap());
        DeferFormat::from_headers(&headers)
    }

    #[test]
    fn the_accept_header_picks_the_format() {
        assert_eq!(
            accept("multipart/mixed;deferSpec=20220824, application/json"),
            Some(DeferFormat::Apollo)
        );
        assert_eq!(
            accept(
                "multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9"
            ),
            Some(DeferFormat::Apollo)
        );
        assert_eq!(accept("multipart/mixed"), Some(DeferFormat::Apollo));
        assert_eq!(
            accept("multipart/mixed; incrementalDeliverySpec=3283f8a"),
            Some(DeferFormat::Rfc)
        );
        assert_eq!(
            accept("multipart/mixed;incrementalSpec=v0.2, application/json"),
            Some(DeferFormat::Rfc)
        );
        assert_eq!(
            accept(r#"multipart/mixed;subscriptionSpec="1.0", application/json"#),
            None
        );
        assert_eq!(accept("application/json"), None);
    }
}
