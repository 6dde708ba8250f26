//! SEP-10 rules: issue a challenge, exchange a signed challenge for a JWT.

use std::net::IpAddr;
use std::sync::Arc;

use mooring_stellar::account::AccountError;
use mooring_stellar::network::{FUTURENET_PASSPHRASE, PUBLIC_PASSPHRASE, TESTNET_PASSPHRASE};
use mooring_stellar::sep10::{
    self, ChallengeError, ChallengeRequest, ClientDomain, ReadOptions, RecentSignatures, ServerKey,
    Threshold,
};
use mooring_stellar::{ClientAccount, IdMemo, Keypair, Network, envelope};
use serde::{Deserialize, Serialize};

use super::challenge_auth::{self, ChallengeAuthError};
use super::client_domain::{ClientDomainError, ClientDomains};
use super::store;
use crate::clock::Clock;
use crate::config::{Config, ThresholdSetting};
use crate::db::{Db, DbError};
use crate::horizon::{Ledger, LedgerError};
use crate::http::Bearer;
use crate::jwt::{Claims, Jwt, JwtError};
use crate::rate_limit::{IpLimit, RateLimits};

/// Why a SEP-10 request failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A request parameter is missing or malformed.
    #[error("{0}")]
    InvalidParameter(String),
    /// The challenge fails a check.
    #[error("{0}")]
    Challenge(#[from] ChallengeError),
    /// The challenge request's `Authorization` JWT is missing or refused.
    #[error(transparent)]
    ChallengeAuth(#[from] super::challenge_auth::ChallengeAuthError),
    /// The client domain could not be verified.
    #[error("{0}")]
    ClientDomain(#[from] ClientDomainError),
    /// The account does not exist and unfunded accounts are not accepted.
    #[error("the client account does not exist on the network; fund it before authenticating")]
    AccountNotFound,
    /// The challenge is signed by this server, but for another network.
    #[error("transaction is signed for another network ({theirs}); this server uses {ours}")]
    WrongNetwork {
        /// The network the signature is valid for.
        theirs: &'static str,
        /// This server's network.
        ours: String,
    },
    /// Too many challenges from the client's network in this window.
    #[error("too many challenge requests from your address; try again in {retry_after} s")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// The challenge was already exchanged for a token.
    #[error("challenge has already been used; request a new one")]
    Replayed,
    /// Horizon could not be asked: refuse rather than guess (fail closed).
    #[error(
        "the Stellar network could not be reached to check the account's signers; try again later"
    )]
    LedgerUnavailable(#[source] LedgerError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The token could not be signed.
    #[error(transparent)]
    Jwt(#[from] JwtError),
}

/// `GET /auth` parameters (SEP-10 §Challenge §Request).
#[derive(Debug, Default, Deserialize)]
pub struct ChallengeParams {
    /// The client account, `G…` or `M…`.
    pub account: Option<String>,
    /// An id memo (only with a `G…` account).
    pub memo: Option<String>,
    /// The home domain; default the first configured.
    pub home_domain: Option<String>,
    /// The client's domain, to be verified.
    pub client_domain: Option<String>,
}

/// `GET /auth` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = sep10::ChallengeResponse)]
pub struct ChallengeResponse {
    /// The challenge, base64 XDR, signed by the server.
    pub transaction: String,
    /// The network passphrase the challenge is signed for.
    pub network_passphrase: String,
}

/// `POST /auth` response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = sep10::TokenResponse)]
pub struct TokenResponse {
    /// The session JWT.
    pub token: String,
}

/// The SEP-10 service.
pub struct WebAuth {
    signing: Arc<Keypair>,
    /// Our signatures on the challenges issued last, so that checking one
    /// that comes back does not sign its hash again.
    recent: RecentSignatures,
    network: Network,
    home_domains: Vec<String>,
    web_auth_domain: String,
    challenge_ttl: u64,
    token_ttl: u64,
    issuer: String,
    threshold: Threshold,
    allow_unfunded: bool,
    challenge_auth_required: bool,
    allowed_client_domains: Vec<String>,
    client_domains: Option<ClientDomains>,
    ledger: Arc<dyn Ledger>,
    jwt: Arc<Jwt>,
    db: Db,
    clock: Arc<dyn Clock>,
    challenges_per_ip: IpLimit,
}

impl std::fmt::Debug for WebAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebAuth({})", self.signing.public_key())
    }
}

/// What [`WebAuth`] is built from besides the configuration.
pub struct WebAuthParts {
    /// The server signing key.
    pub signing: Arc<Keypair>,
    /// The session token signer.
    pub jwt: Arc<Jwt>,
    /// The ledger.
    pub ledger: Arc<dyn Ledger>,
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The shared rate limits.
    pub limits: RateLimits,
}

impl WebAuth {
    /// The service, configured.
    pub fn new(config: &Config, parts: WebAuthParts) -> Result<Self, reqwest::Error> {
        let s = &config.sep10;
        Ok(WebAuth {
            signing: parts.signing,
            recent: RecentSignatures::new(),
            network: Network::new(config.stellar.network_passphrase.clone()),
            home_domains: s.home_domains.clone(),
            web_auth_domain: config.web_auth_domain().to_owned(),
            challenge_ttl: s.challenge_expiry_secs,
            token_ttl: s.jwt_expiry_secs,
            issuer: config.endpoint("/auth"),
            threshold: match s.threshold {
                ThresholdSetting::Low => Threshold::Low,
                ThresholdSetting::Medium => Threshold::Medium,
                ThresholdSetting::High => Threshold::High,
            },
            allow_unfunded: s.allow_unfunded_accounts,
            challenge_auth_required: s.challenge_auth.required,
            allowed_client_domains: s
                .challenge_auth
                .allowed_client_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            client_domains: if s.client_domain.enabled {
                Some(ClientDomains::new(&s.client_domain)?)
            } else {
                None
            },
            ledger: parts.ledger,
            jwt: parts.jwt,
            db: parts.db,
            clock: parts.clock,
            challenges_per_ip: parts.limits.per_ip(
                "sep10-challenge",
                i64::from(s.challenges_per_ip_per_minute),
                60,
            ),
        })
    }

    /// Counts a challenge request from `ip` against
    /// `sep10.challenges_per_ip_per_minute`. SEP-10 sets no limit of its
    /// own; 429 is RFC 6585 §4's, with `Retry-After`.
    pub fn admit(&self, ip: Option<IpAddr>) -> Result<(), AuthError> {
        match ip {
            Some(ip) => self
                .challenges_per_ip
                .hit(ip)
                .map_err(|l| AuthError::RateLimited {
                    retry_after: l.retry_after,
                }),
            None => Ok(()),
        }
    }

    /// SEP-10 §Challenge: a fresh challenge for the requested account.
    /// `authorization` is the request's `Authorization` header, checked when
    /// the server requires it (§Request Header).
    pub async fn challenge(
        &self,
        p: ChallengeParams,
        authorization: Bearer,
    ) -> Result<ChallengeResponse, AuthError> {
        let token = if self.challenge_auth_required {
            Some(challenge_auth::token(authorization)?)
        } else {
            None
        };
        let account = p
            .account
            .as_deref()
            .ok_or_else(|| AuthError::InvalidParameter("account is required".into()))?;
        let account = ClientAccount::parse(account).map_err(|e| param("account", e))?;
        // §Verification: "A Server should not assist in authentication".
        if account.account() == self.signing.public_key() {
            return Err(AuthError::InvalidParameter(
                "account: this server's own signing key cannot authenticate".into(),
            ));
        }
        let memo = match p.memo.as_deref() {
            None | Some("") => None,
            Some(m) => Some(IdMemo::parse(m).map_err(|e| param("memo", e))?),
        };
        if memo.is_some() && account.muxed_id().is_some() {
            return Err(ChallengeError::MemoWithMuxedAccount.into());
        }
        let home_domain = match p.home_domain.as_deref() {
            None | Some("") => &self.home_domains[0],
            // Domain names compare case-insensitively (RFC 4343 §2).
            Some(h) => self
                .home_domains
                .iter()
                .find(|d| d.eq_ignore_ascii_case(h))
                .ok_or_else(|| {
                    AuthError::InvalidParameter(format!(
                        "home_domain is not served here; use one of: {}",
                        self.home_domains.join(", ")
                    ))
                })?,
        };
        let requested_domain = p.client_domain.as_deref().filter(|d| !d.is_empty());
        // §Verifying the Client Domain: a server that does not verify client
        // domains proceeds as if none was given.
        let client_domain = match (requested_domain, &self.client_domains) {
            (Some(d), Some(cds)) => {
                let key = cds.signing_key(d).await?;
                if key == self.signing.public_key() {
                    return Err(ClientDomainError::Unusable(
                        d.to_owned(),
                        "names this server's own SIGNING_KEY",
                    )
                    .into());
                }
                Some(ClientDomain {
                    domain: d.to_ascii_lowercase(),
                    key,
                })
            }
            _ => None,
        };
        if let Some(token) = token {
            // §Request Header: "If client_domain is provided in the request,
            // but the Server doesn't support client_domain verification,
            // Server should respond with an error."
            if requested_domain.is_some() && client_domain.is_none() {
                return Err(ChallengeAuthError::Invalid(
                    "client_domain verification is not enabled on this server",
                )
                .into());
            }
            let key = client_domain
                .as_ref()
                .map_or(account.account(), |cd| cd.key);
            challenge_auth::verify(&token, &key, &self.issuer, &p, self.clock.now())?;
            if !self.allowed_client_domains.is_empty() {
                let domain = client_domain.as_ref().map(|cd| cd.domain.clone());
                if !domain
                    .as_ref()
                    .is_some_and(|d| self.allowed_client_domains.contains(d))
                {
                    return Err(ChallengeAuthError::NotAllowed(
                        domain.unwrap_or_else(|| "without a client_domain".into()),
                    )
                    .into());
                }
            }
        }
        let request = ChallengeRequest {
            account,
            memo,
            home_domain,
            web_auth_domain: &self.web_auth_domain,
            client_domain: client_domain.as_ref(),
        };
        let mut nonce = [0u8; sep10::NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
        let built = sep10::build_challenge(
            &self.signing,
            &self.network,
            &request,
            self.clock.now(),
            self.challenge_ttl,
            &nonce,
        )?;
        self.recent.record(&built.hash, &built.signature);
        Ok(ChallengeResponse {
            transaction: envelope::encode(&built.envelope),
            network_passphrase: self.network.passphrase().to_owned(),
        })
    }

    /// SEP-10 §Token: verify a signed challenge and issue a session JWT.
    pub async fn token(&self, transaction: &str) -> Result<TokenResponse, AuthError> {
        let now = self.clock.now();
        let read = sep10::read_challenge(
            transaction,
            &ReadOptions {
                server: ServerKey::Recent(&self.signing, &self.recent),
                network: &self.network,
                home_domains: &self.home_domains,
                web_auth_domain: &self.web_auth_domain,
                require_web_auth_domain: true,
                now,
                min_time_grace: 0,
            },
        );
        let challenge = match read {
            Err(ChallengeError::NotSignedByServer) => {
                return Err(self.explain_unsigned(transaction));
            }
            other => other?,
        };
        let signers = self
            .ledger
            .account_signers(&challenge.account.account())
            .await
            .map_err(AuthError::LedgerUnavailable)?;
        if signers.is_none() && !self.allow_unfunded {
            return Err(AuthError::AccountNotFound);
        }
        challenge.verify_signers(signers.as_ref(), self.threshold)?;
        // "The Server should not provide more than one JWT for a specific
        // challenge transaction." Recorded last, so a failed attempt does not
        // burn the challenge; the insert is atomic, so of two concurrent
        // submissions exactly one wins.
        match store::consume_challenge(&self.db, &challenge.hash, challenge.max_time).await {
            Err(DbError::Conflict) => return Err(AuthError::Replayed),
            other => other?,
        }
        let sub = match (challenge.account, challenge.memo) {
            (ClientAccount::Account(g), Some(memo)) => format!("{g}:{memo}"),
            (account, _) => account.to_string(),
        };
        let claims = Claims {
            iss: self.issuer.clone(),
            sub,
            iat: now,
            exp: now + self.token_ttl,
            jti: hex::encode(challenge.hash),
            client_domain: challenge.client_domain.map(|cd| cd.domain),
            home_domain: Some(challenge.home_domain),
        };
        Ok(TokenResponse {
            token: self.jwt.issue(&claims)?,
        })
    }

    /// A challenge the server did not sign for its network: if the server
    /// signed it for another well-known network, say so — the commonest
    /// cause is a wallet configured for the wrong network.
    fn explain_unsigned(&self, transaction: &str) -> AuthError {
        let unsigned = AuthError::Challenge(ChallengeError::NotSignedByServer);
        let Ok(env) = envelope::decode(transaction) else {
            return unsigned;
        };
        let Ok((tx, signatures)) = envelope::transaction(&env) else {
            return unsigned;
        };
        let hint = self.signing.public_key().hint();
        for theirs in [PUBLIC_PASSPHRASE, TESTNET_PASSPHRASE, FUTURENET_PASSPHRASE] {
            if theirs == self.network.passphrase() {
                continue;
            }
            let hash = envelope::hash(&tx, &Network::new(theirs));
            if signatures
                .iter()
                .any(|s| s.hint.0 == hint && self.signing.made(&hash, s.signature.0.as_slice()))
            {
                return AuthError::WrongNetwork {
                    theirs,
                    ours: self.network.passphrase().to_owned(),
                };
            }
        }
        unsigned
    }

    /// Deletes used-challenge records that can no longer matter.
    pub async fn purge(&self) -> Result<u64, DbError> {
        store::purge_used_challenges(&self.db, self.clock.now()).await
    }
}

fn param(name: &str, e: AccountError) -> AuthError {
    AuthError::InvalidParameter(format!("{name}: {e}"))
}
