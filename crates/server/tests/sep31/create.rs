//! `POST /sep31/transactions` that succeed (SEP-31 §POST Transactions;
//! docs/payments.md): the 201 body, the transaction it starts, amounts as
//! strings with 7 places, fees worked out by hand, and the bounds of step 2
//! (the partner's, else the asset's), refused and met exactly.

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{
    ACME, Anchor, USDC, ZENITH, assert_error_is, body, create_tx, created, id_of, now, object_keys,
    post_tx, rfc3339, staff_view, start, start_custom, transaction,
};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// The 201 names where and how to pay and nothing else; the transaction
/// starts `pending_sender` with the fee of the asset (0.5 + 1 % of 100 =
/// 1.5) and 98.5 out, expiring `unpaid_expiry_secs` (3600) later.
async fn create_answers_201_with_where_and_how_to_pay(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let t0 = now(&a.srv);
    let c1 = create_tx(&a.srv, &p.token, &body(&p, "100")).await;
    assert_eq!(
        object_keys(&c1),
        [
            "id",
            "stellar_account_id",
            "stellar_memo",
            "stellar_memo_type"
        ],
        "the 201 body of SEP-31 §POST Transactions: {c1}"
    );
    assert_eq!(
        c1["stellar_account_id"], a.dist,
        "USDC's distribution account"
    );
    assert_eq!(c1["stellar_memo_type"], "id", "an id memo");
    let memo = c1["stellar_memo"].as_str().unwrap_or_default();
    let memo_value = memo.parse::<u64>();
    assert!(
        memo_value.as_ref().is_ok_and(|m| *m > 0 && *m < 1 << 63) && !memo.starts_with('0'),
        "stellar_memo must be a 63-bit number in decimal, got {memo:?}"
    );
    let id = id_of(&c1);
    assert!(!id.is_empty(), "a non-empty id");

    let t = transaction(&a.srv, &p.token, &id).await;
    assert_eq!(
        t,
        json!({
            "id": id, "status": "pending_sender",
            "amount_in": "100.0000000", "amount_in_asset": USDC,
            "amount_out": "98.5000000",
            "amount_fee": "1.5000000", "amount_fee_asset": USDC,
            "fee_details": {"total": "1.5000000", "asset": USDC},
            "stellar_account_id": a.dist, "stellar_memo_type": "id", "stellar_memo": memo,
            "started_at": rfc3339(t0), "updated_at": rfc3339(t0),
        }),
        "the transaction as its creator reads it"
    );
    let s = staff_view(&a.srv, &id).await;
    let account = a.acme.public_key().to_string();
    for (key, want) in [
        ("partner", json!(ACME)),
        ("account", json!(account)),
        ("funding_method", json!("SEPA")),
        ("sender_id", json!(p.sender)),
        ("sender_type", json!("sep31-sender")),
        ("receiver_id", json!(p.receiver)),
        ("receiver_type", json!("sep31-receiver")),
        ("expires_at", json!(rfc3339(t0 + 3600))),
    ] {
        assert_eq!(s[key], want, "staff view's {key}: {s}");
    }
    for absent in [
        "memo",
        "destination_asset",
        "refund_memo",
        "amount_received",
    ] {
        assert!(s.get(absent).is_none(), "staff view has no {absent}: {s}");
    }

    // A second transaction: another id, another memo.
    let c2 = create_tx(&a.srv, &p.token, &body(&p, "100")).await;
    assert_ne!(c2["id"], c1["id"], "two transactions, two ids");
    assert_ne!(
        c2["stellar_memo"], c1["stellar_memo"],
        "two transactions, two memos"
    );
    a.srv.stop().await;
}

/// The amount of `body` as the transaction reads: (in, fee, out).
async fn figures(a: &Anchor, token: &str, body: &Value) -> (String, String, String) {
    let id = id_of(&create_tx(&a.srv, token, body).await);
    let t = transaction(&a.srv, token, &id).await;
    let text = |k: &str| {
        t[k].as_str()
            .unwrap_or_else(|| panic!("{k} of {t}"))
            .to_owned()
    };
    assert_eq!(
        t["fee_details"],
        json!({"total": t["amount_fee"], "asset": USDC}),
        "fee_details without a quote: the fee in the Stellar asset"
    );
    (text("amount_in"), text("amount_fee"), text("amount_out"))
}

fn triple(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_owned(), b.to_owned(), c.to_owned())
}

/// `fee_fixed + amount × fee_percent / 100`, rounded up to 7 places; out
/// is the amount less the fee; every amount a string with 7 places; the
/// amount may be a JSON number.
async fn fees_are_worked_out_and_amounts_written_with_seven_places(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    // ACME (the asset's fee, 0.5 + 1 %):
    // 123.4567891: 0.5 + 1.234567891 = 1.734567891, up to 1.7345679;
    // out 123.4567891 - 1.7345679 = 121.7222212.
    assert_eq!(
        figures(&a, &p.token, &body(&p, "123.4567891")).await,
        triple("123.4567891", "1.7345679", "121.7222212")
    );
    // 100.5 as a JSON number: 0.5 + 1.005 = 1.505; out 98.995.
    let mut number = body(&p, "0");
    number["amount"] = json!(100.5);
    assert_eq!(
        figures(&a, &p.token, &number).await,
        triple("100.5000000", "1.5050000", "98.9950000")
    );
    // 1 (the minimum): 0.5 + 0.01 = 0.51; out 0.49.
    assert_eq!(
        figures(&a, &p.token, &body(&p, "1")).await,
        triple("1.0000000", "0.5100000", "0.4900000")
    );
    // 0.0000001 more than 1: 0.5 + 0.010000001 = 0.510000001, up to
    // 0.5100001 (never down); out 1.0000001 - 0.5100001 = 0.49.
    assert_eq!(
        figures(&a, &p.token, &body(&p, "1.0000001")).await,
        triple("1.0000001", "0.5100001", "0.4900000")
    );

    // ZENITH (its own fee, 2 + 0.5 %):
    let z = a.zenith_parties().await;
    // 100: 2 + 0.5 = 2.5; out 97.5.
    assert_eq!(
        figures(&a, &z.token, &body(&z, "100")).await,
        triple("100.0000000", "2.5000000", "97.5000000")
    );
    // 33.3333333: 2 + 0.1666666665 = 2.1666666665, up to 2.1666667;
    // out 33.3333333 - 2.1666667 = 31.1666666.
    assert_eq!(
        figures(&a, &z.token, &body(&z, "33.3333333")).await,
        triple("33.3333333", "2.1666667", "31.1666666")
    );
    a.srv.stop().await;
}

/// Step 6: an amount that does not exceed its fee is refused, naming the
/// fee. ACME's fee made 5 + 1 % here.
async fn an_amount_that_does_not_exceed_its_fee_is_refused(engine: Engine) {
    let a = start_custom(engine, |c| {
        c.partners[0].fee_fixed = Some(Decimal::new(5, 0));
    })
    .await;
    let p = a.acme_parties().await;
    // 4: 5 + 0.04 = 5.04, over 4.
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &body(&p, "4")).await,
        400,
        "the amount does not cover the fee of 5.0400000",
        "4 USDC",
    );
    // 5: 5 + 0.05 = 5.05, over 5.
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &body(&p, "5")).await,
        400,
        "the amount does not cover the fee of 5.0500000",
        "5 USDC",
    );
    // 5.06: 5 + 0.0506 = 5.0506, under 5.06: out 0.0094.
    assert_eq!(
        figures(&a, &p.token, &body(&p, "5.06")).await,
        triple("5.0600000", "5.0506000", "0.0094000")
    );
    assert_eq!(count(&a.srv).await, 1, "only the 201 made a transaction");
    a.srv.stop().await;
}

/// How many transactions staff see.
pub async fn count(srv: &TestServer) -> usize {
    let (status, list) = TestServer::send(srv.admin(Method::GET, "/admin/transactions")).await;
    assert_eq!(status, 200, "GET /admin/transactions: {list}");
    list["transactions"].as_array().map_or(0, Vec::len)
}

/// Step 2: ACME has the asset's bounds (1 to 10000), ZENITH its own (10 to
/// 500); the bounds themselves are allowed.
async fn amounts_must_be_within_the_partners_else_the_assets_bounds(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let z = a.zenith_parties().await;
    for (who, parties, amount, error) in [
        (ACME, &p, "0.9999999", "amount is below the minimum of 1"),
        (
            ACME,
            &p,
            "10000.0000001",
            "amount is above the maximum of 10000",
        ),
        (ZENITH, &z, "9.9999999", "amount is below the minimum of 10"),
        (
            ZENITH,
            &z,
            "500.0000001",
            "amount is above the maximum of 500",
        ),
        (ZENITH, &z, "1000", "amount is above the maximum of 500"),
    ] {
        assert_error_is(
            &post_tx(&a.srv, Some(&parties.token), &body(parties, amount)).await,
            400,
            error,
            &format!("{who} sends {amount}"),
        );
    }
    for (who, parties, amount) in [
        (ACME, &p, "1"),
        (ACME, &p, "10000"),
        (ACME, &p, "1000"),
        (ZENITH, &z, "10"),
        (ZENITH, &z, "500"),
    ] {
        created(
            post_tx(&a.srv, Some(&parties.token), &body(parties, amount)).await,
            &format!("{who} sends {amount}, within its bounds"),
        );
    }
    assert_eq!(count(&a.srv).await, 5, "a refusal makes no transaction");
    a.srv.stop().await;
}

/// Valid refund memos of each type are taken and shown to staff; the
/// deprecated `fields` is taken when empty; `lang` is accepted.
async fn optional_fields_are_taken(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let hash = "ab".repeat(32);
    for (memo, kind) in [
        ("18446744073709551615", "id"),
        ("refund to 42", "text"),
        (hash.as_str(), "hash"),
    ] {
        let mut b = body(&p, "100");
        b["refund_memo"] = json!(memo);
        b["refund_memo_type"] = json!(kind);
        let id = id_of(&create_tx(&a.srv, &p.token, &b).await);
        let s = staff_view(&a.srv, &id).await;
        assert_eq!(
            (&s["refund_memo"], &s["refund_memo_type"]),
            (&json!(memo), &json!(kind)),
            "the refund memo is kept: {s}"
        );
        let t = transaction(&a.srv, &p.token, &id).await;
        assert!(
            t.get("refund_memo").is_none(),
            "refund_memo is not a field of SEP-31's transaction: {t}"
        );
    }
    let mut b = body(&p, "100");
    b["fields"] = json!({});
    b["lang"] = json!("en");
    b["funding_method"] = json!("SWIFT");
    let id = id_of(&create_tx(&a.srv, &p.token, &b).await);
    assert_eq!(staff_view(&a.srv, &id).await["funding_method"], "SWIFT");
    a.srv.stop().await;
}

on_both_engines!(
    create_answers_201_with_where_and_how_to_pay,
    fees_are_worked_out_and_amounts_written_with_seven_places,
    an_amount_that_does_not_exceed_its_fee_is_refused,
    amounts_must_be_within_the_partners_else_the_assets_bounds,
    optional_fields_are_taken,
);
