//! SEP-38's answers as the OpenAPI description shows them. The service
//! writes them as JSON ([`super::service`]); these structs describe that
//! JSON, field for field, and are never built.
#![allow(dead_code)] // described, written as `json!` by the service

use serde::Serialize;
use utoipa::ToSchema;

/// SEP-38 §GET Info.
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::Info)]
pub struct Info {
    /// The assets quoted, each in exchange for one or more of the others.
    assets: Vec<InfoAsset>,
}

/// One asset of SEP-38 §GET Info.
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::InfoAsset)]
pub struct InfoAsset {
    /// SEP-38 §Asset Identification Format: `stellar:CODE:ISSUER` or
    /// `iso4217:XXX`.
    asset: String,
    /// ISO 3166 codes of the countries where it is delivered (fiat only);
    /// absent: anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    country_codes: Option<Vec<String>>,
    /// How clients may deliver it to the anchor; absent when none is
    /// configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sell_delivery_methods: Option<Vec<DeliveryMethod>>,
    /// How clients may receive it from the anchor; absent when none is
    /// configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    buy_delivery_methods: Option<Vec<DeliveryMethod>>,
}

/// A delivery method (SEP-38 §GET Info).
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::DeliveryMethod)]
pub struct DeliveryMethod {
    /// The value to send as `sell_delivery_method` or `buy_delivery_method`.
    name: String,
    /// For people.
    description: String,
}

/// SEP-38 §GET Prices: `buy_assets` when `sell_asset` was given,
/// `sell_assets` when `buy_asset` was.
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::Prices)]
pub struct Prices {
    /// What `sell_amount` of `sell_asset` buys, one entry per asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    buy_assets: Option<Vec<PricedAsset>>,
    /// What buys `buy_amount` of `buy_asset`, one entry per asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sell_assets: Option<Vec<PricedAsset>>,
}

/// One entry of SEP-38 §GET Prices.
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::PricedAsset)]
pub struct PricedAsset {
    /// SEP-38 asset.
    asset: String,
    /// Units of the sold asset for one of the bought, fees included; a
    /// decimal of at most 10 places.
    price: String,
    /// Decimal places of `asset`'s amounts.
    decimals: u32,
}

/// SEP-38 §GET Price: an indicative price.
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::Price)]
pub struct Price {
    /// Units of `sell_asset` for one of `buy_asset`, fees included.
    total_price: String,
    /// Units of `sell_asset` for one of `buy_asset`, fees apart.
    price: String,
    /// What the client gives, with `sell_asset`'s decimals.
    sell_amount: String,
    /// What the client receives, with `buy_asset`'s decimals.
    buy_amount: String,
    /// The fee (SEP-38 §Price Formulas).
    fee: Fee,
}

/// SEP-38's `fee` object.
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::Fee)]
pub struct Fee {
    /// The whole fee, in `asset`.
    total: String,
    /// SEP-38 asset: `sell_asset` or `buy_asset`.
    asset: String,
    /// Its parts, when the business server gave them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    details: Option<Vec<FeeDetail>>,
}

/// One part of a fee.
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::FeeDetail)]
pub struct FeeDetail {
    /// Its name, e.g. `Service fee`.
    name: String,
    /// For people.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    description: Option<String>,
    /// Its amount, in the fee's asset.
    amount: String,
}

/// SEP-38 §POST Quote and §GET Quote: a firm quote.
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::Quote)]
pub struct Quote {
    /// The quote's id (a UUID), for SEP-31's `quote_id`.
    id: String,
    /// Until when it holds, ISO 8601 UTC.
    #[schema(format = DateTime)]
    expires_at: String,
    /// Units of `sell_asset` for one of `buy_asset`, fees included.
    total_price: String,
    /// Units of `sell_asset` for one of `buy_asset`, fees apart.
    price: String,
    /// SEP-38 asset.
    sell_asset: String,
    /// What the client gives.
    sell_amount: String,
    /// As the request gave it; absent when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sell_delivery_method: Option<String>,
    /// SEP-38 asset.
    buy_asset: String,
    /// What the client receives.
    buy_amount: String,
    /// As the request gave it; absent when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    buy_delivery_method: Option<String>,
    /// The fee (SEP-38 §Price Formulas).
    fee: Fee,
}

/// SEP-38 §POST Quote `context`: what the quote is for (SEP-24 quotes are
/// not given).
#[derive(Serialize, ToSchema)]
#[schema(as = sep38::Context)]
#[serde(rename_all = "lowercase")]
pub enum Context {
    /// A SEP-31 payment.
    Sep31,
    /// A SEP-6 transfer.
    Sep6,
}
