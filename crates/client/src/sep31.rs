//! SEP-31 as a sending anchor uses it: what a receiving anchor takes,
//! creating a transaction, and following it to a final status.
//!
//! ```no_run
//! # async fn example(token: String, sender: String, receiver: String) -> Result<(), mooring_client::ClientError> {
//! use mooring_client::sep31::{NewTransaction, PaymentServer};
//! let http = reqwest::Client::new();
//! let home = url::Url::parse("https://anchor.example.com").unwrap();
//! let server = PaymentServer::discover(http, &home, token).await?;
//! let created = match server
//!     .create(&NewTransaction {
//!         amount: "100".into(),
//!         asset_code: "USDC".into(),
//!         funding_method: Some("SEPA".into()),
//!         sender_id: Some(sender),
//!         receiver_id: Some(receiver),
//!         ..NewTransaction::default()
//!     })
//!     .await
//! {
//!     Err(e) if e.customer_info_needed().is_some() => {
//!         // SEP-12: complete the customer of that type, then try again.
//!         return Err(e);
//!     }
//!     other => other?,
//! };
//! // The account and memo to pay; an anchor may name them only later, in
//! // the transaction's `pending_sender` (SEP-31 v2).
//! let pay_to = match created.pay_to() {
//!     Some(p) => p,
//!     None => server.transaction(&created.id).await?.pay_to().expect("named by now"),
//! };
//! println!("pay {} with memo {:?}", pay_to.account, pay_to.memo);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{ClientError, check};

/// Statuses after which a transaction never changes (SEP-31 §GET
/// Transaction).
pub const FINAL: [&str; 4] = ["completed", "refunded", "expired", "error"];

/// An anchor's `DIRECT_PAYMENT_SERVER`, with the sending anchor's token.
#[derive(Debug, Clone)]
pub struct PaymentServer {
    http: reqwest::Client,
    base: Url,
    token: String,
}

/// The body of `POST /transactions` (SEP-31 §POST Transactions).
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewTransaction {
    /// Of the Stellar asset sent.
    pub amount: String,
    /// Its code, as `GET /info` lists it.
    pub asset_code: String,
    /// Its issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_issuer: Option<String>,
    /// How the receiver is paid out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funding_method: Option<String>,
    /// The off-chain asset delivered (SEP-38 format).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_asset: Option<String>,
    /// A firm SEP-38 quote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_id: Option<String>,
    /// The SEP-12 id of the sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    /// The SEP-12 id of the receiver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_id: Option<String>,
    /// For refunds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_memo: Option<String>,
    /// With `refund_memo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_memo_type: Option<String>,
}

/// The created transaction (SEP-31 §POST Transactions, 201). Since SEP-31
/// v2 the account and memo may come later, in `pending_sender`: then
/// [`Created::pay_to`] is `None` and [`Transaction::pay_to`] tells.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Created {
    /// The transaction.
    pub id: String,
    /// The account to pay.
    #[serde(default)]
    pub stellar_account_id: Option<String>,
    /// `id`, `text` or `hash`.
    #[serde(default)]
    pub stellar_memo_type: Option<String>,
    /// The memo to pay with.
    #[serde(default)]
    pub stellar_memo: Option<String>,
}

/// Where to send the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayTo {
    /// The account.
    pub account: String,
    /// The memo: its type (`id`, `text`, `hash`) and value; `None` when the
    /// anchor named none.
    pub memo: Option<(String, String)>,
}

fn pay_to(account: Option<&str>, kind: Option<&str>, memo: Option<&str>) -> Option<PayTo> {
    Some(PayTo {
        account: account?.to_owned(),
        memo: memo.map(|m| (kind.unwrap_or("text").to_owned(), m.to_owned())),
    })
}

impl Created {
    /// Where to pay, when the answer said.
    pub fn pay_to(&self) -> Option<PayTo> {
        pay_to(
            self.stellar_account_id.as_deref(),
            self.stellar_memo_type.as_deref(),
            self.stellar_memo.as_deref(),
        )
    }
}

/// A transaction as `GET /transactions/{id}` gives it; the fields a
/// sending anchor acts on, the whole object in `raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Its id.
    pub id: String,
    /// Its status.
    pub status: String,
    /// For people.
    pub status_message: Option<String>,
    /// What to fix through SEP-12, in `pending_customer_info_update`.
    pub required_info_message: Option<String>,
    /// The whole object.
    pub raw: serde_json::Value,
}

impl Transaction {
    /// Where to pay, once the anchor has said (`pending_sender`).
    pub fn pay_to(&self) -> Option<PayTo> {
        let text = |k: &str| self.raw[k].as_str();
        pay_to(
            text("stellar_account_id"),
            text("stellar_memo_type"),
            text("stellar_memo"),
        )
    }

    /// Whether it can change no more.
    pub fn is_final(&self) -> bool {
        FINAL.contains(&self.status.as_str())
    }
}

impl PaymentServer {
    /// The server at `base` (`DIRECT_PAYMENT_SERVER`), asked with `token`.
    pub fn new(http: reqwest::Client, base: Url, token: String) -> PaymentServer {
        PaymentServer { http, base, token }
    }

    /// The server the stellar.toml at `home` names.
    pub async fn discover(
        http: reqwest::Client,
        home: &Url,
        token: String,
    ) -> Result<PaymentServer, ClientError> {
        let base = crate::discovery::server(&http, home, "DIRECT_PAYMENT_SERVER", |t| {
            t.direct_payment_server
        })
        .await?;
        Ok(PaymentServer::new(http, base, token))
    }

    fn url(&self, segments: &[&str]) -> Url {
        crate::discovery::join(&self.base, segments)
    }

    /// `GET /info`: the assets received, fees, bounds, SEP-12 types.
    pub async fn info(&self) -> Result<serde_json::Value, ClientError> {
        let res = self
            .http
            .get(self.url(&["info"]))
            .bearer_auth(&self.token)
            .send()
            .await?;
        Ok(check(res, "SEP-31 GET /info").await?.json().await?)
    }

    /// `POST /transactions`. A refusal naming a SEP-12 type is told by
    /// [`ClientError::customer_info_needed`].
    pub async fn create(&self, t: &NewTransaction) -> Result<Created, ClientError> {
        let res = self
            .http
            .post(self.url(&["transactions"]))
            .bearer_auth(&self.token)
            .json(t)
            .send()
            .await?;
        Ok(check(res, "SEP-31 POST /transactions")
            .await?
            .json()
            .await?)
    }

    /// `GET /transactions/{id}`.
    pub async fn transaction(&self, id: &str) -> Result<Transaction, ClientError> {
        let res = self
            .http
            .get(self.url(&["transactions", id]))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let body: serde_json::Value = check(res, "SEP-31 GET /transactions").await?.json().await?;
        let raw = body["transaction"].clone();
        let text = |k: &str| raw[k].as_str().map(str::to_owned);
        Ok(Transaction {
            id: text("id").ok_or(ClientError::Unexpected("a transaction without an id"))?,
            status: text("status")
                .ok_or(ClientError::Unexpected("a transaction without a status"))?,
            status_message: text("status_message"),
            required_info_message: text("required_info_message"),
            raw,
        })
    }

    /// `PUT /transactions/{id}/callback`: where status changes are POSTed.
    pub async fn set_callback(&self, id: &str, url: &Url) -> Result<(), ClientError> {
        let res = self
            .http
            .put(self.url(&["transactions", id, "callback"]))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "url": url.as_str() }))
            .send()
            .await?;
        check(res, "SEP-31 PUT /transactions/{id}/callback").await?;
        Ok(())
    }
}
