//! `GET /sep38/prices` both ways (SEP-38 §GET Prices): one entry per pair
//! offered with the asset, its `price` the `total_price` that `/price`
//! answers for the same amount (fees included), `decimals` the other
//! asset's; an empty list for an asset without pairs; every documented 400.

use serde_json::{Value, json};

use super::{ARS, BRL, USDC, assert_refusal, assert_total_price, eurc, get, start};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// `/price`'s `total_price` for one pair and amount (context sep31).
async fn total_price(srv: &TestServer, query: &[(&str, &str)]) -> Value {
    let mut q = query.to_vec();
    q.push(("context", "sep31"));
    let (status, body) = get(srv, "/price", &q, None).await;
    assert_eq!(status, 200, "GET /price {query:?}: {body}");
    body["total_price"].clone()
}

async fn prices_for_a_sell_asset_list_each_asset_it_buys(engine: Engine) {
    let a = start(engine).await;
    let eurc = eurc();
    // 542 BRL: fee 2 + 5.42 = 7.42, buys (542 − 7.42) / 5 = 106.916 USDC.
    let (status, body) = get(
        &a.srv,
        "/prices",
        &[("sell_asset", BRL), ("sell_amount", "542")],
        None,
    )
    .await;
    assert_eq!(
        status, 200,
        "GET /prices?sell_asset=BRL&sell_amount=542: {body}"
    );
    let price = total_price(
        &a.srv,
        &[
            ("sell_asset", BRL),
            ("buy_asset", USDC),
            ("sell_amount", "542"),
        ],
    )
    .await;
    assert_total_price(&price, "542", "106.916", "/prices sell 542 BRL");
    assert_eq!(
        body,
        json!({"buy_assets": [{"asset": USDC, "price": price, "decimals": 7}]}),
        "sell 542 BRL: one entry, priced as /price prices it"
    );

    // 100 USDC: BRL (fee 2.5, buys 97.5 / 0.18 = 541.66 BRL), then EURC
    // (no fee, buys 100 / 1.1 = 90.9090 EURC), in configuration order.
    let (status, body) = get(
        &a.srv,
        "/prices",
        &[("sell_asset", USDC), ("sell_amount", "100")],
        None,
    )
    .await;
    assert_eq!(
        status, 200,
        "GET /prices?sell_asset=USDC&sell_amount=100: {body}"
    );
    let to_brl = total_price(
        &a.srv,
        &[
            ("sell_asset", USDC),
            ("buy_asset", BRL),
            ("sell_amount", "100"),
        ],
    )
    .await;
    let to_eurc = total_price(
        &a.srv,
        &[
            ("sell_asset", USDC),
            ("buy_asset", eurc.as_str()),
            ("sell_amount", "100"),
        ],
    )
    .await;
    assert_total_price(&to_brl, "100", "541.66", "/prices sell 100 USDC for BRL");
    assert_total_price(&to_eurc, "100", "90.9090", "/prices sell 100 USDC for EURC");
    assert_eq!(
        body,
        json!({"buy_assets": [
            {"asset": BRL, "price": to_brl, "decimals": 2},
            {"asset": eurc, "price": to_eurc, "decimals": 4},
        ]}),
        "sell 100 USDC: BRL then EURC, each with its own decimals"
    );
}

async fn prices_for_a_buy_asset_list_each_asset_that_buys_it(engine: Engine) {
    let a = start(engine).await;
    let eurc = eurc();
    let cases: [(&str, &str, Value); 3] = [
        // 100 USDC: the smallest BRL amount S with S − (2 + S/100 rounded
        // up to cents) ≥ 500 is 507.08 (fee 7.08); 507.08 / 100.
        (
            USDC,
            "100",
            json!({"sell_assets": [{"asset": BRL, "price": "5.0708", "decimals": 2}]}),
        ),
        // 500 BRL: S − (1 + 0.015 S rounded up) ≥ 90 first at 92.3857869
        // (fee 2.3857869); 92.3857869 / 500 = 0.1847715738 exactly.
        (
            BRL,
            "500",
            json!({"sell_assets": [{"asset": USDC, "price": "0.1847715738", "decimals": 7}]}),
        ),
        // 10 EURC: 11 USDC, no fee; 11 / 10.
        (
            eurc.as_str(),
            "10",
            json!({"sell_assets": [{"asset": USDC, "price": "1.1", "decimals": 7}]}),
        ),
    ];
    for (asset, amount, expected) in cases {
        let (status, body) = get(
            &a.srv,
            "/prices",
            &[("buy_asset", asset), ("buy_amount", amount)],
            None,
        )
        .await;
        assert_eq!(
            status, 200,
            "GET /prices?buy_asset={asset}&buy_amount={amount}: {body}"
        );
        assert_eq!(
            body, expected,
            "GET /prices?buy_asset={asset}&buy_amount={amount}"
        );
    }
}

/// A configured asset in no pair (ARS), or in none on that side (EURC is
/// only bought): an empty list, not an error.
async fn prices_of_an_asset_without_pairs_are_an_empty_list(engine: Engine) {
    let a = start(engine).await;
    let eurc = eurc();
    let cases: [(&str, &str, &str, Value); 3] = [
        ("sell_asset", ARS, "sell_amount", json!({"buy_assets": []})),
        ("buy_asset", ARS, "buy_amount", json!({"sell_assets": []})),
        (
            "sell_asset",
            eurc.as_str(),
            "sell_amount",
            json!({"buy_assets": []}),
        ),
    ];
    for (side, asset, amount, expected) in cases {
        let (status, body) = get(&a.srv, "/prices", &[(side, asset), (amount, "10")], None).await;
        assert_eq!(
            status, 200,
            "GET /prices?{side}={asset}&{amount}=10: {body}"
        );
        assert_eq!(body, expected, "GET /prices?{side}={asset}&{amount}=10");
    }
}

/// Every refusal docs/quotes.md lists for `/prices` is 400 `{"error"}`.
async fn prices_refusals_are_400(engine: Engine) {
    let a = start(engine).await;
    let eurc = eurc();
    let cases: &[(&str, &[(&str, &str)])] = &[
        (
            "both assets",
            &[
                ("sell_asset", USDC),
                ("sell_amount", "100"),
                ("buy_asset", BRL),
                ("buy_amount", "100"),
            ],
        ),
        ("neither asset", &[("sell_amount", "100")]),
        ("no parameters", &[]),
        ("sell_asset without an amount", &[("sell_asset", USDC)]),
        ("buy_asset without an amount", &[("buy_asset", BRL)]),
        (
            "sell_asset with buy_amount",
            &[("sell_asset", USDC), ("buy_amount", "100")],
        ),
        (
            "buy_asset with sell_amount",
            &[("buy_asset", BRL), ("sell_amount", "100")],
        ),
        ("amount zero", &[("sell_asset", USDC), ("sell_amount", "0")]),
        (
            "amount 0.00",
            &[("sell_asset", BRL), ("sell_amount", "0.00")],
        ),
        (
            "negative amount",
            &[("sell_asset", USDC), ("sell_amount", "-1")],
        ),
        (
            "amount not a number",
            &[("sell_asset", USDC), ("sell_amount", "ten")],
        ),
        ("empty amount", &[("sell_asset", USDC), ("sell_amount", "")]),
        (
            "exponent amount",
            &[("sell_asset", USDC), ("sell_amount", "1e2")],
        ),
        (
            "3 places for BRL (2)",
            &[("sell_asset", BRL), ("sell_amount", "542.001")],
        ),
        (
            "8 places for USDC (7)",
            &[("buy_asset", USDC), ("buy_amount", "1.00000001")],
        ),
        (
            "5 places for EURC (4)",
            &[("buy_asset", eurc.as_str()), ("buy_amount", "1.00001")],
        ),
        (
            "an unknown asset",
            &[("sell_asset", "iso4217:JPY"), ("sell_amount", "100")],
        ),
        (
            "not a SEP-38 asset",
            &[("sell_asset", "USDC"), ("sell_amount", "100")],
        ),
        (
            "a sell delivery method BRL does not list",
            &[
                ("sell_asset", BRL),
                ("sell_amount", "542"),
                ("sell_delivery_method", "wire"),
            ],
        ),
        (
            "a buy delivery method BRL does not list",
            &[
                ("buy_asset", BRL),
                ("buy_amount", "500"),
                ("buy_delivery_method", "wire"),
            ],
        ),
        (
            "a country BRL does not list",
            &[
                ("sell_asset", BRL),
                ("sell_amount", "542"),
                ("country_code", "AR"),
            ],
        ),
    ];
    for (what, query) in cases {
        let got = get(&a.srv, "/prices", query, None).await;
        assert_refusal(&got, 400, &format!("GET /prices with {what} {query:?}"));
    }
    // What BRL does list is accepted.
    let (status, body) = get(
        &a.srv,
        "/prices",
        &[
            ("sell_asset", BRL),
            ("sell_amount", "542"),
            ("sell_delivery_method", "PIX"),
            ("country_code", "BR"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "GET /prices sell BRL by PIX in BR: {body}");
    let (status, body) = get(
        &a.srv,
        "/prices",
        &[
            ("buy_asset", BRL),
            ("buy_amount", "500"),
            ("buy_delivery_method", "cash"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "GET /prices buy BRL in cash: {body}");
}

on_both_engines!(
    prices_for_a_sell_asset_list_each_asset_it_buys,
    prices_for_a_buy_asset_list_each_asset_that_buys_it,
    prices_of_an_asset_without_pairs_are_an_empty_list,
    prices_refusals_are_400,
);
