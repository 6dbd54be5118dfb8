//! Content negotiation for GraphQL over HTTP: which response media type the client accepts.

use http::HeaderMap;
use http::header::ACCEPT;

/// The two response media types of the GraphQL-over-HTTP spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `application/graphql-response+json`: request errors get 4xx status codes.
    GraphQLResponseJson,
    /// `application/json`: the legacy type, 200 for every well-formed request.
    Json,
}

impl ResponseType {
    pub fn content_type(self) -> &'static str {
        match self {
            ResponseType::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            ResponseType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from `Accept`, honouring q-values. `None`: nothing acceptable.
/// No `Accept` header means `application/json`, as the spec allows for older clients.
pub fn negotiate(headers: &HeaderMap) -> Option<ResponseType> {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(ResponseType::Json);
    };
    let mut best: Option<(f32, ResponseType)> = None;
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let candidate = match media.as_str() {
            "application/graphql-response+json" => ResponseType::GraphQLResponseJson,
            "application/json" | "application/*" | "*/*" => ResponseType::Json,
            _ => continue,
        };
        if q <= 0.0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((best_q, best_type)) => {
                q > best_q
                    || (q == best_q
                        && best_type == ResponseType::Json
                        && candidate == ResponseType::GraphQLResponseJson)
            }
        };
        if better {
            best = Some((q, candidate));
        }
    }
    best.map(|(_, t)| t)
}

/// Whether the client is a browser asking for a page (GraphiQL) rather than a response.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}
