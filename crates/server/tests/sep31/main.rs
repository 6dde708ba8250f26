//! SEP-31 payments, the receiving anchor, over real HTTP on SQLite and
//! PostgreSQL, against the contract of docs/payments.md (SEP-31 v3.1.0
//! the authority behind it):
//!
//! - `info`: `GET /sep31/info` with the caller's partner's figures, and
//!   `DIRECT_PAYMENT_SERVER` in stellar.toml;
//! - `create`: `POST /sep31/transactions`: the 201, amounts, fees worked
//!   out by hand, the bounds of the partner or the asset;
//! - `checks`: the body's checks, `customer_info_needed`, the check order;
//! - `limits`: the KYC limits of step 4 and their counting in step 7;
//! - `quotes`: firm SEP-38 quotes taken by transactions, once, even by two
//!   racing requests;
//! - `read`: `GET /sep31/transactions/{id}` (only its creator, only
//!   SEP-31's fields), `PATCH`, `PUT …/callback`;
//! - `auth`: every endpoint 403 for anyone but a partner, before the body;
//! - `machine`: the status machine through the admin API, expiry and the
//!   audit log;
//! - `updates`: refunds, and the customer-update round trip through SEP-12;
//! - `webhooks`: the business server's webhooks and the signed SEP-31
//!   callbacks, to the transaction's URL or its partner's;
//! - `interop`: the published Python stellar-sdk as a sending anchor;
//! - `client`: Mooring's own client library as a sending anchor.
//!
//! Transactions are paid on the Horizon stand-in; the payment observer of
//! the server under test moves them to `pending_receiver`.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod calls;
mod checks;
mod client;
mod create;
mod info;
mod interop;
mod limits;
mod machine;
mod quotes;
mod read;
mod updates;
mod webhooks;

use std::sync::atomic::{AtomicU64, Ordering};

pub use calls::*;
use common::customer::put_json;
use common::{Engine, TestServer};
use mooring_server::config::Config;
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

/// The issuer of the USDC received (made up).
pub const ISSUER: &str = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// USDC as SEP-38 names it.
pub const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// Brazilian reais, which SEP-38 delivers for USDC when quotes are on.
pub const BRL: &str = "iso4217:BRL";
/// The first partner: the asset's fees and bounds.
pub const ACME: &str = "acme-remit";
/// The second partner: fees and bounds of its own.
pub const ZENITH: &str = "zenith-pay";
/// The sender type.
pub const SENDER: &str = "sep31-sender";
/// The receiver type.
pub const RECEIVER: &str = "sep31-receiver";
/// Every 404 of a transaction.
pub const NOT_FOUND: &str = "transaction not found";

/// `[sep12.types]`: the sender and receiver types and what they need.
pub fn sep12_types() -> Value {
    json!({
        SENDER: {"required": ["first_name", "last_name", "email_address"]},
        RECEIVER: {"required": ["first_name", "last_name", "bank_account_number", "bank_number"]},
    })
}

/// `[sep31]`: USDC paid to `dist`, min 1, max 10000, fee 0.5 + 1 %, paid
/// out by SEPA or SWIFT; a quick observer.
pub fn sep31(dist: &str) -> Value {
    json!({
        "enabled": true,
        "sender_types": {SENDER: "People sending money"},
        "receiver_types": {RECEIVER: "People receiving money"},
        "unpaid_expiry_secs": 3600,
        "quotes_required": false,
        "observer": {"enabled": true, "lease_secs": 3, "poll_secs": 1},
        "callbacks": {"retry_secs": 1},
        "assets": [{
            "code": "USDC", "issuer": ISSUER, "distribution_account": dist,
            "min_amount": "1", "max_amount": "10000",
            "fee_fixed": "0.5", "fee_percent": "1",
            "funding_methods": ["SEPA", "SWIFT"],
        }],
    })
}

/// `[sep38]` with the table source: sell USDC for BRL at 0.18 USDC per
/// BRL, fee 1 USDC + 1.5 % (100 USDC buy 541.66 BRL for a fee of 2.5);
/// sell BRL for USDC at 5.
pub fn sep38() -> Value {
    json!({
        "enabled": true,
        "assets": [{"asset": USDC}, {"asset": BRL}],
        "prices": [
            {"sell_asset": USDC, "buy_asset": BRL, "price": "0.18",
             "fee_fixed": "1", "fee_percent": "1.5"},
            {"sell_asset": BRL, "buy_asset": USDC, "price": "5"},
        ],
    })
}

/// A receiving anchor and its partners' keys: `acme` and `acme2` are
/// ACME's accounts, `zenith` ZENITH's (fee 2 + 0.5 %, min 10, max 500).
pub struct Anchor {
    /// The server.
    pub srv: TestServer,
    /// ACME's first account.
    pub acme: Keypair,
    /// ACME's second account.
    pub acme2: Keypair,
    /// ZENITH's account.
    pub zenith: Keypair,
    /// USDC's distribution account.
    pub dist: String,
}

/// A server with SEP-31 and its partners, without quotes.
pub async fn start(engine: Engine) -> Anchor {
    start_custom(engine, |_| {}).await
}

/// A server with SEP-31, its partners and the quotes of [`sep38`].
pub async fn start_quoting(engine: Engine) -> Anchor {
    start_custom(engine, |c| {
        c.sep38 = serde_json::from_value(sep38()).expect("[sep38] of the test deserializes");
    })
    .await
}

/// A server with SEP-31 and its partners, `tweak` applied last.
pub async fn start_custom(engine: Engine, tweak: impl FnOnce(&mut Config)) -> Anchor {
    let (acme, acme2, zenith) = (Keypair::random(), Keypair::random(), Keypair::random());
    let dist = Keypair::random().public_key().to_string();
    let partners = json!([
        {"name": ACME, "accounts": [acme.public_key().to_string(), acme2.public_key().to_string()]},
        {"name": ZENITH, "accounts": [zenith.public_key().to_string()],
         "fee_fixed": "2", "fee_percent": "0.5", "min_amount": "10", "max_amount": "500"},
    ]);
    let sep31 = sep31(&dist);
    let srv = TestServer::start_with(engine, move |c| {
        c.sep12.types = serde_json::from_value(sep12_types()).expect("[sep12.types] deserialize");
        c.sep31 = serde_json::from_value(sep31).expect("[sep31] of the test deserializes");
        c.partners = serde_json::from_value(partners).expect("[[partners]] deserialize");
        tweak(c);
    })
    .await;
    Anchor {
        srv,
        acme,
        acme2,
        zenith,
        dist,
    }
}

/// A partner's token and two customers it registered under memos of its
/// own, both ACCEPTED: a sender and a receiver.
pub struct Parties {
    /// The partner's token (no memo: it speaks for all its memos).
    pub token: String,
    /// The sender's SEP-12 id.
    pub sender: String,
    /// The receiver's SEP-12 id.
    pub receiver: String,
}

impl Anchor {
    /// A sender and a receiver of ACME, registered and accepted.
    pub async fn acme_parties(&self) -> Parties {
        parties(&self.srv, &self.acme).await
    }

    /// A sender and a receiver of ZENITH, registered and accepted.
    pub async fn zenith_parties(&self) -> Parties {
        parties(&self.srv, &self.zenith).await
    }
}

/// A memo no other customer of this test binary has.
pub fn fresh_memo() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The SEP-9 fields `kind` requires.
pub fn fields_of(kind: &str) -> Value {
    if kind == SENDER {
        json!({"first_name": "Ann", "last_name": "Lee", "email_address": "ann@example.com"})
    } else {
        json!({"first_name": "Rui", "last_name": "Costa",
               "bank_account_number": "12345678", "bank_number": "001"})
    }
}

/// `PUT /customer` of a complete `kind` customer under id memo `memo`,
/// not decided yet (PROCESSING); its id.
pub async fn put_customer(srv: &TestServer, token: &str, memo: u64, kind: &str) -> String {
    let mut body = fields_of(kind);
    body["type"] = json!(kind);
    body["memo"] = json!(memo.to_string());
    body["memo_type"] = json!("id");
    let (status, got) = put_json(srv, token, body).await;
    assert_eq!(status, 202, "PUT /customer of a {kind}: {got}");
    got["id"]
        .as_str()
        .unwrap_or_else(|| panic!("PUT /customer answers an id: {got}"))
        .to_owned()
}

/// Staff accept customer `id` as `kind` (admin API).
pub async fn accept(srv: &TestServer, id: &str, kind: &str) {
    let req = srv
        .admin(Method::POST, &format!("/admin/customers/{id}/accept"))
        .json(&json!({ "type": kind }));
    let (status, body) = TestServer::send(req).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ACCEPTED")),
        "accepting {id} as {kind}: {body}"
    );
}

/// A `kind` customer registered with `token` under a fresh memo and
/// ACCEPTED; its id.
pub async fn customer(srv: &TestServer, token: &str, kind: &str) -> String {
    let id = put_customer(srv, token, fresh_memo(), kind).await;
    accept(srv, &id, kind).await;
    id
}

/// A token of `kp` with an accepted sender and receiver.
pub async fn parties(srv: &TestServer, kp: &Keypair) -> Parties {
    let token = srv.token_for(kp, None).await;
    let sender = customer(srv, &token, SENDER).await;
    let receiver = customer(srv, &token, RECEIVER).await;
    Parties {
        token,
        sender,
        receiver,
    }
}
