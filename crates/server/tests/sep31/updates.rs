//! Refunds and customer updates of paid transactions (docs/payments.md
//! §Status machine; SEP-31 §Refunds Object Schema, §Pending Customer Info
//! Update): a refund ends a paid transaction `refunded` with SEP-31's
//! `refunds` object; `pending_customer_info_update` makes the named
//! customer's fields REJECTED in SEP-12, and once the sending anchor gives
//! them again and staff accept them, the transaction resumes by itself.

use reqwest::Method;
use serde_json::{Value, json};

use super::machine::{a_refund, assert_audit, refused_from};
use super::{
    SENDER, accept, assert_error_is, assert_refusal, assert_sep31_fields, body, move_tx, paid_tx,
    refund_tx, start, transaction, wait_status,
};
use crate::common::customer::put_json;
use crate::common::{Engine, TestServer};
use crate::on_both_engines;

/// A 64-hex Stellar transaction hash made of `c`.
fn hash(c: char) -> String {
    c.to_string().repeat(64)
}

/// Refunds from `pending_receiver`, `pending_external` and
/// `pending_customer_info_update`, in full (`refunded` true) or in part;
/// never more than was paid; `refunded` is final.
async fn refunds_end_paid_transactions(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let s = &a.srv;
    let b = body(&p, "100");

    // In full from pending_receiver: 99 back, 1 kept for the refund.
    let id = paid_tx(&a, &p, &b).await;
    for (bad, what) in [
        (
            json!({"stellar_transaction_id": hash('a'), "amount": "100", "fee": "1"}),
            "over paid",
        ),
        (
            json!({"stellar_transaction_id": hash('a'), "amount": "100.0000001"}),
            "over paid",
        ),
        (
            json!({"stellar_transaction_id": "abc", "amount": "1"}),
            "not a hash",
        ),
        (
            json!({"stellar_transaction_id": hash('a'), "amount": "0"}),
            "nothing",
        ),
        (json!({"stellar_transaction_id": hash('a')}), "no amount"),
        (
            json!({"stellar_transaction_id": hash('a'), "amount": "1", "x": 1}),
            "unknown field",
        ),
    ] {
        assert_refusal(&refund_tx(s, &id, bad).await, 400, what);
    }
    let full = json!({"stellar_transaction_id": hash('a'), "amount": "99", "fee": "1",
                      "message": "the receiver's account is closed"});
    let (status, got) = refund_tx(s, &id, full).await;
    assert_eq!(
        (status, &got["transaction"]["status"]),
        (200, &json!("refunded")),
        "{got}"
    );
    let t = transaction(s, &p.token, &id).await;
    assert_sep31_fields(&t, "refunded");
    assert_eq!(
        (&t["refunded"], &t["refunds"], &t["status_message"]),
        (
            &json!(true),
            &json!({"amount_refunded": "99.0000000", "amount_fee": "1.0000000",
                    "payments": [{"id": hash('a'), "amount": "99.0000000", "fee": "1.0000000"}]}),
            &json!("the receiver's account is closed"),
        ),
        "SEP-31's refunds object: {t}"
    );
    refused_from(s, &p.token, &id, "refunded", &[]).await;
    let text = assert_refusal(&refund_tx(s, &id, a_refund("1")).await, 409, "again");
    assert!(text.starts_with("the transaction is refunded"), "{text}");
    assert_audit(
        s,
        &id,
        &[
            ("sep31.create", ""),
            ("sep31.payment", ""),
            ("sep31.refund", "refunded"),
        ],
    )
    .await;

    // In part from pending_external: `refunded` false.
    let id = paid_tx(&a, &p, &b).await;
    assert_eq!(
        move_tx(s, &id, json!({"status": "pending_external"}))
            .await
            .0,
        200
    );
    let part = json!({"stellar_transaction_id": hash('b'), "amount": "40"});
    assert_eq!(refund_tx(s, &id, part).await.0, 200);
    let t = transaction(s, &p.token, &id).await;
    assert_eq!(
        (
            &t["status"],
            &t["refunded"],
            &t["refunds"]["amount_refunded"],
            &t["refunds"]["amount_fee"]
        ),
        (
            &json!("refunded"),
            &json!(false),
            &json!("40.0000000"),
            &json!("0.0000000")
        ),
        "a part refund: {t}"
    );

    // From pending_customer_info_update.
    let id = paid_tx(&a, &p, &b).await;
    let ask = json!({"status": "pending_customer_info_update", "customer": "receiver",
                     "fields": ["bank_account_number"]});
    assert_eq!(move_tx(s, &id, ask).await.0, 200);
    assert_eq!(refund_tx(s, &id, a_refund("100")).await.0, 200);
    let t = transaction(s, &p.token, &id).await;
    assert_eq!(t["refunded"], true, "{t}");
    assert!(
        t.get("required_info_message").is_none(),
        "refunded: no customer update is awaited any more: {t}"
    );
    a.srv.stop().await;
}

/// The SEP-12 view of customer `id` as the partner reads it, with `extra`
/// query pairs.
async fn customer_view(srv: &TestServer, token: &str, id: &str, extra: &str) -> Value {
    let path = format!("/customer?id={id}&type={SENDER}{extra}");
    let (status, body) = TestServer::send(srv.with_token(Method::GET, &path, token)).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// `pending_customer_info_update` names the sender's `last_name`: SEP-12
/// answers NEEDS_INFO with it REJECTED (with or without `transaction_id`);
/// the partner sends it again, staff accept it, and the transaction
/// returns to `pending_receiver` by itself, audited under `sep12`.
async fn a_customer_update_round_trip_resumes_the_transaction(engine: Engine) {
    let a = start(engine).await;
    let p = a.acme_parties().await;
    let s = &a.srv;
    let id = paid_tx(&a, &p, &body(&p, "100")).await;
    let ask = |extra: Value| {
        let mut b = json!({"status": "pending_customer_info_update"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            b[k] = v;
        }
        b
    };
    for (extra, what) in [
        (json!({"customer": "sender"}), "no fields"),
        (json!({"customer": "sender", "fields": []}), "no fields"),
        (json!({"fields": ["last_name"]}), "no customer"),
        (
            json!({"customer": "nobody", "fields": ["last_name"]}),
            "not sender or receiver",
        ),
    ] {
        assert_refusal(&move_tx(s, &id, ask(extra)).await, 400, what);
    }
    assert_eq!(
        transaction(s, &p.token, &id).await["status"],
        "pending_receiver"
    );

    let message = "the last name does not match the ID";
    let got = move_tx(
        s,
        &id,
        ask(json!({"customer": "sender", "fields": ["last_name"], "message": message})),
    )
    .await;
    assert_eq!(got.0, 200, "-> pending_customer_info_update: {}", got.1);
    let t = transaction(s, &p.token, &id).await;
    assert_sep31_fields(&t, "pending_customer_info_update");
    assert_eq!(t["required_info_message"], message, "{t}");
    refused_from(
        s,
        &p.token,
        &id,
        "pending_customer_info_update",
        &["pending_receiver", "error", "refunded"],
    )
    .await;
    for extra in ["", &format!("&transaction_id={id}")] {
        let c = customer_view(s, &p.token, &p.sender, extra).await;
        assert_eq!(c["status"], "NEEDS_INFO", "GET /customer{extra}: {c}");
        assert_eq!(
            (
                &c["provided_fields"]["last_name"]["status"],
                &c["provided_fields"]["last_name"]["error"]
            ),
            (&json!("REJECTED"), &json!(message)),
            "GET /customer{extra}: {c}"
        );
        assert!(
            c["fields"].get("last_name").is_some(),
            "last_name asked for again: {c}"
        );
    }

    // Given again: PROCESSING, still waiting; accepted: resumed.
    let again = json!({"id": p.sender, "type": SENDER, "last_name": "Leigh"});
    let (status, got) = put_json(s, &p.token, again).await;
    assert_eq!(status, 202, "PUT /customer with last_name again: {got}");
    accept(s, &p.sender, SENDER).await;
    let t = wait_status(s, &p.token, &id, "pending_receiver").await;
    assert!(
        t.get("required_info_message").is_none(),
        "nothing required any more: {t}"
    );
    let entries = super::machine::audit(s, &id).await;
    let last = entries.last().cloned().unwrap_or_default();
    assert_eq!(
        (last.0.as_str(), last.1.as_str()),
        ("sep12", "sep31.status"),
        "the resumption is audited under sep12: {entries:?}"
    );
    assert_audit(
        s,
        &id,
        &[
            ("sep31.create", ""),
            ("sep31.payment", "pending_receiver"),
            ("sep31.status", "pending_customer_info_update"),
            ("sep31.status", "pending_receiver"),
        ],
    )
    .await;

    // Staff may also resume or end it by hand.
    let got = move_tx(
        s,
        &id,
        ask(json!({"customer": "receiver", "fields": ["bank_number"]})),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    let back = move_tx(s, &id, json!({"status": "pending_receiver"})).await;
    assert_eq!(back.0, 200, "{}", back.1);
    let got = move_tx(
        s,
        &id,
        ask(json!({"customer": "receiver", "fields": ["bank_number"]})),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(move_tx(s, &id, json!({"status": "error"})).await.0, 200);
    let t = transaction(s, &p.token, &id).await;
    assert!(
        t.get("required_info_message").is_none(),
        "error: no customer update is awaited any more: {t}"
    );
    assert_error_is(
        &move_tx(s, &id, json!({"status": "pending_receiver"})).await,
        409,
        "the transaction is error, which is final; it cannot move to pending_receiver",
        "error is final",
    );
    a.srv.stop().await;
}

on_both_engines!(
    refunds_end_paid_transactions,
    a_customer_update_round_trip_resumes_the_transaction,
);
