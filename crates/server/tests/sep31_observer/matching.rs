//! What a payment to the distribution account does, by its memo, asset
//! and amount (docs/payments.md §The payment observer).

use crate::Anchor;
use crate::common::Engine;
use crate::on_both_engines;

on_both_engines!(paid_in_full_is_pending_receiver);

async fn paid_in_full_is_pending_receiver(engine: Engine) {
    let a = Anchor::start(engine).await;
    let t = a.create("100").await;
    assert_eq!(a.transaction(&t.id).await["status"], "pending_sender");
    let op = a.pay_usdc("100", &t.memo);
    let got = a.wait_status(&t.id, "pending_receiver").await;
    let seen = a.seen(&op).await;
    assert_eq!(seen["outcome"], "matched", "{seen}");
    assert_eq!(seen["transaction_id"], t.id.as_str(), "{seen}");
    assert_eq!(
        got["stellar_transaction_id"], seen["stellar_transaction_id"],
        "{got}"
    );
    assert!(got.get("status_message").is_none(), "{got}");
    a.srv.stop().await;
}
