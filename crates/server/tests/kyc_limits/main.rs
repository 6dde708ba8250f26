//! KYC-gated limits over real HTTP, on SQLite and PostgreSQL (docs/kyc.md):
//! the operation check and its 451, every answer of `/kyc-check`, its long
//! polls (`timeout_ms`, `lpt`, `min_rule`) and their wake-ups, across
//! replicas too, and the admin's account rules.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod poll;

use common::TestServer;
pub use common::kyc::{decide, open_record};
use mooring_stellar::Keypair;
use reqwest::Method;
use serde_json::{Value, json};

/// USDC of a made-up issuer, as SEP-38 names it.
pub const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

/// A server whose accounts may send at most 100 USDC per operation and
/// 300 in 30 days before KYC, and never more than 10,000 at once.
pub async fn gated(engine: common::Engine) -> TestServer {
    TestServer::start_with(engine, |c| {
        c.limits.rules = serde_json::from_value(json!([
            {"name": "unverified-send", "op": "send", "asset": USDC, "threshold": "100"},
            {"name": "unverified-month", "op": "send", "asset": USDC, "threshold": "300",
             "timeframe_secs": 2_592_000},
            {"name": "hard-cap", "op": "send", "asset": USDC, "threshold": "10000",
             "soft_limit": false},
            {"op": "withdraw", "asset": USDC, "threshold": "0", "exposed": false},
        ]))
        .unwrap();
    })
    .await
}

/// `POST /operations/check` with a wallet's token.
pub async fn check(srv: &TestServer, token: &str, body: Value) -> (u16, Value) {
    TestServer::send(
        srv.with_token(Method::POST, "/operations/check", token)
            .json(&body),
    )
    .await
}

/// `POST /operations/check` from the business server (admin listener).
pub async fn check_admin(srv: &TestServer, body: Value) -> (u16, Value) {
    TestServer::send(srv.admin(Method::POST, "/operations/check").json(&body)).await
}

/// A send of `amount` USDC by `kp`.
pub fn send(kp: &Keypair, amount: &str) -> Value {
    json!({"account": kp.public_key().to_string(), "op": "send", "amount": amount, "asset": USDC})
}

/// `GET /kyc-check/{account}?{query}`.
pub async fn kyc_check(srv: &TestServer, token: &str, account: &str, query: &str) -> (u16, Value) {
    TestServer::send(srv.with_token(Method::GET, &format!("/kyc-check/{account}?{query}"), token))
        .await
}
