//! SEP-38 as a sending anchor or wallet uses it: indicative prices and firm
//! quotes from an anchor's `ANCHOR_QUOTE_SERVER`.
//!
//! ```no_run
//! # async fn example(token: String) -> Result<(), mooring_client::ClientError> {
//! use mooring_client::sep38::{PriceRequest, QuoteServer};
//! let http = reqwest::Client::new();
//! let home = url::Url::parse("https://anchor.example.com").unwrap();
//! let quotes = QuoteServer::discover(http, &home, Some(token)).await?;
//! let quote = quotes
//!     .quote(&PriceRequest {
//!         sell_asset: "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN".into(),
//!         buy_asset: "iso4217:BRL".into(),
//!         sell_amount: Some("100".into()),
//!         context: Some("sep31".into()),
//!         ..PriceRequest::default()
//!     })
//!     .await?;
//! println!("{} BRL until {}", quote.buy_amount, quote.expires_at);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{ClientError, check};

/// An anchor's quote server.
#[derive(Debug, Clone)]
pub struct QuoteServer {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

/// What `GET /price` and `POST /quote` ask (SEP-38 §GET Price, §POST Quote).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PriceRequest {
    /// What is given, in SEP-38's asset format.
    pub sell_asset: String,
    /// What is received.
    pub buy_asset: String,
    /// Given: exactly one of the two amounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sell_amount: Option<String>,
    /// Wanted: exactly one of the two amounts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buy_amount: Option<String>,
    /// How the sell asset is delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sell_delivery_method: Option<String>,
    /// How the buy asset is delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buy_delivery_method: Option<String>,
    /// ISO 3166 code of the delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// `sep31` or `sep6`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// A firm quote's earliest acceptable expiry (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_after: Option<String>,
}

/// SEP-38's `fee` object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Fee {
    /// The total.
    pub total: String,
    /// Its asset.
    pub asset: String,
    /// Its parts, if told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FeeDetail>>,
}

/// One part of a fee.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct FeeDetail {
    /// Its name.
    pub name: String,
    /// Its amount.
    pub amount: String,
    /// For people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An indicative price (SEP-38 §GET Price).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Price {
    /// With fees.
    pub total_price: String,
    /// Without.
    pub price: String,
    /// Given.
    pub sell_amount: String,
    /// Received.
    pub buy_amount: String,
    /// The fee.
    pub fee: Fee,
}

/// A firm quote (SEP-38 §POST Quote, §GET Quote).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Quote {
    /// What SEP-31's `quote_id` names.
    pub id: String,
    /// Until when it holds (RFC 3339).
    pub expires_at: String,
    /// With fees.
    pub total_price: String,
    /// Without.
    pub price: String,
    /// Given.
    pub sell_asset: String,
    /// Given.
    pub sell_amount: String,
    /// Received.
    pub buy_asset: String,
    /// Received.
    pub buy_amount: String,
    /// The fee.
    pub fee: Fee,
}

impl QuoteServer {
    /// The quote server at `base` (`ANCHOR_QUOTE_SERVER`), asking with
    /// `token` (a SEP-10 JWT) when given.
    pub fn new(http: reqwest::Client, base: Url, token: Option<String>) -> QuoteServer {
        QuoteServer { http, base, token }
    }

    /// The quote server the stellar.toml at `home` names.
    pub async fn discover(
        http: reqwest::Client,
        home: &Url,
        token: Option<String>,
    ) -> Result<QuoteServer, ClientError> {
        let base = crate::discovery::server(&http, home, "ANCHOR_QUOTE_SERVER", |t| {
            t.anchor_quote_server
        })
        .await?;
        Ok(QuoteServer::new(http, base, token))
    }

    fn request(&self, method: reqwest::Method, segments: &[&str]) -> reqwest::RequestBuilder {
        let req = self
            .http
            .request(method, crate::discovery::join(&self.base, segments));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `GET /info`: the assets and delivery methods quoted.
    pub async fn info(&self) -> Result<serde_json::Value, ClientError> {
        let res = self.request(reqwest::Method::GET, &["info"]).send().await?;
        Ok(check(res, "SEP-38 GET /info").await?.json().await?)
    }

    /// `GET /price`.
    pub async fn price(&self, r: &PriceRequest) -> Result<Price, ClientError> {
        let res = self
            .request(reqwest::Method::GET, &["price"])
            .query(r)
            .send()
            .await?;
        Ok(check(res, "SEP-38 GET /price").await?.json().await?)
    }

    /// `POST /quote`: a firm quote (201).
    pub async fn quote(&self, r: &PriceRequest) -> Result<Quote, ClientError> {
        let res = self
            .request(reqwest::Method::POST, &["quote"])
            .json(r)
            .send()
            .await?;
        Ok(check(res, "SEP-38 POST /quote").await?.json().await?)
    }

    /// `GET /quote/{id}`.
    pub async fn get_quote(&self, id: &str) -> Result<Quote, ClientError> {
        let req = self.request(reqwest::Method::GET, &["quote", id]);
        Ok(check(req.send().await?, "SEP-38 GET /quote")
            .await?
            .json()
            .await?)
    }
}
