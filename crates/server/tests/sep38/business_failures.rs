//! The business server's failures (docs/quotes.md §The business server's
//! price): every way of failing, and every absurd answer, is 503 with the
//! documented body — never 500, never a stale price; a fee that leaves
//! nothing to buy is the client's 400 on `/price` and `POST /quote`, and
//! leaves that pair out of `/prices`.

use std::time::Duration;

use serde_json::{Value, json};

use super::stub::{Business, Reply, brl_fee, five_with_brl_fee, http_source, with_business};
use super::{BRL, UNAVAILABLE, USDC, assert_refusal, eurc, get, post_quote, start_custom};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// Each way the business server can fail gives the client 503 with the
/// documented body: no cached price, no partial answer. (A fee that leaves
/// nothing to buy is the client's amount's fault: 400, below.)
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
            Reply::Raw("{\"price\": \"5.00\", \"fee\": ".into()),
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
    ];
    for (what, reply) in failures {
        business.set(reply);
        let got = get(&a.srv, "/price", &price, None).await;
        assert_eq!(
            got, unavailable,
            "/price when the business server answers {what}"
        );
    }
    // A business server that hangs (60 s, against price_timeout_secs = 1)
    // still lets the client have its 503. A liveness check, not a speed
    // claim (DESIGN.md: no timed assertions in tests): the 30 s bound only
    // keeps a server that waits for the business server from hanging the
    // test; nothing is asserted about how long the answer took.
    business.set(Reply::Slow(
        Duration::from_secs(60),
        json!({"price": "5.00", "fee": brl_fee()}),
    ));
    let got = tokio::time::timeout(Duration::from_secs(30), get(&a.srv, "/price", &price, None))
        .await
        .expect("/price answers while the business server hangs (liveness, not timing)");
    assert_eq!(got, unavailable, "/price when the business server hangs");
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

/// BRL → USDC asked every way the business server is asked: `/price` for
/// a sell and a buy amount, `/prices` for a sell amount, and a firm quote
/// (alice's `token`); (what, status, body).
async fn asked_every_way(srv: &TestServer, token: &str) -> Vec<(&'static str, (u16, Value))> {
    let price = |amount: &'static str, value: &'static str| {
        [
            ("sell_asset", BRL),
            ("buy_asset", USDC),
            (amount, value),
            ("context", "sep31"),
        ]
    };
    let quote =
        json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542", "context": "sep31"});
    vec![
        (
            "/price selling 542 BRL",
            get(srv, "/price", &price("sell_amount", "542"), None).await,
        ),
        (
            "/price buying 100 USDC",
            get(srv, "/price", &price("buy_amount", "100"), None).await,
        ),
        (
            "/prices selling 542 BRL",
            get(
                srv,
                "/prices",
                &[("sell_asset", BRL), ("sell_amount", "542")],
                None,
            )
            .await,
        ),
        (
            "POST /quote selling 542 BRL",
            post_quote(srv, Some(token), &quote).await,
        ),
    ]
}

/// 200 JSON padded with whitespace to `len` bytes: still the documented
/// body, 5 BRL per USDC and a fee of 42 BRL.
fn padded(len: usize) -> Reply {
    let body = json!({"price": "5.00", "fee": {"total": "42.00", "asset": BRL}}).to_string();
    let (open, close) = body.split_at(body.len() - 1);
    let pad = len.saturating_sub(body.len());
    Reply::Raw(format!("{open}{}{close}", " ".repeat(pad)))
}

/// Figures no business server means, and a body past 64 KiB: 503 with
/// the documented body on every endpoint, never 500 (and never 400, even
/// where the figure would leave nothing to buy).
async fn absurd_answers_are_503(engine: Engine) {
    let (a, business) = with_business(engine, five_with_brl_fee()).await;
    let token = a.alice_token().await;
    let unavailable = (503, json!({"error": UNAVAILABLE}));
    let with_price = |p: &str| json!({"price": p, "fee": {"total": "42.00", "asset": BRL}});
    let with_fee = |total: &str, asset: &str| json!({"price": "5.00", "fee": {"total": total, "asset": asset}});
    let cases = [
        (
            "a price below 10⁻¹⁰ (0.00000000001)",
            Reply::Json(with_price("0.00000000001")),
        ),
        (
            "a price above 922337203685",
            Reply::Json(with_price("922337203686")),
        ),
        (
            "a price of 10³⁰",
            Reply::Json(with_price(&format!("1{}", "0".repeat(30)))),
        ),
        (
            "a fee above 922337203685 (in BRL, the sell asset)",
            Reply::Json(with_fee("922337203686", BRL)),
        ),
        (
            "a fee above 922337203685 (in USDC, the buy asset)",
            Reply::Json(with_fee("922337203686", USDC)),
        ),
        ("a body of 70,000 bytes (over 64 KiB)", padded(70_000)),
    ];
    for (what, reply) in cases {
        business.set(reply);
        for (asked, got) in asked_every_way(&a.srv, &token).await {
            assert_eq!(
                got, unavailable,
                "{asked} when the business server answers {what}"
            );
        }
    }
}

/// What looks odd but means a sane price is taken as meant: 30 (or 27)
/// decimal places of zeros in a price or a fee, a body just under 64 KiB.
async fn odd_but_sane_answers_are_priced(engine: Engine) {
    let (a, business) = with_business(engine, five_with_brl_fee()).await;
    // 542 BRL at 5, fee 42 BRL: (542 − 42) / 5 = 100 USDC.
    let expected = json!({"total_price": "5.42", "price": "5", "sell_amount": "542.00",
                          "buy_amount": "100.0000000",
                          "fee": {"total": "42.00", "asset": BRL}});
    let q = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
        ("context", "sep31"),
    ];
    let zeros = |n: usize| "0".repeat(n);
    let cases = [
        // 27 places (within Decimal's 28).
        (
            "5.000000000000000000000000000".to_owned(),
            "42.00".to_owned(),
        ),
        (format!("5.{}", zeros(30)), "42.00".to_owned()),
        ("5.00".to_owned(), format!("42.{}", zeros(30))),
        (format!("5.{}", zeros(30)), format!("42.{}", zeros(30))),
    ];
    // Every case is tried before failing, so a failure lists them all.
    let mut wrong = vec![];
    for (price, fee) in cases {
        business.set(Reply::Json(
            json!({"price": price, "fee": {"total": fee, "asset": BRL}}),
        ));
        let got = get(&a.srv, "/price", &q, None).await;
        if got != (200, expected.clone()) {
            wrong.push(format!(
                "price {price:?} ({} places), fee {fee:?}: got {} {}",
                price.split_once('.').map_or(0, |(_, f)| f.len()),
                got.0,
                got.1
            ));
        }
    }
    business.set(padded(60_000));
    let got = get(&a.srv, "/price", &q, None).await;
    if got != (200, expected.clone()) {
        wrong.push(format!("a body of 60,000 bytes: got {} {}", got.0, got.1));
    }
    assert!(
        wrong.is_empty(),
        "/price of 542 BRL must be 200 {expected} when the business server answers:\n{}",
        wrong.join("\n")
    );
}

/// A fee that leaves nothing of the client's `sell_amount` to buy with is
/// the amount's fault: 400 `{"error"}` on `/price` and `POST /quote`, not
/// the business server's 503.
async fn a_fee_that_leaves_nothing_to_buy_is_400(engine: Engine) {
    let (a, business) = with_business(engine, five_with_brl_fee()).await;
    let token = a.alice_token().await;
    let price = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
        ("context", "sep31"),
    ];
    let quote =
        json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542", "context": "sep31"});
    // Selling 542 BRL at 5 BRL per USDC.
    let cases = [
        ("a fee of all 542 BRL", "542.00", BRL),
        ("a fee of 600 BRL, more than sold", "600.00", BRL),
        ("a fee of all 108.4 USDC bought", "108.4000000", USDC),
        ("a fee of 200 USDC, more than bought", "200.0000000", USDC),
    ];
    for (what, total, asset) in cases {
        business.set(Reply::Json(
            json!({"price": "5.00", "fee": {"total": total, "asset": asset}}),
        ));
        for (asked, got) in [
            ("/price", get(&a.srv, "/price", &price, None).await),
            (
                "POST /quote",
                post_quote(&a.srv, Some(&token), &quote).await,
            ),
        ] {
            let error = assert_refusal(&got, 400, &format!("{asked} selling 542 BRL, {what}"));
            assert_ne!(
                error, UNAVAILABLE,
                "{asked} selling 542 BRL, {what}: the amount's fault, not the business server's"
            );
        }
    }
}

/// USDC → BRL: the fee is all 100 USDC sold; USDC → EURC: 1.25 USDC per
/// EURC, no fee (100 USDC buy 80 EURC).
fn nothing_for_brl(ask: &Value) -> Value {
    if ask["buy_asset"] == BRL {
        json!({"price": "0.18", "fee": {"total": "100.0000000", "asset": USDC}})
    } else {
        json!({"price": "1.25", "fee": {"total": "0", "asset": USDC}})
    }
}

/// USDC → BRL: 0.2 USDC per BRL, no fee (100 USDC buy 500 BRL); USDC →
/// EURC: the fee is all 100 USDC sold.
fn nothing_for_eurc(ask: &Value) -> Value {
    if ask["buy_asset"] == BRL {
        json!({"price": "0.2", "fee": {"total": "0", "asset": USDC}})
    } else {
        json!({"price": "1.25", "fee": {"total": "100.0000000", "asset": USDC}})
    }
}

/// `/prices` leaves out a pair whose fee leaves nothing to buy and lists
/// the others; with none left, an empty list (200, not 400 nor 503).
async fn prices_leave_out_a_pair_whose_fee_leaves_nothing(engine: Engine) {
    let (business, url) = Business::start(Reply::Per(nothing_for_brl)).await;
    let mut sep38 = http_source(&url);
    if let Some(prices) = sep38["prices"].as_array_mut() {
        prices.push(json!({"sell_asset": USDC, "buy_asset": eurc()}));
    }
    let a = start_custom(engine, sep38, |_| {}).await;
    let prices = [("sell_asset", USDC), ("sell_amount", "100")];
    let got = get(&a.srv, "/prices", &prices, None).await;
    assert_eq!(
        got,
        (
            200,
            json!({"buy_assets": [{"asset": eurc(), "price": "1.25", "decimals": 4}]})
        ),
        "/prices selling 100 USDC when the fee for BRL is all of it"
    );
    let price = [
        ("sell_asset", USDC),
        ("buy_asset", BRL),
        ("sell_amount", "100"),
        ("context", "sep31"),
    ];
    let got = get(&a.srv, "/price", &price, None).await;
    assert_refusal(&got, 400, "/price USDC → BRL when the fee is all of it");
    business.set(Reply::Per(nothing_for_eurc));
    let got = get(&a.srv, "/prices", &prices, None).await;
    assert_eq!(
        got,
        (
            200,
            json!({"buy_assets": [{"asset": BRL, "price": "0.2", "decimals": 2}]})
        ),
        "/prices selling 100 USDC when the fee for EURC is all of it"
    );
    business.set(Reply::Json(
        json!({"price": "1", "fee": {"total": "100.0000000", "asset": USDC}}),
    ));
    let got = get(&a.srv, "/prices", &prices, None).await;
    assert_eq!(
        got,
        (200, json!({"buy_assets": []})),
        "/prices selling 100 USDC when every fee is all of it"
    );
}

on_both_engines!(
    business_failures_are_503,
    a_refused_connection_is_503,
    absurd_answers_are_503,
    odd_but_sane_answers_are_priced,
    a_fee_that_leaves_nothing_to_buy_is_400,
    prices_leave_out_a_pair_whose_fee_leaves_nothing,
);
