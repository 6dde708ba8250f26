//! Configuration of SEP-31 payments (`[sep31]`); docs/payments.md.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use url::Url;

use super::kyc::CallbackConfig;
use super::quotes::parse_decimal;
use super::{ConfigError, invalid};

/// `[sep31]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sep31Config {
    /// Serve SEP-31 at `/sep31` and publish `DIRECT_PAYMENT_SERVER`.
    pub enabled: bool,
    /// SEP-12 types (of `[sep12.types]`) a sender may be accepted as, with
    /// their descriptions.
    pub sender_types: BTreeMap<String, String>,
    /// Likewise for receivers.
    pub receiver_types: BTreeMap<String, String>,
    /// A transaction without a quote that is not paid in this many seconds
    /// expires (with a quote, when the quote does).
    pub unpaid_expiry_secs: u64,
    /// Refuse transactions without a firm quote.
    pub quotes_required: bool,
    /// The business server's webhook: every new transaction and status
    /// change is POSTed there, signed as SEP-31 callbacks are.
    pub webhook_url: Option<Url>,
    /// Delivery of webhooks and SEP-31 callbacks.
    pub callbacks: CallbackConfig,
    /// The payment observer.
    pub observer: ObserverConfig,
    /// The Stellar assets received.
    pub assets: Vec<Sep31Asset>,
}

impl Default for Sep31Config {
    fn default() -> Self {
        Sep31Config {
            enabled: false,
            sender_types: BTreeMap::new(),
            receiver_types: BTreeMap::new(),
            unpaid_expiry_secs: 3600,
            quotes_required: false,
            webhook_url: None,
            callbacks: CallbackConfig::default(),
            observer: ObserverConfig::default(),
            assets: Vec::new(),
        }
    }
}

/// `[sep31.observer]`: who watches the distribution accounts on Horizon.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObserverConfig {
    /// Watch at all (off: payments are matched by no one; for a replica
    /// set that observes elsewhere).
    pub enabled: bool,
    /// Seconds a lease lasts; the holder renews it at a third of that, and
    /// another replica takes over once it lapses.
    pub lease_secs: u64,
    /// Seconds between polls when streaming fails.
    pub poll_secs: u64,
}

impl Default for ObserverConfig {
    fn default() -> Self {
        ObserverConfig {
            enabled: true,
            lease_secs: 15,
            poll_secs: 5,
        }
    }
}

/// One `[[sep31.assets]]`: a Stellar asset partners pay in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sep31Asset {
    /// The asset code.
    pub code: String,
    /// Its issuer (`G…`).
    pub issuer: String,
    /// Where partners pay, watched by the observer.
    pub distribution_account: String,
    /// Smallest amount per transaction (a partner's own overrides it).
    #[serde(default, deserialize_with = "decimal_opt")]
    pub min_amount: Option<Decimal>,
    /// Largest amount per transaction (a partner's own overrides it).
    #[serde(default, deserialize_with = "decimal_opt")]
    pub max_amount: Option<Decimal>,
    /// Fee per transaction, in the asset (a partner's own overrides it).
    #[serde(default, deserialize_with = "decimal_opt")]
    pub fee_fixed: Option<Decimal>,
    /// Fee as a percentage of the amount (a partner's own overrides it).
    #[serde(default, deserialize_with = "decimal_opt")]
    pub fee_percent: Option<Decimal>,
    /// How the receiving client is paid out (SEP-31 §Asset Object Schema).
    pub funding_methods: Vec<String>,
}

impl Sep31Asset {
    /// Its SEP-38 name, `stellar:CODE:ISSUER`.
    pub fn sep38_name(&self) -> String {
        format!("stellar:{}:{}", self.code, self.issuer)
    }
}

fn decimal_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| parse_decimal(&s).map_err(serde::de::Error::custom))
        .transpose()
}

impl Sep31Config {
    /// The asset of `code`, and `issuer` when given.
    pub fn asset(&self, code: &str, issuer: Option<&str>) -> Option<&Sep31Asset> {
        self.assets
            .iter()
            .find(|a| a.code == code && issuer.is_none_or(|i| i == a.issuer))
    }

    /// Checks `[sep31]` against `[sep12.types]`; the message says what is
    /// wrong.
    pub(super) fn validate(&self, sep12_types: &[&str], sep12_on: bool) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        if !sep12_on {
            return Err(invalid(
                "sep31.enabled",
                "needs sep12.enabled: senders and receivers are SEP-12 customers",
            ));
        }
        if self.sender_types.is_empty() || self.receiver_types.is_empty() {
            return Err(invalid(
                "sep31",
                "needs sender_types and receiver_types (SEP-12 types of [sep12.types])",
            ));
        }
        for t in self.sender_types.keys().chain(self.receiver_types.keys()) {
            if !sep12_types.contains(&t.as_str()) {
                return Err(invalid(
                    "sep31",
                    format!("customer type {t} is not one of [sep12.types]"),
                ));
            }
        }
        if let Some(w) = &self.webhook_url
            && !matches!(w.scheme(), "http" | "https")
        {
            return Err(invalid(
                "sep31.webhook_url",
                "must be an http:// or https:// URL",
            ));
        }
        let c = &self.callbacks;
        if c.timeout_secs == 0
            || c.timeout_secs > crate::outbox::MAX_TIMEOUT_SECS
            || c.retry_secs == 0
        {
            return Err(invalid(
                "sep31.callbacks",
                format!(
                    "timeout_secs must be from 1 to {}, and retry_secs at least 1",
                    crate::outbox::MAX_TIMEOUT_SECS
                ),
            ));
        }
        if self.unpaid_expiry_secs == 0 {
            return Err(invalid("sep31.unpaid_expiry_secs", "must be at least 1"));
        }
        if self.observer.lease_secs < 3 || self.observer.poll_secs == 0 {
            return Err(invalid(
                "sep31.observer",
                "lease_secs must be at least 3 and poll_secs at least 1",
            ));
        }
        if self.assets.is_empty() {
            return Err(invalid("sep31", "needs at least one [[sep31.assets]]"));
        }
        let max = Decimal::from(922_337_203_685_i64);
        for (i, a) in self.assets.iter().enumerate() {
            let at = |m: &str| invalid("sep31.assets", format!("asset {}: {m}", i + 1));
            if a.code.is_empty()
                || a.code.len() > 12
                || !a.code.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(at("code must be 1 to 12 letters and digits"));
            }
            for key in [&a.issuer, &a.distribution_account] {
                if mooring_stellar::PublicKey::parse(key).is_err() {
                    return Err(at(&format!("{key} is not a G… account")));
                }
            }
            if self.assets[..i].iter().any(|b| b.code == a.code) {
                return Err(at("the code is listed twice"));
            }
            let figures = [a.min_amount, a.max_amount, a.fee_fixed];
            if figures
                .into_iter()
                .flatten()
                .any(|d| d < Decimal::ZERO || d > max || d.scale() > 7)
            {
                return Err(at(
                    "fees and amounts must be from 0 to 922337203685, with at most 7 decimals",
                ));
            }
            if let (Some(min), Some(max)) = (a.min_amount, a.max_amount)
                && min > max
            {
                return Err(at("min_amount is over max_amount"));
            }
            if a.fee_percent.is_some_and(|f| f >= Decimal::ONE_HUNDRED) {
                return Err(at("fee_percent must be under 100"));
            }
            if a.funding_methods.is_empty() {
                return Err(at("needs funding_methods (SEP-31 §Asset Object Schema)"));
            }
        }
        Ok(())
    }
}
