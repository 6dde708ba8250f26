//! The HTTP side of DD64: the anchor's endpoints (`GET /limits`,
//! `POST /operations/check`, `GET /kyc-check/{account}`), their bodies, and
//! the SEP-10 sessions the requests log in with.

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use mooring_stellar::{ClientAccount, IdMemo, PublicKey};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::limits::from_unix;
use super::{Amount, BackoffReason, DefaultLimits, KycState, KycWait, Limit, Operation};
use crate::sep10::{LoginOptions, WebAuth};
use crate::{ClientError, check};

/// Requests that do not long-poll.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Beyond the long poll: the server's answer may take this long to arrive.
const LONG_POLL_GRACE: Duration = Duration::from_secs(15);
/// A session token this close to its expiry is renewed first.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

/// A Mooring anchor's KYC endpoints and its SEP-10 server.
#[derive(Debug, Clone)]
pub struct Anchor {
    http: reqwest::Client,
    kyc_server: Url,
    web_auth: WebAuth,
}

impl Anchor {
    /// An anchor whose `/limits`, `/operations/check` and `/kyc-check` are
    /// under `kyc_server` (its KYC_SERVER), logging in with `web_auth`.
    pub fn new(http: reqwest::Client, kyc_server: Url, web_auth: WebAuth) -> Self {
        Anchor {
            http,
            kyc_server,
            web_auth,
        }
    }

    /// Discovers the anchor from the stellar.toml at `base`.
    pub async fn discover(http: reqwest::Client, base: &Url) -> Result<Self, ClientError> {
        let toml = crate::discovery::stellar_toml(&http, base).await?;
        let kyc = toml
            .kyc_server
            .as_deref()
            .ok_or_else(|| ClientError::StellarToml("no KYC_SERVER".into()))?;
        let kyc_server = Url::parse(kyc).map_err(|e| ClientError::StellarToml(e.to_string()))?;
        let web_auth = WebAuth::discover(http.clone(), base).await?;
        Ok(Anchor::new(http, kyc_server, web_auth))
    }

    /// The KYC_SERVER (where SEP-12 is).
    pub fn kyc_server(&self) -> &Url {
        &self.kyc_server
    }

    /// `GET /limits`.
    pub async fn limits(&self) -> Result<DefaultLimits, ClientError> {
        let res = self
            .http
            .get(self.url(&["limits"]))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await?;
        Ok(check(res, "GET /limits").await?.json().await?)
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.kyc_server.clone();
        url.set_query(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

pub(super) struct Session {
    token: SecretString,
    expires: Option<SystemTime>,
}

/// Which login a request needs.
#[derive(Clone, Copy)]
pub(super) enum Login {
    /// The operation's account (`POST /operations/check`).
    Operation,
    /// `account_keypair`'s (`GET /kyc-check`).
    Check,
}

enum Failure {
    Login(String),
    Network(String),
}

impl From<Failure> for BackoffReason {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Login(m) => BackoffReason::Login(m),
            Failure::Network(m) => BackoffReason::Unreachable(m),
        }
    }
}

/// One `/kyc-check` answer, as DD64 step 3 tells them apart.
#[derive(Debug)]
pub(super) enum CheckAnswer {
    /// Status 0: no answer, a timeout, or an unreadable one.
    Failed(String),
    Ok(AccountKycStatus),
    Required(AccountKycStatus),
    Disabled,
    Forbidden(ErrorBody),
    Unknown(ErrorBody),
    Unbound(ErrorBody),
    Other(u16, ErrorBody),
}

impl CheckAnswer {
    pub(super) fn status(&self) -> u16 {
        match self {
            CheckAnswer::Failed(_) => 0,
            CheckAnswer::Ok(_) => 200,
            CheckAnswer::Required(_) => 202,
            CheckAnswer::Disabled => 204,
            CheckAnswer::Forbidden(_) => 403,
            CheckAnswer::Unknown(_) => 404,
            CheckAnswer::Unbound(_) => 409,
            CheckAnswer::Other(s, _) => *s,
        }
    }

    pub(super) fn code(&self) -> Option<i64> {
        match self {
            CheckAnswer::Forbidden(b)
            | CheckAnswer::Unknown(b)
            | CheckAnswer::Unbound(b)
            | CheckAnswer::Other(_, b) => b.code,
            _ => None,
        }
    }

    pub(super) fn rule_gen(&self) -> Option<u64> {
        match self {
            CheckAnswer::Ok(s) | CheckAnswer::Required(s) => Some(s.rule_gen),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct AccountKycStatus {
    pub(super) state: KycState,
    pub(super) aml_review: bool,
    pub(super) rule_gen: u64,
    #[serde(default)]
    pub(super) kyc_url: Option<Url>,
    #[serde(default, rename = "type")]
    pub(super) kyc_type: Option<String>,
    #[serde(default)]
    pub(super) limits: Vec<Limit>,
}

/// Every error body of `/kyc-check`, its fields optional.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default)]
    pub(super) error: Option<String>,
    #[serde(default)]
    pub(super) code: Option<i64>,
    #[serde(default)]
    pub(super) expected_account_pub: Option<String>,
    #[serde(default)]
    pub(super) expected_memo: Option<Value>,
    #[serde(default)]
    pub(super) limits: Option<Vec<Limit>>,
    #[serde(default)]
    pub(super) kyc_url: Option<Url>,
    #[serde(default, rename = "type")]
    pub(super) kyc_type: Option<String>,
}

#[derive(Serialize)]
struct OperationCheck {
    account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    memo: Option<String>,
    op: Operation,
    amount: Amount,
    asset: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

#[derive(Deserialize)]
struct OperationAllowed {
    allowed: bool,
}

/// The 451 body, as far as DD64 reads it.
#[derive(Deserialize)]
pub(super) struct OperationDenied {
    pub(super) account: String,
    #[serde(default)]
    pub(super) memo: Option<Value>,
    #[serde(default)]
    pub(super) bad_kyc_auth: bool,
    /// Mooring's: false when KYC cannot lift the limit.
    #[serde(default = "yes")]
    pub(super) soft_limit: bool,
}

fn yes() -> bool {
    true
}

pub(super) enum Attempt {
    Allowed,
    Denied(OperationDenied),
    Failed(BackoffReason),
}

impl KycWait {
    /// DD64 step 1's request.
    pub(super) async fn attempt(&mut self, anchor: &Anchor) -> Attempt {
        let signer = self.operation_signer();
        let own = self.account.account();
        let body = OperationCheck {
            account: self.account.to_string(),
            memo: self.memo.map(|m| m.to_string()),
            op: self.op,
            amount: self.amount,
            asset: self.asset.to_string(),
            key: (signer != own).then(|| signer.to_string()),
        };
        let url = anchor.url(&["operations", "check"]);
        let sent = self
            .send_authed(anchor, Login::Operation, |token| {
                anchor
                    .http
                    .post(url.clone())
                    .bearer_auth(token)
                    .json(&body)
                    .timeout(REQUEST_TIMEOUT)
            })
            .await;
        let res = match sent {
            Ok(res) => res,
            Err(f) => return Attempt::Failed(f.into()),
        };
        match res.status().as_u16() {
            200 => match res.json::<OperationAllowed>().await {
                Ok(b) if b.allowed => Attempt::Allowed,
                Ok(_) => Attempt::Failed(BackoffReason::Refused {
                    status: 200,
                    message: "the anchor answered allowed: false".into(),
                }),
                Err(e) => Attempt::Failed(BackoffReason::Unreachable(e.to_string())),
            },
            451 => match res.json::<OperationDenied>().await {
                Ok(denied) => Attempt::Denied(denied),
                Err(e) => Attempt::Failed(BackoffReason::Unreachable(e.to_string())),
            },
            status => {
                let body: ErrorBody = res.json().await.unwrap_or_default();
                Attempt::Failed(BackoffReason::Refused {
                    status,
                    message: body.error.unwrap_or_default(),
                })
            }
        }
    }

    /// DD64 step 2's request. `Err` when no request could be made (login).
    pub(super) async fn kyc_check(
        &mut self,
        anchor: &Anchor,
    ) -> Result<CheckAnswer, BackoffReason> {
        let query = self.next_check_query();
        let mut url = anchor.url(&["kyc-check", &self.target.account.to_string()]);
        let pairs = [
            ("memo", self.target.memo.map(|m| m.to_string())),
            ("timeout_ms", query.timeout_ms.map(|t| t.to_string())),
            ("lpt", query.lpt.map(|l| l.to_string())),
            ("min_rule", query.min_rule.map(|r| r.to_string())),
        ];
        if pairs.iter().any(|(_, v)| v.is_some()) {
            let mut q = url.query_pairs_mut();
            for (name, value) in &pairs {
                if let Some(v) = value {
                    q.append_pair(name, v);
                }
            }
        }
        let timeout = query.timeout_ms.map_or(REQUEST_TIMEOUT, |ms| {
            Duration::from_millis(ms) + LONG_POLL_GRACE
        });
        let sent = self
            .send_authed(anchor, Login::Check, |token| {
                anchor
                    .http
                    .get(url.clone())
                    .bearer_auth(token)
                    .timeout(timeout)
            })
            .await;
        let res = match sent {
            Ok(res) => res,
            Err(Failure::Network(m)) => return Ok(CheckAnswer::Failed(m)),
            Err(f @ Failure::Login(_)) => return Err(f.into()),
        };
        let status = res.status().as_u16();
        let answer = match status {
            200 | 202 => match res.json::<AccountKycStatus>().await {
                Ok(s) if status == 200 => CheckAnswer::Ok(s),
                Ok(s) => CheckAnswer::Required(s),
                Err(e) => CheckAnswer::Failed(e.to_string()),
            },
            204 => CheckAnswer::Disabled,
            _ => {
                let body: ErrorBody = res.json().await.unwrap_or_default();
                match status {
                    403 => CheckAnswer::Forbidden(body),
                    404 => CheckAnswer::Unknown(body),
                    409 => CheckAnswer::Unbound(body),
                    _ => CheckAnswer::Other(status, body),
                }
            }
        };
        Ok(answer)
    }

    /// The key that logs in for the operation: the account's own if held.
    pub(super) fn operation_signer(&self) -> PublicKey {
        let own = self.account.account();
        match self.keypairs.iter().any(|k| k.public_key() == own) {
            true => own,
            false => self.account_keypair().public_key(),
        }
    }

    /// The account, memo and key of a login.
    pub(super) fn login_for(&self, login: Login) -> (ClientAccount, Option<IdMemo>, usize) {
        match login {
            Login::Operation => {
                let signer = self.operation_signer();
                let index = self
                    .keypairs
                    .iter()
                    .position(|k| k.public_key() == signer)
                    .unwrap_or(self.account_key);
                (self.account, self.memo, index)
            }
            // `account_keypair`'s account, for the target's user.
            Login::Check => {
                let key = self.account_keypair().public_key();
                let account = match self.target.account {
                    ClientAccount::Muxed { id, .. } => ClientAccount::Muxed { account: key, id },
                    ClientAccount::Account(_) => ClientAccount::Account(key),
                };
                (account, self.target.memo, self.account_key)
            }
        }
    }

    /// A session token for `login`, logging in when none is fresh.
    async fn token(&mut self, anchor: &Anchor, login: Login) -> Result<SecretString, Failure> {
        let (account, memo, signer) = self.login_for(login);
        let key = session_key(&account, memo);
        let now = (self.clock)();
        if let Some(s) = self.sessions.get(&key)
            && s.expires.is_none_or(|e| now + TOKEN_MARGIN < e)
        {
            return Ok(s.token.clone());
        }
        let opts = LoginOptions {
            memo,
            client_domain: None,
        };
        let token = anchor
            .web_auth
            .login(&account, &[&self.keypairs[signer]], &opts)
            .await
            .map_err(|e| match e {
                ClientError::Http(e) => Failure::Network(e.to_string()),
                e => Failure::Login(e.to_string()),
            })?;
        let expires = jwt_expiry(&token);
        let token = SecretString::from(token);
        self.sessions.insert(
            key,
            Session {
                token: token.clone(),
                expires,
            },
        );
        Ok(token)
    }

    /// Sends an authenticated request; on a 401 (an expired or revoked
    /// token) logs in again and sends it once more.
    async fn send_authed(
        &mut self,
        anchor: &Anchor,
        login: Login,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Failure> {
        let send = |token: &SecretString| build(token.expose_secret()).send();
        let token = self.token(anchor, login).await?;
        let res = send(&token)
            .await
            .map_err(|e| Failure::Network(e.to_string()))?;
        if res.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(res);
        }
        let (account, memo, _) = self.login_for(login);
        self.sessions.remove(&session_key(&account, memo));
        let token = self.token(anchor, login).await?;
        send(&token)
            .await
            .map_err(|e| Failure::Network(e.to_string()))
    }
}

fn session_key(account: &ClientAccount, memo: Option<IdMemo>) -> String {
    match memo {
        Some(m) => format!("{account}?memo={m}"),
        None => account.to_string(),
    }
}

/// The `exp` of a JWT, read without verifying it: only to renew in time.
pub(super) fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_u64().map(from_unix)
}

/// A memo as a server writes it: `"123"` or `123`.
pub(super) fn memo_from(v: &Value) -> Option<IdMemo> {
    match v {
        Value::String(s) => IdMemo::parse(s).ok(),
        Value::Number(n) => n.as_u64().map(IdMemo::new),
        _ => None,
    }
}
