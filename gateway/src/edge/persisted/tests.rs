use serde_json::json;

use super::apq::sha256_hex;
use super::*;

const ME: &str = "query Me { me { id } }";

fn request(body: serde_json::Value) -> GraphQLRequest {
    serde_json::from_value(body).unwrap()
}

fn hash_only(hash: &str) -> GraphQLRequest {
    request(json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }))
}

fn manifest_file(text: &str) -> tempfile_path::TempPath {
    tempfile_path::write(text)
}

/// A file under the target directory that lives as long as the test needs it.
mod tempfile_path {
    pub struct TempPath(pub std::path::PathBuf);

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    pub fn write(text: &str) -> TempPath {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "gateway-manifest-{}-{}.json",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).unwrap();
        TempPath(path)
    }
}

fn operations(apq: bool, manifest: Option<&std::path::Path>, mode: Mode) -> PersistedOperations {
    PersistedOperations::new(
        &ApqConfig {
            enabled: apq,
            ..Default::default()
        },
        &PersistedDocumentsConfig {
            manifest: manifest.map(Into::into),
            mode,
            require_id: false,
        },
        None,
        15_000,
    )
    .unwrap()
}

#[tokio::test]
async fn apq_miss_then_registration_then_hit() {
    let persisted = operations(true, None, Mode::AllowAny);
    let hash = sha256_hex(ME);
    let refusal = persisted.resolve(&mut hash_only(&hash)).await.unwrap_err();
    assert_eq!(
        (refusal.status, refusal.code, refusal.message.as_str()),
        (
            StatusCode::OK,
            "PERSISTED_QUERY_NOT_FOUND",
            "PersistedQueryNotFound"
        )
    );
    assert!(refusal.no_cache);

    let mut wrong = request(json!({
        "query": "{ me { name } }",
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } }
    }));
    let refusal = persisted.resolve(&mut wrong).await.unwrap_err();
    assert_eq!(refusal.code, "PERSISTED_QUERY_HASH_MISMATCH");
    assert!(
        persisted.resolve(&mut hash_only(&hash)).await.is_err(),
        "not registered"
    );

    let mut registration = request(json!({
        "query": ME,
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } }
    }));
    persisted.resolve(&mut registration).await.unwrap();
    assert_eq!(registration.query.as_deref(), Some(ME));

    let mut again = hash_only(&hash);
    persisted.resolve(&mut again).await.unwrap();
    assert_eq!(again.query.as_deref(), Some(ME));
}

#[tokio::test]
async fn a_malformed_or_unsupported_persisted_query_is_refused_by_code() {
    let persisted = operations(true, None, Mode::AllowAny);
    for (extension, code) in [
        (
            json!({ "version": 2, "sha256Hash": "ab" }),
            "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
        ),
        (json!({ "version": 1 }), "BAD_REQUEST"),
        (json!({ "version": 1, "sha256Hash": 7 }), "BAD_REQUEST"),
        (json!("ab"), "BAD_REQUEST"),
    ] {
        let mut request = request(json!({ "extensions": { "persistedQuery": extension } }));
        let refusal = persisted.resolve(&mut request).await.unwrap_err();
        assert_eq!(refusal.code, code, "{extension}");
        assert_eq!(refusal.status, StatusCode::BAD_REQUEST);
    }
    let off = operations(false, None, Mode::AllowAny);
    let refusal = off
        .resolve(&mut hash_only(&sha256_hex(ME)))
        .await
        .unwrap_err();
    assert_eq!(refusal.code, "PERSISTED_QUERY_NOT_SUPPORTED");
}

#[tokio::test]
async fn trusted_documents_resolve_by_either_kind_of_id() {
    let file = manifest_file(&format!(
        r#"{{ "me-1": "{ME}", "{}": "{{ me {{ name }} }}" }}"#,
        sha256_hex("{ me { name } }")
    ));
    let persisted = operations(false, Some(&file.0), Mode::AllowAny);
    let mut by_document_id = request(json!({ "documentId": "me-1" }));
    persisted.resolve(&mut by_document_id).await.unwrap();
    assert_eq!(by_document_id.query.as_deref(), Some(ME));

    let hash = sha256_hex("{ me { name } }");
    let mut by_hash = hash_only(&hash);
    persisted.resolve(&mut by_hash).await.unwrap();
    assert_eq!(by_hash.query.as_deref(), Some("{ me { name } }"));
    let mut prefixed = request(json!({ "documentId": format!("sha256:{hash}") }));
    persisted.resolve(&mut prefixed).await.unwrap();
    assert_eq!(prefixed.query.as_deref(), Some("{ me { name } }"));

    for mut unknown in [request(json!({ "documentId": "nope" })), hash_only("00")] {
        let refusal = persisted.resolve(&mut unknown).await.unwrap_err();
        assert_eq!(
            (refusal.status, refusal.code),
            (StatusCode::NOT_FOUND, "PERSISTED_QUERY_NOT_IN_LIST")
        );
    }
    // Text is still allowed in this mode.
    let mut text = request(json!({ "query": "{ me { id name } }" }));
    persisted.resolve(&mut text).await.unwrap();
}

#[tokio::test]
async fn a_safelist_runs_listed_operations_only() {
    let file = manifest_file(&format!(r#"{{ "me-1": "{ME}" }}"#));
    let persisted = operations(false, Some(&file.0), Mode::Safelist);
    let mut listed_text = request(json!({ "query": "query Me {\n  me { id }\n}" }));
    persisted.resolve(&mut listed_text).await.unwrap();
    let mut by_id = request(json!({ "documentId": "me-1" }));
    persisted.resolve(&mut by_id).await.unwrap();

    let mut unlisted = request(json!({ "query": "{ me { name } }" }));
    let refusal = persisted.resolve(&mut unlisted).await.unwrap_err();
    assert_eq!(
        (refusal.status, refusal.code),
        (StatusCode::FORBIDDEN, "QUERY_NOT_IN_SAFELIST")
    );

    let ids_only = PersistedOperations::new(
        &ApqConfig {
            enabled: false,
            ..Default::default()
        },
        &PersistedDocumentsConfig {
            manifest: Some(file.0.clone()),
            mode: Mode::Safelist,
            require_id: true,
        },
        None,
        15_000,
    )
    .unwrap();
    let mut listed_text = request(json!({ "query": ME }));
    let refusal = ids_only.resolve(&mut listed_text).await.unwrap_err();
    assert_eq!(refusal.code, "PERSISTED_QUERY_ID_REQUIRED");
    let mut by_id = request(json!({ "documentId": "me-1" }));
    ids_only.resolve(&mut by_id).await.unwrap();
}

#[tokio::test]
async fn log_unknown_runs_everything() {
    let file = manifest_file(&format!(r#"{{ "me-1": "{ME}" }}"#));
    let persisted = operations(true, Some(&file.0), Mode::LogUnknown);
    let mut unlisted = request(json!({ "query": "{ me { name } }" }));
    persisted.resolve(&mut unlisted).await.unwrap();
}

#[test]
fn settings_that_cannot_work_are_refused_by_key() {
    let file = manifest_file(r#"{ "a": "{ me { id } }" }"#);
    let refused = |apq: bool, manifest: Option<std::path::PathBuf>, mode: Mode, key: &str| {
        let error = PersistedOperations::new(
            &ApqConfig {
                enabled: apq,
                ..Default::default()
            },
            &PersistedDocumentsConfig {
                manifest,
                mode,
                require_id: false,
            },
            None,
            0,
        )
        .err()
        .expect("refused");
        assert!(error.contains(key), "{error}");
    };
    refused(true, Some(file.0.clone()), Mode::Safelist, "apq.enabled");
    refused(false, None, Mode::Safelist, "persisted_documents.manifest");
    refused(
        false,
        None,
        Mode::LogUnknown,
        "persisted_documents.manifest",
    );
    refused(
        false,
        Some("/nonexistent/manifest.json".into()),
        Mode::AllowAny,
        "cannot read",
    );
}
