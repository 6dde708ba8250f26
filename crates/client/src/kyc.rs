//! DD64, GNU Taler's "algorithm for transactions with KYC checks", as a
//! wallet runs it against a Mooring anchor (docs/kyc.md): try the operation
//! (`POST /operations/check`) and, while KYC stands in its way, long-poll
//! `GET /kyc-check/{account}` and tell the user what to do.
//!
//! [`KycWait::run`] is one DD64 processing run. It never sleeps: the caller
//! waits as the [`Outcome`] says, then runs it again.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use mooring_stellar::{ClientAccount, IdMemo, Keypair, PublicKey};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::sep10::{LoginOptions, WebAuth};
use crate::{ClientError, check};

/// How long a `/kyc-check` long poll asks the server to wait, by default.
pub const DEFAULT_LONG_POLL: Duration = Duration::from_secs(30);
/// DD64 step 1: a denied operation is tried again at most this often.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(3600);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(86_400);
/// Requests that do not long-poll.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Beyond the long poll: the server's answer may take this long to arrive.
const LONG_POLL_GRACE: Duration = Duration::from_secs(15);
/// A session token this close to its expiry is renewed first.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);
/// Places after the decimal point of an amount (Stellar's 7).
const AMOUNT_PLACES: usize = 7;
const AMOUNT_SCALE: u128 = 10_000_000;

/// Why a value or a [`KycWait`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KycError {
    /// Not a decimal with at most 7 places.
    #[error("amount must be a non-negative decimal with at most 7 places, like 500 or 12.5")]
    InvalidAmount,
    /// Not a SEP-38 asset.
    #[error("asset must be stellar:native, stellar:CODE:ISSUER or iso4217:XXX")]
    InvalidAsset,
    /// Not one of the operations limits apply to.
    #[error("operation must be deposit, withdraw, send, receive or quote")]
    InvalidOperation,
    /// No key to log in with.
    #[error("at least one keypair is needed to log in")]
    NoKeypair,
    /// An `M…` address already names its user; a memo on it is ambiguous.
    #[error("an M… account carries its own id: give no memo with it")]
    MemoOnMuxed,
}

/// A value-moving operation, as `op` in `POST /operations/check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// SEP-6/24 deposit.
    Deposit,
    /// SEP-6/24 withdrawal.
    Withdraw,
    /// SEP-31 send.
    Send,
    /// SEP-31 receive.
    Receive,
    /// SEP-38 firm quote.
    Quote,
}

impl Operation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Deposit => "deposit",
            Operation::Withdraw => "withdraw",
            Operation::Send => "send",
            Operation::Receive => "receive",
            Operation::Quote => "quote",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Operation {
    type Err = KycError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Operation::Deposit,
            Operation::Withdraw,
            Operation::Send,
            Operation::Receive,
            Operation::Quote,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
        .ok_or(KycError::InvalidOperation)
    }
}

/// A non-negative decimal amount with at most 7 places, held exactly in
/// units of 10⁻⁷.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(into = "String", try_from = "RawAmount")]
pub struct Amount(u128);

impl Amount {
    /// Nothing.
    pub const ZERO: Amount = Amount(0);

    /// Reads `500`, `12.5` or `0.0000001`: digits, and at most 7 after a point.
    pub fn parse(s: &str) -> Result<Self, KycError> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) if !f.is_empty() => (i, f),
            Some(_) => return Err(KycError::InvalidAmount),
            None => (s, ""),
        };
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        // 30 integer digits keep the scaled value far inside a u128.
        if int.is_empty() || int.len() > 30 || !digits(int) || !digits(frac) {
            return Err(KycError::InvalidAmount);
        }
        if frac.len() > AMOUNT_PLACES {
            return Err(KycError::InvalidAmount);
        }
        let whole: u128 = int.parse().map_err(|_| KycError::InvalidAmount)?;
        let places: u128 = format!("{frac:0<AMOUNT_PLACES$}")
            .parse()
            .map_err(|_| KycError::InvalidAmount)?;
        Ok(Amount(whole * AMOUNT_SCALE + places))
    }

    /// True for zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    fn saturating_add(self, other: Amount) -> Amount {
        Amount(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, places) = (self.0 / AMOUNT_SCALE, self.0 % AMOUNT_SCALE);
        if places == 0 {
            return write!(f, "{whole}");
        }
        let frac = format!("{places:07}");
        write!(f, "{whole}.{}", frac.trim_end_matches('0'))
    }
}

impl FromStr for Amount {
    type Err = KycError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

impl From<Amount> for String {
    fn from(a: Amount) -> String {
        a.to_string()
    }
}

/// An amount as a server may write it: a string, or a JSON number.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawAmount {
    Text(String),
    Number(serde_json::Number),
}

impl TryFrom<RawAmount> for Amount {
    type Error = KycError;
    fn try_from(raw: RawAmount) -> Result<Self, Self::Error> {
        match raw {
            RawAmount::Text(s) => Amount::parse(&s),
            RawAmount::Number(n) => {
                let s = n.to_string();
                // serde_json writes whole floats as `1000.0`.
                Amount::parse(s.strip_suffix(".0").unwrap_or(&s))
            }
        }
    }
}

/// A SEP-38 asset: `stellar:native`, `stellar:CODE:ISSUER` or `iso4217:XXX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asset(String);

impl Asset {
    /// Reads and checks a SEP-38 asset identifier (SEP-38 §Asset Identification Format).
    pub fn parse(s: &str) -> Result<Self, KycError> {
        let ok = match s.split(':').collect::<Vec<_>>().as_slice() {
            ["stellar", "native"] => true,
            ["stellar", code, issuer] => {
                (1..=12).contains(&code.len())
                    && code.bytes().all(|b| b.is_ascii_alphanumeric())
                    && PublicKey::parse(issuer).is_ok()
            }
            ["iso4217", code] => code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
            _ => false,
        };
        if ok {
            Ok(Asset(s.to_owned()))
        } else {
            Err(KycError::InvalidAsset)
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Asset {
    type Err = KycError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Asset::parse(s)
    }
}

/// An account's KYC state (docs/kyc.md §KYC state and rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KycState {
    /// No record of the KYC type, or it needs information.
    #[serde(rename = "none")]
    Unverified,
    /// The record is under review.
    Pending,
    /// KYC passed.
    Accepted,
    /// KYC lent by an accepted account (`/kyc-attest`).
    Inherited,
    /// KYC refused.
    Rejected,
}

impl KycState {
    /// Accepted or inherited: KYC has lifted every soft limit it can.
    pub fn is_done(self) -> bool {
        matches!(self, KycState::Accepted | KycState::Inherited)
    }
}

/// An exposed limit rule (docs/kyc.md §`GET /limits`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Limit {
    /// The operation it limits; kept as text so a newer server's operations
    /// only fail to match.
    pub operation_type: String,
    /// The rule's name, shown to clients.
    #[serde(default)]
    pub rule_name: Option<String>,
    /// The SEP-38 asset it limits.
    pub asset: String,
    /// At most this much…
    pub threshold: Amount,
    /// …in any window of this many seconds; `None`: per operation.
    #[serde(default)]
    pub timeframe_secs: Option<u64>,
    /// Passing KYC lifts it.
    pub soft_limit: bool,
    /// What counts against the threshold now.
    #[serde(default)]
    pub used: Amount,
    /// When the oldest operation counted leaves the window (unix seconds).
    #[serde(default)]
    pub resets_at: Option<u64>,
}

/// `GET /limits`: the exposed rules of an account never seen.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DefaultLimits {
    /// KYC limits are enforced at all.
    pub enabled: bool,
    /// The SEP-12 customer type whose acceptance lifts soft limits.
    #[serde(default)]
    pub kyc_type: Option<String>,
    /// The SEP-12 server.
    #[serde(default)]
    pub kyc_url: Option<Url>,
    /// The rules.
    #[serde(default)]
    pub limits: Vec<Limit>,
}

/// What the exposed limits say of an operation (DD64 step 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No exposed limit denies it.
    Allowed,
    /// A limit KYC cannot lift denies the amount itself: it can never pass.
    Never {
        /// The rule's name, if exposed.
        rule_name: Option<String>,
        /// Its threshold.
        threshold: Amount,
    },
    /// A soft limit denies it while KYC is not done.
    NeedsKyc {
        /// The rule's name, if exposed.
        rule_name: Option<String>,
    },
    /// Only rolling windows deny it: it may pass once they free up, at the
    /// latest of their reset times (`None` when one is not known).
    Window {
        /// When the windows may allow it.
        until: Option<SystemTime>,
    },
}

/// Judges `amount` of `op` in `asset` against exposed `limits`. A denial
/// that waiting cannot cure wins over one KYC can, which wins over a full
/// rolling window.
pub fn evaluate(
    limits: &[Limit],
    op: Operation,
    asset: &Asset,
    amount: Amount,
    kyc_done: bool,
) -> Verdict {
    let mut never = None;
    let mut kyc = None;
    let mut window: Option<Option<SystemTime>> = None;
    let applying = limits
        .iter()
        .filter(|l| l.operation_type == op.as_str() && l.asset == asset.as_str());
    for l in applying {
        let liftable = l.soft_limit && !kyc_done;
        let over_alone = amount > l.threshold;
        let window_full = l.timeframe_secs.is_some() && l.used.saturating_add(amount) > l.threshold;
        if liftable && (over_alone || window_full) {
            kyc.get_or_insert(l.rule_name.clone());
        } else if over_alone {
            never.get_or_insert((l.rule_name.clone(), l.threshold));
        } else if window_full {
            let reset = l.resets_at.map(from_unix);
            window = Some(match window {
                None => reset,
                Some(prev) => prev.zip(reset).map(|(a, b)| a.max(b)),
            });
        }
    }
    if let Some((rule_name, threshold)) = never {
        Verdict::Never {
            rule_name,
            threshold,
        }
    } else if let Some(rule_name) = kyc {
        Verdict::NeedsKyc { rule_name }
    } else if let Some(until) = window {
        Verdict::Window { until }
    } else {
        Verdict::Allowed
    }
}

/// DD64 `isZeroLimited(op, amt)`: an exposed rule of threshold 0 for this
/// operation and asset already denies it, so the operation is not tried first.
pub fn is_zero_limited(
    defaults: &DefaultLimits,
    op: Operation,
    asset: &Asset,
    amount: Amount,
) -> bool {
    defaults.enabled
        && defaults.limits.iter().any(|l| {
            l.operation_type == op.as_str()
                && l.asset == asset.as_str()
                && l.threshold.is_zero()
                && amount > l.threshold
        })
}

/// DD64 backoff: 1 s, then doubling, at most one day.
pub fn next_backoff(previous: Option<Duration>) -> Duration {
    previous.map_or(FIRST_BACKOFF, |d| (d * 2).min(MAX_BACKOFF))
}

/// The query of a `/kyc-check` request (DD64 step 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckQuery {
    /// Long-poll this long; `None`: answer at once.
    pub timeout_ms: Option<u64>,
    /// Long-poll target: 1 while unknown or unbound, 2 while under review.
    pub lpt: Option<u8>,
    /// Answer as soon as `rule_gen` is greater than this.
    pub min_rule: Option<u64>,
}

/// The result of one DD64 processing run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The operation is allowed (DD64 "halt"): go ahead.
    Allowed,
    /// Something changed: run again now.
    Progress,
    /// Run again after [`KycWait::backoff_delay`].
    Backoff {
        /// Why.
        reason: BackoffReason,
    },
    /// Run again at this time.
    AgainAt(SystemTime),
}

/// Why a run ended in [`Outcome::Backoff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackoffReason {
    /// The `/kyc-check` answer is the one before: nothing changed.
    Unchanged,
    /// The anchor could not be reached, timed out or answered garbage (DD64 status 0).
    Unreachable(String),
    /// The SEP-10 login failed.
    Login(String),
    /// The anchor answered an error DD64 has no branch for.
    Refused {
        /// HTTP status.
        status: u16,
        /// The `error` of the body.
        message: String,
    },
    /// The account has no SEP-12 record to bind KYC to (Mooring's KYC auth).
    KycAuth,
    /// A soft limit denies the operation until KYC is done or reviewed.
    KycRequired,
    /// The anchor wants a login by a key this wallet does not hold.
    WrongKey,
    /// A limit KYC cannot lift denies the amount: it can never pass.
    HardLimit,
}

/// What the user must do (or wait for) before the operation can pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing: the wallet is checking.
    None,
    /// Open a SEP-12 record (`PUT /customer`) with the account's own SEP-10
    /// login, which binds KYC to the account.
    OpenRecord {
        /// The SEP-12 server, if the anchor said.
        kyc_url: Option<Url>,
        /// The customer type, if the anchor said.
        kyc_type: Option<String>,
    },
    /// Provide the KYC information SEP-12 asks for.
    CompleteKyc {
        /// The SEP-12 server, if the anchor said.
        kyc_url: Option<Url>,
        /// The customer type whose acceptance lifts the limit.
        kyc_type: Option<String>,
    },
    /// Wait for the anchor's review of the KYC information.
    AwaitReview,
    /// Log in with this account's key, which this wallet does not hold.
    ProvideKey {
        /// The key KYC is bound to.
        account_pub: PublicKey,
        /// Its memo, if any.
        memo: Option<IdMemo>,
    },
    /// Wait: the operation may pass at this time.
    WaitUntil(SystemTime),
    /// Nothing helps: a limit KYC cannot lift denies the amount.
    Impossible {
        /// The rule's name, if exposed.
        rule_name: Option<String>,
        /// Its threshold.
        threshold: Amount,
    },
}

/// The account (and memo) whose KYC is checked: the operation's, or the one
/// a 451 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// `G…` or `M…`.
    pub account: ClientAccount,
    /// An id memo on a `G…` account.
    pub memo: Option<IdMemo>,
}

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
        Ok(check(res).await?.json().await?)
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

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

struct Session {
    token: SecretString,
    expires: Option<SystemTime>,
}

/// Which login a request needs.
#[derive(Clone, Copy)]
enum Login {
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
enum CheckAnswer {
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
    fn status(&self) -> u16 {
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

    fn code(&self) -> Option<i64> {
        match self {
            CheckAnswer::Forbidden(b)
            | CheckAnswer::Unknown(b)
            | CheckAnswer::Unbound(b)
            | CheckAnswer::Other(_, b) => b.code,
            _ => None,
        }
    }

    fn rule_gen(&self) -> Option<u64> {
        match self {
            CheckAnswer::Ok(s) | CheckAnswer::Required(s) => Some(s.rule_gen),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct AccountKycStatus {
    state: KycState,
    aml_review: bool,
    rule_gen: u64,
    #[serde(default)]
    kyc_url: Option<Url>,
    #[serde(default, rename = "type")]
    kyc_type: Option<String>,
    #[serde(default)]
    limits: Vec<Limit>,
}

/// Every error body of `/kyc-check`, its fields optional.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    expected_account_pub: Option<String>,
    #[serde(default)]
    expected_memo: Option<Value>,
    #[serde(default)]
    limits: Option<Vec<Limit>>,
    #[serde(default)]
    kyc_url: Option<Url>,
    #[serde(default, rename = "type")]
    kyc_type: Option<String>,
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
struct OperationDenied {
    account: String,
    #[serde(default)]
    memo: Option<Value>,
    #[serde(default)]
    bad_kyc_auth: bool,
    /// Mooring's: false when KYC cannot lift the limit.
    #[serde(default = "yes")]
    soft_limit: bool,
}

fn yes() -> bool {
    true
}

enum Attempt {
    Allowed,
    Denied(OperationDenied),
    Failed(BackoffReason),
}

/// Where step 3 leaves a run.
enum Next {
    Done(Outcome),
    /// DD64 step 4, with these limits (`None`: the defaults of `GET /limits`).
    Limits(LimitsCase),
}

struct LimitsCase {
    limits: Option<Vec<Limit>>,
    kyc_url: Option<Url>,
    kyc_type: Option<String>,
    kyc_done: bool,
    aml_review: bool,
}

/// DD64's state for one operation: its variables, the backoff, and the
/// wallet's keys and sessions.
///
/// # Example
///
/// ```no_run
/// use std::time::SystemTime;
/// use mooring_client::kyc::{Amount, Anchor, Asset, KycWait, Operation, Outcome};
/// use mooring_stellar::{ClientAccount, Keypair};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let key = Keypair::from_secret_seed("SB…")?;
/// let account = ClientAccount::Account(key.public_key());
/// let anchor = Anchor::discover(reqwest::Client::new(), &"https://anchor.example".parse()?).await?;
/// let mut wait = KycWait::new(
///     Operation::Send,
///     Amount::parse("500")?,
///     Asset::parse("stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")?,
///     account,
///     None,
///     vec![key],
/// )?;
/// loop {
///     match wait.run(&anchor).await {
///         Outcome::Allowed => break,
///         Outcome::Progress => {}
///         Outcome::Backoff { reason } => {
///             eprintln!("{reason:?}; to do: {:?}", wait.action());
///             tokio::time::sleep(wait.backoff_delay()).await;
///         }
///         Outcome::AgainAt(t) => {
///             let wait_for = t.duration_since(SystemTime::now()).unwrap_or_default();
///             tokio::time::sleep(wait_for).await;
///         }
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct KycWait {
    op: Operation,
    amount: Amount,
    asset: Asset,
    account: ClientAccount,
    memo: Option<IdMemo>,
    keypairs: Vec<Keypair>,
    /// DD64 `account_keypair`, an index into `keypairs`.
    account_key: usize,
    target: Target,
    last_check_status: Option<u16>,
    last_check_code: Option<i64>,
    last_rule_gen: Option<u64>,
    last_aml_review: Option<bool>,
    last_deny: Option<SystemTime>,
    last_bad_kyc_auth: bool,
    /// The last 451 was over a limit KYC does not lift (Mooring's
    /// `soft_limit: false`).
    last_hard_deny: bool,
    /// When a full rolling window frees up: step 1 may try before the hour.
    window_again_at: Option<SystemTime>,
    backoff: Option<Duration>,
    action: Action,
    defaults: Option<DefaultLimits>,
    initialized: bool,
    sessions: HashMap<String, Session>,
    long_poll: Duration,
    retry_interval: Duration,
    clock: Clock,
}

impl fmt::Debug for KycWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KycWait")
            .field("op", &self.op)
            .field("amount", &self.amount)
            .field("asset", &self.asset)
            .field("target", &self.target)
            .field("last_check_status", &self.last_check_status)
            .field("last_check_code", &self.last_check_code)
            .field("last_rule_gen", &self.last_rule_gen)
            .field("last_aml_review", &self.last_aml_review)
            .field("last_deny", &self.last_deny)
            .field("last_bad_kyc_auth", &self.last_bad_kyc_auth)
            .field("account_keypair", &self.account_keypair().public_key())
            .field("action", &self.action)
            .finish_non_exhaustive()
    }
}

impl KycWait {
    /// DD64 initialization for `amount` of `op` in `asset` by `account` (an
    /// `M…`, or a `G…` with an optional id memo), with the keys the wallet
    /// holds. `account_keypair` starts as the account's own key if among
    /// them, else the first. `last_deny` is set by the first [`run`](Self::run),
    /// which reads `GET /limits` for `isZeroLimited`.
    pub fn new(
        op: Operation,
        amount: Amount,
        asset: Asset,
        account: ClientAccount,
        memo: Option<IdMemo>,
        keypairs: Vec<Keypair>,
    ) -> Result<Self, KycError> {
        if keypairs.is_empty() {
            return Err(KycError::NoKeypair);
        }
        if memo.is_some() && account.muxed_id().is_some() {
            return Err(KycError::MemoOnMuxed);
        }
        let account_key = keypairs
            .iter()
            .position(|k| k.public_key() == account.account())
            .unwrap_or(0);
        Ok(KycWait {
            op,
            amount,
            asset,
            account,
            memo,
            keypairs,
            account_key,
            target: Target { account, memo },
            last_check_status: None,
            last_check_code: None,
            last_rule_gen: None,
            last_aml_review: None,
            last_deny: None,
            last_bad_kyc_auth: false,
            last_hard_deny: false,
            window_again_at: None,
            backoff: None,
            action: Action::None,
            defaults: None,
            initialized: false,
            sessions: HashMap::new(),
            long_poll: DEFAULT_LONG_POLL,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            clock: Arc::new(SystemTime::now),
        })
    }

    /// How long `/kyc-check` long polls wait (default 30 s).
    pub fn with_long_poll(mut self, long_poll: Duration) -> Self {
        self.long_poll = long_poll;
        self
    }

    /// How often a denied operation is tried again (DD64: 1 h).
    pub fn with_retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// The clock DD64's times come from (default the system's).
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// DD64 `last_check_status`: `Some(0)` for a network failure or timeout.
    pub fn last_check_status(&self) -> Option<u16> {
        self.last_check_status
    }

    /// DD64 `last_check_code`: the `code` of the last `/kyc-check` error body.
    pub fn last_check_code(&self) -> Option<i64> {
        self.last_check_code
    }

    /// DD64 `last_rule_gen`.
    pub fn last_rule_gen(&self) -> Option<u64> {
        self.last_rule_gen
    }

    /// DD64 `last_aml_review`.
    pub fn last_aml_review(&self) -> Option<bool> {
        self.last_aml_review
    }

    /// DD64 `last_deny`: when the operation was last denied.
    pub fn last_deny(&self) -> Option<SystemTime> {
        self.last_deny
    }

    /// DD64 `last_bad_kyc_auth`.
    pub fn last_bad_kyc_auth(&self) -> bool {
        self.last_bad_kyc_auth
    }

    /// DD64 `account_keypair`: the key `/kyc-check` logs in with.
    pub fn account_keypair(&self) -> &Keypair {
        &self.keypairs[self.account_key]
    }

    /// The account whose KYC is checked.
    pub fn target(&self) -> Target {
        self.target
    }

    /// What the user must do, as of the last run.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// How long to wait after [`Outcome::Backoff`].
    pub fn backoff_delay(&self) -> Duration {
        self.backoff.unwrap_or(FIRST_BACKOFF)
    }

    /// DD64's KYC auth state: the user should bind KYC to the account.
    pub fn needs_kyc_auth(&self) -> bool {
        matches!(self.last_check_status, Some(403 | 409))
            || (self.last_bad_kyc_auth && self.last_check_status == Some(404))
    }

    /// The query of the next `/kyc-check` (DD64 step 2).
    pub fn next_check_query(&self) -> CheckQuery {
        let timeout_ms = Some(u64::try_from(self.long_poll.as_millis()).unwrap_or(u64::MAX));
        if self.last_check_status.is_none() {
            CheckQuery::default()
        } else if self.needs_kyc_auth() {
            CheckQuery {
                timeout_ms,
                lpt: Some(1),
                min_rule: None,
            }
        } else if self.last_aml_review == Some(true) {
            CheckQuery {
                timeout_ms,
                lpt: Some(2),
                min_rule: self.last_rule_gen,
            }
        } else {
            CheckQuery {
                timeout_ms,
                lpt: None,
                min_rule: self.last_rule_gen,
            }
        }
    }

    /// `isZeroLimited(op, amt)` against the anchor's `GET /limits`.
    pub async fn is_zero_limited(&self, anchor: &Anchor) -> Result<bool, ClientError> {
        let defaults = anchor.limits().await?;
        Ok(is_zero_limited(
            &defaults,
            self.op,
            &self.asset,
            self.amount,
        ))
    }

    /// One DD64 processing run: step 1 tries the operation unless it was
    /// denied within the retry interval, step 2 asks `/kyc-check`, step 3
    /// reads the answer, step 4 the exposed limits.
    pub async fn run(&mut self, anchor: &Anchor) -> Outcome {
        if !self.initialized {
            self.initialize(anchor).await;
        }
        if self.may_attempt((self.clock)()) {
            self.window_again_at = None;
            match self.attempt(anchor).await {
                Attempt::Allowed => {
                    self.action = Action::None;
                    return Outcome::Allowed;
                }
                Attempt::Denied(denied) => self.on_denied(denied),
                Attempt::Failed(reason) => return self.back_off(reason),
            }
        }
        let answer = match self.kyc_check(anchor).await {
            Ok(answer) => answer,
            Err(reason) => return self.back_off(reason),
        };
        match self.on_answer(answer) {
            Next::Done(outcome) => outcome,
            Next::Limits(mut case) => {
                if case.limits.is_none() {
                    match anchor.limits().await {
                        Ok(d) => self.defaults = Some(d),
                        Err(e) => return self.back_off(BackoffReason::Unreachable(e.to_string())),
                    }
                    case = self.with_defaults(case);
                }
                self.step4(case)
            }
        }
    }

    /// DD64 initialization of `last_deny`; an anchor whose `/limits` can't be
    /// read is simply tried.
    async fn initialize(&mut self, anchor: &Anchor) {
        self.initialized = true;
        if let Ok(defaults) = anchor.limits().await {
            if is_zero_limited(&defaults, self.op, &self.asset, self.amount) {
                self.last_deny = Some((self.clock)());
            }
            self.defaults = Some(defaults);
        }
    }

    /// DD64 step 1's condition; `>=` so that `AgainAt(last_deny + 1 h)` tries.
    fn may_attempt(&self, now: SystemTime) -> bool {
        match self.last_deny {
            None => true,
            Some(denied) => {
                now >= denied + self.retry_interval
                    || self.window_again_at.is_some_and(|t| now >= t)
            }
        }
    }

    fn on_denied(&mut self, denied: OperationDenied) {
        self.last_deny = Some((self.clock)());
        self.last_bad_kyc_auth = denied.bad_kyc_auth;
        self.last_hard_deny = !denied.soft_limit;
        if let Ok(account) = ClientAccount::parse(&denied.account) {
            let memo = denied.memo.as_ref().and_then(memo_from);
            self.target = Target { account, memo };
        }
    }

    fn back_off(&mut self, reason: BackoffReason) -> Outcome {
        self.backoff = Some(next_backoff(self.backoff));
        Outcome::Backoff { reason }
    }

    /// DD64 step 3, up to where step 4 needs limits.
    fn on_answer(&mut self, answer: CheckAnswer) -> Next {
        let status = answer.status();
        let code = answer.code();
        // A failure says nothing of rule_gen: keep it for `min_rule`.
        let rule_gen = match answer {
            CheckAnswer::Failed(_) => self.last_rule_gen,
            _ => answer.rule_gen(),
        };
        let same = self.last_check_status == Some(status)
            && self.last_check_code == code
            && self.last_rule_gen == rule_gen;
        self.last_check_status = Some(status);
        self.last_check_code = code;
        self.last_rule_gen = rule_gen;
        if !same {
            // docs/kyc.md: the backoff resets when the answer changes in any way.
            self.backoff = None;
        }
        let outcome = match answer {
            CheckAnswer::Failed(m) => self.back_off(BackoffReason::Unreachable(m)),
            _ if same => self.back_off(BackoffReason::Unchanged),
            // docs/kyc.md: after a hard denial, a 200 goes to step 4 with
            // its limits, so that a limit nothing can lift is reported as
            // such instead of retried every hour.
            CheckAnswer::Ok(s) if self.last_hard_deny => {
                self.last_aml_review = Some(s.aml_review);
                return Next::Limits(LimitsCase {
                    kyc_done: s.state.is_done(),
                    aml_review: s.aml_review,
                    limits: Some(s.limits),
                    kyc_url: s.kyc_url,
                    kyc_type: s.kyc_type,
                });
            }
            CheckAnswer::Ok(s) => {
                self.last_aml_review = Some(s.aml_review);
                self.last_deny = None;
                self.action = Action::None;
                Outcome::Progress
            }
            CheckAnswer::Disabled => {
                self.last_deny = None;
                self.action = Action::None;
                Outcome::Progress
            }
            CheckAnswer::Required(s) => {
                self.last_aml_review = Some(s.aml_review);
                let verdict = evaluate(
                    &s.limits,
                    self.op,
                    &self.asset,
                    self.amount,
                    s.state.is_done(),
                );
                if verdict != Verdict::Allowed {
                    return Next::Limits(LimitsCase {
                        kyc_done: s.state.is_done(),
                        aml_review: s.aml_review,
                        limits: Some(s.limits),
                        kyc_url: s.kyc_url,
                        kyc_type: s.kyc_type,
                    });
                }
                self.action = if s.aml_review {
                    Action::AwaitReview
                } else {
                    Action::None
                };
                Outcome::Progress
            }
            CheckAnswer::Forbidden(body) => self.on_forbidden(body),
            CheckAnswer::Unknown(body) if !self.last_bad_kyc_auth => {
                return Next::Limits(self.with_defaults(LimitsCase {
                    limits: body.limits,
                    kyc_url: None,
                    kyc_type: None,
                    kyc_done: false,
                    aml_review: false,
                }));
            }
            CheckAnswer::Unknown(_) => {
                let (kyc_url, kyc_type) = self.default_kyc();
                self.action = Action::OpenRecord { kyc_url, kyc_type };
                self.back_off(BackoffReason::KycAuth)
            }
            CheckAnswer::Unbound(body) => {
                let (url, kind) = self.default_kyc();
                self.action = Action::OpenRecord {
                    kyc_url: body.kyc_url.or(url),
                    kyc_type: body.kyc_type.or(kind),
                };
                self.back_off(BackoffReason::KycAuth)
            }
            CheckAnswer::Other(status, body) => self.back_off(BackoffReason::Refused {
                status,
                message: body.error.unwrap_or_default(),
            }),
        };
        Next::Done(outcome)
    }

    /// DD64 step 3, 403: switch to the expected key if the wallet holds it.
    fn on_forbidden(&mut self, body: ErrorBody) -> Outcome {
        let Some(expected) = body
            .expected_account_pub
            .as_deref()
            .and_then(|k| PublicKey::parse(k).ok())
        else {
            let message = body.error.unwrap_or_default();
            return self.back_off(BackoffReason::Refused {
                status: 403,
                message,
            });
        };
        let held = self
            .keypairs
            .iter()
            .position(|k| k.public_key() == expected);
        match held {
            Some(i) if i != self.account_key => {
                self.account_key = i;
                self.action = Action::None;
                Outcome::Progress
            }
            _ => {
                self.action = Action::ProvideKey {
                    account_pub: expected,
                    memo: body.expected_memo.as_ref().and_then(memo_from),
                };
                self.back_off(BackoffReason::WrongKey)
            }
        }
    }

    /// DD64 step 4 (docs/kyc.md decides its branches).
    fn step4(&mut self, case: LimitsCase) -> Outcome {
        let limits = case.limits.unwrap_or_default();
        let now = (self.clock)();
        let hourly = self.last_deny.unwrap_or(now) + self.retry_interval;
        match evaluate(&limits, self.op, &self.asset, self.amount, case.kyc_done) {
            Verdict::Never {
                rule_name,
                threshold,
            } => {
                self.action = Action::Impossible {
                    rule_name,
                    threshold,
                };
                self.back_off(BackoffReason::HardLimit)
            }
            Verdict::NeedsKyc { .. } => {
                self.action = if case.aml_review {
                    Action::AwaitReview
                } else {
                    Action::CompleteKyc {
                        kyc_url: case.kyc_url,
                        kyc_type: case.kyc_type,
                    }
                };
                self.back_off(BackoffReason::KycRequired)
            }
            Verdict::Window { until } => {
                self.window_again_at = until;
                let at = until.unwrap_or(hourly);
                self.action = Action::WaitUntil(at);
                Outcome::AgainAt(at)
            }
            // A hidden rule is in the way: DD64 tries again after the interval.
            Verdict::Allowed => {
                self.action = Action::WaitUntil(hourly);
                Outcome::AgainAt(hourly)
            }
        }
    }

    fn default_kyc(&self) -> (Option<Url>, Option<String>) {
        self.defaults
            .as_ref()
            .map(|d| (d.kyc_url.clone(), d.kyc_type.clone()))
            .unwrap_or_default()
    }

    fn with_defaults(&self, mut case: LimitsCase) -> LimitsCase {
        if let Some(d) = &self.defaults {
            case.limits = case.limits.or_else(|| Some(d.limits.clone()));
            case.kyc_url = case.kyc_url.or_else(|| d.kyc_url.clone());
            case.kyc_type = case.kyc_type.or_else(|| d.kyc_type.clone());
        }
        case
    }

    /// DD64 step 1's request.
    async fn attempt(&mut self, anchor: &Anchor) -> Attempt {
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
    async fn kyc_check(&mut self, anchor: &Anchor) -> Result<CheckAnswer, BackoffReason> {
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
    fn operation_signer(&self) -> PublicKey {
        let own = self.account.account();
        match self.keypairs.iter().any(|k| k.public_key() == own) {
            true => own,
            false => self.account_keypair().public_key(),
        }
    }

    /// The account, memo and key of a login.
    fn login_for(&self, login: Login) -> (ClientAccount, Option<IdMemo>, usize) {
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
fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_u64().map(from_unix)
}

/// A memo as a server writes it: `"123"` or `123`.
fn memo_from(v: &Value) -> Option<IdMemo> {
    match v {
        Value::String(s) => IdMemo::parse(s).ok(),
        Value::Number(n) => n.as_u64().map(IdMemo::new),
        _ => None,
    }
}

fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

    fn t(secs: u64) -> SystemTime {
        from_unix(secs)
    }

    fn amount(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    fn limit(v: Value) -> Limit {
        let mut base = json!({
            "operation_type": "send", "asset": USDC, "threshold": "1000",
            "timeframe_secs": null, "soft_limit": true, "used": "0", "resets_at": null,
        });
        for (k, x) in v.as_object().unwrap() {
            base[k] = x.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn status(v: Value) -> AccountKycStatus {
        let mut base = json!({
            "state": "none", "aml_review": false, "rule_gen": 1,
            "kyc_url": "https://anchor.example/", "type": "sep31-sender", "limits": [],
        });
        for (k, x) in v.as_object().unwrap() {
            base[k] = x.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn error(v: Value) -> ErrorBody {
        serde_json::from_value(v).unwrap()
    }

    /// A wait for 500 USDC whose clock reads 1000 s, denied at 1000 s.
    fn denied_wait(keys: Vec<Keypair>) -> KycWait {
        let account = ClientAccount::Account(keys[0].public_key());
        let mut w = KycWait::new(
            Operation::Send,
            amount("500"),
            Asset::parse(USDC).unwrap(),
            account,
            None,
            keys,
        )
        .unwrap()
        .with_clock(|| from_unix(1000));
        w.last_deny = Some(t(1000));
        w
    }

    fn done(next: Next) -> Outcome {
        match next {
            Next::Done(o) => o,
            Next::Limits(_) => panic!("expected an outcome, got step 4"),
        }
    }

    #[test]
    fn amounts_are_decimals_with_at_most_seven_places() {
        assert_eq!(amount("500").to_string(), "500");
        assert_eq!(amount("12.50").to_string(), "12.5");
        assert_eq!(amount("0.0000001").to_string(), "0.0000001");
        assert!(amount("0.5") < amount("1"));
        for bad in ["", "1.", ".5", "-1", "+1", "1e3", "1.00000001", "1,5", " 1"] {
            assert_eq!(Amount::parse(bad), Err(KycError::InvalidAmount), "{bad:?}");
        }
        let from_number: Amount = serde_json::from_value(json!(1000)).unwrap();
        let from_float: Amount = serde_json::from_value(json!(1000.0)).unwrap();
        let from_text: Amount = serde_json::from_value(json!("1000.25")).unwrap();
        assert_eq!(from_number, amount("1000"));
        assert_eq!(from_float, amount("1000"));
        assert_eq!(from_text, amount("1000.25"));
        assert_eq!(serde_json::to_value(amount("7.5")).unwrap(), json!("7.5"));
    }

    #[test]
    fn assets_follow_sep38_identifiers() {
        for ok in [USDC, "stellar:native", "iso4217:USD"] {
            assert_eq!(Asset::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "USDC",
            "stellar:USDC",
            "stellar:USDC:GBAD",
            "iso4217:usd",
            "stellar:TOOLONGCODE13:G",
        ] {
            assert_eq!(Asset::parse(bad), Err(KycError::InvalidAsset), "{bad:?}");
        }
        assert_eq!("withdraw".parse(), Ok(Operation::Withdraw));
        assert_eq!("Send".parse::<Operation>(), Err(KycError::InvalidOperation));
    }

    #[test]
    fn backoff_doubles_from_one_second_to_one_day() {
        let mut d = None;
        let mut seen = vec![];
        for _ in 0..20 {
            let next = next_backoff(d);
            seen.push(next.as_secs());
            d = Some(next);
        }
        assert_eq!(&seen[..5], &[1, 2, 4, 8, 16]);
        assert_eq!(seen[16], 65_536);
        assert_eq!(seen[17], 86_400);
        assert_eq!(seen[19], 86_400);
    }

    #[test]
    fn the_first_check_does_not_long_poll_and_later_ones_follow_dd64_step_2() {
        let mut w = denied_wait(vec![Keypair::random()]).with_long_poll(Duration::from_secs(5));
        assert_eq!(w.next_check_query(), CheckQuery::default());
        let poll = |lpt, min_rule| CheckQuery {
            timeout_ms: Some(5000),
            lpt,
            min_rule,
        };

        w.last_check_status = Some(409);
        assert_eq!(w.next_check_query(), poll(Some(1), None));
        w.last_check_status = Some(403);
        assert_eq!(w.next_check_query(), poll(Some(1), None));

        w.last_check_status = Some(404);
        assert_eq!(w.next_check_query(), poll(None, None));
        w.last_bad_kyc_auth = true;
        assert_eq!(w.next_check_query(), poll(Some(1), None));

        w.last_bad_kyc_auth = false;
        w.last_check_status = Some(202);
        w.last_rule_gen = Some(4);
        w.last_aml_review = Some(true);
        assert_eq!(w.next_check_query(), poll(Some(2), Some(4)));
        w.last_aml_review = Some(false);
        assert_eq!(w.next_check_query(), poll(None, Some(4)));
    }

    #[test]
    fn limits_judge_the_amount_per_operation_and_in_windows() {
        let usdc = Asset::parse(USDC).unwrap();
        let judge = |limits: &[&Limit], amt: &str, done| {
            let limits: Vec<Limit> = limits.iter().map(|&l| l.clone()).collect();
            evaluate(&limits, Operation::Send, &usdc, amount(amt), done)
        };
        let soft = limit(json!({"rule_name": "unverified-sends"}));
        let hard = limit(json!({"soft_limit": false, "threshold": "5000"}));
        let window = limit(json!({
            "soft_limit": false, "threshold": "2000", "timeframe_secs": 86400,
            "used": "1800", "resets_at": 5000,
        }));
        let other_asset = limit(json!({"asset": "iso4217:USD", "threshold": "0"}));
        let other_op = limit(json!({"operation_type": "receive", "threshold": "0"}));

        assert_eq!(judge(&[&soft], "1000", false), Verdict::Allowed);
        assert_eq!(
            judge(&[&soft], "1000.0000001", false),
            Verdict::NeedsKyc {
                rule_name: Some("unverified-sends".into())
            }
        );
        assert_eq!(
            judge(&[&soft], "1001", true),
            Verdict::Never {
                rule_name: Some("unverified-sends".into()),
                threshold: amount("1000")
            }
        );
        assert_eq!(
            judge(&[&soft, &hard], "6000", false),
            Verdict::Never {
                rule_name: None,
                threshold: amount("5000")
            },
            "KYC cannot help when a hard limit denies too"
        );
        assert_eq!(judge(&[&window], "200", false), Verdict::Allowed);
        assert_eq!(
            judge(&[&window], "500", false),
            Verdict::Window {
                until: Some(t(5000))
            }
        );
        assert_eq!(
            judge(&[&window], "2500", false),
            Verdict::Never {
                rule_name: None,
                threshold: amount("2000")
            }
        );
        assert_eq!(
            judge(&[&other_asset, &other_op], "1", false),
            Verdict::Allowed
        );

        let later = limit(json!({
            "soft_limit": false, "threshold": "100", "timeframe_secs": 60,
            "used": "100", "resets_at": 7000,
        }));
        assert_eq!(
            judge(&[&window, &later], "50", false),
            Verdict::Window {
                until: Some(t(7000))
            }
        );
        let unknown_reset = limit(json!({
            "soft_limit": false, "threshold": "100", "timeframe_secs": 60, "used": "100",
        }));
        assert_eq!(
            judge(&[&window, &unknown_reset], "50", false),
            Verdict::Window { until: None }
        );
    }

    #[test]
    fn only_a_zero_threshold_for_the_operation_and_asset_is_a_zero_limit() {
        let usdc = Asset::parse(USDC).unwrap();
        let defaults = |limits, enabled| DefaultLimits {
            enabled,
            kyc_type: None,
            kyc_url: None,
            limits,
        };
        let zero = limit(json!({"threshold": "0"}));
        assert!(is_zero_limited(
            &defaults(vec![zero.clone()], true),
            Operation::Send,
            &usdc,
            amount("1")
        ));
        assert!(!is_zero_limited(
            &defaults(vec![zero.clone()], false),
            Operation::Send,
            &usdc,
            amount("1")
        ));
        assert!(!is_zero_limited(
            &defaults(vec![zero], true),
            Operation::Receive,
            &usdc,
            amount("1")
        ));
        assert!(!is_zero_limited(
            &defaults(vec![limit(json!({}))], true),
            Operation::Send,
            &usdc,
            amount("1")
        ));
    }

    #[test]
    fn a_soft_denial_asks_for_kyc_and_backs_off_until_the_answer_changes() {
        let mut w = denied_wait(vec![Keypair::random()]);
        let soft = json!({
            "operation_type": "send", "asset": USDC, "threshold": "1000",
            "timeframe_secs": null, "soft_limit": true, "used": "0", "resets_at": null,
        });
        let denying = || CheckAnswer::Required(status(json!({"limits": [soft.clone()]})));
        // 500 is within 1000: not denied, so DD64 goes on long-polling.
        assert_eq!(done(w.on_answer(denying())), Outcome::Progress);

        w.amount = amount("1500");
        w.last_rule_gen = Some(0);
        let Next::Limits(case) = w.on_answer(denying()) else {
            panic!("step 4 expected")
        };
        let reason = BackoffReason::KycRequired;
        assert_eq!(w.step4(case), Outcome::Backoff { reason });
        assert_eq!(w.backoff_delay(), Duration::from_secs(1));
        assert_eq!(
            w.action(),
            &Action::CompleteKyc {
                kyc_url: Some("https://anchor.example/".parse().unwrap()),
                kyc_type: Some("sep31-sender".into()),
            }
        );
        assert_eq!(
            done(w.on_answer(denying())),
            Outcome::Backoff {
                reason: BackoffReason::Unchanged
            }
        );
        assert_eq!(w.backoff_delay(), Duration::from_secs(2));
        assert_eq!(
            done(w.on_answer(denying())),
            Outcome::Backoff {
                reason: BackoffReason::Unchanged
            }
        );
        assert_eq!(w.backoff_delay(), Duration::from_secs(4));
        assert!(
            matches!(w.action(), Action::CompleteKyc { .. }),
            "the action stays"
        );

        // Under review now: a new answer, so the backoff starts again.
        let review = CheckAnswer::Required(status(json!({"aml_review": true, "rule_gen": 2})));
        assert_eq!(done(w.on_answer(review)), Outcome::Progress);
        assert_eq!(w.last_aml_review(), Some(true));
        assert_eq!(w.action(), &Action::AwaitReview);
        assert_eq!(w.next_check_query().lpt, Some(2));
        assert_eq!(w.next_check_query().min_rule, Some(2));
        let accepted = CheckAnswer::Ok(status(json!({"state": "accepted", "rule_gen": 3})));
        assert_eq!(done(w.on_answer(accepted)), Outcome::Progress);
        assert_eq!(w.last_deny(), None, "200 lets step 1 try at once");
        assert_eq!(w.action(), &Action::None);
    }

    #[test]
    fn a_network_failure_backs_off_and_keeps_rule_gen() {
        let mut w = denied_wait(vec![Keypair::random()]);
        w.last_check_status = Some(202);
        w.last_rule_gen = Some(7);
        let failed = || CheckAnswer::Failed("timed out".into());
        assert_eq!(
            done(w.on_answer(failed())),
            Outcome::Backoff {
                reason: BackoffReason::Unreachable("timed out".into())
            }
        );
        assert_eq!(w.last_check_status(), Some(0));
        assert_eq!(w.last_rule_gen(), Some(7));
        assert_eq!(w.backoff_delay(), Duration::from_secs(1));
        done(w.on_answer(failed()));
        assert_eq!(
            w.backoff_delay(),
            Duration::from_secs(2),
            "the same failure grows the backoff"
        );
    }

    #[test]
    fn a_403_switches_to_the_expected_key_when_the_wallet_holds_it() {
        let signer = Keypair::random();
        let owner = Keypair::random();
        let owner_pub = owner.public_key();
        let mut w = denied_wait(vec![signer, owner]);
        w.account_key = 0;
        let forbidden = |pk: PublicKey| {
            CheckAnswer::Forbidden(error(
                json!({"error": "x", "code": 1930, "expected_account_pub": pk.to_string()}),
            ))
        };
        assert_eq!(done(w.on_answer(forbidden(owner_pub))), Outcome::Progress);
        assert_eq!(w.account_keypair().public_key(), owner_pub);
        assert_eq!(w.last_check_code(), Some(1930));
        assert_eq!(w.next_check_query().lpt, Some(1));

        let stranger = Keypair::random().public_key();
        w.last_check_status = None;
        assert_eq!(
            done(w.on_answer(forbidden(stranger))),
            Outcome::Backoff {
                reason: BackoffReason::WrongKey
            }
        );
        assert_eq!(
            w.action(),
            &Action::ProvideKey {
                account_pub: stranger,
                memo: None
            }
        );
        assert!(w.needs_kyc_auth());
    }

    #[test]
    fn an_unbound_account_is_asked_to_open_its_sep12_record() {
        let mut w = denied_wait(vec![Keypair::random()]);
        let body =
            json!({"error": "x", "code": 1931, "kyc_url": "https://kyc.example/", "type": "basic"});
        assert_eq!(
            done(w.on_answer(CheckAnswer::Unbound(error(body)))),
            Outcome::Backoff {
                reason: BackoffReason::KycAuth
            }
        );
        assert_eq!(
            w.action(),
            &Action::OpenRecord {
                kyc_url: Some("https://kyc.example/".parse().unwrap()),
                kyc_type: Some("basic".into()),
            }
        );
        assert_eq!(w.next_check_query().lpt, Some(1));

        let mut w = denied_wait(vec![Keypair::random()]);
        w.last_bad_kyc_auth = true;
        let unknown = CheckAnswer::Unknown(error(json!({"error": "x", "code": 1, "limits": []})));
        assert_eq!(
            done(w.on_answer(unknown)),
            Outcome::Backoff {
                reason: BackoffReason::KycAuth
            }
        );
        assert!(w.needs_kyc_auth());
    }

    #[test]
    fn an_unknown_account_is_judged_by_the_default_limits() {
        let mut w =
            denied_wait(vec![Keypair::random()]).with_retry_interval(Duration::from_secs(60));
        let unknown = |limits: Value| {
            CheckAnswer::Unknown(error(json!({"error": "x", "code": 1, "limits": limits})))
        };

        // Nothing exposed denies 500: a hidden rule; try again after the interval.
        let Next::Limits(case) = w.on_answer(unknown(json!([]))) else {
            panic!("step 4 expected")
        };
        assert_eq!(w.step4(case), Outcome::AgainAt(t(1060)));
        assert!(!w.may_attempt(t(1059)));
        assert!(w.may_attempt(t(1060)));

        // The same 404 again is no news: DD64 backs off before reading it.
        assert_eq!(
            done(w.on_answer(unknown(json!([])))),
            Outcome::Backoff {
                reason: BackoffReason::Unchanged
            }
        );

        // A full window: again when it frees up, and step 1 may try then.
        w.last_check_status = None;
        let window = json!([{
            "operation_type": "send", "asset": USDC, "threshold": "600", "timeframe_secs": 3600,
            "soft_limit": false, "used": "200", "resets_at": 1030,
        }]);
        let Next::Limits(case) = w.on_answer(unknown(window)) else {
            panic!("step 4 expected")
        };
        assert_eq!(w.step4(case), Outcome::AgainAt(t(1030)));
        assert_eq!(w.action(), &Action::WaitUntil(t(1030)));
        assert!(w.may_attempt(t(1030)));

        // A hard limit below the amount: never.
        w.last_check_status = None;
        let hard = json!([{
            "operation_type": "send", "asset": USDC, "threshold": "100", "timeframe_secs": null,
            "soft_limit": false, "used": "0", "resets_at": null, "rule_name": "cap",
        }]);
        let Next::Limits(case) = w.on_answer(unknown(hard)) else {
            panic!("step 4 expected")
        };
        assert_eq!(
            w.step4(case),
            Outcome::Backoff {
                reason: BackoffReason::HardLimit
            }
        );
        assert_eq!(
            w.action(),
            &Action::Impossible {
                rule_name: Some("cap".into()),
                threshold: amount("100")
            }
        );
    }

    #[test]
    fn kyc_disabled_clears_the_denial() {
        let mut w = denied_wait(vec![Keypair::random()]);
        assert_eq!(done(w.on_answer(CheckAnswer::Disabled)), Outcome::Progress);
        assert_eq!(w.last_deny(), None);
        assert!(w.may_attempt(t(1000)));
    }

    #[test]
    fn a_memo_on_a_muxed_account_or_no_key_is_refused() {
        let key = Keypair::random();
        let muxed = ClientAccount::Muxed {
            account: key.public_key(),
            id: 5,
        };
        let new = |account, memo, keys| {
            KycWait::new(
                Operation::Send,
                amount("1"),
                Asset::parse(USDC).unwrap(),
                account,
                memo,
                keys,
            )
            .map(|_| ())
        };
        assert_eq!(
            new(muxed, Some(IdMemo::new(5)), vec![key]),
            Err(KycError::MemoOnMuxed)
        );
        assert_eq!(new(muxed, None, vec![]), Err(KycError::NoKeypair));
    }

    #[test]
    fn the_check_login_is_account_keypairs_account_for_the_targets_user() {
        let owner = Keypair::random();
        let signer = Keypair::random();
        let owner_pub = owner.public_key();
        let account = ClientAccount::Muxed {
            account: owner_pub,
            id: 9,
        };
        let w = KycWait::new(
            Operation::Send,
            amount("1"),
            Asset::parse(USDC).unwrap(),
            account,
            None,
            vec![signer, owner],
        )
        .unwrap();
        assert_eq!(
            w.account_keypair().public_key(),
            owner_pub,
            "the account's own key first"
        );
        assert_eq!(w.login_for(Login::Check).0, account);
        assert_eq!(w.operation_signer(), owner_pub);

        let w = KycWait::new(
            Operation::Send,
            amount("1"),
            Asset::parse(USDC).unwrap(),
            ClientAccount::Account(owner_pub),
            Some(IdMemo::new(3)),
            vec![Keypair::random()],
        )
        .unwrap();
        assert_ne!(w.operation_signer(), owner_pub);
        let (who, memo, _) = w.login_for(Login::Check);
        assert_eq!(
            who,
            ClientAccount::Account(w.account_keypair().public_key())
        );
        assert_eq!(memo, Some(IdMemo::new(3)));
    }

    #[test]
    fn a_jwt_expiry_is_read_from_its_payload() {
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!(
            "{}.{}.sig",
            b64(json!({"alg": "EdDSA"})),
            b64(json!({"exp": 1234, "sub": "G"}))
        );
        assert_eq!(jwt_expiry(&token), Some(t(1234)));
        assert_eq!(jwt_expiry("not a jwt"), None);
    }
}
