//! Where prices come from: `[[sep38.prices]]`, or the anchor's business
//! server asked at the moment of each request (docs/quotes.md §The business
//! server's price). A business server that fails gives no price at all,
//! never an old one.

use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use url::Url;

use super::math::{Offer, Side, sane_fee, sane_price};
use crate::config::{PricePair, PriceSource, Sep38Config, parse_decimal};

/// One request for a price, as the business server receives it.
#[derive(Debug, Serialize)]
pub struct Ask<'a> {
    /// `indicative` (`/prices`, `/price`) or `firm` (`POST /quote`).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What the client gives.
    pub sell_asset: &'a str,
    /// What the client receives.
    pub buy_asset: &'a str,
    /// The amount given, if on the sell side.
    pub sell_amount: Option<String>,
    /// The amount given, if on the buy side.
    pub buy_amount: Option<String>,
    /// As the client sent them.
    pub sell_delivery_method: Option<&'a str>,
    /// As the client sent it.
    pub buy_delivery_method: Option<&'a str>,
    /// As the client sent it.
    pub country_code: Option<&'a str>,
    /// `sep31` or `sep6`.
    pub context: Option<&'a str>,
    /// The quoting account (firm quotes).
    pub account: Option<String>,
    /// Its id memo, for a customer of a shared or muxed account (firm
    /// quotes).
    pub memo: Option<String>,
    /// Its partner's name (firm quotes).
    pub partner: Option<&'a str>,
    /// The quote's id, for the business server to hold the amount under
    /// (firm quotes).
    pub id: Option<&'a str>,
    /// Until when the quote holds (firm quotes), RFC 3339.
    pub expires_at: Option<String>,
}

/// The most of a business server's answer read: a price and a fee with a
/// few details fit many times over.
const MAX_ANSWER: usize = 64 * 1024;

/// Why there is no price.
#[derive(Debug)]
pub enum NoPrice {
    /// The pair is not offered.
    NotOffered,
    /// The business server failed; the cause, for the log only.
    Unavailable(String),
}

/// The business server's answer.
#[derive(Deserialize)]
struct Answer {
    price: String,
    fee: AnswerFee,
}

#[derive(Deserialize)]
struct AnswerFee {
    total: String,
    asset: String,
    #[serde(default)]
    details: Option<Vec<FeeDetail>>,
}

/// SEP-38's `fee.details` entry.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FeeDetail {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    amount: String,
}

/// The configured source.
#[derive(Debug)]
pub struct Source {
    pairs: Vec<PricePair>,
    http: Option<(reqwest::Client, Url)>,
}

impl Source {
    /// From `[sep38]`.
    pub fn new(cfg: &Sep38Config) -> Result<Source, reqwest::Error> {
        let http = match (cfg.price_source, &cfg.price_url) {
            (PriceSource::Http, Some(url)) => {
                let timeout = Duration::from_secs(cfg.price_timeout_secs);
                let client = reqwest::Client::builder()
                    .no_proxy()
                    .timeout(timeout)
                    .connect_timeout(timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("mooring/", env!("CARGO_PKG_VERSION")))
                    .build()?;
                Some((client, url.clone()))
            }
            _ => None,
        };
        Ok(Source {
            pairs: cfg.prices.clone(),
            http,
        })
    }

    /// The pairs offered with `asset` on `side`, as (sell, buy).
    pub fn pairs_with(&self, asset: &str, side: Side) -> Vec<(&str, &str)> {
        self.pairs
            .iter()
            .filter(|p| match side {
                Side::Sell => p.sell_asset == asset,
                Side::Buy => p.buy_asset == asset,
            })
            .map(|p| (p.sell_asset.as_str(), p.buy_asset.as_str()))
            .collect()
    }

    /// The offer for `ask`.
    pub async fn offer(&self, ask: &Ask<'_>) -> Result<Offer, NoPrice> {
        let pair = self
            .pairs
            .iter()
            .find(|p| p.sell_asset == ask.sell_asset && p.buy_asset == ask.buy_asset)
            .ok_or(NoPrice::NotOffered)?;
        let Some((client, url)) = &self.http else {
            return Ok(Offer::Table {
                price: pair.price.unwrap_or(Decimal::ONE),
                fee_fixed: pair.fee_fixed,
                fee_percent: pair.fee_percent,
            });
        };
        let unavailable = |m: String| NoPrice::Unavailable(m);
        let res = client
            .post(url.clone())
            .json(ask)
            .send()
            .await
            .map_err(|e| unavailable(format!("no answer: {}", e.without_url())))?;
        if res.status() != reqwest::StatusCode::OK {
            return Err(unavailable(format!("answered {}", res.status())));
        }
        let mut res = res;
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| unavailable(format!("broke off its answer: {}", e.without_url())))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(unavailable(format!(
                    "answered more than {MAX_ANSWER} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|_| unavailable("answered a body that is not the documented JSON".into()))?;
        let price = parse_decimal(&answer.price)
            .ok()
            .filter(|p| sane_price(*p))
            .ok_or_else(|| {
                unavailable(
                    "answered a price that is not a decimal from 0.0000000001 to 922337203685"
                        .into(),
                )
            })?;
        let fee = parse_decimal(&answer.fee.total)
            .ok()
            .filter(|f| sane_fee(*f))
            .ok_or_else(|| {
                unavailable("answered a fee that is not a decimal from 0 to 922337203685".into())
            })?;
        let fee_side = if answer.fee.asset == ask.sell_asset {
            Side::Sell
        } else if answer.fee.asset == ask.buy_asset {
            Side::Buy
        } else {
            return Err(unavailable(
                "answered a fee in an asset of neither side".into(),
            ));
        };
        let details = answer
            .fee
            .details
            .map(serde_json::to_value)
            .transpose()
            .map_err(|_| unavailable("answered fee details that cannot be shown".into()))?;
        Ok(Offer::Quoted {
            price,
            fee,
            fee_side,
            details,
        })
    }
}
