//! Persisted operations: requests that name their operation by id instead of sending its
//! text, resolved to the text before any GraphQL work.
//!
//! Two sources, looked up in this order: the trusted documents of a manifest loaded at start
//! ([`manifest`], the `persisted_documents:` section), and automatic persisted queries
//! registered by clients at run time ([`apq`], the `apq:` section). An id arrives as
//! `extensions.persistedQuery.sha256Hash` (Apollo's protocol, for both) or as `documentId`
//! (the GraphQL-over-HTTP persisted documents proposal). With a manifest, the mode decides what
//! happens to operations sent as text: run (`allow_any`), run and log when not listed
//! (`log_unknown`), or refuse unless listed (`safelist`).

mod apq;
mod manifest;

use std::path::PathBuf;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

pub use apq::ApqConfig;
use apq::{ApqStore, HashMismatch};
use manifest::Manifest;

use crate::gateway::GraphQLRequest;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersistedDocumentsConfig {
    /// A JSON file: Apollo's persisted query list, or an `{"<id>": "<document>"}` object.
    pub manifest: Option<PathBuf>,
    /// What happens to operations sent as text.
    pub mode: Mode,
    /// In `safelist` mode, refuse operations sent as text even when they are listed: clients
    /// must send ids.
    pub require_id: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Any operation runs; the manifest only resolves ids.
    #[default]
    AllowAny,
    /// Any operation runs; one not in the manifest is logged (warn).
    LogUnknown,
    /// Only the manifest's operations run.
    Safelist,
}

/// A request refused before it is read as GraphQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Answers that must not be cached by the client or a CDN (an APQ miss is answered
    /// differently once the client has registered the query).
    pub no_cache: bool,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            no_cache: false,
        }
    }
}

pub(crate) struct PersistedOperations {
    apq: Option<ApqStore>,
    manifest: Option<Manifest>,
    mode: Mode,
    require_id: bool,
    /// Bounds the work of comparing a hostile text with the manifest.
    max_tokens: usize,
}

/// Where a request's id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdSource {
    PersistedQueryExtension,
    DocumentId,
}

impl PersistedOperations {
    /// Call within a Tokio runtime when `redis_url` is set.
    pub(crate) fn new(
        apq: &ApqConfig,
        documents: &PersistedDocumentsConfig,
        redis_url: Option<&str>,
        max_tokens: usize,
    ) -> Result<Self, String> {
        let manifest = match &documents.manifest {
            Some(path) => Some(
                Manifest::load(path).map_err(|e| format!("persisted_documents.manifest: {e}"))?,
            ),
            None => None,
        };
        if manifest.is_none() && documents.mode != Mode::AllowAny {
            return Err(format!(
                "persisted_documents.mode: {:?} needs persisted_documents.manifest",
                documents.mode
            ));
        }
        if documents.mode == Mode::Safelist && apq.enabled {
            return Err(
                "persisted_documents.mode: safelist cannot go with apq.enabled: any \
                        client could register any operation; set apq.enabled: false"
                    .into(),
            );
        }
        if let Some(manifest) = &manifest {
            tracing::info!(
                operations = manifest.len(),
                mode = ?documents.mode,
                "persisted documents loaded"
            );
        }
        Ok(Self {
            apq: if apq.enabled {
                Some(ApqStore::new(apq, redis_url)?)
            } else {
                None
            },
            manifest,
            mode: documents.mode,
            require_id: documents.require_id,
            max_tokens,
        })
    }

    /// Fills in `request.query` from its id, and applies the mode to what it runs.
    pub(crate) async fn resolve(&self, request: &mut GraphQLRequest) -> Result<(), Refusal> {
        let Some((id, source)) = requested_id(request)? else {
            return match request.query.as_deref() {
                Some(query) => self.check_text(query, request.operation_name.as_deref()),
                None => Ok(()),
            };
        };
        match request.query.as_deref() {
            Some(query) => {
                self.register(&id, source, query).await?;
                self.check_text(query, request.operation_name.as_deref())
            }
            None => {
                if let Some(body) = self.manifest.as_ref().and_then(|m| m.get(&id)) {
                    request.query = Some(body.to_string());
                    return Ok(());
                }
                if let Some(apq) = &self.apq
                    && let Some(query) = apq.get(&id).await
                {
                    request.query = Some(query.to_string());
                    return self.check_text(&query, request.operation_name.as_deref());
                }
                Err(self.unknown_id(&id, source))
            }
        }
    }

    /// A request with both an id and its text: an APQ registration.
    async fn register(&self, id: &str, source: IdSource, query: &str) -> Result<(), Refusal> {
        match (&self.apq, source) {
            (Some(apq), IdSource::PersistedQueryExtension) => {
                apq.register(id, query).await.map_err(|HashMismatch| {
                    Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "PERSISTED_QUERY_HASH_MISMATCH",
                        "the query's SHA-256 is not extensions.persistedQuery.sha256Hash",
                    )
                })
            }
            // A listed id with its own text is the listed operation; anything else is a
            // client mixing two things up.
            _ if self
                .manifest
                .as_ref()
                .and_then(|m| m.get(id))
                .is_some_and(|body| *body == *query) =>
            {
                Ok(())
            }
            (None, IdSource::PersistedQueryExtension) if self.manifest.is_none() => {
                Err(not_supported())
            }
            _ => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "send a persisted operation's id or an operation's text, not both",
            )),
        }
    }

    fn unknown_id(&self, id: &str, source: IdSource) -> Refusal {
        if self.apq.is_some() && source == IdSource::PersistedQueryExtension {
            // The client answers this by registering the query: a 200, as Apollo's
            // clients expect, never cached.
            return Refusal {
                no_cache: true,
                ..Refusal::new(
                    StatusCode::OK,
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound",
                )
            };
        }
        if self.manifest.is_some() {
            return Refusal::new(
                StatusCode::NOT_FOUND,
                "PERSISTED_QUERY_NOT_IN_LIST",
                format!("no persisted operation has the id {id:?}"),
            );
        }
        not_supported()
    }

    /// What the mode says of an operation sent as text.
    fn check_text(&self, query: &str, operation_name: Option<&str>) -> Result<(), Refusal> {
        let Some(manifest) = &self.manifest else {
            return Ok(());
        };
        match self.mode {
            Mode::AllowAny => Ok(()),
            Mode::LogUnknown => {
                if !manifest.lists(query, self.max_tokens) {
                    tracing::warn!(
                        operation_name = operation_name.unwrap_or(""),
                        sha256 = %apq::sha256_hex(query),
                        "an operation not in the persisted documents manifest ran"
                    );
                }
                Ok(())
            }
            Mode::Safelist if self.require_id => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "PERSISTED_QUERY_ID_REQUIRED",
                "this gateway runs persisted operations only: send the operation's id",
            )),
            Mode::Safelist if manifest.lists(query, self.max_tokens) => Ok(()),
            Mode::Safelist => Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "QUERY_NOT_IN_SAFELIST",
                "this operation is not in the gateway's list of persisted operations",
            )),
        }
    }
}

fn not_supported() -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "PersistedQueryNotSupported",
    )
}

/// The id a request names its operation by, if any.
fn requested_id(request: &GraphQLRequest) -> Result<Option<(String, IdSource)>, Refusal> {
    if let Some(id) = &request.document_id {
        return Ok(Some((id.clone(), IdSource::DocumentId)));
    }
    let Some(persisted) = request
        .extensions
        .as_ref()
        .and_then(|e| e.get("persistedQuery"))
    else {
        return Ok(None);
    };
    let malformed = |why: &str| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            format!("extensions.persistedQuery {why}"),
        )
    };
    let Value::Object(persisted) = persisted else {
        return Err(malformed("must be an object"));
    };
    if persisted.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
            "extensions.persistedQuery.version must be 1",
        ));
    }
    match persisted.get("sha256Hash") {
        Some(Value::String(hash)) if !hash.is_empty() => {
            Ok(Some((hash.clone(), IdSource::PersistedQueryExtension)))
        }
        _ => Err(malformed("needs a sha256Hash string")),
    }
}

#[cfg(test)]
mod tests;
