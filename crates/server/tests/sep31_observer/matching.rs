//! What a payment to the distribution account does, by its memo, asset
//! and amount (docs/payments.md §The payment observer, §Status machine).

use base64::Engine as _;
use serde_json::json;

use crate::common::{Engine, StubPayment};
use crate::on_both_engines;
use crate::{Anchor, account, fake_issuer, ids, issuer, payments};

on_both_engines!(
    paid_in_full_is_pending_receiver,
    a_memo_naming_nothing_is_unmatched,
    another_asset_is_wrong_asset,
    a_part_payment_waits_for_the_rest,
    an_overpayment_is_recorded,
    a_path_payment_counts,
    amounts_add_up_to_the_last_unit,
    an_expired_transaction_paid_is_late,
    payments_not_to_the_account_are_passed_over,
);

async fn paid_in_full_is_pending_receiver(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    assert_eq!(a.transaction(&t.id).await["status"], "pending_sender");
    let op = a.pay_usdc("100", &t.memo);
    let got = a.wait_status(&t.id, "pending_receiver").await;
    let seen = a.seen(&op).await;
    assert_eq!(seen["outcome"], "matched", "{seen}");
    assert_eq!(seen["transaction_id"], t.id.as_str(), "{seen}");
    assert_eq!(seen["amount"], "100.0000000", "{seen}");
    assert_eq!(
        seen["asset"],
        format!("stellar:USDC:{}", issuer()),
        "{seen}"
    );
    assert_eq!(
        (seen["memo"].as_str(), seen["memo_type"].as_str()),
        (Some(t.memo.as_str()), Some("id"))
    );
    assert_eq!(
        got["stellar_transaction_id"], seen["stellar_transaction_id"],
        "{got}"
    );
    assert_eq!(
        got["stellar_transaction_id"].as_str().map(str::len),
        Some(64),
        "{got}"
    );
    assert!(got.get("status_message").is_none(), "{got}");
    // Newest first; limits from 1 to 500.
    let all = payments(&a.srv, "limit=500").await;
    assert_eq!(all[0]["id"], op.as_str(), "{all:?}");
    assert_eq!(all.len(), 2, "the priming payment and this one: {all:?}");
    assert_eq!(payments(&a.srv, "limit=1").await.len(), 1);
    for bad in ["limit=0", "limit=501", "limit=x"] {
        let req = a
            .srv
            .admin(reqwest::Method::GET, &format!("/admin/payments?{bad}"));
        assert_eq!(crate::common::TestServer::send(req).await.0, 400, "{bad}");
    }
    // The change is audited as the observer's payment.
    let staff = a.staff(&t.id).await;
    let history = staff["history"].to_string();
    assert!(history.contains("sep31.payment"), "{staff}");
    a.srv.stop().await;
}

async fn a_memo_naming_nothing_is_unmatched(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    let usdc = issuer();
    let asset = Some(("USDC", usdc.as_str()));
    // An id memo that names no transaction (memos are 63-bit, this is not
    // the transaction's), the transaction's memo as text, a hash memo, none.
    let unknown = if t.memo == "42" { "43" } else { "42" };
    let hash = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let memos = [
        Some(("id", unknown)),
        Some(("text", t.memo.as_str())),
        Some(("hash", hash.as_str())),
        None,
    ];
    let mut ops = Vec::new();
    for memo in memos {
        ops.push(a.srv.horizon.pay(&a.dist, &account(), asset, "100", memo));
    }
    for op in &ops {
        let seen = a.seen(op).await;
        assert_eq!(seen["outcome"], "unmatched", "{seen}");
        assert!(seen["transaction_id"].is_null(), "{seen}");
    }
    let listed = ids(&payments(&a.srv, "outcome=unmatched&limit=500").await);
    for op in &ops {
        assert!(listed.contains(op), "{op} in {listed:?}");
    }
    let got = a.transaction(&t.id).await;
    assert_eq!(got["status"], "pending_sender", "{got}");
    assert!(got.get("stellar_transaction_id").is_none(), "{got}");
    assert!(got.get("status_message").is_none(), "{got}");
    assert!(a.staff(&t.id).await.get("amount_received").is_none());
    a.srv.stop().await;
}

async fn another_asset_is_wrong_asset(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    let fake = fake_issuer();
    let memo = Some(("id", t.memo.as_str()));
    let ops = [
        a.srv.horizon.pay(&a.dist, &account(), None, "100", memo),
        a.srv
            .horizon
            .pay(&a.dist, &account(), Some(("USDC", &fake)), "100", memo),
        a.srv.horizon.pay(
            &a.dist,
            &account(),
            Some(("USDCOIN", &issuer())),
            "100",
            memo,
        ),
    ];
    for op in &ops {
        let seen = a.seen(op).await;
        assert_eq!(seen["outcome"], "wrong_asset", "{seen}");
        assert_eq!(seen["transaction_id"], t.id.as_str(), "{seen}");
    }
    let listed = ids(&payments(&a.srv, "outcome=wrong_asset").await);
    assert!(ops.iter().all(|op| listed.contains(op)), "{listed:?}");
    let got = a.transaction(&t.id).await;
    assert_eq!(got["status"], "pending_sender", "{got}");
    assert!(got.get("stellar_transaction_id").is_none(), "{got}");
    // None of it counted: the right asset must still be paid in full.
    let op = a.pay_usdc("60", &t.memo);
    assert_eq!(a.seen(&op).await["outcome"], "underpaid");
    a.srv.stop().await;
}

async fn a_part_payment_waits_for_the_rest(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    let first = a.pay_usdc("40", &t.memo);
    let seen = a.seen(&first).await;
    assert_eq!(seen["outcome"], "underpaid", "{seen}");
    assert_eq!(seen["transaction_id"], t.id.as_str(), "{seen}");
    let got = a.transaction(&t.id).await;
    assert_eq!(got["status"], "pending_sender", "{got}");
    assert_eq!(
        got["status_message"],
        "received 40.0000000 of 100.0000000; pay the remaining 60.0000000 with the same memo",
        "{got}"
    );
    assert_eq!(a.staff(&t.id).await["amount_received"], "40.0000000");
    assert!(ids(&payments(&a.srv, "outcome=underpaid").await).contains(&first));

    let rest = a.pay_usdc("60", &t.memo);
    let got = a.wait_status(&t.id, "pending_receiver").await;
    let seen = a.seen(&rest).await;
    assert_eq!(seen["outcome"], "matched", "{seen}");
    assert_eq!(
        got["stellar_transaction_id"], seen["stellar_transaction_id"],
        "{got}"
    );
    assert!(got.get("status_message").is_none(), "{got}");
    a.srv.stop().await;
}

async fn an_overpayment_is_recorded(engine: Engine) {
    let a = Anchor::start(engine).await;
    let once = a.create("100").await;
    let parts = a.create("100").await;
    let over = a.pay_usdc("120", &once.memo);
    a.wait_status(&once.id, "pending_receiver").await;
    let seen = a.seen(&over).await;
    assert_eq!(seen["outcome"], "overpaid", "{seen}");
    let staff = a.staff(&once.id).await;
    assert_eq!(staff["amount_received"], "120.0000000", "{staff}");
    let message = staff["status_message"].as_str().unwrap_or_default();
    assert!(message.contains("20.0000000"), "the surplus in {staff}");

    // 40 then 70: overpaid by 10 in all.
    a.pay_usdc("40", &parts.memo);
    let second = a.pay_usdc("70", &parts.memo);
    a.wait_status(&parts.id, "pending_receiver").await;
    assert_eq!(a.seen(&second).await["outcome"], "overpaid");
    let staff = a.staff(&parts.id).await;
    assert_eq!(staff["amount_received"], "110.0000000", "{staff}");
    assert!(
        staff["status_message"]
            .as_str()
            .unwrap_or_default()
            .contains("10.0000000")
    );
    let listed = ids(&payments(&a.srv, "outcome=overpaid").await);
    assert!(
        listed.contains(&over) && listed.contains(&second),
        "{listed:?}"
    );

    // Paid again once no longer awaiting payment: late, nothing changes.
    let late = a.pay_usdc("100", &once.memo);
    let seen = a.seen(&late).await;
    assert_eq!(seen["outcome"], "late", "{seen}");
    assert_eq!(seen["transaction_id"], once.id.as_str(), "{seen}");
    assert!(ids(&payments(&a.srv, "outcome=late").await).contains(&late));
    let after = a.staff(&once.id).await;
    assert_eq!(after["status"], "pending_receiver");
    assert_eq!(after["amount_received"], "120.0000000", "{after}");
    a.srv.stop().await;
}

async fn a_path_payment_counts(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    let from = account();
    let mut r = StubPayment::new(
        &a.dist,
        &from,
        Some(("USDC", &issuer())),
        "100",
        Some(("id", &t.memo)),
    )
    .record();
    r["type"] = json!("path_payment_strict_send");
    r["type_i"] = json!(13);
    r["source_asset_type"] = json!("native");
    r["source_amount"] = json!("950.0000000");
    r["destination_min"] = json!("99.0000000");
    r["path"] = json!([]);
    let op = a.srv.horizon.add_record(&from, &a.dist, r);
    a.wait_status(&t.id, "pending_receiver").await;
    assert_eq!(a.seen(&op).await["outcome"], "matched");
    a.srv.stop().await;
}

async fn payments_not_to_the_account_are_passed_over(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    let (usdc, other) = (issuer(), account());
    let asset = Some(("USDC", usdc.as_str()));
    let memo = Some(("id", t.memo.as_str()));
    let h = &a.srv.horizon;
    // Out of the account (a refund, say), to someone else, a failed one.
    let out = h.pay(&other, &a.dist, asset, "100", memo);
    let elsewhere = h.pay(&other, &account(), asset, "100", memo);
    let mut failed = StubPayment::new(&a.dist, &account(), asset, "100", memo);
    failed.successful = false;
    let failed = h.add_payments_bulk(&[failed]).remove(0);
    // The account created and merged into.
    let funder = account();
    let created = h.add_record(
        &funder,
        &a.dist,
        json!({"type": "create_account", "type_i": 0, "transaction_successful": true,
               "source_account": funder, "transaction_hash": "ab".repeat(32),
               "created_at": "2026-01-01T00:00:00Z", "starting_balance": "10000.0000000",
               "funder": funder, "account": a.dist,
               "transaction": {"memo_type": "id", "memo": t.memo}}),
    );
    let merged = h.add_record(
        &other,
        &a.dist,
        json!({"type": "account_merge", "type_i": 8, "transaction_successful": true,
               "source_account": other, "transaction_hash": "cd".repeat(32),
               "created_at": "2026-01-01T00:00:00Z", "account": other, "into": a.dist,
               "transaction": {"memo_type": "id", "memo": t.memo}}),
    );
    // Records are handled in order: once a later one is reported, these were.
    let later = h.pay(&a.dist, &account(), asset, "1", None);
    a.seen(&later).await;
    let listed = ids(&payments(&a.srv, "limit=500").await);
    for op in [&out, &elsewhere, &failed, &created, &merged] {
        assert!(!listed.contains(op), "{op} was recorded: {listed:?}");
    }
    let got = a.transaction(&t.id).await;
    assert_eq!(got["status"], "pending_sender", "{got}");
    assert!(got.get("status_message").is_none(), "{got}");
    // The memo was good all along.
    a.pay_usdc("100", &t.memo);
    a.wait_status(&t.id, "pending_receiver").await;
    a.srv.stop().await;
}

async fn amounts_add_up_to_the_last_unit(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    let first = a.pay_usdc("99.9999999", &t.memo);
    assert_eq!(a.seen(&first).await["outcome"], "underpaid");
    let got = a.transaction(&t.id).await;
    assert_eq!(
        got["status_message"],
        "received 99.9999999 of 100.0000000; pay the remaining 0.0000001 with the same memo",
        "{got}"
    );
    let last = a.pay_usdc("0.0000001", &t.memo);
    a.wait_status(&t.id, "pending_receiver").await;
    assert_eq!(a.seen(&last).await["outcome"], "matched");
    // The largest amount Stellar has, paid once: overpaid, not overflowing.
    let big = a.create("1").await;
    let op = a.pay_usdc("922337203685.4775807", &big.memo);
    a.wait_status(&big.id, "pending_receiver").await;
    assert_eq!(a.seen(&op).await["outcome"], "overpaid");
    let staff = a.staff(&big.id).await;
    assert_eq!(staff["amount_received"], "922337203685.4775807", "{staff}");
    a.srv.stop().await;
}

async fn an_expired_transaction_paid_is_late(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    // Unpaid past `unpaid_expiry_secs` (3600 by default): expired.
    a.srv.clock.advance(3601);
    a.wait_status(&t.id, "expired").await;
    let op = a.pay_usdc("100", &t.memo);
    let seen = a.seen(&op).await;
    assert_eq!(seen["outcome"], "late", "{seen}");
    assert_eq!(seen["transaction_id"], t.id.as_str(), "{seen}");
    let got = a.transaction(&t.id).await;
    assert_eq!(got["status"], "expired", "{got}");
    assert!(got.get("stellar_transaction_id").is_none(), "{got}");
    assert!(ids(&payments(&a.srv, "outcome=late").await).contains(&op));
    a.srv.stop().await;
}
