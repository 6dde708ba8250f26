//! Firm SEP-38 quotes taken by `POST /sep31/transactions` (docs/payments.md
//! check 5, SEP-31 §Amount Formulas): the quote's amounts and fee on the
//! transaction, every quote that cannot pay refused, `quotes_required`,
//! `destination_asset` without a quote, expiry with the quote, and two
//! requests racing for one quote: exactly one wins.

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    BRL, Parties, USDC, assert_error_is, body, create_tx, id_of, object_keys, post_tx, staff_view,
    start_custom, start_quoting, transaction, wait_status,
};
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// A firm quote made with `token`: selling `amount` of `sell` for `buy`.
async fn quote(srv: &TestServer, token: &str, sell: &str, buy: &str, amount: &str) -> Value {
    let body = json!({"sell_asset": sell, "buy_asset": buy, "sell_amount": amount,
                      "context": "sep31"});
    let req = srv
        .with_token(Method::POST, "/sep38/quote", token)
        .json(&body);
    let (status, q) = TestServer::send(req).await;
    assert_eq!(status, 201, "POST /sep38/quote {body}: {q}");
    q
}

/// `body` of `amount` paid with the quote `q`.
fn quoted(p: &Parties, amount: &str, q: &Value) -> Value {
    let mut b = body(p, amount);
    b["quote_id"] = q["id"].clone();
    b
}

/// 100 USDC sold for BRL at 0.18, fee 1 + 1.5 % = 2.5 USDC:
/// (100 - 2.5) / 0.18 = 541.666…, 541.66 BRL.
async fn a_firm_quote_sets_the_amounts_and_fee_of_its_transaction(engine: Engine) {
    let a = start_quoting(engine).await;
    let p = a.acme_parties().await;
    let q = quote(&a.srv, &p.token, USDC, BRL, "100").await;
    assert_eq!(
        (&q["buy_amount"], &q["fee"]),
        (
            &json!("541.66"),
            &json!({"total": "2.5000000", "asset": USDC})
        ),
        "the quote of the table: {q}"
    );
    let mut b = quoted(&p, "100", &q);
    b["destination_asset"] = json!(BRL);
    let c = create_tx(&a.srv, &p.token, &b).await;
    let id = id_of(&c);
    let t = transaction(&a.srv, &p.token, &id).await;
    let mut rest = t.clone();
    for k in ["started_at", "updated_at"] {
        rest.as_object_mut().map(|o| o.remove(k));
    }
    assert_eq!(
        rest,
        json!({
            "id": id, "status": "pending_sender",
            "amount_in": "100.0000000", "amount_in_asset": USDC,
            "amount_out": "541.66", "amount_out_asset": BRL,
            "amount_fee": "2.5000000", "amount_fee_asset": USDC,
            "fee_details": q["fee"], "quote_id": q["id"],
            "stellar_account_id": a.dist, "stellar_memo_type": "id",
            "stellar_memo": c["stellar_memo"],
        }),
        "amount_out is the quote's buy_amount as quoted, the fee its fee"
    );
    assert_eq!(
        staff_view(&a.srv, &id).await["expires_at"],
        q["expires_at"],
        "a quoted transaction expires with its quote"
    );
    // Once used, never again.
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &b).await,
        400,
        "quote already used",
        "the quote a second time",
    );
    // `destination_asset` may be left out: the quote's buy_asset is used.
    let q2 = quote(&a.srv, &p.token, USDC, BRL, "100").await;
    let id2 = id_of(&create_tx(&a.srv, &p.token, &quoted(&p, "100.00", &q2)).await);
    let t2 = transaction(&a.srv, &p.token, &id2).await;
    assert_eq!(
        (&t2["amount_out"], &t2["amount_out_asset"], &t2["quote_id"]),
        (&json!("541.66"), &json!(BRL), &q2["id"]),
        "a quote without destination_asset: {t2}"
    );
    a.srv.stop().await;
}

/// Every quote that cannot pay for the transaction, refused in turn;
/// none of the refusals uses the quote up.
async fn quotes_that_cannot_pay_are_refused(engine: Engine) {
    let a = start_quoting(engine).await;
    let p = a.acme_parties().await;
    let none = "quote_id names no quote of this account";
    let acme2 = a.srv.token_for(&a.acme2, None).await;
    let zenith = a.srv.token_for(&a.zenith, None).await;
    let q = quote(&a.srv, &p.token, USDC, BRL, "100").await;
    let cases: Vec<(Value, String, &str)> = vec![
        (
            quoted(
                &p,
                "100",
                &json!({"id": "6a1f0d2e-3c4b-4d5e-8f90-a1b2c3d4e5f6"}),
            ),
            none.into(),
            "an unknown quote",
        ),
        (
            quoted(&p, "100", &json!({"id": "nope"})),
            none.into(),
            "a malformed quote id",
        ),
        (
            quoted(&p, "100", &quote(&a.srv, &acme2, USDC, BRL, "100").await),
            none.into(),
            "a quote of ACME's other account",
        ),
        (
            quoted(&p, "100", &quote(&a.srv, &zenith, USDC, BRL, "100").await),
            none.into(),
            "a quote of ZENITH",
        ),
        (
            quoted(&p, "100.5", &q),
            "amount must be the quote's sell_amount, 100.0000000".into(),
            "another amount",
        ),
        (
            quoted(&p, "500", &quote(&a.srv, &p.token, BRL, USDC, "500").await),
            format!("the quote sells {BRL}, not {USDC}"),
            "a quote selling another asset",
        ),
        (
            {
                let mut b = quoted(&p, "100", &q);
                b["destination_asset"] = json!("iso4217:ARS");
                b
            },
            format!("destination_asset must be the quote's buy_asset, {BRL}"),
            "another destination asset",
        ),
    ];
    for (b, error, what) in &cases {
        assert_error_is(&post_tx(&a.srv, Some(&p.token), b).await, 400, error, what);
    }
    // The quote was refused for what the request said, not used up.
    create_tx(&a.srv, &p.token, &quoted(&p, "100", &q)).await;

    // Past its expires_at (300 s), a quote is refused.
    let q = quote(&a.srv, &p.token, USDC, BRL, "100").await;
    a.srv.clock.advance(301);
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &quoted(&p, "100", &q)).await,
        400,
        "quote expired",
        "an expired quote",
    );
    a.srv.stop().await;
}

/// `quotes_required`: no transaction without a quote.
async fn quotes_required_refuses_transactions_without_one(engine: Engine) {
    let a = start_custom(engine, |c| {
        c.sep38 = serde_json::from_value(super::sep38()).expect("[sep38] deserializes");
        c.sep31.quotes_required = true;
    })
    .await;
    let p = a.acme_parties().await;
    assert_error_is(
        &post_tx(&a.srv, Some(&p.token), &body(&p, "100")).await,
        400,
        "quote_id is required: this anchor pays out only at a firm SEP-38 quote",
        "no quote_id",
    );
    let mut dest = body(&p, "100");
    dest["destination_asset"] = json!(BRL);
    assert_eq!(
        post_tx(&a.srv, Some(&p.token), &dest).await.0,
        400,
        "a destination asset is no quote"
    );
    let q = quote(&a.srv, &p.token, USDC, BRL, "100").await;
    create_tx(&a.srv, &p.token, &quoted(&p, "100", &q)).await;
    a.srv.stop().await;
}

/// A `destination_asset` without a quote: delivered when a SEP-38 pair
/// buys it for USDC; the amount out is not known until the business
/// server sets it; the fee is the asset's (0.5 + 1 % of 100 = 1.5).
async fn a_destination_asset_without_a_quote_needs_a_pair(engine: Engine) {
    let a = start_quoting(engine).await;
    let p = a.acme_parties().await;
    let mut b = body(&p, "100");
    b["destination_asset"] = json!(BRL);
    let id = id_of(&create_tx(&a.srv, &p.token, &b).await);
    let t = transaction(&a.srv, &p.token, &id).await;
    assert!(t.get("amount_out").is_none(), "no amount_out yet: {t}");
    assert_eq!(
        (&t["amount_out_asset"], &t["amount_fee"], &t["fee_details"]),
        (
            &json!(BRL),
            &json!("1.5000000"),
            &json!({"total": "1.5000000", "asset": USDC})
        ),
        "{t}"
    );
    assert!(
        !object_keys(&t).contains(&"quote_id".to_owned()),
        "no quote_id without a quote: {t}"
    );
    assert_eq!(staff_view(&a.srv, &id).await["destination_asset"], BRL);
    for dest in ["iso4217:EUR", USDC] {
        b["destination_asset"] = json!(dest);
        assert_error_is(
            &post_tx(&a.srv, Some(&p.token), &b).await,
            400,
            &format!("destination_asset {dest} is not delivered for USDC; see SEP-38 GET /prices"),
            dest,
        );
    }
    a.srv.stop().await;
}

/// Unpaid past its quote's expires_at, a quoted transaction expires.
async fn a_quoted_transaction_expires_with_its_quote(engine: Engine) {
    let a = start_quoting(engine).await;
    let p = a.acme_parties().await;
    let q = quote(&a.srv, &p.token, USDC, BRL, "100").await;
    let id = id_of(&create_tx(&a.srv, &p.token, &quoted(&p, "100", &q)).await);
    a.srv.clock.advance(302);
    let t = wait_status(&a.srv, &p.token, &id, "expired").await;
    assert_eq!(t["quote_id"], q["id"]);
    a.srv.stop().await;
}

/// Two requests racing for one quote (on different connections): exactly
/// one 201, the other 400 "quote already used"; a few times over.
async fn two_requests_racing_for_one_quote_make_one_transaction(engine: Engine) {
    let a = start_quoting(engine).await;
    let p = a.acme_parties().await;
    for round in 0..5 {
        let q = quote(&a.srv, &p.token, USDC, BRL, "100").await;
        let b = quoted(&p, "100", &q);
        let (c1, c2) = (reqwest::Client::new(), reqwest::Client::new());
        let send = |c: reqwest::Client| {
            let req = c
                .post(a.srv.url("/sep31/transactions"))
                .bearer_auth(&p.token)
                .json(&b);
            TestServer::send(req)
        };
        let (r1, r2) = tokio::join!(send(c1), send(c2));
        let (won, lost) = if r1.0 == 201 { (r1, r2) } else { (r2, r1) };
        assert_eq!(won.0, 201, "round {round}: one must win: {won:?} {lost:?}");
        assert_error_is(
            &lost,
            400,
            "quote already used",
            &format!("round {round}: the loser"),
        );
        assert_eq!(
            transaction(&a.srv, &p.token, &id_of(&won.1)).await["quote_id"],
            q["id"]
        );
    }
    let (_, list) = TestServer::send(a.srv.admin(Method::GET, "/admin/transactions")).await;
    assert_eq!(
        list["transactions"].as_array().map(Vec::len),
        Some(5),
        "one transaction per quote: {list}"
    );
    a.srv.stop().await;
}

on_both_engines!(
    a_firm_quote_sets_the_amounts_and_fee_of_its_transaction,
    quotes_that_cannot_pay_are_refused,
    quotes_required_refuses_transactions_without_one,
    a_destination_asset_without_a_quote_needs_a_pair,
    a_quoted_transaction_expires_with_its_quote,
    two_requests_racing_for_one_quote_make_one_transaction,
);
