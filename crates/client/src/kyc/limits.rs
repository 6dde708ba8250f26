//! The values DD64 judges an operation by: amounts, assets and operations,
//! the exposed limit rules (docs/kyc.md §`GET /limits`), and the backoff.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mooring_stellar::PublicKey;
use serde::{Deserialize, Serialize};
use url::Url;

use super::KycError;

pub(super) const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(86_400);

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

/// A non-negative decimal amount with at most 7 places, as Stellar writes
/// them.
pub use mooring_stellar::Amount;

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

pub(super) fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}
