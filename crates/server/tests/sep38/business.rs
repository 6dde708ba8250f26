//! `price_source = "http"` (docs/quotes.md §The business server's price):
//! what Mooring asks the business server of [`super::stub`] — indicative
//! asks without an id, firm ones with the quote's `id` and `expires_at` —
//! and the amounts it makes of the answer, by SEP-38 §Price Formulas for a
//! fee in `sell_asset` and in `buy_asset`. Failures are in
//! [`super::business_failures`].

use serde_json::{Value, json};

use super::stub::{
    Business, Reply, assert_request, brl_fee, five_with_brl_fee, http_source, with_business,
};
use super::{
    ACME, BRL, USDC, ZENITH, assert_refusal, created, get, get_quote, now, post_quote, rfc3339,
    start_custom,
};
use crate::common::Engine;
use crate::on_both_engines;

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
    for (who, kp, partner) in [("alice", &a.alice, ACME), ("bob", &a.bob, ZENITH)] {
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
                    "account": kp.public_key().to_string(), "partner": partner,
                    "id": q["id"], "expires_at": q["expires_at"]}),
            &format!("{who}'s POST /quote"),
        );
        quotes.push((token, q));
    }
    // With a memo, the account is still the G… account, and the memo says
    // which of its customers asks.
    let memo = a.srv.token_for(&a.alice, Some(7)).await;
    let q = created(
        post_quote(&a.srv, Some(&memo), &body).await,
        "alice with memo 7",
    );
    let last = business.requests().last().cloned().unwrap_or_default();
    assert_request(
        &last,
        &json!({"type": "firm", "sell_asset": USDC, "buy_asset": BRL, "buy_amount": "500",
                "buy_delivery_method": "PIX", "country_code": "BR", "context": "sep31",
                "account": a.alice.public_key().to_string(), "memo": "7", "partner": ACME,
                "id": q["id"], "expires_at": q["expires_at"]}),
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

/// A firm ask names the quote it is for: its `id` (a UUID, the one
/// answered) and its `expires_at` (the one answered, also when
/// `expire_after` sets it); an indicative ask names none (null).
async fn firm_asks_carry_the_quotes_id_and_expiry(engine: Engine) {
    let (a, business) = with_business(engine, five_with_brl_fee()).await;
    let token = a.alice_token().await;
    let t = now(&a.srv);
    let mut ids = vec![];
    for (what, expire_after, expires) in [
        ("no expire_after", None, rfc3339(t + 300)),
        (
            "expire_after in 1000 s",
            Some(rfc3339(t + 1000)),
            rfc3339(t + 1000),
        ),
    ] {
        let mut body =
            json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542", "context": "sep31"});
        if let Some(after) = expire_after {
            body["expire_after"] = json!(after);
        }
        let q = created(post_quote(&a.srv, Some(&token), &body).await, what);
        let id = q["id"].as_str().unwrap_or_default().to_owned();
        assert!(
            uuid::Uuid::parse_str(&id).is_ok(),
            "{what}: the quote's id is a UUID: {q}"
        );
        assert_eq!(q["expires_at"], json!(expires), "{what}: {q}");
        let last = business.requests().last().cloned().unwrap_or_default();
        assert_request(
            &last,
            &json!({"type": "firm", "sell_asset": BRL, "buy_asset": USDC, "sell_amount": "542",
                    "context": "sep31", "account": a.alice.public_key().to_string(),
                    "partner": ACME, "id": id, "expires_at": expires}),
            &format!("the firm ask of POST /quote with {what}"),
        );
        assert_eq!(
            get_quote(&a.srv, &token, &id).await,
            (200, q),
            "{what}: GET /quote/{id}"
        );
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "two quotes, two ids in their asks");
    // An indicative ask after them: no id, no expiry.
    let q = [
        ("sell_asset", BRL),
        ("buy_asset", USDC),
        ("sell_amount", "542"),
        ("context", "sep31"),
    ];
    let (status, body) = get(&a.srv, "/price", &q, None).await;
    assert_eq!(status, 200, "/price: {body}");
    let last = business.requests().last().cloned().unwrap_or_default();
    assert_request(
        &last,
        &json!({"type": "indicative", "sell_asset": BRL, "buy_asset": USDC,
                "sell_amount": "542", "context": "sep31"}),
        "/price after the quotes (indicative: id and expires_at null)",
    );
}

/// Given `sell_amount`, the amount a KYC limit on `quote` counts is known
/// before any price: a denial asks the business server nothing.
async fn a_kyc_denial_of_a_sell_amount_asks_no_price(engine: Engine) {
    let (business, url) = Business::start(five_with_brl_fee()).await;
    let a = start_custom(engine, http_source(&url), |c| {
        c.limits.rules = serde_json::from_value(json!([
            {"name": "unverified-quotes", "op": "quote", "asset": BRL, "threshold": "100"},
        ]))
        .expect("limits rules deserialize");
    })
    .await;
    let token = a.alice_token().await;
    let sell = |amount: &str| json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": amount, "context": "sep31"});
    let got = post_quote(&a.srv, Some(&token), &sell("542")).await;
    let error = assert_refusal(&got, 403, "selling 542 BRL over a limit of 100");
    assert!(
        error.contains("/kyc-check"),
        "selling 542 BRL over a limit of 100: the 403 must name /kyc-check: {error}"
    );
    let asked = business.requests();
    assert!(
        asked.is_empty(),
        "a quote the limits deny for its sell_amount asks the business server nothing; it was asked {asked:?}"
    );
    // Within the limit: asked once, and made (fee 42 BRL: 58 / 5 = 11.6 USDC).
    let q = created(
        post_quote(&a.srv, Some(&token), &sell("100")).await,
        "selling 100 BRL, the limit",
    );
    assert_eq!(q["buy_amount"], "11.6000000", "selling 100 BRL: {q}");
    assert_eq!(
        business.requests().len(),
        1,
        "a quote the limits allow is priced once"
    );
}

/// A quote that fails to price counts for nothing against a rolling
/// limit: only made quotes use up the window.
async fn a_quote_that_fails_to_price_counts_nothing(engine: Engine) {
    let (business, url) = Business::start(Reply::Status(500)).await;
    let a = start_custom(engine, http_source(&url), |c| {
        c.limits.rules = serde_json::from_value(json!([
            {"name": "quotes-per-hour", "op": "quote", "asset": BRL, "threshold": "150",
             "timeframe_secs": 3600, "soft_limit": false},
        ]))
        .expect("limits rules deserialize");
    })
    .await;
    let token = a.alice_token().await;
    let sell =
        json!({"sell_asset": BRL, "buy_asset": USDC, "sell_amount": "100", "context": "sep31"});
    for _ in 0..3 {
        let got = post_quote(&a.srv, Some(&token), &sell).await;
        assert_eq!(got.0, 503, "the business server fails: {got:?}");
    }
    // Had the failed attempts counted, 100 more would be over 150.
    business.set(five_with_brl_fee());
    created(
        post_quote(&a.srv, Some(&token), &sell).await,
        "the first quote made after three that failed to price",
    );
    let got = post_quote(&a.srv, Some(&token), &sell).await;
    assert_refusal(&got, 403, "a second quote of 100 within the hour, over 150");
}

on_both_engines!(
    a_quote_that_fails_to_price_counts_nothing,
    fee_in_the_sell_asset,
    fee_in_the_buy_asset,
    firm_quotes_name_the_account_and_partner,
    prices_ask_once_per_pair,
    firm_asks_carry_the_quotes_id_and_expiry,
    a_kyc_denial_of_a_sell_amount_asks_no_price,
);
