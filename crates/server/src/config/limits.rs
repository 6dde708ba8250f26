//! Configuration of KYC-gated limits and KYC inheritance (`[limits]`;
//! docs/kyc.md).

use mooring_stellar::Amount;
use serde::{Deserialize, Serialize};

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Gate operations on KYC. Off: `/kyc-check` answers 204 and every
    /// operation is allowed.
    pub enabled: bool,
    /// The SEP-12 customer type whose status is an account's KYC state;
    /// empty: `sep12.default_type`.
    pub kyc_type: String,
    /// Longest long poll of `/kyc-check`, in seconds (and always a second
    /// under `http.request_timeout_secs`).
    pub long_poll_max_secs: u64,
    /// Accounts one account may attest (DD45 `MAXIMUM_ATTESTATIONS`); 0
    /// turns `/kyc-attest` off.
    pub maximum_attestations: u32,
    /// How far ahead an attestation's `expires` may be, in seconds.
    pub attestation_max_lifetime_secs: u64,
    /// Days recorded operations are kept (at least the longest window).
    pub operations_retention_days: u64,
    /// The rules every account starts with.
    pub rules: Vec<Rule>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            enabled: true,
            kyc_type: String::new(),
            long_poll_max_secs: 45,
            maximum_attestations: 5,
            attestation_max_lifetime_secs: 86_400,
            operations_retention_days: 400,
            rules: Vec::new(),
        }
    }
}

/// What a rule limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// SEP-6/24 deposits.
    Deposit,
    /// SEP-6/24 withdrawals.
    Withdraw,
    /// Payments sent (SEP-31).
    Send,
    /// Payments received.
    Receive,
    /// Firm quotes (SEP-38).
    Quote,
}

impl Op {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Deposit => "deposit",
            Op::Withdraw => "withdraw",
            Op::Send => "send",
            Op::Receive => "receive",
            Op::Quote => "quote",
        }
    }
}

/// An account's KYC state (docs/kyc.md §KYC state and rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KycState {
    /// No SEP-12 record, or one that needs information.
    None,
    /// Under review.
    Pending,
    /// Accepted.
    Accepted,
    /// Attested by an accepted account (DD45).
    Inherited,
    /// Rejected.
    Rejected,
}

impl KycState {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KycState::None => "none",
            KycState::Pending => "pending",
            KycState::Accepted => "accepted",
            KycState::Inherited => "inherited",
            KycState::Rejected => "rejected",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<KycState> {
        Some(match s {
            "none" => KycState::None,
            "pending" => KycState::Pending,
            "accepted" => KycState::Accepted,
            "inherited" => KycState::Inherited,
            "rejected" => KycState::Rejected,
            _ => return None,
        })
    }

    /// Accepted, on its own or by inheritance.
    pub fn passed(self) -> bool {
        matches!(self, KycState::Accepted | KycState::Inherited)
    }
}

/// One limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Shown to clients when exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it limits.
    pub op: Op,
    /// SEP-38 asset: `stellar:CODE:ISSUER` or `iso4217:XXX`.
    pub asset: String,
    /// At most this much (per operation, or in the window).
    pub threshold: Amount,
    /// The rolling window; none: per operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe_secs: Option<u64>,
    /// Passing KYC lifts it.
    #[serde(default = "yes")]
    pub soft_limit: bool,
    /// Clients may see it.
    #[serde(default = "yes")]
    pub exposed: bool,
    /// The KYC states it applies in; none given: every state but the
    /// passed ones for a soft limit, every state for a hard one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<Vec<KycState>>,
}

fn yes() -> bool {
    true
}

impl Rule {
    /// Whether it applies to an account in `state`.
    pub fn applies_in(&self, state: KycState) -> bool {
        match &self.states {
            Some(s) => s.contains(&state),
            None => !self.soft_limit || !state.passed(),
        }
    }

    /// Checks a rule; the message says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if let Some(n) = &self.name
            && (n.is_empty()
                || n.len() > 64
                || !n
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
        {
            return Err("name must be 1 to 64 letters, digits or -_.".into());
        }
        if !is_asset(&self.asset) {
            return Err("asset must be a SEP-38 asset: stellar:CODE:ISSUER or iso4217:XXX".into());
        }
        if self.timeframe_secs == Some(0) {
            return Err(
                "timeframe_secs must be at least 1 (leave it out for per operation)".into(),
            );
        }
        if self.timeframe_secs.is_some_and(|t| t > 10 * 366 * 86_400) {
            return Err("timeframe_secs must be at most ten years".into());
        }
        Ok(())
    }
}

/// A SEP-38 asset name (SEP-38 §Asset Identification Format):
/// `stellar:CODE:ISSUER` (`stellar:native` for lumens) or `iso4217:XXX`.
pub fn is_asset(s: &str) -> bool {
    match s.split(':').collect::<Vec<_>>().as_slice() {
        ["stellar", "native"] => true,
        ["stellar", code, issuer] => {
            (1..=12).contains(&code.len())
                && code.bytes().all(|b| b.is_ascii_alphanumeric())
                && mooring_stellar::PublicKey::parse(issuer).is_ok()
        }
        ["iso4217", code] => code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()),
        _ => false,
    }
}
