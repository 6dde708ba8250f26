//! OpenID Connect sign-in through the `openidconnect` crate (OpenID Connect
//! Core 1.0, authorization code flow with PKCE, RFC 7636): the provider's
//! metadata and keys are discovered from its issuer, its ID token checked
//! (signature by a public-key algorithm, `iss`, `aud`, `azp`, `exp`,
//! `nonce`) and a verified `email` taken from it.
//!
//! GitHub speaks OAuth2 without ID tokens: after the same authorization code
//! exchange (the `oauth2` crate), the person's primary verified address is
//! read from its REST API (`GET /user/emails`, scope `user:email`).

use std::future::Future;
use std::time::{Duration, Instant};

use oauth2::basic::BasicClient;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, DiscoveryError, HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse as _, TokenUrl,
};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tokio::sync::RwLock;
use url::Url;

use crate::config::{OidcConfig, ProviderKind};

/// How long discovered metadata and keys are trusted before being read again.
const REFRESH: Duration = Duration::from_secs(3600);
/// Largest metadata, JWKS, token or API response read.
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

/// A request to a provider that failed (its text is for the log).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFailure(String);

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
    scopes: Vec<String>,
    allowed_domains: Vec<String>,
    http: reqwest::Client,
    discovered: RwLock<Option<(CoreProviderMetadata, Instant)>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OidcProvider({}, {})", self.name, self.issuer)
    }
}

/// Sends one request for the `openidconnect`/`oauth2` crates: no
/// redirects, a timeout, and at most [`MAX_RESPONSE`] bytes read.
async fn send(http: reqwest::Client, req: HttpRequest) -> Result<HttpResponse, HttpFailure> {
    let req = reqwest::Request::try_from(req).map_err(|e| HttpFailure(e.to_string()))?;
    let mut res = http
        .execute(req)
        .await
        .map_err(|e| HttpFailure(e.without_url().to_string()))?;
    if res
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE as u64)
    {
        return Err(HttpFailure("response too large".into()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| HttpFailure(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(HttpFailure("response too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    let mut out = HttpResponse::new(body);
    *out.status_mut() = res.status();
    *out.headers_mut() = res.headers().clone();
    Ok(out)
}

/// The public-key algorithms an ID token may be signed with: never `none`,
/// never a shared secret.
const ALGORITHMS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

fn redirect(uri: &str) -> Result<RedirectUrl, OidcError> {
    RedirectUrl::new(uri.to_owned()).map_err(|_| OidcError::Http("bad redirect URI".into()))
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
            scopes: cfg.scopes.clone(),
            allowed_domains: cfg
                .allowed_email_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
            http,
            discovered: RwLock::new(None),
        })
    }

    /// The HTTP client the protocol crates call.
    fn client(
        &self,
    ) -> impl Fn(
        HttpRequest,
    )
        -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, HttpFailure>> + Send>> {
        let http = self.http.clone();
        move |req| Box::pin(send(http.clone(), req))
    }

    fn secret(&self) -> Option<ClientSecret> {
        self.client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose_secret().to_owned()))
    }

    /// Discovery (OpenID Connect Discovery 1.0): the issuer as configured,
    /// which must be the one the metadata names (§4.3), with or without the
    /// trailing slash a URL gains when parsed.
    async fn discover(&self) -> Result<CoreProviderMetadata, OidcError> {
        let http = self.client();
        let plain = self.issuer.as_str().trim_end_matches('/');
        let mut last = String::new();
        for issuer in [plain.to_owned(), format!("{plain}/")] {
            let url = IssuerUrl::new(issuer).map_err(|_| OidcError::Http("bad issuer".into()))?;
            match CoreProviderMetadata::discover_async(url, &http).await {
                Ok(m) => return Ok(m),
                Err(DiscoveryError::Validation(e)) => last = e,
                Err(e) => return Err(OidcError::Http(e.to_string())),
            }
        }
        Err(OidcError::Http(last))
    }

    /// Metadata and keys; read again when stale, or (`rotated`) when a
    /// token names a key not among them — at most once a minute.
    async fn metadata(&self, rotated: bool) -> Result<CoreProviderMetadata, OidcError> {
        {
            let d = self.discovered.read().await;
            if let Some((m, at)) = d.as_ref()
                && at.elapsed() < REFRESH
                && !rotated
            {
                return Ok(m.clone());
            }
        }
        let mut slot = self.discovered.write().await;
        if let Some((m, at)) = slot.as_ref()
            && at.elapsed() < Duration::from_secs(60)
        {
            return Ok(m.clone());
        }
        let fresh = self.discover().await?;
        *slot = Some((fresh.clone(), Instant::now()));
        Ok(fresh)
    }

    /// The OpenID Connect client for `metadata`. RFC 8414 §2: without a
    /// list, `client_secret_basic` is the default; the body is used only
    /// for a provider that offers nothing else.
    fn oidc(
        &self,
        metadata: CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let methods = metadata
            .token_endpoint_auth_methods_supported()
            .cloned()
            .unwrap_or_default();
        let post_only = methods.contains(&CoreClientAuthMethod::ClientSecretPost)
            && !methods.contains(&CoreClientAuthMethod::ClientSecretBasic);
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.client_id.clone()),
            self.secret(),
        )
        .set_redirect_uri(redirect(redirect_uri)?)
        .set_auth_type(if post_only {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        }))
    }

    /// GitHub's OAuth2 client (its web flow takes the secret in the body).
    fn github(&self, redirect_uri: &str) -> Result<GitHubClient, OidcError> {
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.github_url("login/oauth/authorize")?))
            .set_token_uri(TokenUrl::from_url(
                self.github_url("login/oauth/access_token")?,
            ))
            .set_redirect_uri(redirect(redirect_uri)?)
            .set_auth_type(AuthType::RequestBody);
        if let Some(secret) = self.secret() {
            client = client.set_client_secret(secret);
        }
        Ok(client)
    }

    /// Where to send the person's browser. `verifier` is the PKCE code
    /// verifier the sign-in keeps (sealed) until the callback.
    pub async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<Url, OidcError> {
        let challenge =
            PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.into()));
        let scopes = self.scopes.iter().map(|s| Scope::new(s.clone()));
        let state = CsrfToken::new(state.to_owned());
        if self.github_api.is_some() {
            let (url, _) = self
                .github(redirect_uri)?
                .authorize_url(move || state)
                .add_scopes(scopes)
                .set_pkce_challenge(challenge)
                .url();
            return Ok(url);
        }
        let nonce = Nonce::new(nonce.to_owned());
        let client = self.oidc(self.metadata(false).await?, redirect_uri)?;
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || state,
                move || nonce,
            )
            .set_pkce_challenge(challenge);
        // `openid` is added by the crate; the rest as configured.
        for s in scopes.filter(|s| s.as_str() != "openid") {
            request = request.add_scope(s);
        }
        let (url, _, _) = request.url();
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
        let email = match &self.github_api {
            Some(api) => self.github_email(api, code, redirect_uri, verifier).await?,
            None => self.oidc_email(code, redirect_uri, verifier, nonce).await?,
        };
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

    /// The code for an ID token, and the verified address it names.
    async fn oidc_email(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<String, OidcError> {
        let client = self.oidc(self.metadata(false).await?, redirect_uri)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Http(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.client())
            .await
            .map_err(|e| OidcError::Http(e.to_string()))?;
        let id_token = token
            .id_token()
            .ok_or(OidcError::Token("no ID token in the response"))?;
        let nonce = Nonce::new(nonce.to_owned());
        let verified = |client: &CoreClient<_, _, _, _, _, _>| {
            id_token
                .claims(
                    &client
                        .id_token_verifier()
                        .set_allowed_algs(ALGORITHMS)
                        .require_audience_match(true),
                    &nonce,
                )
                .cloned()
        };
        let claims = match verified(&client) {
            // A key rotated at the provider: read its keys again.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => verified(&self.oidc(self.metadata(true).await?, redirect_uri)?),
            other => other,
        }
        .map_err(|e| match e {
            ClaimsVerificationError::InvalidNonce(_) => OidcError::Token("nonce does not match"),
            ClaimsVerificationError::InvalidAudience(_) => {
                OidcError::Token("issued to another client (aud or azp)")
            }
            ClaimsVerificationError::SignatureVerification(_) => {
                OidcError::Token("signed by an unknown key or algorithm")
            }
            _ => OidcError::Token("signature, issuer, audience or expiry is wrong"),
        })?;
        match claims.email() {
            Some(email) if claims.email_verified() == Some(true) => Ok(email.to_string()),
            Some(_) => Err(OidcError::Token(
                "the provider has not verified the email address",
            )),
            None => Err(OidcError::Token("no email address in the ID token")),
        }
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
        struct Email {
            email: String,
            #[serde(default)]
            primary: bool,
            #[serde(default)]
            verified: bool,
        }
        // GitHub answers a refused code with 200 and an `error` field, which
        // is no token response.
        let token = self
            .github(redirect_uri)?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.client())
            .await
            .map_err(|_| OidcError::Token("GitHub refused the code"))?;
        let url = Url::parse(&format!("{}/", api.as_str().trim_end_matches('/')))
            .and_then(|b| b.join("user/emails"))
            .map_err(|_| OidcError::Http("bad GitHub API URL".into()))?;
        let res = self
            .http
            .get(url)
            .bearer_auth(token.access_token().secret())
            .header("accept", "application/vnd.github+json")
            .header("user-agent", concat!("mooring/", env!("CARGO_PKG_VERSION")))
            .send()
            .await
            .map_err(|e| OidcError::Http(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(OidcError::Http(format!("status {}", res.status())));
        }
        let body = res
            .bytes()
            .await
            .map_err(|e| OidcError::Http(e.without_url().to_string()))?;
        if body.len() > MAX_RESPONSE {
            return Err(OidcError::Http("response too large".into()));
        }
        let emails: Vec<Email> = serde_json::from_slice(&body)
            .map_err(|_| OidcError::Http("response is not the expected JSON".into()))?;
        emails
            .into_iter()
            .find(|e| e.primary && e.verified)
            .map(|e| e.email)
            .ok_or(OidcError::Token(
                "GitHub has no verified primary email address",
            ))
    }
}

/// GitHub's OAuth2 client, its endpoints set.
type GitHubClient = oauth2::basic::BasicClient<
    oauth2::EndpointSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;
