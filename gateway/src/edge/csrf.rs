//! CSRF prevention, the `csrf:` section, on by default as in Apollo Router.
//!
//! A browser sends some cross-site requests without asking the server first (no preflight): a
//! GET, or a POST whose content type is one a plain HTML form can send. Such a request would
//! run with the user's cookies, and its side effects would happen even though the page never
//! reads the answer. So a GraphQL request must prove it was preflighted: either its content
//! type is not one of the three "simple" ones, or it carries one of the required headers with
//! a non-empty value (no page can set a custom header without a preflight, which CORS then
//! decides).

use axum::http::{HeaderMap, HeaderName, header};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsrfConfig {
    pub enabled: bool,
    /// Any one of these, non-empty, marks a request as preflighted.
    pub required_headers: Vec<String>,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            required_headers: vec![
                "x-apollo-operation-name".into(),
                "apollo-require-preflight".into(),
                "x-graphql-csrf".into(),
            ],
        }
    }
}

/// The content types a form (or `fetch` without a preflight) can send.
const SIMPLE_CONTENT_TYPES: [&str; 3] = [
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
];

/// The compiled check; no required header means off.
#[derive(Debug, Clone, Default)]
pub(crate) struct Csrf {
    required_headers: Vec<HeaderName>,
}

/// A request that could have come from another site without a preflight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsrfRefused {
    pub message: String,
}

impl CsrfRefused {
    pub const CODE: &'static str = "CSRF_ERROR";
}

impl Csrf {
    pub(crate) fn new(config: &CsrfConfig) -> Result<Self, String> {
        if !config.enabled {
            return Ok(Self::default());
        }
        if config.required_headers.is_empty() {
            return Err(
                "csrf.required_headers is empty: name at least one header, or set \
                        csrf.enabled: false"
                    .into(),
            );
        }
        let required_headers = config
            .required_headers
            .iter()
            .map(|name| {
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| format!("csrf.required_headers: {name:?} is not a header name"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { required_headers })
    }

    /// Whether a GraphQL request (GET or POST) may run.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), CsrfRefused> {
        if self.required_headers.is_empty() || preflighted_content_type(headers) {
            return Ok(());
        }
        let has_required = self.required_headers.iter().any(|name| {
            headers
                .get_all(name)
                .iter()
                .any(|value| !value.as_bytes().trim_ascii().is_empty())
        });
        if has_required {
            return Ok(());
        }
        let names: Vec<&str> = self.required_headers.iter().map(|n| n.as_str()).collect();
        Err(CsrfRefused {
            message: format!(
                "this request was refused as a possible cross-site request forgery (CSRF): send \
                 it with a content-type other than application/x-www-form-urlencoded, \
                 multipart/form-data or text/plain (e.g. application/json), or with a \
                 non-empty header among: {}",
                names.join(", ")
            ),
        })
    }
}

/// A content type a browser would have preflighted: present, parseable, and not simple. One
/// that does not parse counts as simple: the browser's own parser may have read it as one.
fn preflighted_content_type(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let Ok(text) = value.to_str() else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if !token(kind) || !token(subtype) {
        return false;
    }
    !SIMPLE_CONTENT_TYPES
        .iter()
        .any(|simple| essence.eq_ignore_ascii_case(simple))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn on() -> Csrf {
        Csrf::new(&CsrfConfig::default()).unwrap()
    }

    #[test]
    fn a_request_a_form_could_send_is_refused() {
        for pairs in [
            &[][..],
            &[("content-type", "text/plain")],
            &[("content-type", "TEXT/PLAIN; charset=utf-8")],
            &[("content-type", "application/x-www-form-urlencoded")],
            &[("content-type", "multipart/form-data; boundary=x")],
            &[("content-type", "not a type")],
            &[
                ("content-type", "application/json"),
                ("content-type", "text/plain"),
            ],
            &[("apollo-require-preflight", "")],
            &[("x-graphql-csrf", "   ")],
            &[("x-other", "1")],
        ] {
            let refused = on()
                .check(&headers(pairs))
                .expect_err(&format!("{pairs:?}"));
            assert!(refused.message.contains("apollo-require-preflight"));
        }
    }

    #[test]
    fn a_preflighted_request_passes() {
        for pairs in [
            &[("content-type", "application/json")][..],
            &[(
                "content-type",
                "application/graphql-response+json; charset=utf-8",
            )],
            &[("apollo-require-preflight", "true")],
            &[("x-apollo-operation-name", "Me")],
            &[("X-GraphQL-CSRF", "1"), ("content-type", "text/plain")],
        ] {
            assert_eq!(on().check(&headers(pairs)), Ok(()), "{pairs:?}");
        }
    }

    #[test]
    fn off_lets_everything_through_and_names_are_configurable() {
        let off = Csrf::new(&CsrfConfig {
            enabled: false,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(off.check(&HeaderMap::new()), Ok(()));
        let own = Csrf::new(&CsrfConfig {
            enabled: true,
            required_headers: vec!["x-mine".into()],
        })
        .unwrap();
        assert_eq!(own.check(&headers(&[("x-mine", "1")])), Ok(()));
        assert!(
            own.check(&headers(&[("apollo-require-preflight", "1")]))
                .is_err()
        );
        assert!(
            Csrf::new(&CsrfConfig {
                enabled: true,
                required_headers: vec![]
            })
            .is_err()
        );
    }
}
