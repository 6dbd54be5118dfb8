//! The playground: GraphiQL served by the gateway itself, for browsers that `GET /graphql`
//! (`playground: true`, the default). Its files are embedded in the binary (from npm, pinned
//! in `gateway/playground/`), so it works offline and under a strict CSP; it opens with an
//! example operation of the served schema.

mod assets;
mod example;
mod page;

use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::gateway::Gateway;

pub use example::example_operation;
pub use page::CONTENT_SECURITY_POLICY;

/// `GET /playground/{file}`: the page's files (any other name is a 404).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/playground/{file}", get(assets::serve))
}

/// The page, for `GET /graphql` from a browser.
pub fn page(gateway: &Gateway) -> Response {
    page::page(gateway.supergraph().api_schema())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;
    use crate::config::Config;

    const DEMO: &str = include_str!("../../../../schema/supergraph.graphql");
    const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

    async fn router(playground: bool) -> Router {
        let config = Config {
            playground,
            ..Config::default()
        };
        let supergraph = crate::supergraph::Supergraph::parse(DEMO).unwrap();
        let gateway = crate::startup::build_gateway(supergraph, &config).unwrap();
        let edge = crate::edge::Edge::new(&config).await.unwrap();
        crate::server::router(Arc::new(gateway), Arc::new(edge))
    }

    async fn get(
        router: &Router,
        path: &str,
        accept: &str,
    ) -> (StatusCode, http::HeaderMap, String) {
        get_with(router, path, accept, &[]).await
    }

    async fn get_with(
        router: &Router,
        path: &str,
        accept: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, http::HeaderMap, String) {
        let mut request = Request::get(path).header(header::ACCEPT, accept);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    #[tokio::test]
    async fn browsers_get_the_page_and_its_files_with_long_lived_caching() {
        let router = router(true).await;
        let (status, headers, html) = get(&router, "/graphql", BROWSER_ACCEPT).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(headers[header::VARY], "accept");
        assert!(html.contains("query Example {"), "{html}");

        let links: Vec<&str> = html
            .split("\"playground/")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        assert_eq!(links.len(), assets::ASSETS.len(), "{links:?}");
        for link in links {
            let (status, headers, body) = get(&router, &format!("/playground/{link}"), "*/*").await;
            assert_eq!(status, StatusCode::OK, "{link}");
            assert_eq!(
                headers[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            let content_type = headers[header::CONTENT_TYPE].to_str().unwrap();
            let expected = match link.rsplit_once('.').unwrap().1 {
                "js" => "text/javascript; charset=utf-8",
                "css" => "text/css; charset=utf-8",
                _ => "text/plain; charset=utf-8",
            };
            assert_eq!(content_type, expected, "{link}");
            assert!(!body.is_empty());
        }
        let (status, _, _) = get(&router, "/playground/graphiql-0.0.0.min.js", "*/*").await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // A GraphQL GET from the same browser is still one (with the header that CSRF
        // prevention asks of a GET).
        let (status, headers, body) = get_with(
            &router,
            "/graphql?query=%7B__typename%7D",
            BROWSER_ACCEPT,
            &[("apollo-require-preflight", "true")],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains("json")
        );
        assert_eq!(body, r#"{"data":{"__typename":"Query"}}"#);
    }

    #[test]
    fn the_config_key_defaults_to_on() {
        assert!(Config::default().playground);
        assert!(!Config::parse("playground: false").unwrap().playground);
        assert!(Config::parse("playgrond: false").is_err());
    }

    #[tokio::test]
    async fn playground_false_serves_neither_the_page_nor_its_files() {
        let router = router(false).await;
        let (status, headers, body) = get(&router, "/graphql", BROWSER_ACCEPT).await;
        // An ordinary GraphQL GET: refused, having no query (or, once CSRF prevention is on, no
        // preflight header).
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains("json")
        );
        assert!(headers.get(header::CONTENT_SECURITY_POLICY).is_none());
        assert!(body.starts_with(r#"{"errors":[{"#), "{body}");
        for asset in assets::ASSETS.iter() {
            let (status, _, _) = get(&router, &format!("/playground/{}", asset.name), "*/*").await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{}", asset.name);
        }
    }
}
