//! `price_source = "http"` (docs/quotes.md §The business server's price):
//! a business server on loopback records every request Mooring sends and
//! answers as a test tells it; the amounts follow SEP-38 §Price Formulas
//! for a fee in `sell_asset` and in `buy_asset`; every way of failing is
//! 503 with the documented body, never a stale price.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{
    Anchor, BRL, UNAVAILABLE, USDC, assets, created, dec, get, get_quote, object_keys, post_quote,
    start_custom,
};
use crate::common::{Engine, serve};
use crate::on_both_engines;

/// What the business server answers.
#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Json(Value),
    /// 200 with this body, after a while.
    Slow(Duration, Value),
    /// This status, an empty JSON object.
    Status(u16),
    /// 200 with this text as `application/json`.
    Raw(&'static str),
}

/// The business server: what it was asked (content type, body) and what it
/// answers.
#[derive(Clone)]
struct Business {
    requests: Arc<Mutex<Vec<(String, Value)>>>,
    reply: Arc<Mutex<Reply>>,
}

impl Business {
    /// Starts one on loopback; its price URL.
    async fn start(reply: Reply) -> (Business, String) {
        let b = Business {
            requests: Arc::default(),
            reply: Arc::new(Mutex::new(reply)),
        };
        let app = axum::Router::new()
            .route("/sep38/price", axum::routing::post(answer))
            .with_state(b.clone());
        let url = serve(app).await;
        (b, format!("{}sep38/price", url.as_str()))
    }

    fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap_or_else(|p| p.into_inner()) = reply;
    }

    /// The bodies received so far, each checked to be JSON sent as JSON.
    fn requests(&self) -> Vec<Value> {
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        requests
            .iter()
            .map(|(content_type, body)| {
                assert!(
                    content_type.starts_with("application/json"),
                    "the price request's Content-Type is {content_type:?}, not application/json"
                );
                body.clone()
            })
            .collect()
    }
}

async fn answer(State(b): State<Business>, headers: HeaderMap, body: String) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let parsed = serde_json::from_str(&body).unwrap_or(Value::String(body));
    b.requests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((content_type, parsed));
    let reply = b.reply.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match reply {
        Reply::Json(v) => axum::Json(v).into_response(),
        Reply::Slow(wait, v) => {
            tokio::time::sleep(wait).await;
            axum::Json(v).into_response()
        }
        Reply::Status(code) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({})),
        )
            .into_response(),
        Reply::Raw(text) => ([("content-type", "application/json")], text).into_response(),
    }
}

/// `[sep38]` asking `price_url`, 1 s to answer; BRL→USDC and USDC→BRL.
fn http_source(price_url: &str) -> Value {
    json!({
        "enabled": true,
        "price_source": "http",
        "price_url": price_url,
        "price_timeout_secs": 1,
        "assets": assets(),
        "prices": [
            {"sell_asset": BRL, "buy_asset": USDC},
            {"sell_asset": USDC, "buy_asset": BRL},
        ],
    })
}

/// A quoting server whose business server answers `reply`.
async fn with_business(engine: Engine, reply: Reply) -> (Anchor, Business) {
    let (business, url) = Business::start(reply).await;
    (
        start_custom(engine, http_source(&url), |_| {}).await,
        business,
    )
}

/// Asserts one price request: exactly the documented fields, `expected`'s
/// values (amounts compared as numbers), and null for the others.
#[track_caller]
fn assert_request(got: &Value, expected: &Value, what: &str) {
    assert_eq!(
        object_keys(got),
        [
            "account",
            "buy_amount",
            "buy_asset",
            "buy_delivery_method",
            "context",
            "country_code",
            "partner",
            "sell_amount",
            "sell_asset",
            "sell_delivery_method",
            "type"
        ],
        "{what}: the documented fields of the price request: {got}"
    );
    for key in object_keys(got) {
        let want = expected.get(&key).unwrap_or(&Value::Null);
        let same = match (key.as_str(), want) {
            ("sell_amount" | "buy_amount", Value::String(_)) => {
                got[&key].is_string() && dec(&got[&key]) == dec(want)
            }
            _ => &got[&key] == want,
        };
        assert!(
            same,
            "{what}: {key} is {}, expected {want}; request {got}",
            got[&key]
        );
    }
}

/// A fee in BRL, the sell asset, with details.
fn brl_fee() -> Value {
    json!({"total": "42.00", "asset": BRL, "details": [
        {"name": "PIX fee", "description": "Fee charged in order to process the outgoing PIX transaction.",
         "amount": "12.00"},
        {"name": "Service fee", "amount": "30.00"},
    ]})
}

/// 5 BRL per USDC, the fee 42 BRL: 542 BRL buy (542 − 42) / 5 = 100 USDC.
fn five_with_brl_fee() -> Reply {
    Reply::Json(json!({"price": "5.00", "fee": brl_fee()}))
}

async fn fee_in_the_sell_asset(engine: Engine) {
    let (a, business) = with_business(engine, five_with_brl_fee()).await;
    let expected = json!({"total_price": "5.42", "price": "5", "sell_amount": "542.00",
                          "buy_amount": "100.0000000", "fee": brl_fee()});
    let q = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
        ("context", "sep31"),
    ];
    let (status, body) = get(&a.srv, "/price", &q, None).await;
    assert_eq!(
        (status, &body),
        (200, &expected),
        "sell 542 BRL, fee 42 BRL (details kept)"
    );
    // Given 100 USDC: 5 × 100 + 42 = 542 BRL.
    let q = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("buy_amount", "100"),
        ("sell_delivery_method", "PIX"),
        ("country_code", "BR"),
        ("context", "sep6"),
    ];
    let (status, body) = get(&a.srv, "/price", &q, None).await;
    assert_eq!(
        (status, &body),
        (200, &expected),
        "buy 100 USDC, fee 42 BRL"
    );
    let requests = business.requests();
    assert_eq!(requests.len(), 2, "one request per /price: {requests:?}");
    assert_request(
        &requests[0],
        &json!({"type": "indicative", "sell_asset": BRL, "buy_asset": USDC,
                "sell_amount": "542", "context": "sep31"}),
        "the anonymous /price selling 542 BRL",
    );
    assert_request(
        &requests[1],
        &json!({"type": "indicative", "sell_asset": BRL, "buy_asset": USDC, "buy_amount": "100",
                "sell_delivery_method": "PIX", "country_code": "BR", "context": "sep6"}),
        "the anonymous /price buying 100 USDC",
    );
}

/// SEP-38's second example: 5 BRL per USDC, the fee 8.40 USDC (the buy
/// asset): sell = price × (buy + fee) = 5 × 108.4 = 542.
async fn fee_in_the_buy_asset(engine: Engine) {
    let fee = json!({"total": "8.4000000", "asset": USDC});
    let (a, _business) =
        with_business(engine, Reply::Json(json!({"price": "5", "fee": fee}))).await;
    let expected = json!({"total_price": "5.42", "price": "5", "sell_amount": "542.00",
                          "buy_amount": "100.0000000", "fee": fee});
    for (amount, value) in [("sell_amount", "542"), ("buy_amount", "100")] {
        let q = [
            ("sell_asset", BRL),
            ("buy_asset", USDC),
            (amount, value),
            ("context", "sep31"),
        ];
        let (status, body) = get(&a.srv, "/price", &q, None).await;
        assert_eq!(
            (status, &body),
            (200, &expected),
            "{amount}={value}, fee 8.4 USDC in the buy asset (no details: none answered)"
        );
    }
}

/// POST /quote asks for a firm price, naming the account and its partner;
/// the quote is kept, not priced again when read.
async fn firm_quotes_name_the_account_and_partner(engine: Engine) {
    // SEP-38's fourth example: 0.18 USDC per BRL, fee 10 USDC: 500 BRL cost
    // 0.18 × 500 + 10 = 100 USDC.
    let fee = json!({"total": "10.0000000", "asset": USDC,
                     "details": [{"name": "Service fee", "amount": "5.0000000"},
                                 {"name": "PIX fee", "amount": "5.0000000"}]});
    let (a, business) =
        with_business(engine, Reply::Json(json!({"price": "0.18", "fee": fee}))).await;
    let body = json!({"sell_asset": USDC, "buy_asset": BRL, "buy_amount": "500",
                      "buy_delivery_method": "PIX", "country_code": "BR", "context": "sep31"});
    let mut quotes = vec![];
    for (who, kp, partner) in [
        ("alice", &a.alice, "acme-remit"),
        ("bob", &a.bob, "zenith-pay"),
    ] {
        let token = a.srv.token_for(kp, None).await;
        let q = created(post_quote(&a.srv, Some(&token), &body).await, who);
        let mut rest = q.clone();
        rest["id"] = Value::Null;
        rest["expires_at"] = Value::Null;
        assert_eq!(
            rest,
            json!({"id": null, "expires_at": null, "total_price": "0.2", "price": "0.18",
                   "sell_asset": USDC, "sell_amount": "100.0000000",
                   "buy_asset": BRL, "buy_amount": "500.00", "buy_delivery_method": "PIX",
                   "fee": fee}),
            "{who}'s firm quote for 500 BRL"
        );
        let requests = business.requests();
        let last = requests.last().cloned().unwrap_or_default();
        assert_request(
            &last,
            &json!({"type": "firm", "sell_asset": USDC, "buy_asset": BRL, "buy_amount": "500",
                    "buy_delivery_method": "PIX", "country_code": "BR", "context": "sep31",
                    "account": kp.public_key().to_string(), "partner": partner}),
            &format!("{who}'s POST /quote"),
        );
        quotes.push((token, q));
    }
    // With a memo, the account is still the G… account.
    let memo = a.srv.token_for(&a.alice, Some(7)).await;
    created(
        post_quote(&a.srv, Some(&memo), &body).await,
        "alice with memo 7",
    );
    let last = business.requests().last().cloned().unwrap_or_default();
    assert_request(
        &last,
        &json!({"type": "firm", "sell_asset": USDC, "buy_asset": BRL, "buy_amount": "500",
                "buy_delivery_method": "PIX", "country_code": "BR", "context": "sep31",
                "account": a.alice.public_key().to_string(), "partner": "acme-remit"}),
        "alice's POST /quote with memo 7",
    );
    // The business server now fails; the quotes are read as made, and it is
    // not asked again.
    business.set(Reply::Status(500));
    let asked = business.requests().len();
    for (token, q) in &quotes {
        let id = q["id"].as_str().unwrap_or_default();
        assert_eq!(
            get_quote(&a.srv, token, id).await,
            (200, q.clone()),
            "GET /quote/{id}"
        );
    }
    assert_eq!(
        business.requests().len(),
        asked,
        "GET /quote/{{id}} asks for no price"
    );
}

/// /prices asks once per pair offered with the asset, indicatively and
/// without a context.
async fn prices_ask_once_per_pair(engine: Engine) {
    let (a, business) = with_business(engine, five_with_brl_fee()).await;
    let (status, body) = get(
        &a.srv,
        "/prices",
        &[("sell_asset", BRL), ("sell_amount", "542")],
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"buy_assets": [{"asset": USDC, "price": "5.42", "decimals": 7}]})
        ),
        "/prices selling 542 BRL"
    );
    let (status, body) = get(
        &a.srv,
        "/prices",
        &[("buy_asset", USDC), ("buy_amount", "100")],
        None,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"sell_assets": [{"asset": BRL, "price": "5.42", "decimals": 2}]})
        ),
        "/prices buying 100 USDC"
    );
    let requests = business.requests();
    assert_eq!(
        requests.len(),
        2,
        "one request per /prices entry: {requests:?}"
    );
    assert_request(
        &requests[0],
        &json!({"type": "indicative", "sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542"}),
        "/prices selling 542 BRL",
    );
    assert_request(
        &requests[1],
        &json!({"type": "indicative", "sell_asset": BRL, "buy_asset": USDC, "buy_amount": "100"}),
        "/prices buying 100 USDC",
    );
}

/// Each way the business server can fail gives the client 503 with the
/// documented body: no cached price, no partial answer.
async fn business_failures_are_503(engine: Engine) {
    let (a, business) = with_business(engine, five_with_brl_fee()).await;
    let unavailable = (503, json!({"error": UNAVAILABLE}));
    let price = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
        ("context", "sep31"),
    ];
    let (status, body) = get(&a.srv, "/price", &price, None).await;
    assert_eq!(status, 200, "a good answer first: {body}");
    let good = body;
    let failures = [
        ("500", Reply::Status(500)),
        ("404", Reply::Status(404)),
        (
            "malformed JSON",
            Reply::Raw("{\"price\": \"5.00\", \"fee\": "),
        ),
        ("no price", Reply::Json(json!({"fee": brl_fee()}))),
        (
            "a price that is not a number",
            Reply::Json(json!({"price": "five", "fee": brl_fee()})),
        ),
        (
            "a zero price",
            Reply::Json(json!({"price": "0", "fee": brl_fee()})),
        ),
        (
            "a negative price",
            Reply::Json(json!({"price": "-5.00", "fee": brl_fee()})),
        ),
        (
            "a fee in a third asset",
            Reply::Json(
                json!({"price": "5.00", "fee": {"total": "42.00", "asset": "iso4217:ARS"}}),
            ),
        ),
        (
            "a fee that leaves nothing to buy (sell asset)",
            Reply::Json(json!({"price": "5.00", "fee": {"total": "542.00", "asset": BRL}})),
        ),
        (
            "a fee that leaves nothing to buy (buy asset)",
            Reply::Json(json!({"price": "5.00", "fee": {"total": "108.4000000", "asset": USDC}})),
        ),
    ];
    for (what, reply) in failures {
        business.set(reply);
        let got = get(&a.srv, "/price", &price, None).await;
        assert_eq!(
            got, unavailable,
            "/price when the business server answers {what}"
        );
    }
    // Too slow: 2.5 s against price_timeout_secs = 1; the client is not
    // kept waiting for it.
    business.set(Reply::Slow(
        Duration::from_millis(2500),
        json!({"price": "5.00", "fee": brl_fee()}),
    ));
    let started = Instant::now();
    let got = get(&a.srv, "/price", &price, None).await;
    let took = started.elapsed();
    assert_eq!(
        got, unavailable,
        "/price when the business server is too slow"
    );
    assert!(
        took < Duration::from_millis(2400),
        "/price waited {took:?} for a business server given 1 s"
    );
    // The same for /prices and a firm quote.
    business.set(Reply::Status(500));
    let got = get(
        &a.srv,
        "/prices",
        &[("sell_asset", BRL), ("sell_amount", "542")],
        None,
    )
    .await;
    assert_eq!(got, unavailable, "/prices when the business server fails");
    let token = a.alice_token().await;
    let body =
        json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542", "context": "sep31"});
    let got = post_quote(&a.srv, Some(&token), &body).await;
    assert_eq!(
        got, unavailable,
        "POST /quote when the business server fails"
    );
    // Back to a good answer: prices again.
    business.set(five_with_brl_fee());
    assert_eq!(
        get(&a.srv, "/price", &price, None).await,
        (200, good),
        "recovered"
    );
}

/// Nothing listens at price_url: 503.
async fn a_refused_connection_is_503(engine: Engine) {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        format!("http://{addr}/sep38/price")
    };
    let a = start_custom(engine, http_source(&closed), |_| {}).await;
    let unavailable = (503, json!({"error": UNAVAILABLE}));
    let price = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
        ("context", "sep31"),
    ];
    assert_eq!(
        get(&a.srv, "/price", &price, None).await,
        unavailable,
        "/price"
    );
    let token = a.alice_token().await;
    let body =
        json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542", "context": "sep31"});
    let got = post_quote(&a.srv, Some(&token), &body).await;
    assert_eq!(got, unavailable, "POST /quote");
}

on_both_engines!(
    fee_in_the_sell_asset,
    fee_in_the_buy_asset,
    firm_quotes_name_the_account_and_partner,
    prices_ask_once_per_pair,
    business_failures_are_503,
    a_refused_connection_is_503,
);
