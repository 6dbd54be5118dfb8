//! The playground page: GraphiQL's files from `/playground/`, its settings as a JSON block,
//! no inline script, served with a Content-Security-Policy that allows this origin only.

use std::sync::LazyLock;

use apollo_compiler::Schema;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use super::assets::{self, GRAPHIQL_CSS, GRAPHIQL_JS, REACT_DOM_JS, REACT_JS};
use super::example::example_operation;

/// Scripts, styles, requests and frames from this origin only. GraphiQL sets styles inline
/// (its editors and menus) and its CSS carries its fonts and images as `data:` URLs.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// Where the page's GraphiQL sends operations, relative to the page (`GET /graphql`), so that
/// it also works behind a proxy that adds a path prefix.
const ENDPOINT: &str = "graphql";

/// Shown when the schema suggests no example.
const NO_EXAMPLE: &str = "# Write a query here and run it with Ctrl-Enter;\n\
                          # the book icon (top left) opens the docs.\n";

/// The page around its settings, file links filled in.
static TEMPLATE: LazyLock<(String, String)> = LazyLock::new(|| {
    let mut page = include_str!("page.html").to_string();
    for (marker, file) in [
        ("{{graphiql.css}}", GRAPHIQL_CSS.0),
        ("{{react.js}}", REACT_JS.0),
        ("{{react-dom.js}}", REACT_DOM_JS.0),
        ("{{graphiql.js}}", GRAPHIQL_JS.0),
        ("{{bootstrap.js}}", "bootstrap.js"),
        ("{{LICENSES.txt}}", "LICENSES.txt"),
    ] {
        page = page.replace(marker, &assets::href(file));
    }
    let (before, after) = page
        .split_once("{{config}}")
        .expect("page.html has a {{config}}");
    (before.to_string(), after.to_string())
});

/// The page for a gateway serving `schema`.
pub fn page(schema: &Schema) -> Response {
    let config = serde_json::json!({
        "endpoint": ENDPOINT,
        "exampleOperation": example_operation(schema).unwrap_or_else(|| NO_EXAMPLE.to_string()),
    });
    let (before, after) = &*TEMPLATE;
    let mut html = String::with_capacity(before.len() + after.len() + 1024);
    html.push_str(before);
    html.push_str(&script_safe(&config.to_string()));
    html.push_str(after);

    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        // The example follows the schema and the file names the build: always revalidate.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        // `GET /graphql` answers JSON to other `Accept` headers.
        (header::VARY, HeaderValue::from_static("accept")),
    ] {
        headers.insert(name, value);
    }
    response
}

/// JSON that cannot close the `<script>` element it sits in.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_links_every_file_and_has_no_inline_script() {
        let schema =
            Schema::parse_and_validate("type Query { hello: String }", "s.graphql").unwrap();
        let response = page(&schema);
        assert_eq!(
            response.headers()[header::CONTENT_SECURITY_POLICY],
            CONTENT_SECURITY_POLICY
        );
        let (before, after) = &*TEMPLATE;
        let html = format!("{before}{after}");
        assert!(!html.contains("{{"), "a marker is left: {html}");
        for asset in assets::ASSETS.iter() {
            assert!(
                html.contains(&format!("\"playground/{}\"", asset.name)),
                "{} is not linked",
                asset.name
            );
        }
        // Every <script> either loads a file or is the JSON settings block.
        for script in html.split("<script").skip(1) {
            let tag = &script[..script.find('>').unwrap()];
            assert!(
                tag.contains(" src=") || tag.contains("type=\"application/json\""),
                "inline script: <script{tag}>"
            );
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
    }

    #[test]
    fn settings_cannot_close_their_script_element() {
        assert_eq!(
            script_safe(r#"{"a":"</script><b>&"}"#),
            r#"{"a":"\u003c/script\u003e\u003cb\u003e\u0026"}"#
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&script_safe(r#"{"a":"</script>"}"#)).unwrap();
        assert_eq!(parsed["a"], "</script>");
    }
}
