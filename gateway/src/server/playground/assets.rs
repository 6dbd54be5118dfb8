//! The playground's files, embedded in the binary: GraphiQL, React and ReactDOM as
//! `gateway/playground/update-assets.sh` copied them from the npm packages
//! `gateway/playground/package-lock.json` pins (checked against `SHA256SUMS` by a test), their
//! licences, and the bootstrap script that starts GraphiQL. Each is served at
//! `/playground/<name>`, a name that changes with its content (an npm version or a hash of the
//! bytes), so browsers may keep it forever.

use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The route prefix of every file (the page links them relative to `/graphql`).
pub const PREFIX: &str = "playground/";

macro_rules! npm_file {
    ($file:literal) => {
        (
            $file,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/playground/assets/",
                $file
            ))
            .as_slice(),
        )
    };
}

/// From npm, named with their versions by update-assets.sh.
pub const GRAPHIQL_JS: (&str, &[u8]) = npm_file!("graphiql-4.1.2.min.js");
pub const GRAPHIQL_CSS: (&str, &[u8]) = npm_file!("graphiql-4.1.2.min.css");
pub const REACT_JS: (&str, &[u8]) = npm_file!("react-18.3.1.production.min.js");
pub const REACT_DOM_JS: (&str, &[u8]) = npm_file!("react-dom-18.3.1.production.min.js");
const LICENSES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/playground/assets/LICENSES.txt"
));
/// Ours: starts GraphiQL with the page's settings.
const BOOTSTRAP_JS: &[u8] = include_bytes!("bootstrap.js");

pub struct Asset {
    /// The file it was embedded from.
    file: &'static str,
    /// Its name under `/playground/`.
    pub name: String,
    pub bytes: &'static [u8],
    content_type: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every file, in the order the page loads them.
pub static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let npm = |(file, bytes): (&'static str, &'static [u8]), content_type| Asset {
        file,
        name: file.to_string(),
        bytes,
        content_type,
    };
    vec![
        npm(GRAPHIQL_CSS, CSS),
        npm(REACT_JS, JS),
        npm(REACT_DOM_JS, JS),
        npm(GRAPHIQL_JS, JS),
        hashed("bootstrap.js", BOOTSTRAP_JS, JS),
        hashed("LICENSES.txt", LICENSES, TEXT),
    ]
});

/// The path the page links the file embedded from `file` by, relative to `/graphql`.
pub fn href(file: &str) -> String {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.file == file)
        .expect("an embedded asset");
    format!("{PREFIX}{}", asset.name)
}

/// Served as `<stem>-<12 hex digits of its sha256>.<extension>`.
fn hashed(file: &'static str, bytes: &'static [u8], content_type: &'static str) -> Asset {
    let (stem, extension) = file
        .rsplit_once('.')
        .expect("a file name with an extension");
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    Asset {
        file,
        name: format!("{stem}-{hex}.{extension}"),
        bytes,
        content_type,
    }
}

/// `GET /playground/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = Body::from(asset.bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What update-assets.sh wrote, by file name.
    fn sums() -> Vec<(String, String)> {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/playground/assets/SHA256SUMS"
        ))
        .lines()
        .map(|line| {
            let (sum, name) = line.split_once("  ").expect("`<sha256>  <file>`");
            (name.to_string(), sum.to_string())
        })
        .collect()
    }

    #[test]
    fn the_embedded_npm_files_are_the_ones_sha256sums_lists() {
        let embedded = [
            GRAPHIQL_JS,
            GRAPHIQL_CSS,
            REACT_JS,
            REACT_DOM_JS,
            ("LICENSES.txt", LICENSES),
        ];
        let mut listed = sums();
        listed.sort();
        let mut actual: Vec<(String, String)> = embedded
            .iter()
            .map(|(name, bytes)| {
                let digest = Sha256::digest(bytes);
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                (name.to_string(), hex)
            })
            .collect();
        actual.sort();
        assert_eq!(
            actual, listed,
            "gateway/playground/assets changed without update-assets.sh, or assets.rs names \
             other files than it wrote"
        );
    }

    #[test]
    fn names_are_unique_and_links_resolve() {
        let mut names: Vec<&str> = ASSETS.iter().map(|asset| asset.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
        let bootstrap = href("bootstrap.js");
        assert!(
            bootstrap.starts_with("playground/bootstrap-"),
            "{bootstrap}"
        );
        assert_eq!(bootstrap.len(), "playground/bootstrap-.js".len() + 12);
        assert_eq!(href(GRAPHIQL_JS.0), "playground/graphiql-4.1.2.min.js");
    }
}
