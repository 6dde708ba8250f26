//! OpenID Connect sign-in (OpenID Connect Core 1.0, authorization code flow
//! with PKCE, RFC 7636): the provider's metadata is discovered from its
//! issuer, its ID token checked against its JWKS (signature, `iss`, `aud`,
//! `exp`, `nonce`) and a verified `email` taken from it.
//!
//! GitHub speaks OAuth2 without ID tokens: after the same authorization code
//! exchange, the person's primary verified address is read from its REST API
//! (`GET /user/emails`, scope `user:email`).

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tokio::sync::RwLock;
use url::Url;

use crate::config::{OidcConfig, ProviderKind};

/// How long discovered metadata and keys are trusted before being read again.
const REFRESH: Duration = Duration::from_secs(3600);
/// Largest metadata, JWKS or token response read.
const MAX_RESPONSE: usize = 256 * 1024;

/// What went wrong with a provider. Logged; the person sees a generic page.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered badly.
    #[error("provider request failed: {0}")]
    Http(String),
    /// The ID token is not acceptable.
    #[error("ID token refused: {0}")]
    Token(&'static str),
}

#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks_uri: Url,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

struct Discovered {
    metadata: Metadata,
    keys: JwkSet,
    at: Instant,
}

/// One configured provider.
pub struct OidcProvider {
    /// Its name in URLs.
    pub name: String,
    /// What the sign-in page calls it.
    pub label: String,
    issuer: Url,
    /// `Some(API base)` for GitHub.
    github_api: Option<Url>,
    client_id: String,
    client_secret: Option<SecretString>,
    scopes: String,
    allowed_domains: Vec<String>,
    http: reqwest::Client,
    discovered: RwLock<Option<Discovered>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OidcProvider({}, {})", self.name, self.issuer)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

#[derive(Deserialize)]
struct IdClaims {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
}

async fn read_json<T: serde::de::DeserializeOwned>(res: reqwest::Response) -> Result<T, OidcError> {
    if !res.status().is_success() {
        return Err(OidcError::Http(format!("status {}", res.status())));
    }
    if res
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE as u64)
    {
        return Err(OidcError::Http("response too large".into()));
    }
    let bytes = res
        .bytes()
        .await
        .map_err(|e| OidcError::Http(e.without_url().to_string()))?;
    if bytes.len() > MAX_RESPONSE {
        return Err(OidcError::Http("response too large".into()));
    }
    serde_json::from_slice(&bytes)
        .map_err(|_| OidcError::Http("response is not the expected JSON".into()))
}

impl OidcProvider {
    /// A provider from its configuration.
    pub fn new(cfg: &OidcConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let issuer = cfg
            .issuer
            .clone()
            .ok_or("an issuer is required (resolved at load)")?;
        let github_api = (cfg.kind == ProviderKind::Github).then(|| {
            cfg.api_url
                .clone()
                .unwrap_or_else(|| Url::parse("https://api.github.com").expect("a valid URL"))
        });
        Ok(OidcProvider {
            name: cfg.name.clone(),
            label: cfg.label.clone().unwrap_or_else(|| cfg.name.clone()),
            issuer,
            github_api,
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            scopes: cfg.scopes.join(" "),
            allowed_domains: cfg
                .allowed_email_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
            http,
            discovered: RwLock::new(None),
        })
    }

    async fn fetch(&self) -> Result<Discovered, OidcError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.as_str().trim_end_matches('/')
        );
        let res = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| OidcError::Http(e.without_url().to_string()))?;
        let metadata: Metadata = read_json(res).await?;
        // OpenID Connect Discovery §4.3: the issuer must be the one asked.
        if metadata.issuer.trim_end_matches('/') != self.issuer.as_str().trim_end_matches('/') {
            return Err(OidcError::Http("metadata names another issuer".into()));
        }
        let res = self
            .http
            .get(metadata.jwks_uri.clone())
            .send()
            .await
            .map_err(|e| OidcError::Http(e.without_url().to_string()))?;
        let keys: JwkSet = read_json(res).await?;
        Ok(Discovered {
            metadata,
            keys,
            at: Instant::now(),
        })
    }

    /// Metadata and keys, read again when stale or when `kid` is unknown.
    async fn discovered(&self, kid: Option<&str>) -> Result<(Metadata, JwkSet), OidcError> {
        {
            let d = self.discovered.read().await;
            if let Some(d) = d.as_ref()
                && d.at.elapsed() < REFRESH
                && kid.is_none_or(|k| d.keys.find(k).is_some())
            {
                return Ok((d.metadata.clone(), d.keys.clone()));
            }
        }
        let mut slot = self.discovered.write().await;
        // A key rotated at the provider: read again, at most once a minute.
        if let Some(d) = slot.as_ref()
            && d.at.elapsed() < Duration::from_secs(60)
        {
            return Ok((d.metadata.clone(), d.keys.clone()));
        }
        let fresh = self.fetch().await?;
        let out = (fresh.metadata.clone(), fresh.keys.clone());
        *slot = Some(fresh);
        Ok(out)
    }

    /// Where to send the person's browser.
    pub async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> Result<Url, OidcError> {
        let mut url = match self.github_api {
            Some(_) => self.github_url("login/oauth/authorize")?,
            None => self.discovered(None).await?.0.authorization_endpoint,
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.scopes)
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url)
    }

    /// Exchanges an authorization code for the verified email address the
    /// provider vouches for, within its allowed domains if any are set.
    pub async fn email(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<String, OidcError> {
        let email = self
            .fetch_email(code, redirect_uri, verifier, nonce)
            .await?;
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        if !self.allowed_domains.is_empty() && !self.allowed_domains.contains(&domain) {
            return Err(OidcError::Token(
                "the address is not at a domain this provider may vouch for",
            ));
        }
        Ok(email)
    }

    /// Exchanges an authorization code for an ID token (or, for GitHub, an
    /// access token) and returns the verified email address it names.
    async fn fetch_email(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<String, OidcError> {
        if let Some(api) = &self.github_api {
            return self.github_email(api, code, redirect_uri, verifier).await;
        }
        let (metadata, _) = self.discovered(None).await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", &self.client_id),
        ];
        let secret = self
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned());
        // RFC 8414 §2: without a list, client_secret_basic is the default;
        // the body is used only for a provider that offers nothing else.
        let methods = &metadata.token_endpoint_auth_methods_supported;
        let basic = methods.is_empty()
            || methods.iter().any(|m| m == "client_secret_basic")
            || !methods.iter().any(|m| m == "client_secret_post");
        let mut req = self.http.post(metadata.token_endpoint.clone());
        if let Some(secret) = secret.as_deref() {
            if basic {
                req = req.basic_auth(
                    url::form_urlencoded::byte_serialize(self.client_id.as_bytes())
                        .collect::<String>(),
                    Some(
                        url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>(),
                    ),
                );
            } else {
                form.push(("client_secret", secret));
            }
        }
        let res = req
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Http(e.without_url().to_string()))?;
        let token: TokenResponse = read_json(res).await?;
        self.verify(&token.id_token, nonce).await
    }

    fn github_url(&self, path: &str) -> Result<Url, OidcError> {
        let base = format!("{}/", self.issuer.as_str().trim_end_matches('/'));
        Url::parse(&base)
            .and_then(|b| b.join(path))
            .map_err(|_| OidcError::Http("bad GitHub URL".into()))
    }

    /// GitHub: the code for an access token, then the primary verified
    /// address from `GET /user/emails`.
    async fn github_email(
        &self,
        api: &Url,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        #[derive(Deserialize)]
        struct Token {
            #[serde(default)]
            access_token: Option<String>,
        }
        #[derive(Deserialize)]
        struct Email {
            email: String,
            #[serde(default)]
            primary: bool,
            #[serde(default)]
            verified: bool,
        }
        let secret = self
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned());
        let mut form = vec![
            ("client_id", self.client_id.as_str()),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        if let Some(secret) = secret.as_deref() {
            form.push(("client_secret", secret));
        }
        let res = self
            .http
            .post(self.github_url("login/oauth/access_token")?)
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Http(e.without_url().to_string()))?;
        // GitHub answers errors with 200 and an `error` field.
        let token = read_json::<Token>(res)
            .await?
            .access_token
            .ok_or(OidcError::Token("GitHub refused the code"))?;
        let url = Url::parse(&format!("{}/", api.as_str().trim_end_matches('/')))
            .and_then(|b| b.join("user/emails"))
            .map_err(|_| OidcError::Http("bad GitHub API URL".into()))?;
        let res = self
            .http
            .get(url)
            .bearer_auth(token)
            .header("accept", "application/vnd.github+json")
            .header("user-agent", concat!("mooring/", env!("CARGO_PKG_VERSION")))
            .send()
            .await
            .map_err(|e| OidcError::Http(e.without_url().to_string()))?;
        let emails: Vec<Email> = read_json(res).await?;
        emails
            .into_iter()
            .find(|e| e.primary && e.verified)
            .map(|e| e.email)
            .ok_or(OidcError::Token(
                "GitHub has no verified primary email address",
            ))
    }

    async fn verify(&self, id_token: &str, nonce: &str) -> Result<String, OidcError> {
        let header =
            jsonwebtoken::decode_header(id_token).map_err(|_| OidcError::Token("not a JWT"))?;
        // Public-key algorithms only: never `none`, never a shared secret.
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA
        ) {
            return Err(OidcError::Token("algorithm not accepted"));
        }
        let (metadata, keys) = self.discovered(header.kid.as_deref()).await?;
        let jwk = match header.kid.as_deref() {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        }
        .ok_or(OidcError::Token("signed by an unknown key"))?;
        let key = DecodingKey::from_jwk(jwk).map_err(|_| OidcError::Token("unusable key"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[metadata.issuer.as_str()]);
        validation.set_audience(&[self.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = jsonwebtoken::decode::<IdClaims>(id_token, &key, &validation)
            .map_err(|_| OidcError::Token("signature, issuer, audience or expiry is wrong"))?
            .claims;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(OidcError::Token("nonce does not match"));
        }
        // OpenID Connect Core §3.1.3.7: an `azp` must be this client.
        if claims.azp.as_deref().is_some_and(|a| a != self.client_id) {
            return Err(OidcError::Token("issued to another client (azp)"));
        }
        let verified = matches!(claims.email_verified, Some(serde_json::Value::Bool(true)))
            || matches!(claims.email_verified, Some(serde_json::Value::String(ref s)) if s == "true");
        match claims.email {
            Some(email) if verified => Ok(email),
            Some(_) => Err(OidcError::Token(
                "the provider has not verified the email address",
            )),
            None => Err(OidcError::Token("no email address in the ID token")),
        }
    }
}
