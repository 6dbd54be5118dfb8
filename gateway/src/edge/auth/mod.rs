//! Authentication, the `authentication:` section: a JWT from a header (`Authorization: Bearer
//! …`) or a cookie, verified with keys from JWKS documents ([`jwks`]): signature (RS, PS, ES,
//! EdDSA or HS; never `none`), expiry (required unless configured otherwise), not-before,
//! issuer and audience, with a small leeway for clock skew. A request without a token goes on
//! unauthenticated (the authorization directives then decide what it may see), unless
//! `require_authentication` is set; a request with a token that does not verify is refused
//! with 401. Verified tokens are remembered until they expire, so a client sending the same
//! token again costs a map lookup, not a signature check.

mod jwks;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

pub use jwks::JwksConfig;
use jwks::KeySource;

use crate::identity::Identity;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthenticationConfig {
    /// JWT verification; unset: requests carry no identity.
    pub jwt: Option<JwtConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtConfig {
    /// Where the verification keys come from; at least one.
    pub jwks: Vec<JwksConfig>,
    /// The header carrying the token.
    pub header_name: String,
    /// The scheme before the token in that header (`Bearer`, compared case-insensitively);
    /// empty: the header holds the bare token.
    pub header_prefix: String,
    /// A cookie holding the bare token, read when the header is absent.
    pub cookie: Option<String>,
    /// Accepted `iss` values; empty: any (and `iss` may be missing).
    pub issuers: Vec<String>,
    /// Accepted `aud` values (one of the token's must be among them); empty: any.
    pub audiences: Vec<String>,
    /// Algorithms accepted (`RS256`, `ES256`, `EdDSA`, `HS256`, ...); empty: any the keys
    /// allow.
    pub algorithms: Vec<String>,
    /// Refuse tokens without `exp`.
    pub require_exp: bool,
    /// Clock skew allowed when checking `exp` and `nbf`.
    pub leeway_seconds: u64,
    /// Refuse requests without a (valid) token.
    pub require_authentication: bool,
    /// Claims sent to every subgraph as headers, `claim: header-name` (a nested claim with
    /// dots). A client's own header of that name is never forwarded.
    pub forward_claims: BTreeMap<String, String>,
    /// How soon a token naming an unknown key id may make the URLs be fetched again.
    pub min_refresh_interval_ms: u64,
    /// Verified tokens remembered (until they expire) to skip checking them again.
    pub verified_tokens: u64,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            jwks: Vec::new(),
            header_name: "authorization".into(),
            header_prefix: "Bearer".into(),
            cookie: None,
            issuers: Vec::new(),
            audiences: Vec::new(),
            algorithms: Vec::new(),
            require_exp: true,
            leeway_seconds: 60,
            require_authentication: false,
            forward_claims: BTreeMap::new(),
            min_refresh_interval_ms: 10_000,
            verified_tokens: 10_000,
        }
    }
}

/// A request that presented no valid token where one is needed: 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthError {
    pub message: String,
}

impl AuthError {
    pub const CODE: &'static str = "UNAUTHENTICATED";

    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A verified token, until it expires.
struct Verified {
    identity: Arc<Identity>,
    expires_at: Option<u64>,
}

pub(crate) struct Authenticator {
    config: JwtConfig,
    header_name: HeaderName,
    algorithms: Vec<Algorithm>,
    forwarded: Vec<(String, HeaderName)>,
    sources: Vec<Arc<KeySource>>,
    client: reqwest::Client,
    /// By token: aHash, since a token is hundreds of bytes hashed on every request.
    verified: moka::sync::Cache<Arc<str>, Arc<Verified>, ahash::RandomState>,
}

impl Authenticator {
    /// Reads the files; the URLs are fetched by [`Authenticator::start`].
    pub(crate) fn new(config: &JwtConfig) -> Result<Self, String> {
        if config.jwks.is_empty() {
            return Err("authentication.jwt.jwks: name at least one JWKS (url or file)".into());
        }
        let sources = config
            .jwks
            .iter()
            .map(|source| KeySource::new(source).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let algorithms = config
            .algorithms
            .iter()
            .map(|name| {
                name.parse::<Algorithm>()
                    .map_err(|_| format!("authentication.jwt.algorithms: unknown {name:?}"))
            })
            .collect::<Result<_, _>>()?;
        let forwarded = config
            .forward_claims
            .iter()
            .map(|(claim, name)| {
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    .map(|header| (claim.clone(), header))
                    .map_err(|_| format!("authentication.jwt.forward_claims: {name:?}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            header_name: HeaderName::from_bytes(config.header_name.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("authentication.jwt.header_name: {:?}", config.header_name))?,
            config: config.clone(),
            algorithms,
            forwarded,
            sources,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::limited(3))
                .build()
                .map_err(|e| e.to_string())?,
            verified: moka::sync::Cache::builder()
                .max_capacity(config.verified_tokens.max(1))
                .build_with_hasher(ahash::RandomState::new()),
        })
    }

    /// Fetches every URL once (waiting at most a few seconds for each), then keeps polling
    /// them in the background. Call within a Tokio runtime.
    pub(crate) async fn start(self: &Arc<Self>) {
        for source in self.sources.iter().filter(|s| s.is_remote()) {
            source.refresh(&self.client, Duration::ZERO).await;
            let this = Arc::downgrade(self);
            let source = source.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(source.poll_interval()).await;
                    let Some(this) = this.upgrade() else { return };
                    if source.refresh(&this.client, Duration::ZERO).await {
                        this.verified.invalidate_all();
                    }
                }
            });
        }
    }

    /// The request's identity: `None` without a token (refused if one is required).
    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Arc<Identity>>, AuthError> {
        let Some(token) = self.token(headers)? else {
            if self.config.require_authentication {
                return Err(AuthError::new(
                    "this gateway requires a token: send Authorization: Bearer <JWT>",
                ));
            }
            return Ok(None);
        };
        let now = unix_now();
        if let Some(verified) = self.verified.get(token)
            && verified
                .expires_at
                .is_none_or(|exp| exp + self.config.leeway_seconds >= now)
        {
            return Ok(Some(verified.identity.clone()));
        }
        let claims = self.verify(token).await?;
        let identity = Arc::new(self.identity(claims.clone()));
        self.verified.insert(
            token.into(),
            Arc::new(Verified {
                identity: identity.clone(),
                expires_at: claims.get("exp").and_then(Value::as_u64),
            }),
        );
        Ok(Some(identity))
    }

    /// The token, from the header (which must then use the configured scheme) or the cookie.
    fn token<'h>(&self, headers: &'h HeaderMap) -> Result<Option<&'h str>, AuthError> {
        if let Some(value) = headers.get(&self.header_name) {
            let value = value
                .to_str()
                .map_err(|_| AuthError::new("the token header is not valid text"))?
                .trim();
            let prefix = &self.config.header_prefix;
            if prefix.is_empty() {
                return Ok(Some(value));
            }
            let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
            if !scheme.eq_ignore_ascii_case(prefix) || token.trim().is_empty() {
                return Err(AuthError::new(format!(
                    "the {} header must be `{prefix} <token>`",
                    self.config.header_name
                )));
            }
            return Ok(Some(token.trim()));
        }
        let Some(cookie) = &self.config.cookie else {
            return Ok(None);
        };
        Ok(headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| name == cookie)
            .map(|(_, token)| token)
            .filter(|token| !token.is_empty()))
    }

    async fn verify(&self, token: &str) -> Result<Map<String, Value>, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::new(format!("the token is malformed: {e}")))?;
        if !self.algorithms.is_empty() && !self.algorithms.contains(&header.alg) {
            return Err(AuthError::new(format!(
                "the token's algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let mut outcome = self.verify_with_keys(token, &header).await;
        if outcome.is_none() && header.kid.is_some() {
            // A key id the sets lack: maybe the issuer rotated its keys since the last poll.
            let min_interval = Duration::from_millis(self.config.min_refresh_interval_ms);
            let mut changed = false;
            for source in &self.sources {
                changed |= source.refresh(&self.client, min_interval).await;
            }
            if changed {
                self.verified.invalidate_all();
                outcome = self.verify_with_keys(token, &header).await;
            }
        }
        match outcome {
            Some(result) => result,
            None => Err(AuthError::new(match &header.kid {
                Some(kid) => format!(
                    "no key with id {kid:?} for the token's algorithm {:?}",
                    header.alg
                ),
                None => format!("no key for the token's algorithm {:?}", header.alg),
            })),
        }
    }

    /// `None` when no key fits the token; else the first key's verdict that is not a bad
    /// signature (a token signed by another key of the same type is tried on the next).
    async fn verify_with_keys(
        &self,
        token: &str,
        header: &jsonwebtoken::Header,
    ) -> Option<Result<Map<String, Value>, AuthError>> {
        let validation = self.validation(header.alg);
        let mut tried = false;
        for source in &self.sources {
            let keys = source.keys();
            let fitting = keys.iter().filter(|key| {
                key.algorithms.contains(&header.alg)
                    && (header.kid.is_none() || key.kid == header.kid)
            });
            for key in fitting {
                tried = true;
                match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation)
                {
                    Ok(data) => return Some(Ok(data.claims)),
                    Err(error) if *error.kind() == ErrorKind::InvalidSignature => continue,
                    Err(error) => return Some(Err(AuthError::new(describe(error.kind())))),
                }
            }
        }
        tried.then(|| Err(AuthError::new("the token's signature does not verify")))
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.config.leeway_seconds;
        validation.validate_nbf = true;
        let mut required = Vec::new();
        if self.config.require_exp {
            required.push("exp");
        }
        if self.config.issuers.is_empty() {
            validation.iss = None;
        } else {
            validation.set_issuer(&self.config.issuers);
            required.push("iss");
        }
        if self.config.audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.config.audiences);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        validation
    }

    fn identity(&self, claims: Map<String, Value>) -> Identity {
        let mut identity = Identity {
            claims,
            forwarded_headers: Vec::new(),
        };
        for (claim, name) in &self.forwarded {
            if let Some(value) = identity
                .claim_text(claim)
                .and_then(|text| HeaderValue::from_str(&text).ok())
            {
                identity.forwarded_headers.push((name.clone(), value));
            }
        }
        identity
    }
}

fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "the token's issuer (iss) is not accepted".into(),
        ErrorKind::InvalidAudience => "the token's audience (aud) is not accepted".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no `{claim}` claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("the token's `{claim}` claim is malformed"),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not fit its key".into(),
        other => format!("the token is invalid: {other:?}"),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
