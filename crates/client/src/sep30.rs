//! SEP-30 as a wallet uses it: register an account with a recovery server
//! and the identities that may recover it, read it back, have the server
//! sign; and the sign-in of ../seeds/003 (`/authorize/token`) that gives a
//! person on a new device a token for their identity.
//!
//! ```no_run
//! # async fn example(sep10_token: String, address: String, tx: String)
//! # -> Result<(), mooring_client::ClientError> {
//! use mooring_client::sep30::{Identity, RecoveryServer, SignIn, SignInState};
//! let http = reqwest::Client::new();
//! let base = url::Url::parse("https://recovery.example.com").unwrap();
//! // Registering, with a SEP-10 token for the account:
//! let server = RecoveryServer::new(http.clone(), base.clone(), sep10_token);
//! let owner = Identity::owner(&[("email", "person@example.com")]);
//! let account = server.register(&address, &[owner]).await?;
//! println!("the server signs with {}", account.signers[0].key);
//!
//! // Recovering, on a new device: the person signs in in a browser.
//! let sign_in = SignIn::new(http.clone(), base.clone());
//! let request = sign_in.start().await?;
//! println!("open {} and check it shows {:?}", request.url, request.user_code);
//! let token = loop {
//!     match sign_in.poll(&request).await? {
//!         SignInState::Authorized(token) => break token,
//!         SignInState::Pending => std::thread::sleep(std::time::Duration::from_secs(2)),
//!     }
//! };
//! let server = RecoveryServer::new(http, base, token);
//! let key = server.account(&address).await?.signers[0].key.clone();
//! let signed = server.sign(&address, &key, &tx).await?;
//! println!("{} over {}", signed.signature, signed.network_passphrase);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{ClientError, check};

/// A recovery server, asked with a token: SEP-10 for the account itself,
/// or one from its sign-in for an identity.
#[derive(Debug, Clone)]
pub struct RecoveryServer {
    http: reqwest::Client,
    base: Url,
    token: String,
}

/// One way of proving an identity (SEP-30 §Common Authentication Methods).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthMethod {
    /// `stellar_address`, `phone_number` or `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The address, number (E.164) or `G…` key.
    pub value: String,
}

/// Who may recover an account (SEP-30 §Common Request Fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Stored and echoed: `owner`, `sender`, `receiver`, …
    pub role: String,
    /// Any one of these proves the identity.
    pub auth_methods: Vec<AuthMethod>,
}

impl Identity {
    /// The owner, proven by any of `methods` (`(type, value)`).
    pub fn owner(methods: &[(&str, &str)]) -> Identity {
        Identity {
            role: "owner".into(),
            auth_methods: methods
                .iter()
                .map(|(kind, value)| AuthMethod {
                    kind: (*kind).to_owned(),
                    value: (*value).to_owned(),
                })
                .collect(),
        }
    }
}

/// An identity as the server shows it: its role, and whether the caller
/// is it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdentityView {
    /// The role given at registration.
    #[serde(default)]
    pub role: Option<String>,
    /// The caller is this identity.
    #[serde(default)]
    pub authenticated: bool,
}

/// A key the server signs with for the account.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SignerKey {
    /// A `G…` key.
    pub key: String,
}

/// An account as the server answers it (SEP-30 §Common Response Fields).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Account {
    /// The account.
    pub address: String,
    /// Its identities, without their values.
    #[serde(default)]
    pub identities: Vec<IdentityView>,
    /// The server's keys for it, most recently added first.
    #[serde(default)]
    pub signers: Vec<SignerKey>,
}

/// A server's signature of a transaction (SEP-30 §Sign).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Signature {
    /// Base64 ed25519 signature of the transaction's hash.
    pub signature: String,
    /// The network it signed for.
    pub network_passphrase: String,
}

#[derive(Serialize)]
struct Identities<'a> {
    identities: &'a [Identity],
}

#[derive(Deserialize)]
struct Accounts {
    accounts: Vec<Account>,
}

impl RecoveryServer {
    /// The server at `base`, asked with `token`.
    pub fn new(http: reqwest::Client, base: Url, token: String) -> RecoveryServer {
        RecoveryServer { http, base, token }
    }

    fn url(&self, segments: &[&str]) -> Url {
        crate::discovery::join(&self.base, segments)
    }

    /// `POST /accounts/{address}`: registers the account with the
    /// identities that may recover it; the server answers the key it
    /// will sign with.
    pub async fn register(
        &self,
        address: &str,
        identities: &[Identity],
    ) -> Result<Account, ClientError> {
        let req = self.http.post(self.url(&["accounts", address]));
        self.send(
            req.json(&Identities { identities }),
            "SEP-30 POST /accounts",
        )
        .await
    }

    /// `PUT /accounts/{address}`: replaces the identities.
    pub async fn update(
        &self,
        address: &str,
        identities: &[Identity],
    ) -> Result<Account, ClientError> {
        let req = self.http.put(self.url(&["accounts", address]));
        self.send(req.json(&Identities { identities }), "SEP-30 PUT /accounts")
            .await
    }

    /// `GET /accounts/{address}`.
    pub async fn account(&self, address: &str) -> Result<Account, ClientError> {
        let req = self.http.get(self.url(&["accounts", address]));
        self.send(req, "SEP-30 GET /accounts/{address}").await
    }

    /// `GET /accounts`: every account the token reaches, a page after
    /// `after` (an address).
    pub async fn accounts(&self, after: Option<&str>) -> Result<Vec<Account>, ClientError> {
        let mut req = self.http.get(self.url(&["accounts"]));
        if let Some(a) = after {
            req = req.query(&[("after", a)]);
        }
        let page: Accounts = self.send(req, "SEP-30 GET /accounts").await?;
        Ok(page.accounts)
    }

    /// `DELETE /accounts/{address}`: the server forgets the account.
    pub async fn delete(&self, address: &str) -> Result<Account, ClientError> {
        let req = self.http.delete(self.url(&["accounts", address]));
        self.send(req, "SEP-30 DELETE /accounts").await
    }

    /// `POST /accounts/{address}/sign/{signer}`: the server signs the
    /// transaction (base64 XDR envelope) with its key `signer`.
    pub async fn sign(
        &self,
        address: &str,
        signer: &str,
        transaction: &str,
    ) -> Result<Signature, ClientError> {
        let req = self
            .http
            .post(self.url(&["accounts", address, "sign", signer]))
            .json(&serde_json::json!({ "transaction": transaction }));
        self.send(req, "SEP-30 POST /accounts/{address}/sign").await
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
        step: &'static str,
    ) -> Result<T, ClientError> {
        let res = req.bearer_auth(&self.token).send().await?;
        Ok(check(res, step).await?.json().await?)
    }
}

/// The sign-in of ../seeds/003: the wallet asks for a request, the person
/// opens its URL in a browser and signs in there with whatever the server
/// offers (an emailed code, a password, an OpenID Connect provider), and
/// the wallet polls until the server hands it the access token.
#[derive(Debug, Clone)]
pub struct SignIn {
    http: reqwest::Client,
    base: Url,
}

/// A sign-in request, to show the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRequest {
    /// What the wallet polls with.
    pub id: String,
    /// The page for the person to open: the server's `url`, or (as seed
    /// 003's servers answer only `id` and `token`) `/authorize?token=…`.
    pub url: String,
    /// The code the page shows too: the person checks they match, so that
    /// a link someone else sent them signs no one in for that someone.
    /// Servers without one answer none.
    pub user_code: Option<String>,
    /// Seconds until the request expires.
    pub expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct RequestBody {
    id: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    user_code: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Where a sign-in stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInState {
    /// The person has not signed in yet.
    Pending,
    /// Signed in: the access token (given once).
    Authorized(String),
}

#[derive(Deserialize)]
struct PollBody {
    status: String,
    #[serde(default)]
    access_token: Option<String>,
}

impl SignIn {
    /// The sign-in of the recovery server at `base`.
    pub fn new(http: reqwest::Client, base: Url) -> SignIn {
        SignIn { http, base }
    }

    /// `POST /authorize/token`: a new request.
    pub async fn start(&self) -> Result<SignInRequest, ClientError> {
        let url = crate::discovery::join(&self.base, &["authorize", "token"]);
        let res = self.http.post(url).send().await?;
        let body: RequestBody = check(res, "sign-in POST /authorize/token")
            .await?
            .json()
            .await?;
        let url = match (body.url, body.token) {
            (Some(url), _) => url,
            (None, Some(token)) => {
                let mut page = crate::discovery::join(&self.base, &["authorize"]);
                page.query_pairs_mut().append_pair("token", &token);
                page.to_string()
            }
            (None, None) => {
                return Err(ClientError::Unexpected(
                    "the sign-in request has neither a url nor a token",
                ));
            }
        };
        Ok(SignInRequest {
            id: body.id,
            url,
            user_code: body.user_code,
            expires_in: body.expires_in,
        })
    }

    /// `GET /authorize/token/{id}`, once; the caller chooses the pace.
    pub async fn poll(&self, request: &SignInRequest) -> Result<SignInState, ClientError> {
        let url = crate::discovery::join(&self.base, &["authorize", "token", &request.id]);
        let res = self.http.get(url).send().await?;
        let body: PollBody = check(res, "sign-in GET /authorize/token/{id}")
            .await?
            .json()
            .await?;
        match (body.status.as_str(), body.access_token) {
            ("authorized", Some(token)) => Ok(SignInState::Authorized(token)),
            ("pending", _) => Ok(SignInState::Pending),
            _ => Err(ClientError::Unexpected(
                "the sign-in answered neither pending nor a token",
            )),
        }
    }
}
