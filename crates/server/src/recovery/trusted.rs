//! SEP-10 tokens of other servers the operator trusts (SEP-30
//! §Authentication: "a SEP-10 Web Auth server"), checked with the keys that
//! server publishes as a JWKS, or with a shared HS256 secret.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use tokio::sync::RwLock;
use url::Url;

use crate::config::TrustedSep10Config;

/// How long fetched keys are used before being read again.
const REFRESH: Duration = Duration::from_secs(3600);
/// Unknown `kid`s trigger a fetch at most this often.
const REFETCH: Duration = Duration::from_secs(60);
/// Largest JWKS read.
const MAX_JWKS: usize = 64 * 1024;

/// The claims SEP-30 needs from a SEP-10 token (SEP-10 §Token).
#[derive(Debug, Deserialize)]
pub struct Sep10Claims {
    /// `G…` (memo and muxed forms are refused by the caller).
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issued at, Unix seconds.
    pub iat: u64,
}

enum Keys {
    Secret(DecodingKey),
    Jwks {
        url: Url,
        cached: RwLock<Option<(JwkSet, Instant)>>,
    },
}

/// One trusted SEP-10 server.
pub struct TrustedSep10 {
    /// Its `iss`.
    pub issuer: String,
    keys: Keys,
    http: reqwest::Client,
}

impl std::fmt::Debug for TrustedSep10 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedSep10({})", self.issuer)
    }
}

/// Why a token of a trusted server was refused (logged at debug only).
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Signature, algorithm, issuer or claims.
    #[error("token not valid: {0}")]
    Invalid(&'static str),
    /// Its keys could not be fetched.
    #[error("keys unavailable: {0}")]
    Keys(String),
}

impl TrustedSep10 {
    /// From configuration (validated at load: one of `jwks_url` or a secret).
    pub fn new(cfg: &TrustedSep10Config) -> Result<Self, String> {
        let keys = match (&cfg.jwks_url, &cfg.secret) {
            (Some(url), None) => Keys::Jwks {
                url: url.clone(),
                cached: RwLock::new(None),
            },
            (None, Some(secret)) => {
                Keys::Secret(DecodingKey::from_secret(secret.expose_secret().as_bytes()))
            }
            _ => return Err("give either jwks_url or secret".into()),
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(TrustedSep10 {
            issuer: cfg.issuer.clone(),
            keys,
            http,
        })
    }

    async fn fetch(&self, url: &Url) -> Result<JwkSet, TrustError> {
        let res = self
            .http
            .get(url.clone())
            .send()
            .await
            .map_err(|e| TrustError::Keys(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(TrustError::Keys(format!("status {}", res.status())));
        }
        let bytes = res
            .bytes()
            .await
            .map_err(|e| TrustError::Keys(e.without_url().to_string()))?;
        if bytes.len() > MAX_JWKS {
            return Err(TrustError::Keys("JWKS too large".into()));
        }
        serde_json::from_slice(&bytes).map_err(|_| TrustError::Keys("not a JWKS".into()))
    }

    async fn jwk_key(
        &self,
        url: &Url,
        cached: &RwLock<Option<(JwkSet, Instant)>>,
        kid: Option<&str>,
    ) -> Result<DecodingKey, TrustError> {
        let pick = |set: &JwkSet| -> Option<DecodingKey> {
            let jwk = match kid {
                Some(k) => set.find(k),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            }?;
            DecodingKey::from_jwk(jwk).ok()
        };
        if let Some((set, at)) = cached.read().await.as_ref()
            && at.elapsed() < REFRESH
            && let Some(key) = pick(set)
        {
            return Ok(key);
        }
        let mut slot = cached.write().await;
        if let Some((set, at)) = slot.as_ref()
            && at.elapsed() < REFETCH
        {
            return pick(set).ok_or(TrustError::Invalid("signed by an unknown key"));
        }
        let set = self.fetch(url).await?;
        let key = pick(&set);
        *slot = Some((set, Instant::now()));
        key.ok_or(TrustError::Invalid("signed by an unknown key"))
    }

    /// Verifies a token this server issued; expiry is the caller's to check.
    pub async fn verify(&self, token: &str) -> Result<Sep10Claims, TrustError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| TrustError::Invalid("not a JWT"))?;
        let key = match &self.keys {
            Keys::Secret(key) => {
                if header.alg != Algorithm::HS256 {
                    return Err(TrustError::Invalid("algorithm not accepted"));
                }
                key.clone()
            }
            Keys::Jwks { url, cached } => {
                // Public-key algorithms only: never `none`, never HMAC with
                // a public key as the secret.
                if !matches!(
                    header.alg,
                    Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256
                ) {
                    return Err(TrustError::Invalid("algorithm not accepted"));
                }
                self.jwk_key(url, cached, header.kid.as_deref()).await?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        validation.validate_exp = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<Sep10Claims>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|_| TrustError::Invalid("signature, issuer or claims"))
    }
}
