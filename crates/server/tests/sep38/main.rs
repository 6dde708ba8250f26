//! SEP-38 quotes over real HTTP, on SQLite and PostgreSQL, against the
//! contract of docs/quotes.md (SEP-38 v2.5.0 the authority behind it):
//!
//! - `info`: `GET /sep38/info` and `ANCHOR_QUOTE_SERVER` in stellar.toml;
//! - `prices`: `GET /sep38/prices` both ways, empty lists, every 400;
//! - `price`: `GET /sep38/price` by the table's formulas, worked out by hand;
//! - `quote`: `POST /sep38/quote` and `GET /sep38/quote/{id}`;
//! - `partners`: the authentication table of §Partners, and KYC limits on
//!   quotes;
//! - `auth`: the token from the header only, decided on before the query
//!   or body is read; muxed `M…` callers owning their quotes;
//! - `business`: `price_source = "http"`, against the business server of
//!   `stub` on loopback, which records what it is asked;
//! - `business_failures`: the business server failing or answering
//!   absurdly (503), or with a fee that leaves nothing to buy (400);
//! - `startup`: the configurations Mooring refuses at start;
//! - `interop`: the published Python stellar-sdk signing in and quoting.
//!
//! Expected amounts are worked out by hand in the comments next to them.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod business;
mod business_failures;
mod info;
mod interop;
mod partners;
mod price;
mod prices;
mod quote;
mod startup;
mod stub;

use std::str::FromStr as _;

use common::{Engine, TestServer};
pub use common::{assert_refusal, object_keys};
use mooring_server::config::Config;
use mooring_stellar::Keypair;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// USDC of a made-up issuer, 7 decimals (the default for `stellar:`).
pub const USDC: &str = "stellar:USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";
/// Brazilian reais, 2 decimals (the default for `iso4217:`).
pub const BRL: &str = "iso4217:BRL";
/// Argentine pesos: configured, but in no pair.
pub const ARS: &str = "iso4217:ARS";

/// EURC of an issuer made here, configured with 4 decimals.
pub fn eurc() -> String {
    let issuer = Keypair::from_seed_bytes([7; 32]).public_key();
    format!("stellar:EURC:{issuer}")
}

/// The first partner's name: it must never appear in a 403.
pub const ACME: &str = "acme-remit";
/// The second partner's name.
pub const ZENITH: &str = "zenith-pay";

/// The error every business-server failure gives the client.
pub const UNAVAILABLE: &str = "prices are unavailable right now; try again later";

/// `[[sep38.assets]]` of the table tests: USDC, BRL with a country and
/// delivery methods (one to sell, two to buy), EURC at 4 decimals, ARS.
pub fn assets() -> Value {
    json!([
        {"asset": USDC},
        {"asset": BRL, "country_codes": ["BR"],
         "sell_delivery_methods": [{"name": "PIX", "description": "Send BRL to our PIX key"}],
         "buy_delivery_methods": [
             {"name": "PIX", "description": "BRL to the PIX key of your choice"},
             {"name": "cash", "description": "Pick up cash at an agent"},
         ]},
        {"asset": eurc(), "decimals": 4},
        {"asset": ARS},
    ])
}

/// `[sep38]` with the table source:
///
/// - sell BRL for USDC at 5 BRL per USDC ("5.00"), fee 2 BRL + 1 %;
/// - sell USDC for BRL at 0.18 USDC per BRL, fee 1 USDC + 1.5 %;
/// - sell USDC for EURC at 1.1 USDC per EURC, no fee.
pub fn table() -> Value {
    json!({
        "enabled": true,
        "assets": assets(),
        "prices": [
            {"sell_asset": BRL, "buy_asset": USDC, "price": "5.00",
             "fee_fixed": "2", "fee_percent": "1"},
            {"sell_asset": USDC, "buy_asset": BRL, "price": "0.18",
             "fee_fixed": "1", "fee_percent": "1.5"},
            {"sell_asset": USDC, "buy_asset": eurc(), "price": "1.1"},
        ],
    })
}

/// A quoting server and the keys of its partners' accounts: `alice` and
/// `alice2` are ACME's, `bob` is ZENITH's.
pub struct Anchor {
    /// The server.
    pub srv: TestServer,
    /// ACME's first account.
    pub alice: Keypair,
    /// ACME's second account.
    pub alice2: Keypair,
    /// ZENITH's account.
    pub bob: Keypair,
}

impl Anchor {
    /// A token of `alice`, ACME's first account.
    pub async fn alice_token(&self) -> String {
        self.srv.token_for(&self.alice, None).await
    }
}

/// A server with the table of [`table`] and two partners.
pub async fn start(engine: Engine) -> Anchor {
    start_custom(engine, table(), |_| {}).await
}

/// A server with `sep38` as `[sep38]`, two partners, and `tweak` applied
/// last.
pub async fn start_custom(engine: Engine, sep38: Value, tweak: impl FnOnce(&mut Config)) -> Anchor {
    let (alice, alice2, bob) = (Keypair::random(), Keypair::random(), Keypair::random());
    let partners = json!([
        {"name": ACME, "accounts": [alice.public_key().to_string(), alice2.public_key().to_string()]},
        {"name": ZENITH, "accounts": [bob.public_key().to_string()]},
    ]);
    let srv = TestServer::start_with(engine, move |c| {
        c.sep38 = serde_json::from_value(sep38).expect("[sep38] of the test deserializes");
        c.partners = serde_json::from_value(partners).expect("[[partners]] deserialize");
        tweak(c);
    })
    .await;
    Anchor {
        srv,
        alice,
        alice2,
        bob,
    }
}

/// `GET /sep38{path}` with `query`, and a bearer token when given.
pub async fn get(
    srv: &TestServer,
    path: &str,
    query: &[(&str, &str)],
    token: Option<&str>,
) -> (u16, Value) {
    let mut req = srv.http.get(srv.url(&format!("/sep38{path}"))).query(query);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    TestServer::send(req).await
}

/// `POST /sep38/quote` with a JSON body, and a bearer token when given.
pub async fn post_quote(srv: &TestServer, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = srv.http.post(srv.url("/sep38/quote")).json(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    TestServer::send(req).await
}

/// `GET /sep38/quote/{id}` with `token`.
pub async fn get_quote(srv: &TestServer, token: &str, id: &str) -> (u16, Value) {
    TestServer::send(srv.with_token(Method::GET, &format!("/sep38/quote/{id}"), token)).await
}

/// A firm quote that must be made (201); its body.
#[track_caller]
pub fn created(got: (u16, Value), what: &str) -> Value {
    assert_eq!(got.0, 201, "{what}: expected 201, got {}", got.1);
    got.1
}

/// A decimal string of a JSON value (a test's own numbers are well formed).
pub fn dec(v: &Value) -> Decimal {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("a decimal string expected, got {v}"));
    Decimal::from_str(text).unwrap_or_else(|e| panic!("{text} is not a decimal: {e}"))
}

/// Asserts a price as docs/quotes.md writes them: at most 10 decimal
/// places, trailing zeros dropped.
#[track_caller]
pub fn assert_price_text(price: &Value, what: &str) {
    let text = price
        .as_str()
        .unwrap_or_else(|| panic!("{what}: a price string expected, got {price}"));
    if let Some((_, fraction)) = text.split_once('.') {
        assert!(
            fraction.len() <= 10 && !fraction.ends_with('0') && !fraction.is_empty(),
            "{what}: price {text} must have at most 10 decimal places, trailing zeros dropped"
        );
    }
    assert!(
        text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && Decimal::from_str(text).is_ok(),
        "{what}: price {text} is not a plain decimal"
    );
}

/// Asserts `total_price = sell_amount / buy_amount` to the 10th decimal
/// (either rounding of the 11th), written as a price.
#[track_caller]
pub fn assert_total_price(total: &Value, sell: &str, buy: &str, what: &str) {
    assert_price_text(total, what);
    let sell = Decimal::from_str(sell).expect("test amount");
    let buy = Decimal::from_str(buy).expect("test amount");
    let exact = sell / buy;
    let got = dec(total);
    assert!(
        (got - exact).abs() < Decimal::new(1, 10),
        "{what}: total_price {got} is not {sell} / {buy} = {exact} to 10 decimal places"
    );
}

/// Unix seconds as RFC 3339 UTC with whole seconds (`2026-12-06T20:35:00Z`).
pub fn rfc3339(unix: u64) -> String {
    let secs = i64::try_from(unix).expect("a time of this century");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .expect("a time of this century")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339 formats any UTC time")
}

/// The server's clock now.
pub fn now(srv: &TestServer) -> u64 {
    use mooring_server::clock::Clock as _;
    srv.clock.now()
}
