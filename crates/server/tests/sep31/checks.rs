//! `POST /sep31/transactions` refused (docs/payments.md, checks 1 and 3
//! and their order): the body's own checks, unknown fields and the
//! deprecated `fields`, SEP-31's `customer_info_needed` for every sender
//! or receiver that is not the caller's accepted customer, and the first
//! failing check answered when several fail.

use serde_json::{Value, json};

use super::create::count;
use super::{
    ISSUER, RECEIVER, SENDER, assert_error_is, assert_info_needed, body, create_tx, fresh_memo,
    post_tx, put_customer, start,
};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// `body` with `key` set to `value` (`null`: removed).
fn with(mut body: Value, key: &str, value: Value) -> Value {
    match value {
        Value::Null => {
            body.as_object_mut().map(|o| o.remove(key));
        }
        v => body[key] = v,
    }
    body
}

const UNDEFINED: &str = "body has a field SEP-31 does not define, or a field of the wrong type";
const BAD_AMOUNT: &str = "amount must be a positive decimal with at most 7 decimal places";

/// Check 1, each failure alone on an otherwise valid body.
async fn the_body_is_checked_first(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let good = body(&p, "100");
    let other = "GBRPYHIL2CI3FNQ4BXLFMNDLFJUNPU2HY3ZMFSHONUCEOASW7QC7OX2H";
    let cases: Vec<(Value, String)> =
        vec![
        (
            with(good.clone(), "amount", Value::Null),
            "amount is required".into(),
        ),
        (with(good.clone(), "amount", json!("0")), BAD_AMOUNT.into()),
        (with(good.clone(), "amount", json!("-5")), BAD_AMOUNT.into()),
        (
            with(good.clone(), "amount", json!("100.00000001")),
            BAD_AMOUNT.into(),
        ),
        (
            with(good.clone(), "amount", json!("1e2")),
            BAD_AMOUNT.into(),
        ),
        (
            with(good.clone(), "amount", json!("abc")),
            BAD_AMOUNT.into(),
        ),
        (with(good.clone(), "amount", json!(true)), BAD_AMOUNT.into()),
        (with(good.clone(), "amount", json!(-3)), BAD_AMOUNT.into()),
        (
            with(good.clone(), "asset_code", Value::Null),
            "asset_code is required".into(),
        ),
        (
            with(with(good.clone(), "asset_code", json!("EURC")), "asset_issuer", Value::Null),
            "this anchor does not receive EURC; see GET /info".into(),
        ),
        (
            with(good.clone(), "asset_code", json!("EURC")),
            format!("this anchor does not receive EURC issued by {ISSUER}; see GET /info"),
        ),
        (
            with(good.clone(), "asset_issuer", json!(other)),
            format!("this anchor does not receive USDC issued by {other}; see GET /info"),
        ),
        (
            with(good.clone(), "funding_method", Value::Null),
            "funding_method is required: one of SEPA, SWIFT".into(),
        ),
        (
            with(good.clone(), "funding_method", json!("PIX")),
            "funding_method must be one of SEPA, SWIFT".into(),
        ),
        (
            with(
                good.clone(),
                "fields",
                json!({"transaction": {"receiver_routing_number": "1"}}),
            ),
            "fields is deprecated and not taken: send SEP-9 fields through SEP-12 PUT /customer"
                .into(),
        ),
        (
            with(good.clone(), "refund_memo", json!("42")),
            "refund_memo and refund_memo_type go together: give both or neither".into(),
        ),
        (
            with(good.clone(), "refund_memo_type", json!("id")),
            "refund_memo and refund_memo_type go together: give both or neither".into(),
        ),
        (
            with(
                with(good.clone(), "refund_memo", json!("42")),
                "refund_memo_type",
                json!("return"),
            ),
            "refund_memo_type must be id, text or hash".into(),
        ),
        (
            with(
                with(good.clone(), "refund_memo", json!("x42")),
                "refund_memo_type",
                json!("id"),
            ),
            "refund_memo is not a valid id memo".into(),
        ),
        (
            with(
                with(good.clone(), "refund_memo", json!("a".repeat(29))),
                "refund_memo_type",
                json!("text"),
            ),
            "refund_memo is not a valid text memo".into(),
        ),
        (
            with(
                with(good.clone(), "refund_memo", json!("abcd")),
                "refund_memo_type",
                json!("hash"),
            ),
            "refund_memo is not a valid hash memo".into(),
        ),
        // Fields SEP-31 does not define, or of the wrong type.
        (with(good.clone(), "memo", json!("1")), UNDEFINED.into()),
        (
            with(good.clone(), "amount_out", json!("90")),
            UNDEFINED.into(),
        ),
        (
            with(good.clone(), "callback", json!("https://x.example")),
            UNDEFINED.into(),
        ),
        (with(good.clone(), "asset_code", json!(5)), UNDEFINED.into()),
        (
            with(good.clone(), "sender_id", json!({"id": 1})),
            UNDEFINED.into(),
        ),
    ];
    for (b, error) in &cases {
        assert_error_is(
            &post_tx(&a.srv, Some(&p.token), b).await,
            400,
            error,
            &format!("POST {b}"),
        );
    }
    // Not a JSON object at all.
    for raw in ["[1, 2]", "\"100\"", "{\"amount\": ", "amount=100"] {
        let req = a
            .srv
            .with_token(reqwest::Method::POST, "/sep31/transactions", &p.token)
            .header("content-type", "application/json")
            .body(raw);
        let got = TestServer::send(req).await;
        assert_eq!(got.0, 400, "POST {raw}: {}", got.1);
        assert!(
            got.1["error"].is_string(),
            "POST {raw}: 400 {{\"error\"}}, got {}",
            got.1
        );
    }
    // The issuer may be left out, and `fields` may be empty.
    create_tx(
        &a.srv,
        &p.token,
        &with(good.clone(), "asset_issuer", Value::Null),
    )
    .await;
    create_tx(&a.srv, &p.token, &with(good, "fields", json!({}))).await;
    assert_eq!(count(&a.srv).await, 2, "a refusal makes no transaction");
    a.srv.stop().await;
}

/// Check 3: the sender, then the receiver, must be a SEP-12 customer of
/// the caller's account (and memo), ACCEPTED as one of the configured
/// types; anything else is `customer_info_needed` with the first type.
async fn senders_and_receivers_must_be_the_callers_accepted_customers(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let z = a.zenith_parties().await;
    let unknown = "2c7f5a41-0c9e-4a55-9a8f-0a7d5d0c2f11";
    let processing = put_customer(&a.srv, &p.token, fresh_memo(), SENDER).await;
    let processing_receiver = put_customer(&a.srv, &p.token, fresh_memo(), RECEIVER).await;
    let good = body(&p, "100");
    let sender_cases = [
        (with(good.clone(), "sender_id", Value::Null), "no sender_id"),
        (
            with(good.clone(), "sender_id", json!(unknown)),
            "an unknown sender",
        ),
        (
            with(good.clone(), "sender_id", json!("not an id")),
            "a malformed sender id",
        ),
        (
            with(good.clone(), "sender_id", json!(z.sender)),
            "ZENITH's sender",
        ),
        (
            with(good.clone(), "sender_id", json!(processing)),
            "a sender not accepted yet",
        ),
        (
            with(good.clone(), "sender_id", json!(p.receiver)),
            "a customer accepted as receiver only",
        ),
        // Check 3 comes before the receiver's: both wrong, the sender named.
        (
            with(
                with(good.clone(), "sender_id", Value::Null),
                "receiver_id",
                Value::Null,
            ),
            "neither",
        ),
    ];
    for (b, what) in &sender_cases {
        assert_info_needed(&post_tx(&a.srv, Some(&p.token), b).await, SENDER, what);
    }
    let receiver_cases = [
        (
            with(good.clone(), "receiver_id", Value::Null),
            "no receiver_id",
        ),
        (
            with(good.clone(), "receiver_id", json!(unknown)),
            "an unknown receiver",
        ),
        (
            with(good.clone(), "receiver_id", json!(z.receiver)),
            "ZENITH's receiver",
        ),
        (
            with(good.clone(), "receiver_id", json!(processing_receiver)),
            "a receiver not accepted yet",
        ),
        (
            with(good.clone(), "receiver_id", json!(p.sender)),
            "a customer accepted as sender only",
        ),
    ];
    for (b, what) in &receiver_cases {
        assert_info_needed(&post_tx(&a.srv, Some(&p.token), b).await, RECEIVER, what);
    }

    // A token with a memo reaches the customers of that memo only: its
    // own sender, not the receiver registered under another memo.
    let memo = fresh_memo();
    let sender = put_customer(&a.srv, &p.token, memo, SENDER).await;
    super::accept(&a.srv, &sender, SENDER).await;
    let narrow = a.srv.token_for(&a.acme, Some(memo)).await;
    let b = with(good.clone(), "sender_id", json!(sender));
    assert_info_needed(
        &post_tx(&a.srv, Some(&narrow), &b).await,
        RECEIVER,
        "a memo token with a receiver of another memo",
    );
    assert_info_needed(
        &post_tx(&a.srv, Some(&narrow), &good).await,
        SENDER,
        "a memo token with a sender of another memo",
    );
    // ACME's other account is another account: its customers are not these.
    let acme2 = a.srv.token_for(&a.acme2, None).await;
    assert_info_needed(
        &post_tx(&a.srv, Some(&acme2), &good).await,
        SENDER,
        "ACME's second account with the first's customers",
    );
    // The memo-less token speaks for all its memos.
    create_tx(&a.srv, &p.token, &b).await;
    assert_eq!(count(&a.srv).await, 1, "a refusal makes no transaction");
    a.srv.stop().await;
}

/// When several checks fail, the first in the documented order answers.
async fn the_first_failing_check_answers(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let good = body(&p, "100");
    let no_parties = with(
        with(good.clone(), "sender_id", Value::Null),
        "receiver_id",
        Value::Null,
    );
    // 1 before 2: a bad funding method and an amount under the minimum.
    assert_error_is(
        &post_tx(
            &a.srv,
            Some(&p.token),
            &with(
                with(good.clone(), "funding_method", json!("PIX")),
                "amount",
                json!("0.5"),
            ),
        )
        .await,
        400,
        "funding_method must be one of SEPA, SWIFT",
        "checks 1 and 2 fail",
    );
    // 1 before 3: an unknown field and no customers.
    assert_error_is(
        &post_tx(
            &a.srv,
            Some(&p.token),
            &with(no_parties.clone(), "x", json!(1)),
        )
        .await,
        400,
        UNDEFINED,
        "checks 1 and 3 fail",
    );
    // 2 before 3: over the maximum and no customers.
    assert_error_is(
        &post_tx(
            &a.srv,
            Some(&p.token),
            &with(no_parties.clone(), "amount", json!("20000")),
        )
        .await,
        400,
        "amount is above the maximum of 10000",
        "checks 2 and 3 fail",
    );
    // 3 before 5: no customers and a quote this anchor cannot have given.
    let quoted = with(
        no_parties,
        "quote_id",
        json!("0b1c6f5e-4b7a-4c8e-9f7d-2a3b4c5d6e7f"),
    );
    assert_info_needed(
        &post_tx(&a.srv, Some(&p.token), &quoted).await,
        SENDER,
        "checks 3 and 5 fail",
    );
    // 5 alone: without [sep38] no quote can be named, nor a destination
    // asset be delivered.
    let quoted = with(
        good.clone(),
        "quote_id",
        json!("0b1c6f5e-4b7a-4c8e-9f7d-2a3b4c5d6e7f"),
    );
    assert_eq!(
        post_tx(&a.srv, Some(&p.token), &quoted).await.0,
        400,
        "a quote without SEP-38"
    );
    let dest = with(good, "destination_asset", json!("iso4217:BRL"));
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &dest).await,
        400,
        "destination_asset iso4217:BRL is not delivered for USDC; see SEP-38 GET /prices",
        "a destination asset without SEP-38",
    );
    assert_eq!(count(&a.srv).await, 0, "a refusal makes no transaction");
    a.srv.stop().await;
}

on_both_engines!(
    the_body_is_checked_first,
    senders_and_receivers_must_be_the_callers_accepted_customers,
    the_first_failing_check_answers,
);
