//! `GET /sep38/price` with the table source: amounts, prices and fee by the
//! formulas of docs/quotes.md §Amounts, prices and fees, each worked out by
//! hand; `context`; pairs not offered; every refusal `/prices` makes.
//!
//! The table ([`super::table`]): BRL→USDC at 5, fee 2 BRL + 1 %;
//! USDC→BRL at 0.18, fee 1 USDC + 1.5 %; USDC→EURC at 1.1, no fee.

use serde_json::{Value, json};

use super::{ARS, BRL, USDC, assert_refusal, assert_total_price, eurc, get, object_keys, start};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// `GET /price` with `query` and context sep31, expecting 200.
async fn price(srv: &TestServer, query: &[(&str, &str)]) -> Value {
    let mut q = query.to_vec();
    q.push(("context", "sep31"));
    let (status, body) = get(srv, "/price", &q, None).await;
    assert_eq!(status, 200, "GET /price {query:?}: {body}");
    body
}

/// Asserts a `/price` answer: every field as `expected`, except that a
/// `total_price` of `null` there means "sell_amount / buy_amount to 10
/// places" (a quotient that does not end within 10 places).
#[track_caller]
fn assert_price(got: &Value, expected: &Value, what: &str) {
    assert_eq!(
        object_keys(got),
        ["buy_amount", "fee", "price", "sell_amount", "total_price"],
        "{what}: the fields of /price, no more: {got}"
    );
    if expected["total_price"].is_null() {
        let sell = expected["sell_amount"].as_str().unwrap_or_default();
        let buy = expected["buy_amount"].as_str().unwrap_or_default();
        assert_total_price(&got["total_price"], sell, buy, what);
        let mut rest = got.clone();
        rest["total_price"] = Value::Null;
        assert_eq!(&rest, expected, "{what}");
    } else {
        assert_eq!(got, expected, "{what}");
    }
}

async fn price_for_a_sell_amount_follows_the_table_formulas(engine: Engine) {
    let a = start(engine).await;
    let eurc = eurc();
    let cases: [(&str, &str, &str, Value); 4] = [
        // fee = 2 + 542 × 1 % = 7.42 BRL; buy = (542 − 7.42) / 5 = 106.916.
        // The price "5.00" is written "5"; 542 is written with BRL's 2 places.
        (
            BRL,
            USDC,
            "542",
            json!({"total_price": null, "price": "5", "sell_amount": "542.00",
                   "buy_amount": "106.9160000", "fee": {"total": "7.42", "asset": BRL}}),
        ),
        // fee = 2 + 5.4201 = 7.4201, rounded UP to cents: 7.43;
        // buy = (542.01 − 7.43) / 5 = 106.916.
        (
            BRL,
            USDC,
            "542.01",
            json!({"total_price": null, "price": "5", "sell_amount": "542.01",
                   "buy_amount": "106.9160000", "fee": {"total": "7.43", "asset": BRL}}),
        ),
        // fee = 1 + 100 × 1.5 % = 2.5 USDC; buy = 97.5 / 0.18 = 541.666…,
        // rounded DOWN to cents: 541.66.
        (
            USDC,
            BRL,
            "100",
            json!({"total_price": null, "price": "0.18", "sell_amount": "100.0000000",
                   "buy_amount": "541.66", "fee": {"total": "2.5000000", "asset": USDC}}),
        ),
        // No fee; buy = 100 / 1.1 = 90.909090…, down to EURC's 4 places.
        (
            USDC,
            eurc.as_str(),
            "100",
            json!({"total_price": null, "price": "1.1", "sell_amount": "100.0000000",
                   "buy_amount": "90.9090", "fee": {"total": "0.0000000", "asset": USDC}}),
        ),
    ];
    for (sell, buy, amount, expected) in cases {
        let got = price(
            &a.srv,
            &[
                ("sell_asset", sell),
                ("buy_asset", buy),
                ("sell_amount", amount),
            ],
        )
        .await;
        assert_price(&got, &expected, &format!("sell {amount} {sell} for {buy}"));
    }
}

async fn price_for_a_buy_amount_follows_the_table_formulas(engine: Engine) {
    let a = start(engine).await;
    let eurc = eurc();
    let cases: [(&str, &str, &str, Value); 3] = [
        // The smallest S at cents with S − ⌈2 + S/100⌉ ≥ 5 × 100: 507.08
        // (fee 7.08; 507.07 − 7.08 = 499.99 falls short). 507.08 / 100.
        (
            BRL,
            USDC,
            "100",
            json!({"total_price": "5.0708", "price": "5", "sell_amount": "507.08",
                   "buy_amount": "100.0000000", "fee": {"total": "7.08", "asset": BRL}}),
        ),
        // The smallest S at 7 places with S − ⌈1 + 0.015 S⌉ ≥ 0.18 × 500 = 90:
        // 92.3857869 (fee 1 + 1.3857868035 → 2.3857869; one unit less gives
        // 89.9999999). 92.3857869 / 500 = 0.1847715738.
        (
            USDC,
            BRL,
            "500",
            json!({"total_price": "0.1847715738", "price": "0.18",
                   "sell_amount": "92.3857869", "buy_amount": "500.00",
                   "fee": {"total": "2.3857869", "asset": USDC}}),
        ),
        // 10 EURC at 1.1, no fee: 11 USDC.
        (
            USDC,
            eurc.as_str(),
            "10",
            json!({"total_price": "1.1", "price": "1.1", "sell_amount": "11.0000000",
                   "buy_amount": "10.0000", "fee": {"total": "0.0000000", "asset": USDC}}),
        ),
    ];
    for (sell, buy, amount, expected) in cases {
        let got = price(
            &a.srv,
            &[
                ("sell_asset", sell),
                ("buy_asset", buy),
                ("buy_amount", amount),
            ],
        )
        .await;
        assert_price(&got, &expected, &format!("buy {amount} {buy} with {sell}"));
    }
}

/// Delivery methods and a country the assets list change nothing in the
/// table's answer.
async fn price_accepts_the_delivery_methods_and_country_listed(engine: Engine) {
    let a = start(engine).await;
    let plain = price(
        &a.srv,
        &[
            ("sell_asset", BRL),
            ("buy_asset", USDC),
            ("sell_amount", "542"),
        ],
    )
    .await;
    let with = price(
        &a.srv,
        &[
            ("sell_asset", BRL),
            ("buy_asset", USDC),
            ("sell_amount", "542"),
            ("sell_delivery_method", "PIX"),
            ("country_code", "BR"),
        ],
    )
    .await;
    assert_eq!(with, plain, "sell BRL by PIX in BR");
    let plain = price(
        &a.srv,
        &[
            ("sell_asset", USDC),
            ("buy_asset", BRL),
            ("buy_amount", "500"),
        ],
    )
    .await;
    for method in ["PIX", "cash"] {
        let with = price(
            &a.srv,
            &[
                ("sell_asset", USDC),
                ("buy_asset", BRL),
                ("buy_amount", "500"),
                ("buy_delivery_method", method),
            ],
        )
        .await;
        assert_eq!(with, plain, "buy BRL by {method}");
    }
}

async fn price_needs_a_known_context(engine: Engine) {
    let a = start(engine).await;
    let pair = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
    ];
    let got = get(&a.srv, "/price", &pair, None).await;
    assert_refusal(&got, 400, "GET /price without context");
    for context in ["sep24", "sep12", "", "SEP31"] {
        let mut q = pair.to_vec();
        q.push(("context", context));
        let got = get(&a.srv, "/price", &q, None).await;
        assert_refusal(&got, 400, &format!("GET /price with context={context:?}"));
    }
    let sep31 = price(&a.srv, &pair).await;
    let mut q = pair.to_vec();
    q.push(("context", "sep6"));
    let (status, sep6) = get(&a.srv, "/price", &q, None).await;
    assert_eq!(status, 200, "GET /price with context=sep6: {sep6}");
    assert_eq!(
        sep6, sep31,
        "the table's price does not depend on the context"
    );
}

/// A pair not offered is 400 with the documented message: assets in no
/// pair together, the reverse of an offered direction, an unknown asset.
async fn price_of_a_pair_not_offered_is_400(engine: Engine) {
    let a = start(engine).await;
    let eurc = eurc();
    for (sell, buy) in [
        (BRL, eurc.as_str()),
        (eurc.as_str(), USDC),
        (ARS, USDC),
        (BRL, ARS),
    ] {
        let got = get(
            &a.srv,
            "/price",
            &[
                ("sell_asset", sell),
                ("buy_asset", buy),
                ("sell_amount", "10"),
                ("context", "sep31"),
            ],
            None,
        )
        .await;
        let error = assert_refusal(&got, 400, &format!("GET /price {sell} → {buy}"));
        assert_eq!(
            error,
            format!("this anchor does not exchange {sell} for {buy}; see GET /prices"),
            "GET /price {sell} → {buy}"
        );
    }
    for (sell, buy) in [(USDC, USDC), (BRL, "iso4217:JPY"), ("USDC", BRL)] {
        let got = get(
            &a.srv,
            "/price",
            &[
                ("sell_asset", sell),
                ("buy_asset", buy),
                ("sell_amount", "10"),
                ("context", "sep31"),
            ],
            None,
        )
        .await;
        assert_refusal(&got, 400, &format!("GET /price {sell} → {buy}"));
    }
}

/// Query pairs.
type Query<'a> = [(&'a str, &'a str)];

async fn price_refusals_are_400(engine: Engine) {
    let a = start(engine).await;
    let brl_usdc = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("context", "sep31"),
    ];
    let usdc_brl = [
        ("sell_asset", USDC),
        ("buy_asset", BRL),
        ("context", "sep31"),
    ];
    let cases: &[(&str, &Query, &Query)] = &[
        (
            "both amounts",
            &brl_usdc,
            &[("sell_amount", "542"), ("buy_amount", "100")],
        ),
        ("neither amount", &brl_usdc, &[]),
        (
            "no sell_asset",
            &[("buy_asset", USDC), ("context", "sep31")],
            &[("sell_amount", "542")],
        ),
        (
            "no buy_asset",
            &[("sell_asset", BRL), ("context", "sep31")],
            &[("sell_amount", "542")],
        ),
        ("amount zero", &brl_usdc, &[("sell_amount", "0")]),
        ("buy amount zero", &brl_usdc, &[("buy_amount", "0.0000000")]),
        ("negative amount", &brl_usdc, &[("sell_amount", "-542")]),
        (
            "amount not a number",
            &brl_usdc,
            &[("sell_amount", "542 BRL")],
        ),
        ("3 places for BRL", &brl_usdc, &[("sell_amount", "542.001")]),
        (
            "8 places for USDC",
            &brl_usdc,
            &[("buy_amount", "100.00000001")],
        ),
        (
            "a sell method BRL does not list",
            &brl_usdc,
            &[("sell_amount", "542"), ("sell_delivery_method", "wire")],
        ),
        (
            "a buy-side method as BRL's sell method",
            &brl_usdc,
            &[("sell_amount", "542"), ("sell_delivery_method", "cash")],
        ),
        (
            "a buy method BRL does not list",
            &usdc_brl,
            &[("sell_amount", "100"), ("buy_delivery_method", "wire")],
        ),
        (
            "a delivery method for USDC, which lists none",
            &usdc_brl,
            &[("sell_amount", "100"), ("sell_delivery_method", "PIX")],
        ),
        (
            "a country BRL does not list",
            &brl_usdc,
            &[("sell_amount", "542"), ("country_code", "AR")],
        ),
        // fee = 2 + 0.0202 → 2.03 > 2.02.
        (
            "a sell amount under the fee",
            &brl_usdc,
            &[("sell_amount", "2.02")],
        ),
        // fee = 2 + 0.0203 → 2.03: nothing left.
        (
            "a sell amount equal to the fee",
            &brl_usdc,
            &[("sell_amount", "2.03")],
        ),
        // fee = 1 + 0.0152295 = 1.0152295; 0.0000705 / 0.18 = 0.0004 BRL,
        // 0.00 at cents.
        (
            "a sell amount that buys nothing",
            &usdc_brl,
            &[("sell_amount", "1.0153")],
        ),
    ];
    for (what, pair, rest) in cases {
        let mut q = pair.to_vec();
        q.extend_from_slice(rest);
        let got = get(&a.srv, "/price", &q, None).await;
        assert_refusal(&got, 400, &format!("GET /price with {what} {q:?}"));
    }
}

on_both_engines!(
    price_for_a_sell_amount_follows_the_table_formulas,
    price_for_a_buy_amount_follows_the_table_formulas,
    price_accepts_the_delivery_methods_and_country_listed,
    price_needs_a_known_context,
    price_of_a_pair_not_offered_is_400,
    price_refusals_are_400,
);
