//! Where verification keys come from: a JWKS document in a file (read at start) or at a URL
//! (fetched at start, then every `poll_interval_seconds`, and again when a token names a key
//! id the set lacks, at most once per `min_refresh_interval_ms`, so a token with a made-up
//! `kid` cannot make the gateway hammer the issuer).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwksConfig {
    /// An http(s) URL serving a JWKS document (an issuer's `jwks_uri`).
    pub url: Option<String>,
    /// A file holding a JWKS document (a shared HS256 secret is an `oct` key here).
    pub file: Option<PathBuf>,
    /// How often the URL is fetched again.
    #[serde(default = "default_poll_interval")]
    pub poll_interval_seconds: u64,
    /// Headers sent with the fetch (e.g. an API key).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn default_poll_interval() -> u64 {
    60
}

/// One verification key.
pub(super) struct Key {
    pub kid: Option<String>,
    /// What the key may verify: its `alg` if it names one, else every algorithm of its type.
    pub algorithms: Vec<Algorithm>,
    pub decoding: DecodingKey,
}

/// The keys of one JWKS source, replaced whole on every fetch.
pub(super) struct KeySource {
    /// For log lines.
    name: String,
    url: Option<reqwest::Url>,
    headers: reqwest::header::HeaderMap,
    poll_interval: Duration,
    keys: RwLock<Arc<Vec<Key>>>,
    /// When the URL was last fetched, and a lock that makes concurrent refreshes one.
    refreshed: tokio::sync::Mutex<Option<Instant>>,
}

const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

impl KeySource {
    pub(super) fn new(config: &JwksConfig) -> Result<Self, String> {
        let (name, url, keys) = match (&config.url, &config.file) {
            (Some(url), None) => {
                let parsed = reqwest::Url::parse(url)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        format!("authentication.jwt.jwks: {url:?} is not an http(s) URL")
                    })?;
                (url.clone(), Some(parsed), Vec::new())
            }
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    format!(
                        "authentication.jwt.jwks: cannot read {}: {e}",
                        file.display()
                    )
                })?;
                let keys = parse_jwks(&text)
                    .map_err(|e| format!("authentication.jwt.jwks: {}: {e}", file.display()))?;
                (file.display().to_string(), None, keys)
            }
            _ => {
                return Err(
                    "authentication.jwt.jwks: each entry needs exactly one of `url` and \
                            `file`"
                        .into(),
                );
            }
        };
        let mut headers = reqwest::header::HeaderMap::new();
        for (header, value) in &config.headers {
            headers.insert(
                reqwest::header::HeaderName::from_bytes(header.as_bytes())
                    .map_err(|_| format!("authentication.jwt.jwks.headers: {header:?}"))?,
                reqwest::header::HeaderValue::from_str(value)
                    .map_err(|_| format!("authentication.jwt.jwks.headers: value of {header:?}"))?,
            );
        }
        Ok(Self {
            name,
            url,
            headers,
            poll_interval: Duration::from_secs(config.poll_interval_seconds.max(1)),
            keys: RwLock::new(Arc::new(keys)),
            refreshed: tokio::sync::Mutex::new(None),
        })
    }

    pub(super) fn keys(&self) -> Arc<Vec<Key>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn is_remote(&self) -> bool {
        self.url.is_some()
    }

    pub(super) fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Fetches the URL again unless it was fetched less than `min_interval` ago (a refresh
    /// already under way is waited for, not repeated). Whether the keys changed.
    pub(super) async fn refresh(&self, client: &reqwest::Client, min_interval: Duration) -> bool {
        let Some(url) = &self.url else {
            return false;
        };
        let mut refreshed = self.refreshed.lock().await;
        if refreshed.is_some_and(|at| at.elapsed() < min_interval) {
            return false;
        }
        *refreshed = Some(Instant::now());
        match self.fetch(client, url).await {
            Ok(keys) => {
                let changed = key_ids(&keys) != key_ids(&self.keys());
                tracing::debug!(source = %self.name, keys = keys.len(), "JWKS fetched");
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                changed
            }
            Err(error) => {
                // The keys fetched before stay in use.
                tracing::warn!(source = %self.name, "cannot fetch the JWKS: {error}");
                false
            }
        }
    }

    async fn fetch(
        &self,
        client: &reqwest::Client,
        url: &reqwest::Url,
    ) -> Result<Vec<Key>, String> {
        let response = client
            .get(url.clone())
            .headers(self.headers.clone())
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let text = response.text().await.map_err(|e| e.to_string())?;
        parse_jwks(&text)
    }
}

fn key_ids(keys: &[Key]) -> Vec<(Option<&str>, Vec<Algorithm>)> {
    keys.iter()
        .map(|k| (k.kid.as_deref(), k.algorithms.clone()))
        .collect()
}

/// The usable keys of a JWKS document. A key of a type or curve the gateway cannot verify
/// with is skipped (with a warning), not an error: issuers publish keys for other consumers.
pub(super) fn parse_jwks(text: &str) -> Result<Vec<Key>, String> {
    let set: JwkSet =
        serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        match key(jwk) {
            Ok(key) => keys.push(key),
            Err(error) => tracing::warn!(
                kid = jwk.common.key_id.as_deref().unwrap_or(""),
                "JWKS key skipped: {error}"
            ),
        }
    }
    Ok(keys)
}

fn key(jwk: &Jwk) -> Result<Key, String> {
    let by_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            ref other => return Err(format!("curve {other:?} is not supported")),
        },
        AlgorithmParameters::OctetKeyPair(_) => &[Algorithm::EdDSA],
        AlgorithmParameters::OctetKey(_) => &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
        _ => return Err("the key type is not supported".into()),
    };
    let algorithms = match jwk.common.key_algorithm {
        Some(named) => {
            let algorithm = algorithm_of(named)
                .filter(|a| by_type.contains(a))
                .ok_or_else(|| format!("alg {named:?} does not fit the key's type"))?;
            vec![algorithm]
        }
        None => by_type.to_vec(),
    };
    let decoding = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    Ok(Key {
        kid: jwk.common.key_id.clone(),
        algorithms,
        decoding,
    })
}

fn algorithm_of(named: KeyAlgorithm) -> Option<Algorithm> {
    Some(match named {
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}
