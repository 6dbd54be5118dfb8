//! A subscription opened on a subgraph with GraphQL over SSE, distinct connections mode: a
//! POST that accepts `text/event-stream`, answered with a `next` event per result and a
//! `complete` event at the end (eventsource-stream reads the event stream).

use eventsource_stream::Eventsource;
use futures::{StreamExt, stream};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};

use super::{Endpoint, UpstreamError, UpstreamRequest, UpstreamStream};

pub(super) async fn open(
    endpoint: &Endpoint,
    client: &reqwest::Client,
    request: UpstreamRequest,
) -> Result<UpstreamStream, UpstreamError> {
    let failed = |reason: String| UpstreamError::Open {
        subgraph: endpoint.name.clone(),
        reason,
    };
    let response = client
        .post(&endpoint.url)
        .headers(request.headers)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(ACCEPT, HeaderValue::from_static("text/event-stream"))
        .body(request.body)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let is_event_stream = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_event_stream {
        // A GraphQL response instead of a stream: the subgraph refused the operation.
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| failed(e.to_string()))?;
        return match crate::fetch::read_response(status, None, &body) {
            Ok(answer) => Err(UpstreamError::Refused {
                subgraph: endpoint.name.clone(),
                errors: answer.errors,
            }),
            Err(e) => Err(failed(e.to_string())),
        };
    }
    let endpoint = endpoint.clone();
    let events = response.bytes_stream().eventsource();
    let events = stream::unfold(Some(events), move |state| {
        let endpoint = endpoint.clone();
        async move {
            let mut events = state?;
            let closed = |reason: String| UpstreamError::Closed {
                subgraph: endpoint.name.clone(),
                reason,
            };
            loop {
                match events.next().await {
                    Some(Ok(event)) => match event.event.as_str() {
                        "next" => {
                            let event = super::event(&endpoint, event.data.as_bytes());
                            return Some((event, Some(events)));
                        }
                        "complete" => return None,
                        _ => continue,
                    },
                    Some(Err(e)) => return Some((Err(closed(e.to_string())), None)),
                    None => return Some((Err(closed("the event stream ended".into())), None)),
                }
            }
        }
    });
    Ok(events.boxed())
}
