//! The KYC limits of `POST /sep31/transactions` (docs/payments.md, checks
//! 4 and 7; docs/kyc.md): op `send` judged for the sender and `receive`
//! for the receiver, each as its own SEP-12 key; a soft limit is SEP-31's
//! `customer_info_needed` with `limits.kyc_type`, a hard one a plain 400;
//! a created transaction is counted in the sender's rolling window.

use serde_json::{Value, json};

use super::{
    SENDER, USDC, assert_error_is, assert_info_needed, body, create_tx, customer, post_tx,
    sep12_types, start_custom,
};
use crate::common::Engine;
use crate::on_both_engines;

/// A server with `rules` as `[[limits.rules]]` and `kyc_type` as the
/// customer type whose acceptance lifts soft limits.
async fn limited(engine: Engine, kyc_type: &'static str, rules: Value) -> super::Anchor {
    start_custom(engine, move |c| {
        let mut types = sep12_types();
        types["sep31-kyc"] = json!({"required": ["first_name", "last_name", "birth_date"]});
        c.sep12.types = serde_json::from_value(types).expect("[sep12.types] deserialize");
        c.limits.kyc_type = kyc_type.to_owned();
        c.limits.rules = serde_json::from_value(rules).expect("[[limits.rules]] deserialize");
    })
    .await
}

/// A soft `send` limit of 1000 for customers not accepted as `sep31-kyc`
/// (the senders are accepted as `sep31-sender` only) and a hard `receive`
/// limit of 500.
async fn soft_and_hard_limits_refuse_as_sep31_says(engine: Engine) {
    let a = limited(
        engine,
        "sep31-kyc",
        json!([
            {"name": "unverified-send", "op": "send", "asset": USDC, "threshold": "1000"},
            {"name": "receive-cap", "op": "receive", "asset": USDC, "threshold": "500",
             "soft_limit": false},
        ]),
    )
    .await;
    let p = a.acme_parties().await;
    // 2000: over the sender's soft limit (checked before the receiver's).
    assert_info_needed(
        &post_tx(&a.srv, Some(&p.token), &body(&p, "2000")).await,
        "sep31-kyc",
        "2000 USDC over a soft send limit of 1000",
    );
    // 600: within the sender's, over the receiver's hard limit.
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &body(&p, "600")).await,
        400,
        "this payment exceeds a limit of the receiver; it cannot be made",
        "600 USDC over a hard receive limit of 500",
    );
    // 500: within both.
    create_tx(&a.srv, &p.token, &body(&p, "500")).await;
    a.srv.stop().await;
}

/// A hard `send` limit of 800 per payment and 1000 in 30 days: a single
/// payment over it is refused; created transactions are counted, per
/// sender (each customer its own key: account and memo).
async fn hard_send_limits_are_judged_and_counted_per_sender(engine: Engine) {
    let a = limited(
        engine,
        SENDER,
        json!([
            {"name": "per-payment", "op": "send", "asset": USDC, "threshold": "800",
             "soft_limit": false},
            {"name": "monthly", "op": "send", "asset": USDC, "threshold": "1000",
             "timeframe_secs": 2_592_000, "soft_limit": false},
        ]),
    )
    .await;
    let p = a.acme_parties().await;
    let sender_limit = "this payment exceeds a limit of the sender; it cannot be made";
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &body(&p, "900")).await,
        400,
        sender_limit,
        "900 USDC over a hard send limit of 800",
    );
    // The refusal counted nothing: 600 then 400 fill the 1000 exactly.
    create_tx(&a.srv, &p.token, &body(&p, "600")).await;
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &body(&p, "600")).await,
        400,
        sender_limit,
        "600 more USDC: 1200 in the window",
    );
    create_tx(&a.srv, &p.token, &body(&p, "400")).await;
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &body(&p, "1")).await,
        400,
        sender_limit,
        "1 more USDC: 1001 in the window",
    );
    // Another sender of the same partner has a window of its own.
    let mut other = body(&p, "600");
    other["sender_id"] = json!(customer(&a.srv, &p.token, SENDER).await);
    create_tx(&a.srv, &p.token, &other).await;
    a.srv.stop().await;
}

on_both_engines!(
    soft_and_hard_limits_refuse_as_sep31_says,
    hard_send_limits_are_judged_and_counted_per_sender,
);
