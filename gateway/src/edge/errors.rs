//! The answers the connection layer gives by itself, each a GraphQL error response with an
//! `extensions.code`, in the media type the client accepts, so that clients handle them as they
//! handle every other gateway error.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};

use crate::response::{GraphQLError, Response};
use crate::server::media_type::{self, ResponseType};

/// A GraphQL error response. `close`: the connection is closed after it (the request's body
/// was not read to its end, so the connection cannot serve another request).
pub(super) fn graphql_error(
    request_headers: &HeaderMap,
    status: StatusCode,
    code: &str,
    message: String,
    close: bool,
) -> HttpResponse {
    // A client that accepts neither type still learns why.
    let response_type = media_type::negotiate(request_headers).unwrap_or(ResponseType::Json);
    let body = Response::request_errors(vec![GraphQLError::new(message).with_code(code)]);
    let mut http = (status, body.to_bytes()).into_response();
    let headers = http.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(response_type.content_type()),
    );
    if close {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    http
}

/// The whole HTTP/1.1 response to a connection refused at the cap: written straight to the
/// socket, before any request is read.
pub(super) fn too_many_connections() -> Vec<u8> {
    let body = Response::request_errors(vec![
        GraphQLError::new("the gateway has too many open connections: retry shortly")
            .with_code("TOO_MANY_CONNECTIONS"),
    ])
    .to_bytes();
    let mut response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(&body);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_a_complete_http_response_with_a_coded_error() {
        let response = String::from_utf8(too_many_connections()).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"],
            "TOO_MANY_CONNECTIONS"
        );
    }

    #[test]
    fn errors_come_in_the_accepted_media_type() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/graphql-response+json"),
        );
        let response = graphql_error(
            &headers,
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_TOO_LARGE",
            "too large".into(),
            true,
        );
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            ResponseType::GraphQLResponseJson.content_type()
        );
        assert_eq!(response.headers()[header::CONNECTION], "close");
    }
}
