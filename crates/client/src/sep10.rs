//! SEP-10 login as a wallet does it: get a challenge, check it is really the
//! server's and safe to sign, sign it, exchange it for a session token.

use mooring_stellar::sep10::{self, ReadOptions, ServerKey};
use mooring_stellar::{ClientAccount, IdMemo, Keypair, Network, PublicKey};
use serde::Deserialize;
use url::Url;

use crate::{ClientError, check, unix_now};

/// Seconds of clock drift tolerated before a challenge's start time.
const CLOCK_GRACE_SECS: u64 = 300;

/// A SEP-10 server as discovered from its stellar.toml.
#[derive(Debug, Clone)]
pub struct WebAuth {
    http: reqwest::Client,
    endpoint: Url,
    server_key: PublicKey,
    network: Network,
    home_domain: String,
    /// What the `web_auth_domain` operation may name: the endpoint's host,
    /// and with a port in the URL, host and port too.
    web_auth_domains: Vec<String>,
}

#[derive(Deserialize)]
struct ChallengeBody {
    transaction: String,
    network_passphrase: Option<String>,
}

#[derive(Deserialize)]
struct TokenBody {
    token: String,
}

/// Options of one login.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoginOptions<'a> {
    /// An id memo, for a user of a shared `G…` account.
    pub memo: Option<IdMemo>,
    /// The wallet's domain and its stellar.toml signing key, to attribute
    /// the session to the wallet.
    pub client_domain: Option<(&'a str, &'a Keypair)>,
}

impl WebAuth {
    /// A server at `endpoint` (its WEB_AUTH_ENDPOINT) whose SIGNING_KEY is
    /// `server_key`, for `home_domain`, on `network`.
    pub fn new(
        http: reqwest::Client,
        endpoint: Url,
        server_key: PublicKey,
        network: Network,
        home_domain: impl Into<String>,
    ) -> Result<Self, ClientError> {
        let host = endpoint
            .host_str()
            .ok_or_else(|| ClientError::StellarToml("WEB_AUTH_ENDPOINT has no host".into()))?;
        // SEP-10 §Verification: "the Server's domain that the client
        // requested the challenge from". Servers write it two ways when the
        // endpoint has a port: its host name (Mooring, the JavaScript SDKs'
        // `new URL(..).hostname`) or host and port (django-polaris); both
        // name the same server.
        let mut web_auth_domains = vec![host.to_owned()];
        if let Some(port) = endpoint.port() {
            web_auth_domains.push(format!("{host}:{port}"));
        }
        Ok(WebAuth {
            http,
            endpoint,
            server_key,
            network,
            home_domain: home_domain.into(),
            web_auth_domains,
        })
    }

    /// Discovers the server of `home_domain` from the stellar.toml at `base`.
    pub async fn discover(http: reqwest::Client, base: &Url) -> Result<Self, ClientError> {
        let toml = crate::discovery::stellar_toml(&http, base).await?;
        let endpoint = toml
            .web_auth_endpoint
            .as_deref()
            .ok_or_else(|| ClientError::StellarToml("no WEB_AUTH_ENDPOINT".into()))?;
        let endpoint = Url::parse(endpoint).map_err(|e| ClientError::StellarToml(e.to_string()))?;
        let key = toml
            .signing_key()
            .map_err(|e| ClientError::StellarToml(e.to_string()))?;
        let passphrase = toml
            .network_passphrase
            .clone()
            .ok_or_else(|| ClientError::StellarToml("no NETWORK_PASSPHRASE".into()))?;
        let home = crate::host_of(base);
        WebAuth::new(http, endpoint, key, Network::new(passphrase), home)
    }

    /// The same server, for another home domain: the one challenges are
    /// asked for and must name.
    pub fn with_home_domain(mut self, home_domain: impl Into<String>) -> Self {
        self.home_domain = home_domain.into();
        self
    }

    /// The home domain challenges are asked for.
    pub fn home_domain(&self) -> &str {
        &self.home_domain
    }

    /// The WEB_AUTH_ENDPOINT.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The network challenges are signed for.
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Requests a challenge and checks it (server signature, home domain,
    /// web_auth_domain, sequence 0, time bounds, operations; the account,
    /// memo and client domain asked for) before anything is signed. Returns
    /// the challenge XDR.
    pub async fn challenge(
        &self,
        account: &ClientAccount,
        opts: &LoginOptions<'_>,
    ) -> Result<String, ClientError> {
        let mut url = self.endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("account", &account.to_string());
            q.append_pair("home_domain", &self.home_domain);
            if let Some(m) = opts.memo {
                q.append_pair("memo", &m.to_string());
            }
            if let Some((domain, _)) = opts.client_domain {
                q.append_pair("client_domain", domain);
            }
        }
        let body: ChallengeBody = check(self.http.get(url).send().await?, "SEP-10 GET challenge")
            .await?
            .json()
            .await?;
        if body
            .network_passphrase
            .as_deref()
            .is_some_and(|p| p != self.network.passphrase())
        {
            return Err(ClientError::StellarToml(
                "the server signs for another network than its stellar.toml says".into(),
            ));
        }
        let homes = [self.home_domain.clone()];
        let read = |web_auth_domain: &str| {
            sep10::read_challenge(
                &body.transaction,
                &ReadOptions {
                    server: ServerKey::Public(self.server_key),
                    network: &self.network,
                    home_domains: &homes,
                    web_auth_domain,
                    require_web_auth_domain: false,
                    now: unix_now(),
                    min_time_grace: CLOCK_GRACE_SECS,
                },
            )
        };
        let mut read_as = read(&self.web_auth_domains[0]);
        for other in &self.web_auth_domains[1..] {
            if matches!(read_as, Err(sep10::ChallengeError::WrongWebAuthDomain)) {
                read_as = read(other);
            }
        }
        let read = read_as?;
        if read.account != *account {
            return Err(ClientError::Unexpected(
                "the challenge is for another account",
            ));
        }
        // The session must be the one asked for: another memo would be
        // another user of a shared account (SEP-10 §Memo), another client
        // domain another wallet.
        if read.memo != opts.memo {
            return Err(ClientError::Unexpected(
                "the challenge names another memo than asked",
            ));
        }
        let asked = opts.client_domain.map(|(d, k)| (d, k.public_key()));
        let named = read
            .client_domain
            .as_ref()
            .map(|c| (c.domain.as_str(), c.key));
        if asked != named {
            return Err(ClientError::Unexpected(
                "the challenge names another client domain (or key) than asked",
            ));
        }
        Ok(body.transaction)
    }

    /// Logs in: challenge, check, sign with `signers` (and the client domain
    /// key if given), submit. Returns the session JWT.
    pub async fn login(
        &self,
        account: &ClientAccount,
        signers: &[&Keypair],
        opts: &LoginOptions<'_>,
    ) -> Result<String, ClientError> {
        let challenge = self.challenge(account, opts).await?;
        let mut all: Vec<&Keypair> = signers.to_vec();
        if let Some((_, key)) = opts.client_domain {
            all.push(key);
        }
        let signed = sep10::sign_challenge(&challenge, &self.network, &all)?;
        self.submit(&signed).await
    }

    /// Logs in as `key`'s own account (and `memo`), signed by that key
    /// alone: the common case of a wallet or sending anchor.
    pub async fn login_as(
        &self,
        key: &Keypair,
        memo: Option<IdMemo>,
    ) -> Result<String, ClientError> {
        let opts = LoginOptions {
            memo,
            client_domain: None,
        };
        self.login(&ClientAccount::Account(key.public_key()), &[key], &opts)
            .await
    }

    /// Submits a signed challenge; returns the session JWT.
    pub async fn submit(&self, signed: &str) -> Result<String, ClientError> {
        let res = self
            .http
            .post(self.endpoint.clone())
            .json(&serde_json::json!({ "transaction": signed }))
            .send()
            .await?;
        let body: TokenBody = check(res, "SEP-10 POST challenge").await?.json().await?;
        Ok(body.token)
    }
}
