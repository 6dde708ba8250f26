//! DD64, GNU Taler's "algorithm for transactions with KYC checks", as a
//! wallet runs it against a Mooring anchor (docs/kyc.md): try the operation
//! (`POST /operations/check`) and, while KYC stands in its way, long-poll
//! `GET /kyc-check/{account}` and tell the user what to do.
//!
//! [`KycWait::run`] is one DD64 processing run. It never sleeps: the caller
//! waits as the [`Outcome`] says, then runs it again.

mod limits;
mod machine;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mooring_stellar::{ClientAccount, IdMemo, Keypair, PublicKey};
use url::Url;

use crate::ClientError;

pub use limits::{
    Amount, Asset, DefaultLimits, KycState, Limit, Operation, Verdict, evaluate, is_zero_limited,
    next_backoff,
};
pub use wire::Anchor;

use limits::FIRST_BACKOFF;
use wire::Session;

/// How long a `/kyc-check` long poll asks the server to wait, by default.
pub const DEFAULT_LONG_POLL: Duration = Duration::from_secs(30);
/// DD64 step 1: a denied operation is tried again at most this often.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(3600);

/// Why a value or a [`KycWait`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KycError {
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

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

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
}
