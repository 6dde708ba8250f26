//! What a SEP-38 request must hold (docs/quotes.md §Endpoints): its
//! assets, its one amount, its delivery methods and country, checked
//! against `[sep38]` before any price is asked for.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::math::{self, Given, Side};
use super::service::{QuoteError, invalid};
use crate::config::{QuoteAsset, Sep38Config};
/// `GET /price`'s query and `POST /quote`'s body (SEP-38 §GET Price,
/// §POST Quote); `null` is taken as absent.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = sep38::QuoteRequest)]
#[serde(deny_unknown_fields)]
pub struct PriceRequest {
    /// What the client gives, a SEP-38 asset of `GET /info`.
    #[schema(required = true, nullable = false)]
    pub(super) sell_asset: Option<String>,
    /// What the client receives, a SEP-38 asset of `GET /info`.
    #[schema(required = true, nullable = false)]
    pub(super) buy_asset: Option<String>,
    /// The amount given; exactly one of `sell_amount` and `buy_amount`.
    pub(super) sell_amount: Option<String>,
    /// The amount wanted; exactly one of `sell_amount` and `buy_amount`.
    pub(super) buy_amount: Option<String>,
    /// One of `sell_asset`'s `sell_delivery_methods`; required when it
    /// lists more than one.
    pub(super) sell_delivery_method: Option<String>,
    /// One of `buy_asset`'s `buy_delivery_methods`; required when it lists
    /// more than one.
    pub(super) buy_delivery_method: Option<String>,
    /// ISO 3166-1 alpha-2 or ISO 3166-2 code of the user's country, one
    /// where both assets are delivered.
    pub(super) country_code: Option<String>,
    /// What the quote is for.
    #[schema(required = true, nullable = false, value_type = super::schema::Context)]
    pub(super) context: Option<String>,
    /// The earliest `expires_at` wanted, ISO 8601 UTC; 400 when the quote
    /// cannot last that long.
    #[schema(format = DateTime)]
    pub(super) expire_after: Option<String>,
}

/// `GET /prices`'s query.
#[derive(Debug, Default, Deserialize)]
pub struct PricesQuery {
    pub(super) sell_asset: Option<String>,
    pub(super) buy_asset: Option<String>,
    pub(super) sell_amount: Option<String>,
    pub(super) buy_amount: Option<String>,
    pub(super) sell_delivery_method: Option<String>,
    pub(super) buy_delivery_method: Option<String>,
    pub(super) country_code: Option<String>,
}

/// A request checked against the configuration.
pub struct Checked<'a> {
    pub(super) sell: &'a QuoteAsset,
    pub(super) buy: &'a QuoteAsset,
    pub(super) given: Given,
    pub(super) sell_method: Option<&'a str>,
    pub(super) buy_method: Option<&'a str>,
    pub(super) country: Option<&'a str>,
}

/// The quoted asset `name`, or 400 naming `field`.
pub fn asset<'a>(
    cfg: &'a Sep38Config,
    name: &str,
    field: &str,
) -> Result<&'a QuoteAsset, QuoteError> {
    cfg.asset(name).ok_or_else(|| {
        invalid(format!(
            "{field} is not an asset this anchor quotes; see GET /info"
        ))
    })
}

/// Checks the delivery methods and country of a pair's request.
pub fn check<'a>(
    sell: &'a QuoteAsset,
    buy: &'a QuoteAsset,
    given: Given,
    r: (&'a Option<String>, &'a Option<String>, &'a Option<String>),
) -> Result<Checked<'a>, QuoteError> {
    let (sell_method, buy_method, country) = (r.0.as_deref(), r.1.as_deref(), r.2.as_deref());
    method(sell, sell_method, Side::Sell)?;
    method(buy, buy_method, Side::Buy)?;
    if let Some(c) = country {
        country_code(c)?;
        if !serves(sell, c) || !serves(buy, c) {
            return Err(not_served());
        }
    }
    Ok(Checked {
        sell,
        buy,
        given,
        sell_method,
        buy_method,
        country,
    })
}

/// Reads the amount `field` of asset `a`.
pub fn amount(s: &str, a: &QuoteAsset, field: &str) -> Result<Decimal, QuoteError> {
    math::parse_amount(s, a.decimals()).ok_or_else(|| {
        invalid(format!(
            "{field} must be a positive decimal with at most {} decimal places",
            a.decimals()
        ))
    })
}

/// Reads `sell_amount` or `buy_amount`, exactly one.
pub fn given(
    sell_amount: &Option<String>,
    buy_amount: &Option<String>,
    sell: &QuoteAsset,
    buy: &QuoteAsset,
) -> Result<Given, QuoteError> {
    match (sell_amount, buy_amount) {
        (Some(s), None) => Ok(Given::Sell(amount(s, sell, "sell_amount")?)),
        (None, Some(b)) => Ok(Given::Buy(amount(b, buy, "buy_amount")?)),
        _ => Err(invalid("give exactly one of sell_amount and buy_amount")),
    }
}

/// Reads a `/price` or `/quote` request up to its pair.
pub fn read<'a>(
    cfg: &'a Sep38Config,
    r: &'a PriceRequest,
) -> Result<(Checked<'a>, &'a str), QuoteError> {
    let sell = r
        .sell_asset
        .as_deref()
        .ok_or_else(|| invalid("sell_asset is required"))?;
    let buy = r
        .buy_asset
        .as_deref()
        .ok_or_else(|| invalid("buy_asset is required"))?;
    let (sell, buy) = (
        asset(cfg, sell, "sell_asset")?,
        asset(cfg, buy, "buy_asset")?,
    );
    let context = match r.context.as_deref() {
        Some(c @ ("sep31" | "sep6")) => c,
        Some(_) => return Err(invalid("context must be sep31 or sep6")),
        None => return Err(invalid("context is required: sep31 or sep6")),
    };
    let given = given(&r.sell_amount, &r.buy_amount, sell, buy)?;
    let c = check(
        sell,
        buy,
        given,
        (
            &r.sell_delivery_method,
            &r.buy_delivery_method,
            &r.country_code,
        ),
    )?;
    Ok((c, context))
}

/// A delivery method of `a` on `side`, if given, must be one it lists.
pub fn method(a: &QuoteAsset, m: Option<&str>, side: Side) -> Result<(), QuoteError> {
    let (list, field) = match side {
        Side::Sell => (&a.sell_delivery_methods, "sell_delivery_method"),
        Side::Buy => (&a.buy_delivery_methods, "buy_delivery_method"),
    };
    match m {
        Some(m) if !list.iter().any(|x| x.name == m) => Err(invalid(format!(
            "{field} is not one of the {field}s of {}; see GET /info",
            a.asset
        ))),
        _ => Ok(()),
    }
}

/// ISO 3166-2 (`BR-SP`) or ISO 3166-1 alpha-2 (`BR`).
pub fn country_code(c: &str) -> Result<(), QuoteError> {
    let code = c.split('-').next().unwrap_or_default();
    let ok = code.len() == 2
        && code.bytes().all(|b| b.is_ascii_uppercase())
        && c.len() <= 6
        && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "country_code must be an ISO 3166-1 alpha-2 or ISO 3166-2 code, e.g. BR",
        ))
    }
}

/// Whether `a` is delivered in country `c` (any, when it lists none).
pub fn serves(a: &QuoteAsset, c: &str) -> bool {
    let code = c.split('-').next().unwrap_or_default();
    a.country_codes.is_empty() || a.country_codes.iter().any(|x| x == c || x == code)
}

pub fn not_served() -> QuoteError {
    invalid("country_code is not a country where this anchor delivers the asset; see GET /info")
}
