//! SEP-38's rules (docs/quotes.md): who may ask, what a request must hold,
//! the prices and the firm quotes.

use std::sync::Arc;

use serde_json::{Value, json};

use super::math::{self, Given, Priced, Side, Unpriced};
use super::price::{Ask, NoPrice, Source};
use super::request::{
    self, Checked, PriceRequest, PricesQuery, country_code, method, not_served, serves,
};
use super::store::{self, QuoteRow};
use crate::clock::{Clock, parse_rfc3339, rfc3339};
use crate::config::{Op, Sep38Config};
use crate::db::{Db, DbError};
use crate::http::Principal;
use crate::kyc::{Gate, KycError, Target, Verdict};
use crate::partners::{Partners, ServesPartners};

/// Why a request is refused.
#[derive(Debug, thiserror::Error)]
pub enum QuoteError {
    /// 400, with what is wrong.
    #[error("{0}")]
    Invalid(String),
    /// 403: a token is needed, or the caller has no agreement.
    #[error("{0}")]
    Forbidden(&'static str),
    /// 403: the caller's KYC limits do not allow the quote.
    #[error("{0}")]
    Limited(String),
    /// 404: not the caller's, or no such quote.
    #[error("quote not found")]
    NotFound,
    /// 503: the business server gave no price.
    #[error("prices are unavailable right now; try again later")]
    Unavailable,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The KYC standing could not be read.
    #[error(transparent)]
    Kyc(#[from] KycError),
}

pub(super) fn invalid(m: impl Into<String>) -> QuoteError {
    QuoteError::Invalid(m.into())
}

/// What a quote service is built from.
pub struct QuotesParts {
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// `[sep38]`.
    pub cfg: Sep38Config,
    /// `[[partners]]`.
    pub partners: Arc<Partners>,
    /// The KYC limits on `quote` operations.
    pub gate: Arc<dyn Gate>,
}

/// SEP-38.
pub struct Quotes {
    db: Db,
    clock: Arc<dyn Clock>,
    cfg: Sep38Config,
    partners: Arc<Partners>,
    gate: Arc<dyn Gate>,
    source: Source,
}

impl Quotes {
    /// A quote service.
    pub fn new(parts: QuotesParts) -> Result<Quotes, reqwest::Error> {
        Ok(Quotes {
            source: Source::new(&parts.cfg)?,
            db: parts.db,
            clock: parts.clock,
            cfg: parts.cfg,
            partners: parts.partners,
            gate: parts.gate,
        })
    }

    /// `GET /info` (SEP-38 §GET Info).
    pub fn info(&self) -> Value {
        let assets: Vec<Value> = self
            .cfg
            .assets
            .iter()
            .map(|a| {
                let mut o = json!({"asset": a.asset});
                if !a.country_codes.is_empty() {
                    o["country_codes"] = json!(a.country_codes);
                }
                if !a.sell_delivery_methods.is_empty() {
                    o["sell_delivery_methods"] = json!(a.sell_delivery_methods);
                }
                if !a.buy_delivery_methods.is_empty() {
                    o["buy_delivery_methods"] = json!(a.buy_delivery_methods);
                }
                o
            })
            .collect();
        json!({ "assets": assets })
    }

    async fn priced(
        &self,
        c: &Checked<'_>,
        context: Option<&str>,
        firm: Option<&Firm<'_>>,
    ) -> Result<Priced, QuoteError> {
        let (sd, bd) = (c.sell.decimals(), c.buy.decimals());
        let ask = Ask {
            kind: if firm.is_some() { "firm" } else { "indicative" },
            sell_asset: &c.sell.asset,
            buy_asset: &c.buy.asset,
            sell_amount: match c.given {
                Given::Sell(s) => Some(math::amount(s, sd)),
                Given::Buy(_) => None,
            },
            buy_amount: match c.given {
                Given::Buy(b) => Some(math::amount(b, bd)),
                Given::Sell(_) => None,
            },
            sell_delivery_method: c.sell_method,
            buy_delivery_method: c.buy_method,
            country_code: c.country,
            context,
            account: firm.map(|f| f.owner.address()),
            memo: firm.and_then(|f| f.owner.memo).map(|m| m.to_string()),
            partner: firm.map(|f| f.partner),
            id: firm.map(|f| f.id.as_str()),
            expires_at: firm.map(|f| rfc3339(f.expires_at)),
        };
        let offer = self.source.offer(&ask).await.map_err(|e| match e {
            NoPrice::NotOffered => invalid(format!(
                "this anchor does not exchange {} for {}; see GET /prices",
                c.sell.asset, c.buy.asset
            )),
            NoPrice::Unavailable(cause) => {
                tracing::warn!(%cause, "the business server gave no price");
                QuoteError::Unavailable
            }
        })?;
        // With the business server's figures bounded (price.rs), only the
        // client's amount can take a figure out of range.
        math::price(&offer, c.given, sd, bd).map_err(|e| match e {
            Unpriced::NothingBought => invalid("the amount does not cover the fee; ask for more"),
            Unpriced::OutOfRange => invalid("the amount is out of the range this anchor prices"),
        })
    }

    /// `GET /prices` (SEP-38 §GET Prices).
    pub async fn prices(&self, q: PricesQuery) -> Result<Value, QuoteError> {
        let (side, name, amount) = match (&q.sell_asset, &q.buy_asset) {
            (Some(s), None) => (Side::Sell, s, &q.sell_amount),
            (None, Some(b)) => (Side::Buy, b, &q.buy_amount),
            _ => return Err(invalid("give exactly one of sell_asset and buy_asset")),
        };
        let (field, other) = match side {
            Side::Sell => ("sell_amount", &q.buy_amount),
            Side::Buy => ("buy_amount", &q.sell_amount),
        };
        if other.is_some() {
            return Err(invalid(format!(
                "with {} give {field} only",
                side.asset_field()
            )));
        }
        let asset = request::asset(&self.cfg, name, side.asset_field())?;
        let amount = amount
            .as_deref()
            .ok_or_else(|| invalid(format!("{field} is required")))?;
        let amount = request::amount(amount, asset, field)?;
        // The asset asked about must deliver as asked; a counter-asset
        // that does not is left out.
        let (sell_method, buy_method) = (
            q.sell_delivery_method.as_deref(),
            q.buy_delivery_method.as_deref(),
        );
        let (own, other) = match side {
            Side::Sell => (sell_method, buy_method),
            Side::Buy => (buy_method, sell_method),
        };
        method(asset, own, side)?;
        let country = q.country_code.as_deref();
        if let Some(c) = country {
            country_code(c)?;
            if !serves(asset, c) {
                return Err(not_served());
            }
        }
        let given = match side {
            Side::Sell => Given::Sell(amount),
            Side::Buy => Given::Buy(amount),
        };
        let mut pairs = Vec::new();
        for (sell, buy) in self.source.pairs_with(name, side) {
            let (sell, buy) = (
                request::asset(&self.cfg, sell, "sell_asset")?,
                request::asset(&self.cfg, buy, "buy_asset")?,
            );
            let counter = if side == Side::Sell { buy } else { sell };
            let counter_side = side.other();
            if method(counter, other, counter_side).is_err()
                || country.is_some_and(|c| !serves(counter, c))
            {
                continue;
            }
            pairs.push((
                counter,
                Checked {
                    sell,
                    buy,
                    given,
                    sell_method,
                    buy_method,
                    country,
                },
            ));
        }
        // Asked at once: a business server is waited for once, not once
        // per pair.
        let priced =
            futures::future::join_all(pairs.iter().map(|(_, c)| self.priced(c, None, None))).await;
        let mut out = Vec::new();
        for ((counter, _), p) in pairs.iter().zip(priced) {
            let p = match p {
                Ok(p) => p,
                // An amount this pair cannot price (its fee eats it): the
                // pair is left out.
                Err(QuoteError::Invalid(_)) => continue,
                Err(e) => return Err(e),
            };
            out.push(json!({
                "asset": counter.asset,
                "price": math::price_text(p.total_price),
                "decimals": counter.decimals(),
            }));
        }
        let key = if side == Side::Sell {
            "buy_assets"
        } else {
            "sell_assets"
        };
        Ok(json!({ key: out }))
    }

    /// `GET /price` (SEP-38 §GET Price).
    pub async fn price(&self, r: PriceRequest) -> Result<Value, QuoteError> {
        if r.expire_after.is_some() {
            return Err(invalid("expire_after is for POST /quote only"));
        }
        let (c, context) = request::read(&self.cfg, &r)?;
        let p = self.priced(&c, Some(context), None).await?;
        Ok(json!({
            "total_price": math::price_text(p.total_price),
            "price": math::price_text(p.price),
            "sell_amount": math::amount(p.sell_amount, c.sell.decimals()),
            "buy_amount": math::amount(p.buy_amount, c.buy.decimals()),
            "fee": fee(&p, &c),
        }))
    }

    /// `POST /quote` (SEP-38 §POST Quote): a firm quote, the caller's.
    pub async fn create(
        &self,
        caller: &Principal,
        partner: &str,
        r: PriceRequest,
    ) -> Result<Value, QuoteError> {
        let (c, context) = request::read(&self.cfg, &r)?;
        // SEP-38 §POST Quote: a method is required for an asset listing
        // more than one on that side.
        if c.sell_method.is_none() && c.sell.sell_delivery_methods.len() > 1 {
            return Err(invalid(format!(
                "sell_delivery_method is required: {} has more than one; see GET /info",
                c.sell.asset
            )));
        }
        if c.buy_method.is_none() && c.buy.buy_delivery_methods.len() > 1 {
            return Err(invalid(format!(
                "buy_delivery_method is required: {} has more than one; see GET /info",
                c.buy.asset
            )));
        }
        let now = i64::try_from(self.clock.now()).unwrap_or(i64::MAX);
        let ttl = i64::try_from(self.cfg.quote_ttl_secs).unwrap_or(i64::MAX);
        let max = i64::try_from(self.cfg.max_quote_ttl_secs).unwrap_or(i64::MAX);
        let mut expires_at = now.saturating_add(ttl);
        if let Some(after) = &r.expire_after {
            let after = parse_rfc3339(after).ok_or_else(|| {
                invalid("expire_after must be an ISO 8601 UTC time, e.g. 2026-12-06T20:35:00Z")
            })?;
            if after > now.saturating_add(max) {
                // SEP-38: 400 when an expiration on or after it cannot be given.
                return Err(invalid(format!(
                    "expire_after is too far ahead: quotes last at most {max} seconds"
                )));
            }
            expires_at = expires_at.max(after);
        }
        let firm = Firm {
            owner: owner(caller)?,
            partner,
            id: uuid::Uuid::new_v4().to_string(),
            expires_at,
        };
        // SEP-38 §POST Quote: a firm quote's amount is held in reserve, so
        // the business server is asked only for a quote the limits allow:
        // a `sell_amount` is judged (not counted) before it is asked. The
        // quote is counted once priced, judged again in the same locked
        // transaction, so a quote that fails to price counts for nothing
        // and two racing quotes cannot both fit the same room.
        if let Given::Sell(s) = c.given {
            self.limit(&firm, &c.sell.asset, s, c.sell.decimals(), false)
                .await?;
        }
        let p = self.priced(&c, Some(context), Some(&firm)).await?;
        self.limit(&firm, &c.sell.asset, p.sell_amount, c.sell.decimals(), true)
            .await?;
        let row = QuoteRow {
            id: firm.id.clone(),
            account: firm.owner.address(),
            memo: firm.owner.memo_value(),
            partner: partner.to_owned(),
            context: context.to_owned(),
            sell_asset: c.sell.asset.clone(),
            sell_amount: math::amount(p.sell_amount, c.sell.decimals()),
            sell_delivery_method: c.sell_method.map(str::to_owned),
            buy_asset: c.buy.asset.clone(),
            buy_amount: math::amount(p.buy_amount, c.buy.decimals()),
            buy_delivery_method: c.buy_method.map(str::to_owned),
            country_code: c.country.map(str::to_owned),
            price: math::price_text(p.price),
            total_price: math::price_text(p.total_price),
            fee: fee(&p, &c).to_string(),
            expires_at,
            created_at: now,
        };
        store::insert(&self.db, &row).await?;
        Ok(view(&row))
    }

    /// The quoting account's KYC limits on `quote` (docs/kyc.md) for
    /// `amount` of `asset` (the quote's `sell_amount`); with `count`, the
    /// amount is counted when they allow it.
    async fn limit(
        &self,
        firm: &Firm<'_>,
        asset: &str,
        amount: rust_decimal::Decimal,
        decimals: u32,
        count: bool,
    ) -> Result<(), QuoteError> {
        let Ok(amount) = mooring_stellar::Amount::parse(&math::amount(amount, decimals)) else {
            // Past Stellar's range: no limit can count it, none lets it by.
            return Err(invalid("sell_amount is too large"));
        };
        let actor = format!("partner:{}", firm.partner);
        let verdict = if count {
            self.gate
                .pass(&actor, &firm.owner, Op::Quote, amount, asset)
                .await?
        } else {
            self.gate
                .judge(&firm.owner, Op::Quote, amount, asset)
                .await?
        };
        match verdict {
            Verdict::Allowed => Ok(()),
            Verdict::Denied {
                soft,
                kyc_type,
                kyc_check,
            } => Err(QuoteError::Limited(if soft {
                format!(
                    "this account's KYC limits do not allow this quote until its SEP-12 customer of type {kyc_type} is accepted; see {kyc_check}"
                )
            } else {
                format!("this account's limits do not allow this quote; see {kyc_check}")
            })),
        }
    }

    /// `GET /quote/{id}` (SEP-38 §GET Quote): the caller's quote, also
    /// after it expired.
    pub async fn get(&self, caller: &Principal, id: &str) -> Result<Value, QuoteError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(QuoteError::NotFound);
        }
        let owner = owner(caller)?;
        let row = store::get(&self.db, id)
            .await?
            .filter(|q| q.account == owner.address() && q.memo == owner.memo_value())
            .ok_or(QuoteError::NotFound)?;
        Ok(view(&row))
    }
}

impl ServesPartners for Quotes {
    fn partners(&self) -> &Partners {
        &self.partners
    }
}

/// A firm quote being made.
struct Firm<'a> {
    /// Whose: the token's account and memo (an `M…` token's mux id is its
    /// memo, as for SEP-12 customers and KYC targets).
    owner: Target,
    /// Its partner's name.
    partner: &'a str,
    /// Its id, known before the business server is asked.
    id: String,
    /// Unix seconds.
    expires_at: i64,
}

/// The KYC target and quote owner a token speaks for.
fn owner(caller: &Principal) -> Result<Target, QuoteError> {
    crate::partners::owner(caller).ok_or(QuoteError::Forbidden("authentication token is not valid"))
}

/// SEP-38's `fee` object.
fn fee(p: &Priced, c: &Checked<'_>) -> Value {
    let asset = match p.fee_side {
        Side::Sell => c.sell,
        Side::Buy => c.buy,
    };
    let mut f = json!({
        "total": math::amount(p.fee, asset.decimals()),
        "asset": asset.asset,
    });
    if let Some(d) = &p.details {
        f["details"] = d.clone();
    }
    f
}

/// A quote as `POST /quote` and `GET /quote/{id}` answer it.
fn view(q: &QuoteRow) -> Value {
    let mut v = json!({
        "id": q.id,
        "expires_at": rfc3339(q.expires_at),
        "total_price": q.total_price,
        "price": q.price,
        "sell_asset": q.sell_asset,
        "sell_amount": q.sell_amount,
        "buy_asset": q.buy_asset,
        "buy_amount": q.buy_amount,
        "fee": serde_json::from_str::<Value>(&q.fee).unwrap_or(Value::Null),
    });
    if let Some(m) = &q.sell_delivery_method {
        v["sell_delivery_method"] = json!(m);
    }
    if let Some(m) = &q.buy_delivery_method {
        v["buy_delivery_method"] = json!(m);
    }
    v
}
