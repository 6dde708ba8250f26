//! Configuration of SEP-38 quotes (`[sep38]`) and of the sending anchors
//! SEP-31 and SEP-38 serve (`[[partners]]`); docs/quotes.md.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use url::Url;

use super::{ConfigError, invalid, is_asset};

/// `[sep38]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sep38Config {
    /// Serve SEP-38 at `/sep38` and publish `ANCHOR_QUOTE_SERVER`.
    pub enabled: bool,
    /// A firm quote's life when the client asks for none, in seconds.
    pub quote_ttl_secs: u64,
    /// The furthest `expire_after` a client may ask for, in seconds ahead.
    pub max_quote_ttl_secs: u64,
    /// Where prices come from.
    pub price_source: PriceSource,
    /// The business server's price endpoint (`price_source = "http"`).
    pub price_url: Option<Url>,
    /// How long the business server has to answer, in seconds.
    pub price_timeout_secs: u64,
    /// The assets quoted.
    pub assets: Vec<QuoteAsset>,
    /// The directions offered, with their prices for the table source.
    pub prices: Vec<PricePair>,
}

impl Default for Sep38Config {
    fn default() -> Self {
        Sep38Config {
            enabled: false,
            quote_ttl_secs: 300,
            max_quote_ttl_secs: 3600,
            price_source: PriceSource::Table,
            price_url: None,
            price_timeout_secs: 5,
            assets: Vec::new(),
            prices: Vec::new(),
        }
    }
}

/// Where prices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    /// `[[sep38.prices]]`.
    Table,
    /// The anchor's business server at `sep38.price_url`.
    Http,
}

/// One asset of `[[sep38.assets]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteAsset {
    /// SEP-38 asset name.
    pub asset: String,
    /// Decimal places of its amounts; default 7 for `stellar:`, 2 for
    /// `iso4217:`.
    pub decimals: Option<u32>,
    /// ISO 3166 codes where it is delivered (fiat only).
    #[serde(default)]
    pub country_codes: Vec<String>,
    /// How clients deliver it to the anchor (fiat only).
    #[serde(default)]
    pub sell_delivery_methods: Vec<DeliveryMethod>,
    /// How clients receive it from the anchor (fiat only).
    #[serde(default)]
    pub buy_delivery_methods: Vec<DeliveryMethod>,
}

impl QuoteAsset {
    /// Its decimal places.
    pub fn decimals(&self) -> u32 {
        self.decimals
            .unwrap_or(if self.asset.starts_with("iso4217:") {
                2
            } else {
                7
            })
    }
}

/// A delivery method (SEP-38 §GET Info).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryMethod {
    /// The value clients send.
    pub name: String,
    /// For people.
    pub description: String,
}

/// One direction of `[[sep38.prices]]`: sell `sell_asset`, buy `buy_asset`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricePair {
    /// What the client gives.
    pub sell_asset: String,
    /// What the client receives.
    pub buy_asset: String,
    /// Units of `sell_asset` for one of `buy_asset`, fees apart (table
    /// source).
    #[serde(default, deserialize_with = "decimal_opt")]
    pub price: Option<Decimal>,
    /// Fee in `sell_asset` per quote.
    #[serde(default, deserialize_with = "decimal_or_zero")]
    pub fee_fixed: Decimal,
    /// Fee as a percentage of `sell_amount`.
    #[serde(default, deserialize_with = "decimal_or_zero")]
    pub fee_percent: Decimal,
}

/// One `[[partners]]` entry: a sending anchor with an agreement.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerConfig {
    /// Shown to staff and in the audit log.
    pub name: String,
    /// SEP-10 accounts it signs in with.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Verified SEP-10 client domains it signs in with.
    #[serde(default)]
    pub client_domains: Vec<String>,
    /// SEP-31 fee per transaction, in the asset sent.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub fee_fixed: Option<Decimal>,
    /// SEP-31 fee as a percentage of the amount.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub fee_percent: Option<Decimal>,
    /// SEP-31 smallest amount per transaction.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub min_amount: Option<Decimal>,
    /// SEP-31 largest amount per transaction.
    #[serde(default, deserialize_with = "decimal_opt")]
    pub max_amount: Option<Decimal>,
    /// SEP-31 status callbacks when a transaction names none.
    pub callback_url: Option<Url>,
}

/// A decimal written as a string (`"0.18"`), as SEP amounts are.
fn decimal_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| parse_decimal(&s).map_err(serde::de::Error::custom))
        .transpose()
}

fn decimal_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    Ok(decimal_opt(d)?.unwrap_or(Decimal::ZERO))
}

/// A plain decimal: digits with an optional point, no sign or exponent.
/// Trailing zeros after the point are dropped first, so that a figure
/// written with more places than `Decimal` holds (28) is read when its
/// value fits.
pub fn parse_decimal(s: &str) -> Result<Decimal, String> {
    let plain = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().filter(|&b| b == b'.').count() <= 1
        && !s.starts_with('.')
        && !s.ends_with('.');
    let trimmed = match s.split_once('.') {
        Some((whole, frac)) if !frac.trim_end_matches('0').is_empty() => {
            &s[..whole.len() + 1 + frac.trim_end_matches('0').len()]
        }
        Some((whole, _)) => whole,
        None => s,
    };
    plain
        .then(|| Decimal::from_str_exact(trimmed).ok())
        .flatten()
        .ok_or_else(|| format!("`{s}` is not a decimal number such as \"0.18\""))
}

/// From `min` to Stellar's largest amount in whole units (which keeps
/// every figure of SEP-38's formulas inside `Decimal`'s range).
fn in_range(d: Decimal, min: Decimal) -> bool {
    d >= min && d <= Decimal::from(922_337_203_685_i64)
}

impl Sep38Config {
    /// The asset named `asset`, if quoted.
    pub fn asset(&self, asset: &str) -> Option<&QuoteAsset> {
        self.assets.iter().find(|a| a.asset == asset)
    }

    /// Checks `[sep38]`; the message says what is wrong.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !self.enabled {
            return Ok(());
        }
        let key = "sep38";
        if self.quote_ttl_secs == 0 || self.quote_ttl_secs > self.max_quote_ttl_secs {
            return Err(invalid(
                "sep38.quote_ttl_secs",
                "must be at least 1 and at most sep38.max_quote_ttl_secs",
            ));
        }
        if self.price_timeout_secs == 0 {
            return Err(invalid("sep38.price_timeout_secs", "must be at least 1"));
        }
        if self.price_source == PriceSource::Http && self.price_url.is_none() {
            return Err(invalid(
                "sep38.price_url",
                "is needed with price_source = \"http\": the business server's price endpoint",
            ));
        }
        if self.assets.is_empty() || self.prices.is_empty() {
            return Err(invalid(
                key,
                "needs at least one [[sep38.assets]] and one [[sep38.prices]] when enabled",
            ));
        }
        for (i, a) in self.assets.iter().enumerate() {
            let at = |m: &str| invalid("sep38.assets", format!("asset {}: {m}", i + 1));
            if !is_asset(&a.asset) {
                return Err(at(
                    "asset must be a SEP-38 asset: stellar:CODE:ISSUER or iso4217:XXX",
                ));
            }
            if self.assets[..i].iter().any(|b| b.asset == a.asset) {
                return Err(at("is listed twice"));
            }
            if a.decimals() > 7 {
                return Err(at("decimals must be at most 7"));
            }
            let fiat = a.asset.starts_with("iso4217:");
            let extras = !a.country_codes.is_empty()
                || !a.sell_delivery_methods.is_empty()
                || !a.buy_delivery_methods.is_empty();
            if extras && !fiat {
                return Err(at(
                    "country_codes and delivery methods are for iso4217: assets only (SEP-38 §GET Info)",
                ));
            }
        }
        for (i, p) in self.prices.iter().enumerate() {
            let at = |m: &str| invalid("sep38.prices", format!("pair {}: {m}", i + 1));
            for side in [&p.sell_asset, &p.buy_asset] {
                if self.asset(side).is_none() {
                    return Err(at(&format!("{side} is not one of [[sep38.assets]]")));
                }
            }
            if p.sell_asset == p.buy_asset {
                return Err(at("sells and buys the same asset"));
            }
            if self.prices[..i]
                .iter()
                .any(|q| q.sell_asset == p.sell_asset && q.buy_asset == p.buy_asset)
            {
                return Err(at("is listed twice"));
            }
            match (self.price_source, p.price) {
                (PriceSource::Table, None) => return Err(at("needs a price")),
                (PriceSource::Table, Some(x)) if !in_range(x, Decimal::new(1, 10)) => {
                    return Err(at("price must be from 0.0000000001 to 922337203685"));
                }
                _ => {}
            }
            if !in_range(p.fee_fixed, Decimal::ZERO) {
                return Err(at("fee_fixed must be from 0 to 922337203685"));
            }
            if p.fee_percent >= Decimal::ONE_HUNDRED {
                return Err(at("fee_percent must be under 100"));
            }
        }
        Ok(())
    }
}

/// Checks `[[partners]]`.
pub(super) fn validate_partners(partners: &[PartnerConfig]) -> Result<(), ConfigError> {
    for (i, p) in partners.iter().enumerate() {
        let at = |m: String| invalid("partners", format!("partner {}: {m}", i + 1));
        if p.name.trim().is_empty() || p.name.len() > 64 {
            return Err(at("name must be 1 to 64 characters".into()));
        }
        if p.accounts.is_empty() && p.client_domains.is_empty() {
            return Err(at("needs accounts or client_domains".into()));
        }
        for a in &p.accounts {
            if mooring_stellar::PublicKey::parse(a).is_err() {
                return Err(at(format!("{a} is not a G… account")));
            }
        }
        let figures = [p.fee_fixed, p.min_amount, p.max_amount];
        if figures
            .into_iter()
            .flatten()
            .any(|d| !in_range(d, Decimal::ZERO))
        {
            return Err(at("fees and amounts must be from 0 to 922337203685".into()));
        }
        if let (Some(min), Some(max)) = (p.min_amount, p.max_amount)
            && min > max
        {
            return Err(at("min_amount is over max_amount".into()));
        }
        if p.fee_percent.is_some_and(|f| f >= Decimal::ONE_HUNDRED) {
            return Err(at("fee_percent must be under 100".into()));
        }
        for q in &partners[..i] {
            if q.name == p.name {
                return Err(at(format!("the name {} is taken", p.name)));
            }
            if let Some(a) = p.accounts.iter().find(|a| q.accounts.contains(a)) {
                return Err(at(format!("{a} is also partner {}'s", q.name)));
            }
            if let Some(d) = p
                .client_domains
                .iter()
                .find(|d| q.client_domains.contains(d))
            {
                return Err(at(format!("{d} is also partner {}'s", q.name)));
            }
        }
    }
    Ok(())
}
