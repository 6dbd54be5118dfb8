//! CORS, the `cors:` section: which pages on other origins a browser lets call the gateway.
//!
//! tower-http's [`CorsLayer`] answers preflights and adds the response headers. It only ever
//! sees requests whose origin the config allows (or that carry no `Origin`): a request from
//! any other origin goes around it (a [`super::gate`]) and gets no CORS header at all, so the
//! browser keeps the answer from the page, and its preflight is refused with a 403. A request
//! without `Origin` (not a browser's cross-origin request) goes around it too, with `Vary:
//! origin`, so that it costs nothing and a cache in front does not serve its answer to a page. Off (no cross-origin page
//! may read an answer) unless origins are configured; `gateway demo` allows any.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use regex::RegexSet;
use serde::Deserialize;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders, MaxAge};

use super::errors::graphql_error;
use super::gate::{GateLayer, Route};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorsConfig {
    /// Any origin may call (`Access-Control-Allow-Origin: *`); cannot go with credentials.
    pub allow_any_origin: bool,
    /// Origins allowed as written (`https://app.example.com`: scheme, host, port if not the
    /// default).
    pub origins: Vec<String>,
    /// Regular expressions an origin may match instead, each against the whole origin.
    pub match_origins: Vec<String>,
    /// Lets pages send cookies and `Authorization` (`Access-Control-Allow-Credentials`).
    pub allow_credentials: bool,
    /// Request headers a page may send; empty: whatever the preflight asks for.
    pub allow_headers: Vec<String>,
    /// Response headers a page may read beyond the CORS-safelisted ones.
    pub expose_headers: Vec<String>,
    /// Methods a page may use.
    pub methods: Vec<String>,
    /// How long a browser may reuse a preflight's answer; unset: the browser's default (5 s).
    pub max_age_seconds: Option<u64>,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allow_any_origin: false,
            origins: Vec::new(),
            match_origins: Vec::new(),
            allow_credentials: false,
            allow_headers: Vec::new(),
            expose_headers: Vec::new(),
            methods: vec!["GET".into(), "POST".into(), "OPTIONS".into()],
            max_age_seconds: None,
        }
    }
}

impl CorsConfig {
    /// Any origin at all allowed.
    pub fn any_origin() -> Self {
        Self {
            allow_any_origin: true,
            ..Self::default()
        }
    }

    fn enabled(&self) -> bool {
        self.allow_any_origin || !self.origins.is_empty() || !self.match_origins.is_empty()
    }
}

/// The compiled policy: `None` from [`Cors::new`] when no origin is allowed.
#[derive(Clone)]
pub(crate) struct Cors {
    origins: Arc<Origins>,
    layer: CorsLayer,
}

struct Origins {
    any: bool,
    exact: Vec<HeaderValue>,
    patterns: RegexSet,
}

impl Origins {
    fn allow(&self, origin: &HeaderValue) -> bool {
        self.any
            || self.exact.iter().any(|allowed| allowed == origin)
            || origin
                .to_str()
                .is_ok_and(|origin| self.patterns.is_match(origin))
    }
}

impl Cors {
    /// Compiles `config`, refusing what a browser could not honour, by key.
    pub(crate) fn new(config: &CorsConfig) -> Result<Option<Self>, String> {
        if !config.enabled() {
            return Ok(None);
        }
        if config.allow_any_origin && config.allow_credentials {
            return Err(
                "cors.allow_credentials cannot go with cors.allow_any_origin: browsers \
                        refuse credentials for `*`; list the origins instead"
                    .into(),
            );
        }
        let exact = config
            .origins
            .iter()
            .map(|origin| {
                if origin == "*" {
                    return Err(
                        "cors.origins: \"*\" is not an origin; use cors.allow_any_origin"
                            .to_string(),
                    );
                }
                HeaderValue::from_str(origin)
                    .map_err(|_| format!("cors.origins: {origin:?} is not a valid origin"))
            })
            .collect::<Result<_, _>>()?;
        let patterns = RegexSet::new(config.match_origins.iter().map(|p| format!("^(?:{p})$")))
            .map_err(|e| format!("cors.match_origins: {e}"))?;
        let methods = config
            .methods
            .iter()
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("cors.methods: {m:?} is not an HTTP method"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let headers = |key: &str, names: &[String]| {
            names
                .iter()
                .map(|name| {
                    HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("cors.{key}: {name:?} is not a header name"))
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let allow_headers = headers("allow_headers", &config.allow_headers)?;
        let expose_headers = headers("expose_headers", &config.expose_headers)?;

        // Only allowed origins reach the layer, so it can echo the one it is given.
        let mut layer = CorsLayer::new()
            .allow_origin(if config.allow_any_origin {
                AllowOrigin::any()
            } else {
                AllowOrigin::mirror_request()
            })
            .allow_methods(AllowMethods::list(methods))
            .allow_headers(if allow_headers.is_empty() {
                AllowHeaders::mirror_request()
            } else {
                AllowHeaders::list(allow_headers)
            })
            .expose_headers(ExposeHeaders::list(expose_headers))
            .allow_credentials(config.allow_credentials);
        if let Some(seconds) = config.max_age_seconds {
            layer = layer.max_age(MaxAge::exact(Duration::from_secs(seconds)));
        }
        Ok(Some(Self {
            origins: Arc::new(Origins {
                any: config.allow_any_origin,
                exact,
                patterns,
            }),
            layer,
        }))
    }

    /// Whether `origin` is one the policy allows.
    pub(crate) fn allows(&self, origin: &HeaderValue) -> bool {
        self.origins.allow(origin)
    }

    /// `routes` behind the policy.
    pub(crate) fn wrap(&self, routes: Router) -> Router {
        let origins = self.origins.clone();
        routes.layer(GateLayer::new(
            self.layer.clone(),
            move |request: &Request| {
                match request.headers().get(header::ORIGIN) {
                    // Not a browser's cross-origin request: nothing to allow, but a cache in front
                    // must not serve this answer to one.
                    None => Route::Around(Some(vary_origin)),
                    Some(origin) if origins.allow(origin) => Route::Through,
                    Some(_) if request.method() == Method::OPTIONS => {
                        Route::Answer(refused_preflight(request))
                    }
                    Some(_) => Route::Around(None),
                }
            },
        ))
    }
}

fn vary_origin(response: &mut Response) {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
}

fn refused_preflight(request: &Request) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    graphql_error(
        request.headers(),
        StatusCode::FORBIDDEN,
        "CORS_ORIGIN_NOT_ALLOWED",
        format!("the origin {origin:?} is not allowed to call this gateway (cors in its config)"),
        false,
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::post;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    fn app(config: &CorsConfig) -> Router {
        let routes = Router::new().route("/graphql", post(|| async { "answer" }));
        Cors::new(config).unwrap().unwrap().wrap(routes)
    }

    fn listed() -> CorsConfig {
        CorsConfig {
            origins: vec!["http://app.example".into()],
            match_origins: vec![r"https://[a-z]+\.example\.com".into()],
            max_age_seconds: Some(600),
            ..Default::default()
        }
    }

    async fn send(app: &Router, method: &str, origin: Option<&str>) -> axum::response::Response {
        let mut request = Request::builder().method(method).uri("/graphql");
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if method == "OPTIONS" {
            request = request
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type, authorization",
                );
        }
        app.clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn cors_headers(response: &axum::response::Response) -> Vec<String> {
        response
            .headers()
            .keys()
            .map(|k| k.as_str().to_string())
            .filter(|k| k.starts_with("access-control-"))
            .collect()
    }

    #[tokio::test]
    async fn an_allowed_origin_gets_its_preflight_and_its_answer() {
        let app = app(&listed());
        for origin in ["http://app.example", "https://api.example.com"] {
            let preflight = send(&app, "OPTIONS", Some(origin)).await;
            assert_eq!(preflight.status(), StatusCode::OK);
            let headers = preflight.headers();
            assert_eq!(headers["access-control-allow-origin"], origin);
            assert_eq!(
                headers["access-control-allow-headers"],
                "content-type, authorization"
            );
            assert!(
                headers["access-control-allow-methods"]
                    .to_str()
                    .unwrap()
                    .contains("POST")
            );
            assert_eq!(headers["access-control-max-age"], "600");
            let answer = send(&app, "POST", Some(origin)).await;
            assert_eq!(answer.headers()["access-control-allow-origin"], origin);
            let body = answer.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"answer");
        }
    }

    #[tokio::test]
    async fn another_origin_gets_no_cors_header_and_its_preflight_is_refused() {
        let app = app(&listed());
        // Patterns match the whole origin, not a part of it.
        for origin in [
            "http://evil.example",
            "https://api.example.com.evil.example",
            "http://app.example:8080",
        ] {
            let preflight = send(&app, "OPTIONS", Some(origin)).await;
            assert_eq!(preflight.status(), StatusCode::FORBIDDEN, "{origin}");
            assert!(cors_headers(&preflight).is_empty(), "{origin}");
            let answer = send(&app, "POST", Some(origin)).await;
            assert_eq!(
                answer.status(),
                StatusCode::OK,
                "same-origin rules are the browser's"
            );
            assert!(cors_headers(&answer).is_empty(), "{origin}");
        }
        // Not a browser's cross-origin request: no CORS header, but a cache in front is told
        // the answer depends on Origin.
        let no_origin = send(&app, "POST", None).await;
        assert!(cors_headers(&no_origin).is_empty());
        assert_eq!(no_origin.headers()["vary"], "origin");
    }

    #[tokio::test]
    async fn credentials_and_exposed_headers_are_sent_when_configured() {
        let app = app(&CorsConfig {
            allow_credentials: true,
            expose_headers: vec!["x-request-id".into()],
            ..listed()
        });
        let answer = send(&app, "POST", Some("http://app.example")).await;
        assert_eq!(answer.headers()["access-control-allow-credentials"], "true");
        assert_eq!(
            answer.headers()["access-control-expose-headers"],
            "x-request-id"
        );
    }

    #[tokio::test]
    async fn any_origin_is_a_star() {
        let app = app(&CorsConfig::any_origin());
        let answer = send(&app, "POST", Some("http://anywhere.example")).await;
        assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    }

    #[test]
    fn what_a_browser_could_not_honour_is_refused_by_key() {
        let nothing = Cors::new(&CorsConfig::default()).unwrap();
        assert!(nothing.is_none(), "no origin configured: no CORS at all");
        let refused = |config: CorsConfig, key: &str| {
            let error = Cors::new(&config).err().expect("refused");
            assert!(error.contains(key), "{error}");
        };
        refused(
            CorsConfig {
                allow_credentials: true,
                ..CorsConfig::any_origin()
            },
            "allow_credentials",
        );
        refused(
            CorsConfig {
                origins: vec!["*".into()],
                ..Default::default()
            },
            "cors.origins",
        );
        refused(
            CorsConfig {
                match_origins: vec!["(".into()],
                ..Default::default()
            },
            "cors.match_origins",
        );
        refused(
            CorsConfig {
                methods: vec!["NOT A METHOD".into()],
                ..listed()
            },
            "cors.methods",
        );
    }
}
