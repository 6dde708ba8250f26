//! The sign-in's rules: requests, polling, one-time codes by email and
//! SMS, OpenID Connect, limits; passwords and TOTP in their own files.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use subtle::ConstantTimeEq as _;
use utoipa::ToSchema;

use super::oidc::OidcProvider;
use super::tokens::{hashed, random_token, user_code, well_formed};
use super::{password, store, totp};
use crate::clock::Clock;
use crate::config::Sep30Config;
use crate::db::{Db, DbError};
use crate::jwt::Jwt;
use crate::notify::{self, Mailer, SmsSender};
use crate::rate_limit::{self, RateLimits};
use crate::recovery::caller::ProviderClaims;
use crate::recovery::model::{AuthMethod, MethodType};
use crate::vault::{DataKey, Place, VaultError};

/// Why a sign-in step failed. Shown to the person (pages) or the wallet
/// (JSON); never says which identities exist.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// Unknown, used or expired request (404).
    #[error("this sign-in request is unknown or has expired; start again from your wallet")]
    NotFound,
    /// Bad input (400).
    #[error("{0}")]
    Invalid(&'static str),
    /// Too many requests (429).
    #[error("too many attempts; wait a while and try again")]
    RateLimited,
    /// A wrong or expired code (400).
    #[error("that code is not right or has expired")]
    WrongCode,
    /// A provider or sender failed (503; the detail is logged).
    #[error("the sign-in service is unavailable right now; try again later")]
    Unavailable(String),
    /// Storage failed.
    #[error(transparent)]
    Db(DbError),
    /// A sealed value could not be opened.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<DbError> for AuthorizeError {
    fn from(e: DbError) -> Self {
        match e {
            // A request that is gone, or changed under a step (a code used
            // meanwhile): unknown, used or expired, as far as anyone asks.
            DbError::NotFound | DbError::Conflict => AuthorizeError::NotFound,
            e => AuthorizeError::Db(e),
        }
    }
}

/// `POST /authorize/token`'s answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = sep30_signin::NewRequest)]
pub struct NewRequest {
    /// What the wallet polls with: `GET /authorize/token/{id}`. 43
    /// base64url characters.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub id: String,
    /// What the browser page is opened with (`/authorize?token=…`). 43
    /// base64url characters.
    #[schema(pattern = "^[A-Za-z0-9_-]{43}$")]
    pub token: String,
    /// The page to open in the person's browser: this server's
    /// `/authorize?token=…`.
    pub url: String,
    /// A short code the wallet shows and the page repeats, so that the
    /// person can tell a sign-in their wallet asked for from one sent to
    /// them by someone else (RFC 8628 §5.4's remote-phishing risk).
    #[schema(pattern = "^[A-HJ-NP-Z2-9]{3}-[A-HJ-NP-Z2-9]{3}$")]
    pub user_code: String,
    /// Seconds the request waits for the person to sign in.
    pub expires_in: u64,
}

/// `GET /authorize/token/{id}`'s answer, by `status`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[schema(as = sep30_signin::Poll)]
pub enum Poll {
    /// The person has not signed in yet: poll again.
    Pending,
    /// Signed in: the access token, given once (the request is gone
    /// after this answer).
    Authorized {
        /// A JWT for the SEP-30 endpoints (SEP-30 §Authentication,
        /// `External`), as a bearer token. It names `auth_method_type`
        /// and `auth_method_value`.
        access_token: String,
        /// Always `Bearer`.
        #[schema(value_type = String, pattern = "^Bearer$")]
        token_type: &'static str,
        /// Seconds it is valid.
        expires_in: u64,
        /// What it proves.
        #[schema(value_type = ProvenMethod)]
        auth_method_type: &'static str,
    },
}

/// What an access token proves: an SEP-30 auth method type.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = sep30_signin::ProvenMethod)]
#[allow(dead_code)] // described, sent as [`MethodType::as_str`]
enum ProvenMethod {
    /// An email address (by a code, a password or an OpenID Connect
    /// provider).
    Email,
    /// A phone number (by a code sent by SMS).
    PhoneNumber,
}

/// What the sign-in page offers.
#[derive(Debug, Clone)]
pub struct Offer {
    /// Email codes.
    pub email: bool,
    /// Email and password.
    pub passwords: bool,
    /// SMS codes.
    pub sms: bool,
    /// OIDC providers: (name, label).
    pub oidc: Vec<(String, String)>,
}

/// What the sign-in service is built from.
pub struct AuthorizeParts {
    /// The database.
    pub db: Db,
    /// Seals and keys hashes (a server key).
    pub key: DataKey,
    /// The shared rate limits.
    pub limits: RateLimits,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Signs access tokens.
    pub jwt: Arc<Jwt>,
    /// `iss` of its access tokens.
    pub issuer: String,
    /// The public base URL.
    pub public_url: String,
    /// Where email codes go.
    pub mailer: Arc<dyn Mailer>,
    /// Where SMS codes go.
    pub sms: Arc<dyn SmsSender>,
}

/// The sign-in service.
pub struct Authorize {
    pub(super) db: Db,
    pub(super) key: DataKey,
    pub(super) limits: RateLimits,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) jwt: Arc<Jwt>,
    pub(super) issuer: String,
    pub(super) public_url: String,
    pub(super) mailer: Arc<dyn Mailer>,
    pub(super) sms: Arc<dyn SmsSender>,
    pub(super) oidc: Vec<OidcProvider>,
    pub(super) request_ttl: u64,
    pub(super) access_ttl: u64,
    pub(super) code_ttl: u64,
    pub(super) max_attempts: i64,
    pub(super) per_identity: i64,
    pub(super) per_ip: i64,
    pub(super) email: bool,
    pub(super) passwords: bool,
    pub(super) sms_enabled: bool,
}

impl std::fmt::Debug for Authorize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorize")
            .field("oidc", &self.oidc)
            .finish_non_exhaustive()
    }
}

impl Authorize {
    /// The service, with `cfg`'s providers.
    pub fn new(parts: AuthorizeParts, cfg: &Sep30Config) -> Result<Self, String> {
        let oidc = cfg
            .oidc
            .iter()
            .map(OidcProvider::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Authorize {
            db: parts.db,
            key: parts.key,
            limits: parts.limits,
            clock: parts.clock,
            jwt: parts.jwt,
            issuer: parts.issuer,
            public_url: parts.public_url,
            mailer: parts.mailer,
            sms: parts.sms,
            oidc,
            request_ttl: cfg.authorize_ttl_secs,
            access_ttl: cfg.access_token_ttl_secs,
            code_ttl: cfg.code_ttl_secs,
            max_attempts: i64::from(cfg.code_max_attempts),
            per_identity: i64::from(cfg.codes_per_identity_per_hour),
            per_ip: i64::from(cfg.requests_per_ip_per_hour),
            email: cfg.email.enabled,
            passwords: cfg.email.enabled && cfg.email.passwords,
            sms_enabled: cfg.sms.enabled,
        })
    }

    pub(super) fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    pub(super) fn place<'a>(column: &'a str, row: &'a str) -> Place<'a> {
        Place {
            table: "authorize_requests",
            column,
            row,
        }
    }

    pub(super) fn seal_method(&self, column: &str, id: &str, m: &AuthMethod) -> Vec<u8> {
        let text = format!("{}\0{}", m.kind.as_str(), m.value);
        self.key.seal(Self::place(column, id), text.as_bytes())
    }

    pub(super) fn open_method(
        &self,
        column: &str,
        id: &str,
        sealed: &[u8],
    ) -> Result<AuthMethod, AuthorizeError> {
        let text = self.key.open(Self::place(column, id), sealed)?;
        let text = std::str::from_utf8(&text).map_err(|_| VaultError::Unauthentic)?;
        let (kind, value) = text.split_once('\0').ok_or(VaultError::Unauthentic)?;
        MethodType::parse(kind)
            .and_then(|k| AuthMethod::new(k, value))
            .ok_or(AuthorizeError::Vault(VaultError::Unauthentic))
    }

    /// Counts one event against a limit of `limit` per hour.
    pub(super) async fn limit(
        &self,
        kind: &str,
        subject: &str,
        limit: i64,
    ) -> Result<(), AuthorizeError> {
        self.limit_per(kind, subject, limit, 3600).await
    }

    /// Counts one event against a limit of `limit` per `period` seconds,
    /// shared by every replica; `subject` is stored only as a keyed hash.
    pub(crate) async fn limit_per(
        &self,
        kind: &str,
        subject: &str,
        limit: i64,
        period: i64,
    ) -> Result<(), AuthorizeError> {
        if self.limits.over(kind, subject, limit, period).await? {
            return Err(AuthorizeError::RateLimited);
        }
        Ok(())
    }

    pub(super) async fn limit_ip(&self, ip: Option<IpAddr>) -> Result<(), AuthorizeError> {
        match ip {
            Some(ip) => {
                self.limit("ip", &rate_limit::subject(ip), self.per_ip)
                    .await
            }
            None => Ok(()),
        }
    }

    /// What the sign-in page offers.
    pub fn offer(&self) -> Offer {
        Offer {
            email: self.email,
            passwords: self.passwords,
            sms: self.sms_enabled,
            oidc: self
                .oidc
                .iter()
                .map(|p| (p.name.clone(), p.label.clone()))
                .collect(),
        }
    }

    /// `POST /authorize/token`.
    pub async fn create(&self, ip: Option<IpAddr>) -> Result<NewRequest, AuthorizeError> {
        self.limit_ip(ip).await?;
        let (id, token) = (random_token(), random_token());
        let now = self.now();
        store::insert(
            &self.db,
            &hashed(&id),
            &hashed(&token),
            now,
            now.saturating_add_unsigned(self.request_ttl),
        )
        .await?;
        Ok(NewRequest {
            url: format!("{}/authorize?token={token}", self.public_url),
            user_code: user_code(&token),
            id,
            token,
            expires_in: self.request_ttl,
        })
    }

    /// `GET /authorize/token/{id}`.
    pub async fn poll(&self, id: &str) -> Result<Poll, AuthorizeError> {
        if !well_formed(id) {
            return Err(AuthorizeError::NotFound);
        }
        let h = hashed(id);
        let now = self.now();
        let Some(sealed) = store::take(&self.db, &h, now).await? else {
            return if store::exists(&self.db, &h, now).await? {
                Ok(Poll::Pending)
            } else {
                Err(AuthorizeError::NotFound)
            };
        };
        let method = self.open_method("method", &h, &sealed)?;
        let now = self.clock.now();
        let claims = ProviderClaims {
            iss: self.issuer.clone(),
            sub: method.value.clone(),
            iat: now,
            exp: now + self.access_ttl,
            jti: random_token(),
            auth_method_type: method.kind.as_str().to_owned(),
            auth_method_value: method.value,
        };
        let access_token = self
            .jwt
            .issue_claims(&claims)
            .map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
        Ok(Poll::Authorized {
            access_token,
            token_type: "Bearer",
            expires_in: self.access_ttl,
            auth_method_type: method.kind.as_str(),
        })
    }

    pub(super) async fn request(&self, token: &str) -> Result<store::RequestRow, AuthorizeError> {
        if !well_formed(token) {
            return Err(AuthorizeError::NotFound);
        }
        store::by_token(&self.db, &hashed(token), self.now())
            .await?
            .ok_or(AuthorizeError::NotFound)
    }

    /// The sign-in page: the request must be live and not yet used.
    pub async fn check(&self, token: &str) -> Result<(), AuthorizeError> {
        let r = self.request(token).await?;
        if r.method.is_some() {
            return Err(AuthorizeError::NotFound);
        }
        Ok(())
    }

    /// Sends a one-time code to an email address or phone number; returns
    /// where it went, masked.
    pub async fn send_code(
        &self,
        token: &str,
        kind: &str,
        value: &str,
        ip: Option<IpAddr>,
    ) -> Result<String, AuthorizeError> {
        let r = self.request(token).await?;
        if r.method.is_some() {
            return Err(AuthorizeError::NotFound);
        }
        let kind = match kind {
            "email" if self.email => MethodType::Email,
            "phone_number" if self.sms_enabled => MethodType::PhoneNumber,
            _ => {
                return Err(AuthorizeError::Invalid(
                    "this way of signing in is not offered",
                ));
            }
        };
        let method = AuthMethod::new(kind, value).ok_or(AuthorizeError::Invalid(match kind {
            MethodType::Email => "that is not a valid email address",
            _ => "that is not a valid phone number: use international format, like +14155550100",
        }))?;
        self.limit_ip(ip).await?;
        self.limit(
            &format!("code:{}", kind.as_str()),
            &method.value,
            self.per_identity,
        )
        .await?;
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        let code_hash = self
            .key
            .fingerprint(Self::place("code", &r.id), code.as_bytes());
        let expires = self.now().saturating_add_unsigned(self.code_ttl);
        store::set_code(
            &self.db,
            &r.id,
            &self.seal_method("pending", &r.id, &method),
            &code_hash,
            expires,
        )
        .await?;
        let minutes = self.code_ttl.div_ceil(60);
        let sent = match kind {
            MethodType::Email => {
                let body = format!(
                    "Your sign-in code is {code}\n\nIt is valid for {minutes} minutes. If you did not ask for it, ignore this mail.\n"
                );
                self.mailer
                    .send(&method.value, &format!("Your sign-in code: {code}"), &body)
                    .await
            }
            _ => {
                self.sms
                    .send(&method.value, &format!("Your sign-in code is {code}"))
                    .await
            }
        };
        if let Err(e) = sent {
            store::void_code(&self.db, &r.id).await?;
            return Err(AuthorizeError::Unavailable(e));
        }
        Ok(notify::mask(&method.value))
    }

    /// Checks a one-time code; on success the request is signed in (or,
    /// if the address has a login with an authenticator app, waits for its
    /// code too).
    pub async fn verify_code(
        &self,
        token: &str,
        code: &str,
        ip: Option<IpAddr>,
    ) -> Result<password::SignIn, AuthorizeError> {
        let r = self.request(token).await?;
        self.limit_ip(ip).await?;
        let Some((pending, Some(stored))) =
            store::reserve_attempt(&self.db, &r.id, self.max_attempts, self.now(), false).await?
        else {
            return Err(AuthorizeError::WrongCode);
        };
        let given = self
            .key
            .fingerprint(Self::place("code", &r.id), code.trim().as_bytes());
        if !bool::from(given.ct_eq(stored.as_slice())) {
            return Err(AuthorizeError::WrongCode);
        }
        let method = self.open_method("pending", &r.id, &pending)?;
        // An address whose login has an authenticator app needs its code
        // whichever way the address was proven.
        if method.kind == MethodType::Email
            && store::login(&self.db, &self.login_key(&method))
                .await?
                .is_some_and(|l| l.totp.is_some())
        {
            store::await_totp(
                &self.db,
                &r.id,
                &self.seal_method("pending", &r.id, &method),
                self.now() + totp::ENTER_WITHIN,
            )
            .await?;
            return Ok(password::SignIn::NeedsTotp);
        }
        // Only if the code is still the one checked (a code is used once).
        match store::sign_in(
            &self.db,
            &r.id,
            &self.seal_method("method", &r.id, &method),
            Some(&stored),
        )
        .await
        {
            Err(DbError::Conflict) => return Err(AuthorizeError::WrongCode),
            other => other?,
        }
        Ok(password::SignIn::Done)
    }

    pub(super) fn redirect_uri(&self) -> String {
        format!("{}/authorize/oidc/callback", self.public_url)
    }

    /// Starts an OIDC sign-in: where to send the browser.
    pub async fn oidc_start(&self, provider: &str, token: &str) -> Result<String, AuthorizeError> {
        let r = self.request(token).await?;
        if r.method.is_some() {
            return Err(AuthorizeError::NotFound);
        }
        let p = self
            .oidc
            .iter()
            .find(|p| p.name == provider)
            .ok_or(AuthorizeError::Invalid("no such sign-in provider"))?;
        let (state, nonce, verifier) = (random_token(), random_token(), random_token());
        store::set_oidc(
            &self.db,
            &r.id,
            &hashed(&state),
            &p.name,
            &nonce,
            &self
                .key
                .seal(Self::place("oidc_verifier", &r.id), verifier.as_bytes()),
        )
        .await?;
        let url = p
            .authorization_url(&self.redirect_uri(), &state, &nonce, &verifier)
            .await
            .map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
        Ok(url.into())
    }

    /// Finishes an OIDC sign-in.
    pub async fn oidc_finish(&self, state: &str, code: &str) -> Result<(), AuthorizeError> {
        if !well_formed(state) || code.is_empty() || code.len() > 2048 {
            return Err(AuthorizeError::NotFound);
        }
        let r = store::take_state(&self.db, &hashed(state), self.now())
            .await?
            .ok_or(AuthorizeError::NotFound)?;
        let (Some(name), Some(nonce), Some(sealed)) = (
            r.oidc_provider.as_deref(),
            r.oidc_nonce.as_deref(),
            r.oidc_verifier.as_deref(),
        ) else {
            return Err(AuthorizeError::NotFound);
        };
        let p = self
            .oidc
            .iter()
            .find(|p| p.name == name)
            .ok_or(AuthorizeError::NotFound)?;
        let verifier = self.key.open(Self::place("oidc_verifier", &r.id), sealed)?;
        let verifier = std::str::from_utf8(&verifier).map_err(|_| VaultError::Unauthentic)?;
        let email = p
            .email(code, &self.redirect_uri(), verifier, nonce)
            .await
            .map_err(|e| AuthorizeError::Unavailable(format!("{}: {e}", p.name)))?;
        let method = AuthMethod::new(MethodType::Email, &email).ok_or(
            AuthorizeError::Unavailable(format!("{}: unusable email address", p.name)),
        )?;
        self.signed_in(&r.id, &method).await?;
        Ok(())
    }

    /// Marks request `id` signed in as `method`: the wallet's next poll
    /// gets its access token.
    pub(super) async fn signed_in(
        &self,
        id: &str,
        method: &AuthMethod,
    ) -> Result<(), AuthorizeError> {
        store::sign_in(&self.db, id, &self.seal_method("method", id, method), None).await?;
        Ok(())
    }

    /// Deletes expired requests and old rate-limit windows.
    pub async fn purge(&self) -> Result<u64, DbError> {
        store::purge(&self.db, self.now()).await
    }
}
